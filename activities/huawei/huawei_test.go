package huawei

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/plan"
)

// IDs of the default cloudsim world (cloudsim/worlds/default.yaml).
const (
	kafkaID     = "6b2f7e4a-0000-4000-8000-00000000a010"
	ownerVPC    = "4f1a0c3e-0000-4000-8000-00000000a001"
	ownerSG     = "4f1a0c3e-0000-4000-8000-00000000a003"
	clientVPC   = "4f1a0c3e-0000-4000-8000-00000000b001"
	clientSub   = "4f1a0c3e-0000-4000-8000-00000000b002"
	owner       = "hw-kafka-owner"
	client      = "hw-client-b"
	ownerDomain = "0605767a2e80d5a20f2bc00b4b1e1f11"
	clientDom   = "0605767a2e80d5a20f2bc00c5c2f2a22"
)

type env struct {
	sim  *cloudsim.Sim
	acts *Actions
	reg  *activities.Registry
}

func repoRoot() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..")
}

// setup starts cloudsim with the Huawei provider and the default world and
// points the example account registry at it.
func setup(t *testing.T) *env {
	t.Helper()
	hwsim.DefaultTiming.ServiceCreate = 50 * time.Millisecond
	hwsim.DefaultTiming.EndpointCreate = 50 * time.Millisecond
	hwsim.DefaultTiming.Delete = 50 * time.Millisecond
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"huawei"}})
	t.Setenv("CLOUDSIM_URL", sim.URL())
	for acct, kv := range map[string][2]string{
		"HW_KAFKA_OWNER": {"HWKAFKAOWNERAK0000001", "hw-kafka-owner-sk-7f3a9c1e5b2d4a6f8e0c"},
		"HW_CLIENT_B":    {"HWCLIENTBAK0000000002", "hw-client-b-sk-2c4e6a8b0d1f3e5a7c9b"},
		"OTC_KAFKA":      {"OTCKAFKAAK00000000003", "otc-kafka-sk-9a8b7c6d5e4f3a2b1c0d"},
	} {
		t.Setenv("TOPOFLOW_"+acct+"_AK", kv[0])
		t.Setenv("TOPOFLOW_"+acct+"_SK", kv[1])
	}
	accts, err := accounts.Load(filepath.Join(repoRoot(), "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := activities.NewRegistry()
	// Every call checks its outputs against the action's descriptor.
	reg.CheckOutputs(contract.CheckOutputs)
	Register(reg, accts)
	return &env{sim: sim, acts: New(accts), reg: reg}
}

func (e *env) call(t *testing.T, action, account, key string, inputs map[string]any) (plan.Outputs, error) {
	t.Helper()
	fn, ok := e.reg.Get(action)
	if !ok {
		t.Fatalf("%s not registered", action)
	}
	return fn(context.Background(), plan.Call{Action: action, Account: account, Inputs: inputs, IdempotencyKey: key})
}

func (e *env) must(t *testing.T, action, account, key string, inputs map[string]any) plan.Outputs {
	t.Helper()
	out, err := e.call(t, action, account, key, inputs)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

// waitStatus polls a read action until its status is want.
func (e *env) waitStatus(t *testing.T, action, account string, inputs map[string]any, want string) plan.Outputs {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := e.call(t, action, account, "", inputs)
		if err == nil && out["status"] == want {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %v: want status %s, last %v / %v", action, inputs, want, out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func TestEveryCatalogActionRegistered(t *testing.T) {
	reg := activities.NewRegistry()
	Register(reg, nil)
	for _, n := range catalog.Names() {
		if a, _ := catalog.Lookup(n); a.Provider == "huawei" {
			if _, ok := reg.Get(n); !ok {
				t.Errorf("catalog action %s has no implementation", n)
			}
		}
	}
	for _, n := range reg.Names() {
		if _, ok := catalog.Lookup(n); !ok {
			t.Errorf("implementation %s has no catalog descriptor", n)
		}
	}
}

// TestCrossAccountFlow runs runbook 000 with the real SDK against cloudsim:
// discover brokers, one endpoint service per broker port, whitelist the
// client domain, endpoints in the client VPC, accept, patch the listeners,
// open the security group; then undo everything.
func TestCrossAccountFlow(t *testing.T) {
	e := setup(t)
	inst := e.must(t, catalog.HuaweiDMSShowInstance, owner, "", map[string]any{"instanceId": kafkaID})
	brokers := inst["brokers"].([]any)
	if len(brokers) != 3 || inst["vpcId"] != ownerVPC || inst["securityGroupId"] != ownerSG || inst["status"] != "RUNNING" {
		t.Fatalf("show instance: %+v", inst)
	}
	original := inst["advertised"].(map[string]any)
	advertised := map[string]any{}
	type created struct{ svc, ep, listener string }
	var made []created
	for i, b := range brokers {
		b := b.(map[string]any)
		key := fmt.Sprintf("wf-1/svc/%d", i)
		svc := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, key, map[string]any{
			"vpcId": ownerVPC, "portId": b["portId"], "serverPort": 9011, "clientPort": 9011, "approvalEnabled": true,
		})
		sid := svc["serviceId"].(string)
		if svc["status"] != "creating" || !strings.HasPrefix(svc["serviceName"].(string), "cn-north-4.") {
			t.Fatalf("create service: %+v", svc)
		}
		e.waitStatus(t, catalog.HuaweiVPCEPGetEndpointService, owner, map[string]any{"serviceId": sid}, "available")

		// Not whitelisted yet: the client is refused (non-retryable).
		_, err := e.call(t, catalog.HuaweiVPCEPCreateEndpoint, client, "wf-1/ep-early/"+sid, map[string]any{"serviceId": sid, "vpcId": clientVPC, "subnetId": clientSub})
		if errType(err) != plan.ErrUnauthorized {
			t.Fatalf("endpoint before whitelist: err %v (type %q)", err, errType(err))
		}

		wl := e.must(t, catalog.HuaweiVPCEPAddWhitelist, owner, "", map[string]any{"serviceId": sid, "clientAccount": client})
		if wl["permission"] != "iam:domain::"+clientDom {
			t.Fatalf("whitelist: %+v", wl)
		}
		e.must(t, catalog.HuaweiVPCEPAddWhitelist, owner, "", map[string]any{"serviceId": sid, "clientAccount": client}) // no-op

		ep := e.must(t, catalog.HuaweiVPCEPCreateEndpoint, client, fmt.Sprintf("wf-1/ep/%d", i), map[string]any{
			"serviceId": sid, "serviceName": svc["serviceName"], "vpcId": clientVPC, "subnetId": clientSub,
		})
		eid := ep["endpointId"].(string)
		if ep["ip"] != "" {
			t.Fatalf("endpoint IP must be hidden until accepted: %+v", ep)
		}
		e.waitStatus(t, catalog.HuaweiVPCEPGetEndpoint, client, map[string]any{"endpointId": eid}, "pendingAcceptance")
		acc := e.must(t, catalog.HuaweiVPCEPAcceptConnection, owner, "", map[string]any{"serviceId": sid, "endpointId": eid})
		if acc["status"] != "accepted" {
			t.Fatalf("accept: %+v", acc)
		}
		e.must(t, catalog.HuaweiVPCEPAcceptConnection, owner, "", map[string]any{"serviceId": sid, "endpointId": eid}) // no-op
		got := e.waitStatus(t, catalog.HuaweiVPCEPGetEndpoint, client, map[string]any{"endpointId": eid}, "accepted")
		if got["ip"] == "" {
			t.Fatalf("accepted endpoint has no IP: %+v", got)
		}
		advertised[b["listenerIp"].(string)] = got["ip"]
		made = append(made, created{sid, eid, b["listenerIp"].(string)})
	}

	upd := e.must(t, catalog.HuaweiDMSUpdateCrossVpcIps, owner, "wf-1/adv", map[string]any{"instanceId": kafkaID, "advertised": advertised})
	if fmt.Sprint(upd["previous"]) != fmt.Sprint(original) || fmt.Sprint(upd["current"]) != fmt.Sprint(advertised) {
		t.Fatalf("update: %+v", upd)
	}
	after := e.must(t, catalog.HuaweiDMSShowInstance, owner, "", map[string]any{"instanceId": kafkaID})
	if fmt.Sprint(after["advertised"]) != fmt.Sprint(advertised) {
		t.Fatalf("advertised after update: %v", after["advertised"])
	}
	// The network model now forwards every endpoint IP:9011 to its broker.
	st := e.sim.Net.State()
	if len(st.Forwarders) < 3 {
		t.Fatalf("forwarders: %+v", st.Forwarders)
	}

	rule := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-1/sg", map[string]any{"securityGroupId": ownerSG, "port": 9011, "cidr": "198.19.128.0/17"})
	rule2 := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-1/sg", map[string]any{"securityGroupId": ownerSG, "port": 9011, "cidr": "198.19.128.0/17"})
	if rule["created"] != true || rule2["ruleId"] != rule["ruleId"] || rule2["created"] != true {
		t.Fatalf("sg rule: %+v / %+v", rule, rule2)
	}

	// Roll back: the inverses in reverse order.
	e.must(t, catalog.HuaweiVPCDeleteSecurityGroupRule, owner, "wf-1/undo-sg", map[string]any{"ruleId": rule["ruleId"], "created": true})
	e.must(t, catalog.HuaweiDMSUpdateCrossVpcIps, owner, "wf-1/adv-undo", map[string]any{"instanceId": kafkaID, "advertised": upd["previous"]})
	for _, m := range made {
		e.must(t, catalog.HuaweiVPCEPRejectConnection, owner, "", map[string]any{"serviceId": m.svc, "endpointId": m.ep})
		e.must(t, catalog.HuaweiVPCEPDeleteEndpoint, client, "", map[string]any{"endpointId": m.ep})
		waitGone(t, e, catalog.HuaweiVPCEPGetEndpoint, client, map[string]any{"endpointId": m.ep})
		e.must(t, catalog.HuaweiVPCEPDeleteEndpoint, client, "", map[string]any{"endpointId": m.ep}) // already gone: done
		e.must(t, catalog.HuaweiVPCEPRemoveWhitelist, owner, "", map[string]any{"serviceId": m.svc, "clientAccount": client})
		e.must(t, catalog.HuaweiVPCEPDeleteEndpointService, owner, "", map[string]any{"serviceId": m.svc})
		waitGone(t, e, catalog.HuaweiVPCEPGetEndpointService, owner, map[string]any{"serviceId": m.svc})
	}
	final := e.must(t, catalog.HuaweiDMSShowInstance, owner, "", map[string]any{"instanceId": kafkaID})
	if fmt.Sprint(final["advertised"]) != fmt.Sprint(original) {
		t.Fatalf("advertised not restored: %v", final["advertised"])
	}
	if n := len(e.sim.Inventory.List(inventory.KindEndpoint, inventory.Filter{})) + len(e.sim.Inventory.List(inventory.KindEndpointService, inventory.Filter{})); n != 0 {
		t.Fatalf("%d VPCEP resources leaked", n)
	}
	sg, _ := inventory.Get[*inventory.SecurityGroup](e.sim.Inventory, ownerSG)
	for _, r := range sg.Rules {
		if r.RemoteCIDR == "198.19.128.0/17" {
			t.Fatalf("security group rule leaked")
		}
	}
}

func waitGone(t *testing.T, e *env, action, account string, inputs map[string]any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := e.call(t, action, account, "", inputs)
		if errType(err) == plan.ErrNotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %v not gone: %v", action, inputs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIdempotentCreates: the same idempotency key twice gives one resource.
func TestIdempotentCreates(t *testing.T) {
	e := setup(t)
	in := map[string]any{"vpcId": ownerVPC, "portId": "7a5e4c1b-0000-4000-8000-00000000a061", "approvalEnabled": false}
	a := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, "wf-2/svc/0", in)
	b := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, "wf-2/svc/0", in)
	if a["serviceId"] != b["serviceId"] || b["existing"] != true {
		t.Fatalf("service created twice: %v / %v", a, b)
	}
	// Another key on the same port repeats its (server_port, protocol)
	// mapping, which the cloud refuses (SDK model_create_endpoint_service_request_body.go, Ports).
	if _, err := e.call(t, catalog.HuaweiVPCEPCreateEndpointService, owner, "wf-2/svc/1", in); errType(err) != plan.ErrInvalid {
		t.Fatalf("a second service mapping 9011/TCP of the same port: %v, want %s", err, plan.ErrInvalid)
	}
	in2 := map[string]any{"vpcId": ownerVPC, "portId": "7a5e4c1b-0000-4000-8000-00000000a072", "approvalEnabled": false}
	c := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, "wf-2/svc/1", in2)
	if c["serviceId"] == a["serviceId"] {
		t.Fatal("another key must create another service")
	}
	sid := a["serviceId"].(string)
	e.waitStatus(t, catalog.HuaweiVPCEPGetEndpointService, owner, map[string]any{"serviceId": sid}, "available")
	ein := map[string]any{"serviceId": sid, "vpcId": ownerVPC, "subnetId": "4f1a0c3e-0000-4000-8000-00000000a002"}
	x := e.must(t, catalog.HuaweiVPCEPCreateEndpoint, owner, "wf-2/ep/0", ein)
	y := e.must(t, catalog.HuaweiVPCEPCreateEndpoint, owner, "wf-2/ep/0", ein)
	if x["endpointId"] != y["endpointId"] {
		t.Fatalf("endpoint created twice")
	}
	// Same account, approval disabled: accepted without the owner acting.
	e.waitStatus(t, catalog.HuaweiVPCEPGetEndpoint, owner, map[string]any{"endpointId": x["endpointId"]}, "accepted")
	if n := len(e.sim.Inventory.List(inventory.KindEndpointService, inventory.Filter{})); n != 2 {
		t.Fatalf("%d services, want 2", n)
	}
	if n := len(e.sim.Inventory.List(inventory.KindEndpoint, inventory.Filter{})); n != 1 {
		t.Fatalf("%d endpoints, want 1", n)
	}
	// A peering and its route, twice each.
	p1 := e.must(t, catalog.HuaweiVPCCreatePeering, owner, "wf-2/peer", map[string]any{"vpcId": ownerVPC, "peerVpcId": clientVPC, "peerAccount": client, "name": "kafka-to-b"})
	p2 := e.must(t, catalog.HuaweiVPCCreatePeering, owner, "wf-2/peer", map[string]any{"vpcId": ownerVPC, "peerVpcId": clientVPC, "peerAccount": client, "name": "kafka-to-b"})
	if p1["peeringId"] != p2["peeringId"] || p1["status"] != "PENDING_ACCEPTANCE" {
		t.Fatalf("peering: %v / %v", p1, p2)
	}
}

func TestPeeringFlow(t *testing.T) {
	e := setup(t)
	p := e.must(t, catalog.HuaweiVPCCreatePeering, owner, "wf-3/peer", map[string]any{"vpcId": ownerVPC, "peerVpcId": clientVPC, "peerAccount": client})
	pid := p["peeringId"].(string)
	if _, err := e.call(t, catalog.HuaweiVPCAcceptPeering, owner, "", map[string]any{"peeringId": pid}); errType(err) != plan.ErrUnauthorized {
		t.Fatalf("requester accepting: %v", err)
	}
	e.must(t, catalog.HuaweiVPCAcceptPeering, client, "", map[string]any{"peeringId": pid})
	e.must(t, catalog.HuaweiVPCAcceptPeering, client, "", map[string]any{"peeringId": pid}) // no-op
	e.waitStatus(t, catalog.HuaweiVPCGetPeering, owner, map[string]any{"peeringId": pid}, "ACTIVE")
	r1 := e.must(t, catalog.HuaweiVPCAddRoute, owner, "wf-3/r1", map[string]any{"vpcId": ownerVPC, "destination": "10.1.0.0/16", "nexthop": pid})
	r2 := e.must(t, catalog.HuaweiVPCAddRoute, client, "wf-3/r2", map[string]any{"vpcId": clientVPC, "destination": "192.168.0.0/16", "nexthop": pid})
	if r1["created"] != true || r2["created"] != true {
		t.Fatalf("routes: %v %v", r1, r2)
	}
	again := e.must(t, catalog.HuaweiVPCAddRoute, owner, "wf-3/r1", map[string]any{"vpcId": ownerVPC, "destination": "10.1.0.0/16", "nexthop": pid})
	if again["routeId"] != r1["routeId"] {
		t.Fatalf("route not reused")
	}
	// The peering is in use: deleting it first is a retryable conflict.
	if _, err := e.call(t, catalog.HuaweiVPCDeletePeering, owner, "", map[string]any{"peeringId": pid}); errType(err) != plan.ErrConflict {
		t.Fatalf("delete used peering: %v", err)
	}
	e.must(t, catalog.HuaweiVPCDeleteRoute, owner, "", map[string]any{"routeId": r1["routeId"], "created": true})
	e.must(t, catalog.HuaweiVPCDeleteRoute, client, "", map[string]any{"routeId": r2["routeId"], "created": true})
	e.must(t, catalog.HuaweiVPCDeleteRoute, client, "", map[string]any{"routeId": r2["routeId"], "created": true})
	e.must(t, catalog.HuaweiVPCDeletePeering, owner, "", map[string]any{"peeringId": pid})
	waitGone(t, e, catalog.HuaweiVPCGetPeering, owner, map[string]any{"peeringId": pid})
}

func TestErrors(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name    string
		setup   func()
		action  string
		account string
		inputs  map[string]any
		want    string
		retry   bool
	}{
		{"missing input", nil, catalog.HuaweiDMSShowInstance, owner, map[string]any{}, plan.ErrInvalid, false},
		{"unknown account", nil, catalog.HuaweiDMSShowInstance, "nobody", map[string]any{"instanceId": kafkaID}, plan.ErrInvalid, false},
		{"wrong provider", nil, catalog.HuaweiDMSShowInstance, "aws-msk", map[string]any{"instanceId": kafkaID}, plan.ErrInvalid, false},
		{"not found", nil, catalog.HuaweiDMSShowInstance, owner, map[string]any{"instanceId": "nope"}, plan.ErrNotFound, true},
		{"other account's instance", nil, catalog.HuaweiDMSShowInstance, client, map[string]any{"instanceId": kafkaID}, plan.ErrNotFound, true},
		{"bad listener", nil, catalog.HuaweiDMSUpdateCrossVpcIps, owner, map[string]any{"instanceId": kafkaID, "advertised": map[string]any{"1.2.3.4": "5.6.7.8"}}, plan.ErrInvalid, false},
		{"wrong secret", func() { t.Setenv("TOPOFLOW_HW_KAFKA_OWNER_SK", "not-the-secret") }, catalog.HuaweiDMSShowInstance, owner, map[string]any{"instanceId": kafkaID}, plan.ErrUnauthorized, false},
		{"no credentials", func() { t.Setenv("TOPOFLOW_HW_KAFKA_OWNER_AK", "") }, catalog.HuaweiDMSShowInstance, owner, map[string]any{"instanceId": kafkaID}, plan.ErrUnauthorized, false},
		{"throttled", func() {
			e.sim.Faults.MustAdd(faults.Rule{Op: "huawei.kafka.ShowInstance", Kind: faults.Throttle, Times: 1, RetryAfter: plan.D(3 * time.Second)})
		}, catalog.HuaweiDMSShowInstance, owner, map[string]any{"instanceId": kafkaID}, plan.ErrThrottled, true},
		{"server error", func() {
			e.sim.Faults.MustAdd(faults.Rule{Op: "huawei.vpcep.ListEndpointService", Kind: faults.Error, Times: 1})
		}, catalog.HuaweiVPCEPCreateEndpointService, owner, map[string]any{"vpcId": ownerVPC, "portId": "p"}, plan.ErrUnavailable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sk, ak := os.Getenv("TOPOFLOW_HW_KAFKA_OWNER_SK"), os.Getenv("TOPOFLOW_HW_KAFKA_OWNER_AK")
			defer func() {
				os.Setenv("TOPOFLOW_HW_KAFKA_OWNER_SK", sk)
				os.Setenv("TOPOFLOW_HW_KAFKA_OWNER_AK", ak)
			}()
			if tc.setup != nil {
				tc.setup()
			}
			_, err := e.call(t, tc.action, tc.account, "wf-err/"+tc.name, tc.inputs)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != tc.want || ae.NonRetryable() == tc.retry {
				t.Fatalf("err = %v (type %q), want %s retryable=%v", err, errType(err), tc.want, tc.retry)
			}
			if strings.Contains(err.Error(), "hw-kafka-owner-sk") || strings.Contains(err.Error(), "not-the-secret") {
				t.Fatalf("error leaks a secret: %v", err)
			}
			if tc.want == plan.ErrThrottled && ae.NextRetryDelay() != 3*time.Second {
				t.Fatalf("NextRetryDelay = %v, want 3s", ae.NextRetryDelay())
			}
		})
	}
}

// TestOTCByEndpointConfiguration: an Open Telekom Cloud account works
// through its endpoints alone (the sim serves both).
func TestOTCByEndpointConfiguration(t *testing.T) {
	e := setup(t)
	_, err := e.call(t, catalog.HuaweiDMSShowInstance, "otc-kafka", "", map[string]any{"instanceId": kafkaID})
	// The instance belongs to another account: a signed, authenticated 404.
	if errType(err) != plan.ErrNotFound {
		t.Fatalf("otc: %v", err)
	}
}

// TestModifyWhileBusy posts a second crossvpc/modify right after a first:
// cloudsim keeps the instance busy meanwhile (400 DMS.00400026). Within the
// busy budget the action waits and succeeds; past it, it returns a
// retryable Conflict, never a permanent InvalidInput.
func TestModifyWhileBusy(t *testing.T) {
	e := setup(t)
	view, err := activities.Typed(e.acts.ShowInstance)(context.Background(), plan.Call{Action: catalog.HuaweiDMSShowInstance, Account: owner, Inputs: map[string]any{"instanceId": kafkaID}})
	if err != nil {
		t.Fatal(err)
	}
	orig := view["advertised"].(map[string]any)
	changed := map[string]any{}
	i := 0
	for ip := range orig {
		i++
		changed[ip] = fmt.Sprintf("192.168.77.%d", i)
	}
	tests := []struct {
		name     string
		budget   time.Duration
		wantType string
	}{
		{"waits within the budget", 30 * time.Second, ""},
		{"retryable past the budget", 0, plan.ErrConflict},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acts := New(e.acts.accts, WithBusyBudget(tc.budget, 100*time.Millisecond))
			first, second := changed, orig
			if n%2 == 1 {
				first, second = orig, changed
			}
			call := func(m map[string]any, key string) error {
				_, err := activities.Typed(acts.UpdateCrossVpcIps)(context.Background(), plan.Call{Action: catalog.HuaweiDMSUpdateCrossVpcIps, Account: owner,
					IdempotencyKey: key, Inputs: map[string]any{"instanceId": kafkaID, "advertised": m}})
				return err
			}
			if err := call(first, "busy/1"); err != nil {
				t.Fatalf("first modify: %v", err)
			}
			err := call(second, "busy/2")
			if tc.wantType == "" {
				if err != nil {
					t.Fatalf("second modify: %v", err)
				}
				return
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != tc.wantType || ae.NonRetryable() {
				t.Fatalf("second modify: got %v, want a retryable %s", err, tc.wantType)
			}
			time.Sleep(hwsim.DefaultTiming.DMSModifyBusy + 200*time.Millisecond)
		})
	}
}

// TestDefaultEndpoints checks the endpoints used when the registry gives
// none against the SDK's region files (services/*/region/region.go).
func TestDefaultEndpoints(t *testing.T) {
	tests := []struct {
		cloud, region, service, want string
	}{
		{accounts.CloudHuawei, "cn-north-4", "dms", "https://dms.cn-north-4.myhuaweicloud.com"},
		{accounts.CloudHuawei, "eu-west-101", "dms", "https://dms.eu-west-101.myhuaweicloud.eu"},
		{accounts.CloudHuawei, "eu-west-101", "vpcep", "https://vpcep.eu-west-101.myhuaweicloud.eu"},
		{accounts.CloudHuawei, "eu-west-101", "vpc", "https://vpc.eu-west-101.myhuaweicloud.com"},
		{accounts.CloudOTC, "eu-de", "dms", "https://dms.eu-de.otc.t-systems.com"},
	}
	for _, tc := range tests {
		a := &accounts.Account{Region: tc.region, Huawei: &accounts.Huawei{Cloud: tc.cloud}}
		if got := defaultEndpoint(a, tc.service); got != tc.want {
			t.Errorf("%s %s %s: %s, want %s", tc.cloud, tc.region, tc.service, got, tc.want)
		}
	}
}

// TestShowInstanceUserID: DMS's user_id is the creating user, not the
// account's domain ID; the action reports it as userId.
func TestShowInstanceUserID(t *testing.T) {
	e := setup(t)
	out := e.must(t, catalog.HuaweiDMSShowInstance, owner, "", map[string]any{"instanceId": kafkaID})
	if out["userId"] == "" || out["userId"] == ownerDomain || out["domainId"] != nil {
		t.Fatalf("userId %v, domainId %v (the domain is %s)", out["userId"], out["domainId"], ownerDomain)
	}
}
