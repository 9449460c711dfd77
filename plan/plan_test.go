package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func validPlan() *Plan {
	return &Plan{
		APIVersion: APIVersion,
		Source:     Source{Kind: "Workflow", Name: "demo"},
		OnFailure:  FailRollback,
		Steps: []Step{
			{ID: "discover", Title: "Discover", Action: "huawei.dms.showInstance", Inputs: map[string]Value{"instanceId": Lit("i-1")}},
			{ID: "create", Title: "Create", Action: "huawei.vpcep.createEndpointService", DependsOn: []string{"discover"},
				ForEach: &ForEach{Items: "steps.discover.brokers", As: "broker", Key: "broker.portId", Concurrency: 2},
				Inputs:  map[string]Value{"portId": Expr("broker.portId"), "vpcId": Expr("steps.discover.vpcId")},
				Compensation: &Compensation{Title: "Delete", Action: "huawei.vpcep.deleteEndpointService",
					Inputs: map[string]Value{"serviceId": Expr("output.serviceId")}}},
			{ID: "approve", Title: "Approve", Action: ActionApproval, DependsOn: []string{"create"},
				Gate: &Gate{Who: []string{"alice"}, Deadline: D(time.Hour), OnExpiry: ExpireReject}},
			{ID: "wait", Title: "Wait", Action: "huawei.vpcep.getEndpoint", DependsOn: []string{"approve"},
				Wait: &Wait{Pending: []string{"creating"}, Target: []string{"accepted"}, Failure: []string{"rejected"},
					PollInterval: D(5 * time.Second), Timeout: D(10 * time.Minute)}},
		},
		Outputs: map[string]Value{"services": Expr("steps.create")},
	}
}

func TestCheckValid(t *testing.T) {
	if err := validPlan().Check(); err != nil {
		t.Fatalf("valid plan rejected: %v", err)
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Plan)
		want   string
	}{
		{"api version", func(p *Plan) { p.APIVersion = "v0" }, `apiVersion is "v0"`},
		{"on failure", func(p *Plan) { p.OnFailure = "explode" }, `onFailure is "explode"`},
		{"bad id", func(p *Plan) { p.Steps[0].ID = "Bad_ID" }, "invalid ID"},
		{"duplicate id", func(p *Plan) { p.Steps[1].ID = "discover" }, "duplicate step ID"},
		{"unknown dep", func(p *Plan) { p.Steps[1].DependsOn = []string{"nope"} }, `unknown step "nope"`},
		{"later dep (cycle)", func(p *Plan) { p.Steps[0].DependsOn = []string{"create"} }, "comes later"},
		{"reads non-dependency", func(p *Plan) {
			p.Steps[3].Inputs = map[string]Value{"x": Expr("steps.discover.vpcId")}
			p.Steps[3].DependsOn = nil
		},
			`reads steps.discover, but the step does not depend on "discover"`},
		{"syntax error", func(p *Plan) { p.Steps[1].Inputs["vpcId"] = Expr("steps.discover.(") }, "invalid expression"},
		{"unknown root", func(p *Plan) { p.Steps[0].Inputs["x"] = Expr("secrets.key") }, `unknown name "secrets"`},
		{"item outside forEach", func(p *Plan) { p.Steps[0].Inputs["x"] = Expr("broker.portId") }, `unknown name "broker"`},
		{"nondeterministic", func(p *Plan) { p.Steps[0].Inputs["x"] = Expr("string(now())") }, "not deterministic"},
		{"gate missing", func(p *Plan) { p.Steps[2].Gate = nil }, "without gate settings"},
		{"gate on action", func(p *Plan) { p.Steps[0].Gate = &Gate{Who: []string{"a"}} }, "gate settings on"},
		{"gate nobody", func(p *Plan) { p.Steps[2].Gate.Who = nil }, "lists nobody"},
		{"expiry", func(p *Plan) { p.Steps[2].Gate.OnExpiry = "maybe" }, `onExpiry is "maybe"`},
		{"wait no target", func(p *Plan) { p.Steps[3].Wait.Target = nil }, "no target state"},
		{"wait poll", func(p *Plan) { p.Steps[3].Wait.PollInterval = 0 }, "pollInterval must be positive"},
		{"wait overlap", func(p *Plan) { p.Steps[3].Wait.Failure = []string{"accepted"} }, `state "accepted" is both target and failure`},
		{"compensation action", func(p *Plan) { p.Steps[1].Compensation.Action = "" }, "compensation has no action"},
		{"output unknown step", func(p *Plan) { p.Outputs["x"] = Expr("steps.ghost.id") }, `unknown step "ghost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			tt.mutate(p)
			err := p.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestHashStableAndRoundTrip(t *testing.T) {
	a, b := validPlan(), validPlan()
	ha, err := a.Hash()
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := b.Hash()
	if ha != hb || len(ha) != 64 {
		t.Fatalf("hashes differ or malformed: %s %s", ha, hb)
	}
	js, _ := a.JSON()
	p, err := Parse(js)
	if err != nil {
		t.Fatalf("Parse(JSON()) = %v", err)
	}
	if hp, _ := p.Hash(); hp != ha {
		t.Fatalf("round trip changed hash: %s vs %s\n%s", hp, ha, js)
	}
	b.Steps[0].Title = "Changed"
	if hc, _ := b.Hash(); hc == ha {
		t.Fatal("hash did not change with the plan")
	}
	if _, err := Parse([]byte(`{"apiVersion":"` + APIVersion + `","bogus":1}`)); err == nil {
		t.Fatal("Parse accepted an unknown field")
	}
}

func TestDurationJSON(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: `"1h"`, 90 * time.Second: `"1m30s"`, 10 * time.Minute: `"10m"`, 1500 * time.Millisecond: `"1.5s"`, 0: `"0s"`} {
		b, err := D(d).MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("%v: got %s, want %s", d, b, want)
		}
		var back Duration
		if err := back.UnmarshalJSON(b); err != nil || back.Std() != d {
			t.Errorf("%v: round trip gave %v, %v", d, back, err)
		}
	}
	var bad Duration
	if err := bad.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("accepted an invalid duration")
	}
}

func TestEval(t *testing.T) {
	env := map[string]any{
		"steps": map[string]any{"discover": map[string]any{"brokers": []any{
			map[string]any{"portId": "p1", "listenerIp": "192.168.0.11"},
			map[string]any{"portId": "p2", "listenerIp": "192.168.0.12"},
		}}},
	}
	got, err := Eval(`map(steps.discover.brokers, #.portId)`, env)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := got.([]any); !ok || len(l) != 2 || l[1] != "p2" {
		t.Fatalf("got %#v", got)
	}
	m, err := Eval(`fromPairs(map(steps.discover.brokers, [#.listenerIp, #.portId]))`, env)
	if err != nil {
		t.Fatal(err)
	}
	if mm, ok := m.(map[string]any); !ok || mm["192.168.0.12"] != "p2" {
		t.Fatalf("fromPairs result not normalized to map[string]any: %#v", m)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Fatalf("result not JSON-encodable: %v", err)
	}
	if _, err := Eval(`now()`, env); err == nil {
		t.Fatal("now() evaluated; it must be disabled")
	}
	in, err := ResolveAll(map[string]Value{"a": Lit(9011), "b": Expr(`"iam:domain::" + "d1"`)}, env)
	if err != nil || in["a"] != 9011 || in["b"] != "iam:domain::d1" {
		t.Fatalf("ResolveAll = %v, %v", in, err)
	}
}

func TestParseRefs(t *testing.T) {
	r, err := ParseRefs(`let z = 1; steps.a.x + steps["b"].y + z + broker.port + len(filter(steps.c, #.ok))`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Steps, ",") != "a,b,c" {
		t.Errorf("steps = %v", r.Steps)
	}
	if strings.Join(r.Roots, ",") != "broker,steps" {
		t.Errorf("roots = %v", r.Roots)
	}
}

func TestClassify(t *testing.T) {
	w := &Wait{Pending: []string{"creating"}, Target: []string{"accepted"}, Failure: []string{"rejected"}}
	for s, want := range map[string]string{"creating": "pending", "accepted": "target", "rejected": "failure", "weird": "unknown"} {
		if got := w.Classify(s); got != want {
			t.Errorf("Classify(%q) = %q, want %q", s, got, want)
		}
	}
}
