package cloudsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// testProvider is a minimal provider API mounted the way real providers
// are: it creates an endpoint service + endpoint, renders injected faults in
// its own error shape, and accepts endpoints through a state machine that
// consults the injector.
func testProvider(s *cloudsim.Sim) {
	render := func(w http.ResponseWriter, f *faults.Fault) {
		if f.Kind == faults.Throttle {
			w.Header().Set("Retry-After", f.RetryAfterHeader())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error_code": f.Code, "error_msg": f.Message})
	}
	s.Mount("POST /test/{account}/endpoints", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := s.Faults.Check(r.Context(), "test.CreateEndpoint"); f != nil {
			render(w, f)
			return
		}
		acct := r.PathValue("account")
		svc, err := inventory.Create(s.Inventory, &inventory.EndpointService{Meta: inventory.Meta{Account: simtest.DMSOwnerAccount, Status: "available"},
			VPCID: simtest.DMSVPC, PortID: "p", Ports: []inventory.PortMapping{{ClientPort: 9011, ServerPort: 9011, Protocol: "TCP"}}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		ip, err := s.Inventory.AllocateIP(simtest.ClientSubnet)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		ep, err := inventory.Create(s.Inventory, &inventory.Endpoint{Meta: inventory.Meta{Account: acct, Status: "pendingAcceptance"},
			ServiceID: svc.ID, VPCID: simtest.ClientVPC, IP: ip})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": ep.ID, "serviceId": svc.ID})
	}))
	s.Mount("GET /test/{account}/endpoints/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, err := inventory.Get[*inventory.Endpoint](s.Inventory, r.PathValue("id"))
		if errors.Is(err, inventory.ErrNotFound) {
			http.Error(w, `{"error_code":"EndPoint.2003"}`, 404)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": ep.Status})
	}))
	s.Mount("POST /test/{account}/endpoints/{id}/accept", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, state := s.Faults.Outcome("test.endpoint.accept")
		_, err := inventory.Update(s.Inventory, r.PathValue("id"), func(e *inventory.Endpoint) error {
			switch kind {
			case faults.Stuck:
			case faults.Reject:
				e.Status = state
			default:
				e.Status = inventory.EndpointAccepted
			}
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), 404)
		}
	}))
}

func startWithTestProvider(t *testing.T) *cloudsim.Sim {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	testProvider(s)
	return s
}

func do(t *testing.T, method, url string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func addFault(t *testing.T, s *cloudsim.Sim, r faults.Rule) string {
	t.Helper()
	resp, body := do(t, "POST", s.AdminURL()+"/faults", r)
	if resp.StatusCode != 201 {
		t.Fatalf("add fault: %d %s", resp.StatusCode, body)
	}
	var out map[string]string
	_ = json.Unmarshal(body, &out)
	return out["id"]
}

func TestFaultKindsThroughAProviderAPI(t *testing.T) {
	s := startWithTestProvider(t)
	create := s.URL() + "/test/hw-client-b/endpoints"
	for _, tc := range []struct {
		name  string
		rule  faults.Rule
		check func(t *testing.T, resp *http.Response, body []byte, took time.Duration)
	}{
		{"error", faults.Rule{Op: "test.*", Kind: faults.Error, Status: 500, Code: "VPCEP.0001", Message: "internal"},
			func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
				if resp.StatusCode != 500 || !strings.Contains(string(body), `"error_code":"VPCEP.0001"`) {
					t.Errorf("got %d %s", resp.StatusCode, body)
				}
			}},
		{"throttle", faults.Rule{Op: "test.CreateEndpoint", Kind: faults.Throttle, Code: "APIGW.0308", RetryAfter: 3e9},
			func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
				if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || !strings.Contains(string(body), "APIGW.0308") {
					t.Errorf("got %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
			}},
		{"latency", faults.Rule{Op: "test.CreateEndpoint", Kind: faults.Latency, Latency: 300e6},
			func(t *testing.T, resp *http.Response, body []byte, took time.Duration) {
				if resp.StatusCode != 200 || took < 300*time.Millisecond {
					t.Errorf("got %d after %s, want 200 after >=300ms", resp.StatusCode, took)
				}
			}},
		{"timeout", faults.Rule{Op: "test.CreateEndpoint", Kind: faults.Timeout, Latency: 200e6},
			func(t *testing.T, resp *http.Response, body []byte, took time.Duration) {
				if resp.StatusCode != 504 || took < 200*time.Millisecond {
					t.Errorf("got %d after %s, want 504 after >=200ms", resp.StatusCode, took)
				}
			}},
		{"times 1 hits once", faults.Rule{Op: "test.CreateEndpoint", Kind: faults.Error, Times: 1},
			func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
				if resp.StatusCode != 500 {
					t.Errorf("first call: %d %s, want 500", resp.StatusCode, body)
				}
				if resp, body := do(t, "POST", create, nil); resp.StatusCode != 200 {
					t.Errorf("second call: %d %s, want 200", resp.StatusCode, body)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := addFault(t, s, tc.rule)
			defer do(t, "DELETE", s.AdminURL()+"/faults/"+id, nil)
			start := time.Now()
			resp, body := do(t, "POST", create, nil)
			tc.check(t, resp, body, time.Since(start))
		})
	}
}

func TestStateFaults(t *testing.T) {
	s := startWithTestProvider(t)
	newEndpoint := func() string {
		resp, body := do(t, "POST", s.URL()+"/test/hw-client-b/endpoints", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		var out map[string]string
		_ = json.Unmarshal(body, &out)
		return out["id"]
	}
	status := func(id string) string {
		_, body := do(t, "GET", s.URL()+"/test/hw-client-b/endpoints/"+id, nil)
		var out map[string]string
		_ = json.Unmarshal(body, &out)
		return out["status"]
	}
	for _, tc := range []struct {
		name string
		rule *faults.Rule
		want string
	}{
		{"none", nil, "accepted"},
		{"stuck", &faults.Rule{Op: "test.endpoint.accept", Kind: faults.Stuck}, "pendingAcceptance"},
		{"reject", &faults.Rule{Op: "test.endpoint.accept", Kind: faults.Reject, State: "rejected"}, "rejected"},
		{"failed", &faults.Rule{Op: "test.endpoint.*", Kind: faults.Reject, State: "failed"}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rule != nil {
				defer s.Faults.Remove(s.Faults.MustAdd(*tc.rule))
			}
			id := newEndpoint()
			do(t, "POST", s.URL()+"/test/hw-client-b/endpoints/"+id+"/accept", nil)
			if got := status(id); got != tc.want {
				t.Errorf("status %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEventualConsistency(t *testing.T) {
	s := startWithTestProvider(t)
	addFault(t, s, faults.Rule{Op: "visible.endpoint", Kind: faults.Eventual, VisibleAfter: 400e6})
	resp, body := do(t, "POST", s.URL()+"/test/hw-client-b/endpoints", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var out map[string]string
	_ = json.Unmarshal(body, &out)
	get := s.URL() + "/test/hw-client-b/endpoints/" + out["id"]
	if resp, _ := do(t, "GET", get, nil); resp.StatusCode != 404 {
		t.Errorf("fresh endpoint visible: %d", resp.StatusCode)
	}
	// The admin view shows it (with visibleAt), the provider view does not.
	if _, body := do(t, "GET", s.AdminURL()+"/inventory/endpoint/"+out["id"], nil); !strings.Contains(string(body), "visibleAt") {
		t.Errorf("admin view lacks the hidden endpoint: %s", body)
	}
	// The service was not hidden (the rule names endpoints only).
	if _, err := s.Inventory.Get(inventory.KindEndpointService, out["serviceId"]); err != nil {
		t.Errorf("service hidden: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, _ := do(t, "GET", get, nil)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("endpoint never became visible")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInventoryListsWhatAnOperationCreated(t *testing.T) {
	s := startWithTestProvider(t)
	before := map[string]bool{}
	var snap map[string][]map[string]any
	_, body := do(t, "GET", s.AdminURL()+"/inventory", nil)
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatal(err)
	}
	for kind, objs := range snap {
		for _, o := range objs {
			before[kind+"/"+o["id"].(string)] = true
		}
	}
	resp, body := do(t, "POST", s.URL()+"/test/hw-client-b/endpoints", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created map[string]string
	_ = json.Unmarshal(body, &created)
	_, body = do(t, "GET", s.AdminURL()+"/inventory", nil)
	snap = nil
	_ = json.Unmarshal(body, &snap)
	var added []string
	for kind, objs := range snap {
		for _, o := range objs {
			if k := kind + "/" + o["id"].(string); !before[k] {
				added = append(added, k)
			}
		}
	}
	want := map[string]bool{"endpoint/" + created["id"]: true, "endpointService/" + created["serviceId"]: true}
	if len(added) != len(want) {
		t.Errorf("added %v, want %v", added, want)
	}
	for _, a := range added {
		if !want[a] {
			t.Errorf("unexpected new resource %s", a)
		}
	}
	// Filter by account and kind.
	_, body = do(t, "GET", s.AdminURL()+"/inventory?kind=endpoint&account=hw-client-b", nil)
	if !strings.Contains(string(body), created["id"]) || strings.Contains(string(body), "endpointService") {
		t.Errorf("filtered inventory: %s", body)
	}
	// Secrets never leave through the admin API.
	_, body = do(t, "GET", s.AdminURL()+"/inventory?kind=account", nil)
	if strings.Contains(string(body), "hw-kafka-owner-sk") || !strings.Contains(string(body), "HWKAFKAOWNERAK") {
		t.Errorf("account view leaks secrets or lacks key IDs: %s", body)
	}
}

func TestNetworkFollowsTheInventory(t *testing.T) {
	s := startWithTestProvider(t)
	resp, body := do(t, "POST", s.URL()+"/test/hw-client-b/endpoints", nil)
	if resp.StatusCode != 200 {
		t.Fatal(string(body))
	}
	var created map[string]string
	_ = json.Unmarshal(body, &created)
	ep, _ := inventory.Get[*inventory.Endpoint](s.Inventory, created["id"])
	addr := net.JoinHostPort(ep.IP, "9011")
	// Before acceptance nothing listens on the endpoint address.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts before the endpoint is accepted", addr)
	}
	// The test service points at port "p", which does not exist: the
	// forwarder cannot start and the network reports why.
	do(t, "POST", s.URL()+"/test/hw-client-b/endpoints/"+created["id"]+"/accept", nil)
	if errs := s.Net.Errors(); len(errs) == 0 || !strings.Contains(errs[len(errs)-1], "backend port p") {
		t.Errorf("errors %v", errs)
	}
	// A real cross-VPC endpoint forwards; deleting it stops the forwarding.
	addrs := simtest.CrossVPC(t, s, nil)
	c, err := net.DialTimeout("tcp", addrs[0], time.Second)
	if err != nil {
		t.Fatalf("dial accepted endpoint %s: %v", addrs[0], err)
	}
	c.Close()
	var st struct{ Forwarders []map[string]string }
	_, body = do(t, "GET", s.AdminURL()+"/network", nil)
	_ = json.Unmarshal(body, &st)
	if len(st.Forwarders) != 3 {
		t.Errorf("forwarders %s", body)
	}
	for _, e := range inventory.List[*inventory.Endpoint](s.Inventory, inventory.Filter{Match: func(o inventory.Object) bool {
		return o.(*inventory.Endpoint).IP+":9011" == addrs[0]
	}}) {
		if err := s.Inventory.Delete(inventory.KindEndpoint, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := net.DialTimeout("tcp", addrs[0], time.Second); err == nil {
		c.Close()
		t.Errorf("%s still forwards after the endpoint was deleted", addrs[0])
	}
}

func TestAdminResetAndWorld(t *testing.T) {
	s := startWithTestProvider(t)
	do(t, "POST", s.URL()+"/test/hw-client-b/endpoints", nil)
	addFault(t, s, faults.Rule{Op: "*", Kind: faults.Latency, Latency: 1e6})
	if resp, body := do(t, "POST", s.AdminURL()+"/reset", nil); resp.StatusCode != 200 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if n := len(s.Inventory.List(inventory.KindEndpoint, inventory.Filter{})); n != 0 {
		t.Errorf("%d endpoints after reset", n)
	}
	if n := len(s.Inventory.List(inventory.KindKafka, inventory.Filter{})); n != 3 {
		t.Errorf("%d kafka instances after reset, want the world's 3", n)
	}
	if len(s.Faults.Rules()) != 0 {
		t.Errorf("fault rules survive reset")
	}
	if len(s.Net.State().Brokers) != 9 {
		t.Errorf("brokers after reset: %+v", s.Net.State())
	}
	// Bad inputs are refused.
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/faults", `{"op":"x","kind":"explode"}`},
		{"POST", "/faults", `{"op":"[","kind":"error"}`},
		{"POST", "/world", "vpcs: [{id: v, cidr: 10.0.0.0/8, addressBlock: 10.0.0.0/8}]"},
		{"POST", "/world", "nonsense: true"},
		{"GET", "/inventory?kind=widget", ""},
	} {
		if resp, body := do(t, tc.method, s.AdminURL()+tc.path, tc.body); resp.StatusCode != 400 {
			t.Errorf("%s %s %q: %d %s, want 400", tc.method, tc.path, tc.body, resp.StatusCode, body)
		}
	}
	// A world posted at run time starts its brokers.
	w := fmt.Sprintf(`
vpcs: [{id: extra, account: x, cidr: 10.9.0.0/16, addressBlock: %s}]
kafka: [{id: k-extra, vpc: extra, brokers: [{id: 0}, {id: 1}]}]
`, "127.250.0.0/24")
	if resp, body := do(t, "POST", s.AdminURL()+"/world", w); resp.StatusCode != 201 {
		t.Fatalf("post world: %d %s", resp.StatusCode, body)
	}
	if c, ok := s.Net.Cluster("k-extra"); !ok || len(c.Kfake().ListenAddrs()) != 2 {
		t.Fatalf("extra cluster not running")
	}
	if resp, _ := do(t, "POST", s.AdminURL()+"/world", w); resp.StatusCode != 409 {
		t.Errorf("loading the same world twice: %d, want 409", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", s.AdminURL()+"/reset?empty=true", nil); resp.StatusCode != 200 || len(s.Net.State().Brokers) != 0 {
		t.Errorf("empty reset left brokers: %+v", s.Net.State())
	}
}
