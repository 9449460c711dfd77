package emqx_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	_ "github.com/topoflow/topoflow/cloudsim/alibaba"
	_ "github.com/topoflow/topoflow/cloudsim/emqx"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	_ "github.com/topoflow/topoflow/cloudsim/tencent"
	"github.com/topoflow/topoflow/cloudsim/world"
)

func worldFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "worlds", name)
}

// TestConsoleChecksWhatIsEntered: the console stand-in refuses data that
// is not the peering's (as EMQX Platform's dialog does), accepts the right
// data (AWS: provisioning, then active), and deletes only a running peering.
func TestConsoleChecksWhatIsEntered(t *testing.T) {
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"emqx"}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.ReadFiles(worldFile("default.yaml"), worldFile("emqx-peering.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Shift(211); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const pcx = "pcx-0e3e0000000000001"
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta:  inventory.Meta{ID: pcx, Account: "aws-client-b", Region: "eu-west-1", Status: "pending-acceptance"},
		VPCID: "vpc-0a5c000000e00001", PeerVPCID: "vpc-0e3e00000000d0001", PeerAccount: "emqx-platform-aws",
		Attrs: map[string]string{"awsType": "vpc-peering-connection"}}); err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body map[string]string) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := map[string]string{"deploymentVpcId": "vpc-0e3e00000000d0001", "peeringId": pcx, "vpcId": "vpc-0a5c000000e00001", "accountId": "222222222222"}
	for _, c := range []struct {
		name, key, value string
		want             int
	}{
		{"wrong account ID", "accountId", "111111111111", http.StatusBadRequest},
		{"wrong VPC", "vpcId", "vpc-0a5c000000clib01", http.StatusBadRequest},
		{"unknown peering", "peeringId", "pcx-0000", http.StatusBadRequest},
		{"no such deployment", "deploymentVpcId", "vpc-0a5c000000clib01", http.StatusNotFound},
	} {
		bad := map[string]string{}
		for k, v := range good {
			bad[k] = v
		}
		bad[c.key] = c.value
		if got := call("POST", "/emqx-platform/v1/peerings", bad); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if got := call("DELETE", "/emqx-platform/v1/peerings/"+pcx, nil); got != http.StatusConflict {
		t.Errorf("delete of a pending peering: %d, want 409 (only from running)", got)
	}
	if got := call("POST", "/emqx-platform/v1/peerings", good); got != http.StatusOK {
		t.Fatalf("confirm: %d", got)
	}
	p, _ := inventory.Get[*inventory.Peering](s.Inventory, pcx)
	if p.Status != "provisioning" {
		t.Errorf("AWS peering after the console: %s, want provisioning first", p.Status)
	}
	rt, _ := inventory.Get[*inventory.RouteTable](s.Inventory, "rtb-0e3e00000000d0001")
	if len(rt.Routes) != 1 || rt.Routes[0].Destination != "172.17.0.0/20" || rt.Routes[0].NextHop != pcx {
		t.Errorf("deployment routes: %+v", rt.Routes)
	}
}

// TestConsoleOnAlibabaAndTencent: on Alibaba the stand-in finds the request
// from the 发起端实例 entered, accepts it as EMQX (through the Alibaba API)
// and routes the customer's CIDR back; on Tencent it checks the CCN ID and
// account ID entered and asks, as EMQX, to attach the deployment's VPC.
func TestConsoleOnAlibabaAndTencent(t *testing.T) {
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"emqx", "alibaba", "tencent"}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.ReadFiles(worldFile("default.yaml"), worldFile("alibaba.yaml"), worldFile("tencent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Shift(213); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	call := func(body map[string]string) int {
		b, _ := json.Marshal(body)
		resp, err := http.Post(url+"/emqx-platform/v1/peerings", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	const pcc = "pcc-e2e0console0001"
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta:  inventory.Meta{ID: pcc, Account: "ali-ours", Region: "cn-hangzhou", Status: "Accepting"},
		VPCID: "vpc-bp1ours00000000000001", PeerVPCID: "vpc-bp1emqx00000000000001", PeerAccount: "emqx-alibaba",
		Attrs: map[string]string{"alibabaType": "vpcpeer", "acceptingRegionId": "cn-hangzhou"}}); err != nil {
		t.Fatal(err)
	}
	if got := call(map[string]string{"deploymentVpcId": "vpc-bp1emqx00000000000001", "vpcId": "vpc-bp1ours00000000000002"}); got != http.StatusBadRequest {
		t.Errorf("alibaba: a 发起端实例 with no request: %d, want 400", got)
	}
	if got := call(map[string]string{"deploymentVpcId": "vpc-bp1emqx00000000000001", "vpcId": "vpc-bp1ours00000000000001"}); got != http.StatusOK {
		t.Fatalf("alibaba confirm: %d", got)
	}
	if p, _ := inventory.Get[*inventory.Peering](s.Inventory, pcc); p.Status != inventory.PeeringActive {
		t.Errorf("alibaba peering after the console: %s, want Activated", p.Status)
	}
	rt, _ := inventory.Get[*inventory.RouteTable](s.Inventory, "vtb-bp1emqx00000000000001")
	if len(rt.Routes) != 1 || rt.Routes[0].Destination != "172.16.0.0/17" || rt.Routes[0].NextHop != pcc {
		t.Errorf("EMQX's Alibaba routes: %+v", rt.Routes)
	}

	const ccn = "ccn-e2ecnsl1"
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta:  inventory.Meta{ID: ccn, Account: "tc-ours", Region: "ap-guangzhou", Status: "AVAILABLE"},
		Attrs: map[string]string{"tencentType": "ccn"}}); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"deploymentVpcId": "vpc-tcemqx01", "ccnId": ccn, "accountId": "100000000001", "vpcId": "vpc-tcemqx01"}
	for key, bad := range map[string]string{"accountId": "200000000002", "ccnId": "ccn-nosuch01", "vpcId": "vpc-tcours001"} {
		body := map[string]string{}
		for k, v := range good {
			body[k] = v
		}
		body[key] = bad
		if got := call(body); got != http.StatusBadRequest {
			t.Errorf("tencent: wrong %s: %d, want 400", key, got)
		}
	}
	if got := call(good); got != http.StatusOK {
		t.Fatalf("tencent confirm: %d", got)
	}
	var att *inventory.Peering
	for _, p := range inventory.List[*inventory.Peering](s.Inventory, inventory.Filter{}) {
		if p.VPCID == "vpc-tcemqx01" && p.PeerVPCID == ccn {
			att = p
		}
	}
	if att == nil || att.Account != "emqx-tencent" {
		t.Fatalf("EMQX's attach request to %s: %+v", ccn, att)
	}

	// 删除对等连接 (runbook 003: only from running). Alibaba: the return route
	// goes. Tencent: refused while EMQX's request is not ACTIVE, then EMQX
	// detaches its VPC (DETACHING, then gone).
	remove := func(id string) int {
		req, _ := http.NewRequest(http.MethodDelete, url+"/emqx-platform/v1/peerings/"+id, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := remove(pcc); got != http.StatusNoContent {
		t.Errorf("alibaba delete: %d, want 204", got)
	}
	if rt, _ := inventory.Get[*inventory.RouteTable](s.Inventory, "vtb-bp1emqx00000000000001"); len(rt.Routes) != 0 {
		t.Errorf("EMQX's Alibaba routes after the console's delete: %+v", rt.Routes)
	}
	if got := remove(ccn); got != http.StatusConflict {
		t.Errorf("tencent delete of a request that is %s: %d, want 409", att.Status, got)
	}
	if _, err := inventory.Update(s.Inventory, att.ID, func(p *inventory.Peering) error { p.Status = "ACTIVE"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := remove(ccn); got != http.StatusNoContent {
		t.Fatalf("tencent delete of an ACTIVE attachment: %d, want 204", got)
	}
	if p, err := inventory.Get[*inventory.Peering](s.Inventory, att.ID); err == nil && p.Status != "DETACHING" {
		t.Errorf("EMQX's attachment after the console's delete: %s, want DETACHING or gone", p.Status)
	}
	if got := remove("ccn-nosuch01"); got != http.StatusNotFound {
		t.Errorf("delete of no peering: %d, want 404", got)
	}
}
