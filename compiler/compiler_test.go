package compiler

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

var update = flag.Bool("update", false, "rewrite the golden plans")

func options(t testing.TB) spec.Options {
	t.Helper()
	reg, err := accounts.Load("../specs/accounts.yaml")
	if err != nil {
		t.Fatalf("load account registry: %v", err)
	}
	return spec.Options{
		Accounts: func(n string) (string, bool) {
			a, ok := reg.Get(n)
			if !ok {
				return "", false
			}
			return a.Provider, true
		},
		AccountNames: reg.Names,
	}
}

func examples(t testing.TB) []string {
	files, _ := filepath.Glob("../specs/*.yaml")
	var out []string
	for _, f := range files {
		if filepath.Base(f) != "accounts.yaml" {
			out = append(out, f)
		}
	}
	if len(out) < 13 {
		t.Fatalf("expected at least 13 examples, found %d", len(out))
	}
	return out
}

func compileFile(t testing.TB, path string) *plan.Plan {
	t.Helper()
	p, err := CompileFile(path, options(t))
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return p
}

// TestGoldenPlans compiles every example and compares its canonical JSON with
// compiler/testdata/<example>.plan.json (go test ./compiler -update rewrites them).
func TestGoldenPlans(t *testing.T) {
	for _, f := range examples(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p := compileFile(t, f)
			if err := p.Check(); err != nil {
				t.Fatalf("plan fails Check: %v", err)
			}
			got, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(f), ".yaml")+".plan.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (go test ./compiler -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan differs from %s (go test ./compiler -update, then review the diff)", golden)
			}
			// The golden file round-trips through plan.Parse.
			if _, err := plan.Parse(want); err != nil {
				t.Errorf("golden plan does not parse: %v", err)
			}
		})
	}
}

// TestDeterministic compiles every example twice from scratch and compares hashes.
func TestDeterministic(t *testing.T) {
	for _, f := range examples(t) {
		a, b := compileFile(t, f), compileFile(t, f)
		ha, err := a.Hash()
		if err != nil {
			t.Fatal(err)
		}
		hb, _ := b.Hash()
		if ha != hb {
			t.Errorf("%s: two compilations give different sha256 %s and %s", f, ha, hb)
		}
	}
}

func stepIDs(p *plan.Plan) []string {
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

// compileProviderAcceptance compiles specs/huawei-vpcep-cross-account.yaml
// with vpcEndpoint.acceptance: provider.
func compileProviderAcceptance(t *testing.T) *plan.Plan {
	t.Helper()
	b, err := os.ReadFile("../specs/huawei-vpcep-cross-account.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(b), "    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    acceptance: provider\n", 1)
	if doc == string(b) {
		t.Fatal("the example has no vpcEndpoint.sourceCidr line to extend")
	}
	path := filepath.Join(t.TempDir(), "huawei-vpcep-cross-account.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return compileFile(t, path)
}

// TestHuaweiCrossAccountRunbookOrder checks the default plan across accounts
// against runbook 000: endpoint services with approval_enabled false,
// Topoflow's approval gate, then the whitelist and the endpoints (accepted
// without a provider-side accept).
func TestHuaweiCrossAccountRunbookOrder(t *testing.T) {
	p := compileFile(t, "../specs/huawei-vpcep-cross-account.yaml")
	want := []struct{ id, action string }{
		{"discover", "huawei.dms.showInstance"},
		{"create-endpoint-service", "huawei.vpcep.createEndpointService"},
		{"wait-endpoint-service", "huawei.vpcep.getEndpointService"},
		{"approve-connection", plan.ActionApproval},
		{"whitelist-client", "huawei.vpcep.addWhitelist"},
		{"create-endpoint", "huawei.vpcep.createEndpoint"},
		{"wait-endpoint-accepted", "huawei.vpcep.getEndpoint"},
		{"wait-instance-running", "huawei.dms.showInstance"},
		{"set-advertised-ips", "huawei.dms.updateCrossVpcIps"},
		{"open-security-group", "huawei.vpc.addSecurityGroupRule"},
		{"open-network-acl", "huawei.vpc.allowNetworkACL"}, // runbook 001 Notes: the subnet ACL, where there is one
		{"verify", "kafka.verify"},
	}
	if len(p.Steps) != len(want) {
		t.Fatalf("steps = %v", stepIDs(p))
	}
	for i, w := range want {
		if s := p.Steps[i]; s.ID != w.id || s.Action != w.action {
			t.Errorf("step %d = %s (%s), want %s (%s)", i+1, s.ID, s.Action, w.id, w.action)
		}
	}
	if svc := p.Step("create-endpoint-service"); svc.Inputs["approvalEnabled"].Literal != false {
		t.Errorf("endpoint services approval_enabled = %v, want false (runbook 000 step 8)", svc.Inputs["approvalEnabled"].Literal)
	}
	if !strings.Contains(p.Summary, "acceptance: whitelist") {
		t.Errorf("summary %q does not say which acceptance runs", p.Summary)
	}
	if dep := p.Step("whitelist-client").DependsOn; len(dep) == 0 || dep[0] != "approve-connection" {
		t.Errorf("the whitelist depends on %v, want the approval gate first", dep)
	}
}

// TestHuaweiCrossAccountProviderAcceptance checks the explicit
// vpcEndpoint.acceptance: provider variant across accounts.
func TestHuaweiCrossAccountProviderAcceptance(t *testing.T) {
	p := compileProviderAcceptance(t)
	if !strings.Contains(p.Summary, "acceptance: provider") {
		t.Errorf("summary %q does not say which acceptance runs", p.Summary)
	}
	want := []struct {
		id, action, compensation string
		fanOut                   bool
	}{
		{"discover", "huawei.dms.showInstance", "", false},
		{"create-endpoint-service", "huawei.vpcep.createEndpointService", "huawei.vpcep.deleteEndpointService", true},
		{"wait-endpoint-service", "huawei.vpcep.getEndpointService", "", true},
		{"whitelist-client", "huawei.vpcep.addWhitelist", "huawei.vpcep.removeWhitelist", true},
		{"create-endpoint", "huawei.vpcep.createEndpoint", "huawei.vpcep.deleteEndpoint", true},
		{"wait-endpoint-pending", "huawei.vpcep.getEndpoint", "", true},
		{"approve-connection", plan.ActionApproval, "", false},
		{"accept-connection", "huawei.vpcep.acceptConnection", "huawei.vpcep.rejectConnection", true},
		{"wait-endpoint-accepted", "huawei.vpcep.getEndpoint", "", true},
		{"wait-instance-running", "huawei.dms.showInstance", "", false},
		{"set-advertised-ips", "huawei.dms.updateCrossVpcIps", "huawei.dms.updateCrossVpcIps", false},
		{"open-security-group", "huawei.vpc.addSecurityGroupRule", "huawei.vpc.deleteSecurityGroupRule", false},
		{"open-network-acl", "huawei.vpc.allowNetworkACL", "huawei.vpc.removeNetworkACLRules", false},
		{"verify", "kafka.verify", "", false},
	}
	if len(p.Steps) != len(want) {
		t.Fatalf("steps = %v", stepIDs(p))
	}
	for i, w := range want {
		s := p.Steps[i]
		comp := ""
		if s.Compensation != nil {
			comp = s.Compensation.Action
		}
		if s.ID != w.id || s.Action != w.action || comp != w.compensation || (s.ForEach != nil) != w.fanOut {
			t.Errorf("step %d = %s %s (undo %q, fan-out %v), want %s %s (undo %q, fan-out %v)",
				i+1, s.ID, s.Action, comp, s.ForEach != nil, w.id, w.action, w.compensation, w.fanOut)
		}
		if s.ForEach != nil && (s.ForEach.Items != "steps.discover.brokers" || s.ForEach.Key != "broker.portId") {
			t.Errorf("step %s fans out over %q key %q", s.ID, s.ForEach.Items, s.ForEach.Key)
		}
	}
	svc := p.Step("create-endpoint-service")
	if svc.Inputs["serverPort"].Literal != 9011 || svc.Inputs["clientPort"].Literal != 9011 || svc.Inputs["approvalEnabled"].Literal != true {
		t.Errorf("endpoint service inputs = %+v", svc.Inputs)
	}
	if svc.Compensation.WaitAction != "huawei.vpcep.getEndpointService" || svc.Compensation.Wait == nil || !svc.Compensation.Wait.Gone {
		t.Errorf("endpoint service compensation does not wait until gone: %+v", svc.Compensation)
	}
	if a := p.Step("create-endpoint").Account; a != "hw-client-b" {
		t.Errorf("endpoints are created as %q, want the client account", a)
	}
	w := p.Step("wait-endpoint-pending").Wait
	if strings.Join(w.Target, ",") != "pendingAcceptance,accepted" || strings.Join(w.Failure, ",") != "rejected,failed" {
		t.Errorf("pending wait = %+v", w)
	}
	g := p.Step("approve-connection").Gate
	if g.Deadline.String() != "72h" || g.OnExpiry != plan.ExpireReject || len(g.Who) != 2 {
		t.Errorf("gate = %+v", g)
	}
	adv := p.Step("set-advertised-ips")
	if len(adv.Locks) != 1 || adv.Locks[0] != `"kafka:huawei:" + "6b2f7e4a-0000-4000-8000-00000000a010"` {
		t.Errorf("advertised IPs lock = %q", adv.Locks)
	}
	sg := p.Step("open-security-group")
	if sg.Inputs["cidr"].Literal != "198.19.128.0/17" || sg.Inputs["port"].Literal != 9011 {
		t.Errorf("security group rule = %+v", sg.Inputs)
	}
	// Runbook 001: where the instance's subnet has a network ACL, the VPCEP range is allowed there too.
	acl := p.Step("open-network-acl")
	if fmt.Sprint(acl.Inputs["cidrs"].Literal) != "[198.19.128.0/17]" || acl.Inputs["port"].Literal != 9011 || acl.Inputs["subnetId"].Expr != "steps.discover.subnetId" {
		t.Errorf("network ACL rule = %+v", acl.Inputs)
	}
	if !slices.Contains(p.Step("verify").DependsOn, "open-network-acl") {
		t.Errorf("verify does not wait for the network ACL rule: %v", p.Step("verify").DependsOn)
	}
}

// TestAdvertisedMapIsOneToOneByPortID evaluates the compiled advertised-IP
// expression against outputs listed in different orders: the map must follow
// port IDs, never list positions.
func TestAdvertisedMapIsOneToOneByPortID(t *testing.T) {
	p := compileFile(t, "../specs/huawei-vpcep-cross-account.yaml")
	env := map[string]any{
		"steps": map[string]any{
			"discover": map[string]any{"brokers": []any{
				map[string]any{"id": 0, "listenerIp": "10.0.0.1", "portId": "port-a"},
				map[string]any{"id": 1, "listenerIp": "10.0.0.2", "portId": "port-b"},
			}},
			"create-endpoint-service": []any{
				map[string]any{"portId": "port-b", "serviceId": "svc-b"},
				map[string]any{"portId": "port-a", "serviceId": "svc-a"},
			},
			"wait-endpoint-accepted": []any{
				map[string]any{"serviceId": "svc-a", "ip": "192.168.0.11"},
				map[string]any{"serviceId": "svc-b", "ip": "192.168.0.22"},
			},
		},
	}
	got, err := p.Step("set-advertised-ips").Inputs["advertised"].Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[10.0.0.1:192.168.0.11 10.0.0.2:192.168.0.22]" {
		t.Errorf("advertised = %v", got)
	}
}

func TestHuaweiSameAccountHasNoWhitelistOrApproval(t *testing.T) {
	p := compileFile(t, "../specs/huawei-vpcep-same-account.yaml")
	for _, id := range []string{"whitelist-client", "approve-connection", "accept-connection", "wait-endpoint-pending"} {
		if p.Step(id) != nil {
			t.Errorf("same-account plan has step %s", id)
		}
	}
	if p.Step("create-endpoint-service").Inputs["approvalEnabled"].Literal != false {
		t.Error("approvalEnabled should be false in one account")
	}
	if p.OnFailure != plan.FailPark {
		t.Errorf("onFailure = %s", p.OnFailure)
	}
}

func TestWorkflowCompilation(t *testing.T) {
	p := compileFile(t, "../specs/workflow-emqx-alibaba-peering.yaml")
	if got := strings.Join(stepIDs(p), ","); got != "request-peering,approve-routes,configure-routes,verify" {
		t.Errorf("steps = %s", got)
	}
	cr := p.Step("configure-routes")
	// spec references are folded into literals; step references stay expressions.
	if cr.Inputs["destination"].Expr != `"10.64.128.0/24"` || cr.Inputs["nexthop"].Expr != `steps["request-peering"].data.peeringId` {
		t.Errorf("inputs = %+v", cr.Inputs)
	}
	if p.Step("verify").Inputs["bootstrap"].Expr != `["192.168.1.11:9092"]` {
		t.Errorf("bootstrap = %+v", p.Step("verify").Inputs["bootstrap"])
	}
	// from: routes the verification to the probe of the EMQX deployment's
	// network and tells kafka.verify which network it dials from.
	if v := p.Step("verify"); v.Probe == nil || *v.Probe != (plan.Probe{Account: "emqx-deployment", Network: "vpc-emqx0deployment01"}) ||
		v.Inputs["clientNetwork"].Literal != "vpc-emqx0deployment01" {
		t.Errorf("verify probe = %+v, clientNetwork = %+v", v.Probe, v.Inputs["clientNetwork"])
	}
	if p.Outputs["peeringId"].Expr == "" || p.OnFailure != plan.FailPark {
		t.Errorf("outputs/onFailure = %+v %s", p.Outputs, p.OnFailure)
	}
}

func TestWorkflowOrderAndDerivedDependencies(t *testing.T) {
	src := `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: order}
spec:
  inputs: {vpc: vpc-1, peer: vpc-2}
  policy: {allowUngated: true, reason: the peering is reviewed in the network change ticket}
  steps:
    - id: route
      action: huawei.vpc.addRoute
      account: hw-kafka-owner
      inputs:
        vpcId: ${{ spec.inputs.vpc }}
        destination: 10.0.0.0/16
        nexthop: ${{ steps.peer.peeringId }}
    - id: peer
      action: huawei.vpc.createPeering
      account: hw-kafka-owner
      inputs: {vpcId: "${{ spec.inputs.vpc }}", peerVpcId: "${{ spec.inputs.peer }}"}
      compensation:
        action: huawei.vpc.deletePeering
        inputs: {peeringId: "${{ output.peeringId }}"}
    - id: note
      action: manual
      gate: {who: [ops]}
      compensation: {none: true}
`
	docs, err := spec.Parse("order.yaml", []byte(src), options(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stepIDs(p), ","); got != "peer,route,note" {
		t.Errorf("order = %s", got)
	}
	r := p.Step("route")
	if strings.Join(r.DependsOn, ",") != "peer" || r.Inputs["vpcId"].Expr != `"vpc-1"` {
		t.Errorf("route = %+v", r)
	}
	if r.Compensation == nil || r.Compensation.Action != "huawei.vpc.deleteRoute" {
		t.Errorf("derived compensation = %+v", r.Compensation)
	}
	if c := p.Step("peer").Compensation; c.Action != "huawei.vpc.deletePeering" || c.Wait != nil {
		t.Errorf("overridden compensation = %+v", c)
	}
	if p.Step("note").Compensation != nil {
		t.Error("compensation none kept a compensation")
	}
}

func TestFoldSpec(t *testing.T) {
	raw := map[string]any{"inputs": map[string]any{"n": int64(3), "s": "a\"b", "l": []any{"x", int64(1)}}}
	tests := []struct{ in, want string }{
		{"spec.inputs.n + 1", "3 + 1"},
		{`spec.inputs.s`, `"a\"b"`},
		{`spec["inputs"].l`, `["x", 1]`},
		{`steps.a.b`, `steps.a.b`},
		{`map(spec.inputs.l, # + steps.x.y)`, `map(["x", 1], # + steps.x.y)`},
	}
	for _, tt := range tests {
		got, err := foldSpec(tt.in, raw)
		if err != nil {
			t.Errorf("foldSpec(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("foldSpec(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMergeWaitMovesStatesBetweenGroups(t *testing.T) {
	def := &plan.Wait{Pending: []string{"creating", "pendingAcceptance"}, Target: []string{"accepted"}, Failure: []string{"rejected"},
		PollInterval: plan.D(2e9), Timeout: plan.D(60e9)}
	w := mergeWait(&spec.Wait{Target: []string{"pendingAcceptance", "accepted"}}, def)
	if strings.Join(w.Pending, ",") != "creating" || strings.Join(w.Target, ",") != "pendingAcceptance,accepted" ||
		strings.Join(w.Failure, ",") != "rejected" || w.PollInterval != def.PollInterval {
		t.Errorf("merged = %+v", w)
	}
	p := plan.Plan{APIVersion: plan.APIVersion, OnFailure: plan.FailRollback, Steps: []plan.Step{{ID: "a", Action: "x", Wait: w}}}
	if err := p.Check(); err != nil {
		t.Error(err)
	}
}
