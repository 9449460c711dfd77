package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/topoflow/topoflow/internal/worldshift"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	_ "github.com/topoflow/topoflow/cloudsim/emqx"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/plan"
)

// IDs of cloudsim/worlds/emqx-peering.yaml (Huawei side).
const (
	ourVPC        = "4f1a0c3e-0000-4000-8000-00000000e001"
	ourRoutes     = "8d2b6f0a-0000-4000-8000-00000000e004"
	emqxVPC       = "4f1a0c3e-0000-4000-8000-00000000f001"
	emqxRoutes    = "8d2b6f0a-0000-4000-8000-00000000f004"
	emqxBroker    = "10.64.130.10:1883"
	ourCIDR       = "172.16.0.0/20"
	emqxCIDR      = "10.64.130.0/24"
	testPeeringID = "5d2c0000-0000-4000-8000-0000000e0f01"
)

func worldFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "cloudsim", "worlds", name)
}

// startSim serves the EMQX twin (a real MQTT broker per deployment) on
// the default and emqx-peering worlds, shifted.
func startSim(t *testing.T) (*cloudsim.Sim, string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := cloudsim.New(cloudsim.Options{Providers: []string{"emqx"}})
		if err != nil {
			t.Fatal(err)
		}
		w, err := world.ReadFiles(worldFile("default.yaml"), worldFile("emqx-peering.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		shift, release := worldshift.Take() // never another running stack's addresses
		t.Cleanup(release)
		if err := w.Shift(shift); err != nil {
			t.Fatal(err)
		}
		if err := s.LoadWorld(w); err != nil {
			t.Fatal(err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 && attempt < 4 {
			_ = s.Close()
			continue
		}
		url, err := s.Start("127.0.0.1:0", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, url
	}
}

func setRoutes(t *testing.T, s *cloudsim.Sim, table string, routes ...inventory.Route) {
	t.Helper()
	if _, err := inventory.Update(s.Inventory, table, func(rt *inventory.RouteTable) error { rt.Routes = routes; return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyCrossesThePeering: mqtt.verify from our VPC reaches the EMQX
// deployment's broker only through an active peering, our route to the
// deployment's CIDR and the deployment's route back (which the EMQX console
// adds once our peering is entered there); without each it fails naming the
// hop, and passes once all are there. The other direction, the one our
// security-group rule admits (the deployment into our VPC), is
// activities/emqx TestProbeCrossesThePeeringBack.
func TestVerifyCrossesThePeering(t *testing.T) {
	s, url := startSim(t)
	reg := activities.NewRegistry()
	Register(reg, kafka.Options{DialFrom: func(vpc string) kafka.DialFunc { return kafka.DialFunc(s.Net.DialFrom(vpc)) }})
	fn, _ := reg.Get(catalog.MQTTVerify)
	verify := func() (plan.Outputs, error) {
		return fn(context.Background(), plan.Call{Action: catalog.MQTTVerify, IdempotencyKey: "wf/verify",
			Inputs: map[string]any{"address": emqxBroker, "clientNetwork": ourVPC, "timeout": "4s"}})
	}
	wantFail := func(step, hop string) {
		t.Helper()
		_, err := verify()
		t.Logf("%s: %v", step, err)
		if err == nil || !strings.Contains(err.Error(), hop) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("%s: want a dropped connection naming %q, got %v", step, hop, err)
		}
	}
	// Nothing yet: our VPC has no route to 10.64.130.0/24.
	wantFail("no peering, no route", "the route table of VPC "+ourVPC+" has no route to 10.64.130.10")

	// The peering request (as huawei.vpc.createPeering leaves it), then our route (the plan's route-to-deployment).
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta:  inventory.Meta{ID: testPeeringID, Account: "hw-client-b", Region: "cn-north-4", Name: "topoflow-test", Status: "pending_acceptance"},
		VPCID: ourVPC, PeerVPCID: emqxVPC, PeerAccount: "emqx-platform-hw"}); err != nil {
		t.Fatal(err)
	}
	ours := inventory.Route{Destination: emqxCIDR, NextHopType: "peering", NextHop: testPeeringID}
	setRoutes(t, s, ourRoutes, ours)
	wantFail("peering not accepted", "goes to peering "+testPeeringID+", which is not active")

	// The EMQX console: a wrong CIDR is refused; the right data accepts the peering and routes us back.
	confirm := func(cidr string) int {
		b, _ := json.Marshal(map[string]string{"deploymentVpcId": emqxVPC, "peeringId": testPeeringID, "vpcId": ourVPC, "vpcCidr": cidr, "userId": strings.Repeat("a", 32)})
		resp, err := http.Post(url+"/emqx-platform/v1/peerings", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := confirm("172.16.0.0/16"); code != http.StatusBadRequest {
		t.Fatalf("console accepted a wrong CIDR: %d", code)
	}
	if code := confirm(ourCIDR); code != http.StatusOK {
		t.Fatalf("console confirmation: %d", code)
	}
	out, err := verify()
	if err != nil {
		t.Fatalf("verify after the route and the console: %v", err)
	}
	if out["nonce"] == "" || !strings.Contains(out["dialedFrom"].(string), ourVPC) {
		t.Fatalf("outputs: %v", out)
	}

	// Without our route it fails again, naming our route table's missing route; restored, it passes.
	setRoutes(t, s, ourRoutes)
	wantFail("our route removed", "the route table of VPC "+ourVPC+" has no route to 10.64.130.10")
	setRoutes(t, s, ourRoutes, ours)
	// Without the deployment's route back (the console's), the reply has no way home.
	rt, _ := inventory.Get[*inventory.RouteTable](s.Inventory, emqxRoutes)
	back := rt.Routes
	if len(back) != 1 || back[0].Destination != ourCIDR {
		t.Fatalf("console return routes: %+v", back)
	}
	setRoutes(t, s, emqxRoutes)
	wantFail("return route removed", "the route table of VPC "+emqxVPC+" has no return route")
	setRoutes(t, s, emqxRoutes, back...)
	if _, err := verify(); err != nil {
		t.Fatalf("verify with every hop back: %v", err)
	}

	// Deleting our peering makes the deployment drop its return route.
	setRoutes(t, s, ourRoutes)
	if err := s.Inventory.Delete(inventory.KindPeering, testPeeringID); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		rt, _ := inventory.Get[*inventory.RouteTable](s.Inventory, emqxRoutes)
		if len(rt.Routes) == 0 {
			break
		}
		if i > 50 {
			t.Fatalf("the deployment kept its return route after the peering was deleted: %+v", rt.Routes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
