package alibaba

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	alisim "github.com/topoflow/topoflow/cloudsim/alibaba"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/plan"
)

type env struct {
	sim   *cloudsim.Sim
	funcs map[string]func(context.Context, plan.Call) (plan.Outputs, error)
}

// newEnv runs the Alibaba actions against the twin on cloudsim/worlds/alibaba.yaml.
func newEnv(t *testing.T, timing alisim.Timing) *env {
	t.Helper()
	old := alisim.DefaultTiming
	alisim.DefaultTiming = timing
	defer func() { alisim.DefaultTiming = old }()
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"alibaba"}})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := simtest.Shifted(t, filepath.Join("..", "..", "cloudsim", "worlds", "alibaba.yaml"))
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Setenv("TOPOFLOW_ALI_OURS_ACCESS_KEY_ID", "LTAI5tOURS00000000000001")
	t.Setenv("TOPOFLOW_ALI_OURS_ACCESS_KEY_SECRET", "ali-ours-secret-4b7d1e9a2c5f8b3e6a0d")
	t.Setenv("TOPOFLOW_EMQX_ALIBABA_ACCESS_KEY_ID", "LTAI5tEMQX00000000000001")
	t.Setenv("TOPOFLOW_EMQX_ALIBABA_ACCESS_KEY_SECRET", "emqx-alibaba-secret-9e2c7a4f1b6d3e8c5a0f")
	eps := "{vpcpeer: '" + url + "', vpc: '" + url + "', ecs: '" + url + "'}"
	reg, err := accounts.Parse("r.yaml", []byte("accounts:\n"+
		"  ali-ours: {provider: alibaba, region: cn-hangzhou, alibaba: {accountId: '1234567890123456'}, endpoints: "+eps+"}\n"+
		"  emqx-alibaba: {provider: alibaba, region: cn-hangzhou, alibaba: {accountId: '5678901234567890'}, endpoints: "+eps+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: s, funcs: map[string]func(context.Context, plan.Call) (plan.Outputs, error){}}
	for name, fn := range New(reg).Funcs() {
		e.funcs[name] = fn
	}
	return e
}

func (e *env) call(action, account, key string, in map[string]any) (plan.Outputs, error) {
	out, err := e.funcs[action](context.Background(), plan.Call{Action: action, Account: account, IdempotencyKey: key, Inputs: in})
	if err == nil {
		if cerr := contract.CheckOutputs(action, out); cerr != nil {
			return nil, cerr
		}
	}
	return out, err
}

func (e *env) must(t *testing.T, action, account, key string, in map[string]any) plan.Outputs {
	t.Helper()
	out, err := e.call(action, account, key, in)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func (e *env) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		out, err := e.call(catalog.AlibabaVpcPeerGetPeering, "ali-ours", "", map[string]any{"peeringId": id})
		got := "gone"
		if err == nil {
			got, _ = out["status"].(string)
		} else if errType(err) != plan.ErrNotFound {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peering %s: %s, want %s", id, got, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestPeeringRouteRuleIdempotentAndUndone: retried creates find the first
// attempt's resources (ClientToken, entry name, rule description); an
// identical route or rule this request did not create is kept by the undo;
// a peering is deleted only from a deletable state.
func TestPeeringRouteRuleIdempotentAndUndone(t *testing.T) {
	e := newEnv(t, alisim.Timing{Create: 1500 * time.Millisecond, Accept: 50 * time.Millisecond, Delete: 50 * time.Millisecond, Route: 1200 * time.Millisecond, MaxClockSkew: 15 * time.Minute})
	in := map[string]any{"vpcId": "vpc-bp1ours00000000000001", "acceptingAccountId": "5678901234567890", "acceptingVpcId": "vpc-bp1emqx00000000000001"}
	p := e.must(t, catalog.AlibabaVpcPeerCreatePeering, "ali-ours", "wf/peer", in)
	if p2 := e.must(t, catalog.AlibabaVpcPeerCreatePeering, "ali-ours", "wf/peer", in); p2["peeringId"] != p["peeringId"] {
		t.Fatalf("a retried create made a second peering: %v %v", p, p2)
	}
	if n := len(inventory.List[*inventory.Peering](e.sim.Inventory, inventory.Filter{})); n != 1 {
		t.Fatalf("%d peerings, want 1", n)
	}
	id := p["peeringId"].(string)
	if p["status"] != alisim.StatusCreating {
		t.Fatalf("fresh peering %v", p)
	}
	// Not deletable while Creating: retried (Conflict), not failed.
	if _, err := e.call(catalog.AlibabaVpcPeerDeletePeering, "ali-ours", "wf/peer-undo", map[string]any{"peeringId": id}); errType(err) != plan.ErrConflict {
		t.Fatalf("delete while Creating: %v, want a Conflict", err)
	}
	if _, err := e.call(catalog.AlibabaVpcPeerCreatePeering, "ali-ours", "wf/bad", map[string]any{"vpcId": "vpc-x", "acceptingAccountId": "emqx", "acceptingVpcId": "vpc-y"}); errType(err) != plan.ErrInvalid {
		t.Fatalf("a non-numeric account UID: %v", err)
	}
	e.waitStatus(t, id, alisim.StatusAccepting)
	e.must(t, catalog.AlibabaVpcPeerAcceptPeering, "emqx-alibaba", "emqx/accept", map[string]any{"peeringId": id})
	e.waitStatus(t, id, alisim.StatusActivated)

	route := map[string]any{"routeTableId": "vtb-bp1ours00000000000001", "destination": "10.64.130.0/24", "peeringId": id}
	r := e.must(t, catalog.AlibabaVpcCreateRouteEntry, "ali-ours", "wf/route", route)
	// The entry is applied asynchronously (Pending, then Available): the create returns once it forwards.
	if st := routeStatus(t, e, "vtb-bp1ours00000000000001", "10.64.130.0/24"); st != inventory.RouteAvailable {
		t.Fatalf("route after its create returned: status %q, want Available", st)
	}
	if r2 := e.must(t, catalog.AlibabaVpcCreateRouteEntry, "ali-ours", "wf/route", route); r["created"] != true || r2["created"] != true || r2["routeEntryId"] != r["routeEntryId"] {
		t.Fatalf("route and its retry: %v %v", r, r2)
	}
	if other := e.must(t, catalog.AlibabaVpcCreateRouteEntry, "ali-ours", "other/route", route); other["created"] != false {
		t.Fatalf("another request's identical route: %v, want created=false", other)
	}
	rule := map[string]any{"securityGroupId": "sg-bp1ours00000000000001", "sourceCidr": "10.64.130.0/24", "portRange": "9092/9092"}
	g := e.must(t, catalog.AlibabaEcsAuthorizeSecurityGroup, "ali-ours", "wf/rule", rule)
	if g2 := e.must(t, catalog.AlibabaEcsAuthorizeSecurityGroup, "ali-ours", "wf/rule", rule); g["created"] != true || g2["created"] != true {
		t.Fatalf("rule and its retry: %v %v", g, g2)
	}
	if other := e.must(t, catalog.AlibabaEcsAuthorizeSecurityGroup, "ali-ours", "other/rule", rule); other["created"] != false {
		t.Fatalf("another request's identical rule: %v", other)
	}
	// The other request's undo keeps them; ours removes them.
	keep := map[string]any{"securityGroupId": "sg-bp1ours00000000000001", "sourceCidr": "10.64.130.0/24", "portRange": "9092/9092", "created": false}
	e.must(t, catalog.AlibabaEcsRevokeSecurityGroup, "ali-ours", "other/rule-undo", keep)
	keep["created"] = true
	if out := e.must(t, catalog.AlibabaEcsRevokeSecurityGroup, "ali-ours", "wf/rule-undo", keep); out["created"] != true {
		t.Fatalf("revoke: %v", out)
	}
	sg, _ := inventory.Get[*inventory.SecurityGroup](e.sim.Inventory, "sg-bp1ours00000000000001")
	if len(sg.Rules) != 1 {
		t.Fatalf("rules after the revoke: %+v", sg.Rules)
	}
	del := map[string]any{"routeTableId": "vtb-bp1ours00000000000001", "destination": "10.64.130.0/24", "created": true}
	if out := e.must(t, catalog.AlibabaVpcDeleteRouteEntry, "ali-ours", "wf/route-undo", del); out["deleted"] != true {
		t.Fatalf("delete route: %v", out)
	}
	// The delete returns once the entry is gone (it lingers as Deleting), so the peering can be deleted next.
	if st := routeStatus(t, e, "vtb-bp1ours00000000000001", "10.64.130.0/24"); st != "gone" {
		t.Fatalf("route after its delete returned: status %q, want gone", st)
	}
	if out := e.must(t, catalog.AlibabaVpcDeleteRouteEntry, "ali-ours", "wf/route-undo", del); out["deleted"] != false {
		t.Fatalf("a second delete: %v", out)
	}
	e.must(t, catalog.AlibabaVpcPeerDeletePeering, "ali-ours", "wf/peer-undo", map[string]any{"peeringId": id})
	e.waitStatus(t, id, "gone")
	if out := e.must(t, catalog.AlibabaVpcPeerDeletePeering, "ali-ours", "wf/peer-undo", map[string]any{"peeringId": id}); out["deleted"] != true {
		t.Fatalf("deleting a deleted peering: %v", out)
	}
}

// routeStatus is the twin's status of a route table's entry for dest ("gone" when absent).
func routeStatus(t *testing.T, e *env, table, dest string) string {
	t.Helper()
	rt, err := inventory.Get[*inventory.RouteTable](e.sim.Inventory, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rt.Routes {
		if r.Destination == dest {
			return r.Status
		}
	}
	return "gone"
}
