package workflows

import (
	"strings"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

func TestClash(t *testing.T) {
	ex := func(r string) Claim { return Claim{Resource: r, Mode: ClaimExclusive} }
	sh := func(r string) Claim { return Claim{Resource: r, Mode: ClaimShared} }
	zone := func(vpc, name string) Claim {
		return Claim{Resource: "aws:route53:vpc:" + vpc, Holder: name, Mode: ClaimNames}
	}
	for _, tc := range []struct {
		name string
		a, b Claim
		want bool
	}{
		{"exclusive vs exclusive, same resource", ex("r"), ex("r"), true},
		{"exclusive vs shared, same resource", ex("r"), sh("r"), true},
		{"shared vs shared coexist", sh("r"), sh("r"), false},
		{"same change coexists", Claim{Resource: "r", Holder: "h1", Mode: ClaimSame}, Claim{Resource: "r", Holder: "h1", Mode: ClaimSame}, false},
		{"different change conflicts", Claim{Resource: "r", Holder: "h1", Mode: ClaimSame}, Claim{Resource: "r", Holder: "h2", Mode: ClaimSame}, true},
		{"other resource", ex("r"), ex("s"), false},
		{"same zone name in one VPC", zone("v", "kafka.eu-west-1.amazonaws.com"), zone("v", "kafka.eu-west-1.amazonaws.com"), true},
		{"nested zone shadows", zone("v", "c1.kafka.eu-west-1.amazonaws.com"), zone("v", "kafka.eu-west-1.amazonaws.com"), true},
		{"sibling zones coexist", zone("v", "c1.kafka.eu-west-1.amazonaws.com"), zone("v", "c2.kafka.eu-west-1.amazonaws.com"), false},
		{"suffix that is not a label", zone("v", "xkafka.aws"), zone("v", "kafka.aws"), false},
		{"zones in other VPCs", zone("v", "a.b"), zone("w", "a.b"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clash(tc.a, tc.b); got != tc.want {
				t.Errorf("Clash(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := Clash(tc.b, tc.a); got != tc.want {
				t.Errorf("Clash is not symmetric for %+v, %+v", tc.a, tc.b)
			}
		})
	}
}

func TestPlanClaims(t *testing.T) {
	p := &plan.Plan{Steps: []plan.Step{
		{ID: "adv", Action: "huawei.dms.updateCrossVpcIps", Inputs: map[string]plan.Value{
			"instanceId": plan.Lit("i-1"), "advertised": plan.Expr("steps.x.map")}},
		{ID: "cfg", Action: "ambari.putConfig", Locks: []string{`"ambari:rg/c1"`}, Inputs: map[string]plan.Value{"type": plan.Lit("kafka-env")}},
		{ID: "route", Action: "aws.ec2.createRoute", Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit("10.0.0.0/16")}},
		{ID: "zone", Action: "aws.route53.createHostedZone", Inputs: map[string]plan.Value{
			"vpcId": plan.Lit("vpc-1"), "name": plan.Lit("Kafka.Example.")}},
		{ID: "other", Action: "huawei.vpc.addSecurityGroupRule", Inputs: map[string]plan.Value{"port": plan.Lit(9011)}},
	}}
	got := PlanClaims(p)
	want := []Claim{
		{Resource: "ambari:rg/c1:config:kafka-env", Mode: ClaimSame, Step: "cfg"},
		{Resource: "aws:route53:vpc:vpc-1", Holder: "kafka.example", Mode: ClaimNames, Step: "zone"},
		{Resource: "huawei:dms:i-1:advertised-ips", Mode: ClaimExclusive, Step: "adv"},
	}
	if len(got) != len(want) {
		t.Fatalf("claims %+v, want %d (a route whose table is an expression is known only at run time)", got, len(want))
	}
	for i := range want {
		got[i].Why = ""
		if got[i].Mode == ClaimSame && len(got[i].Holder) == 16 {
			got[i].Holder = "" // a hash of the change
		}
		if got[i] != want[i] {
			t.Errorf("claim %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFindConflicts(t *testing.T) {
	mine := []Claim{{Resource: "r", Mode: ClaimExclusive, Step: "s", Why: "one at a time"}}
	held := []Claim{{Resource: "r", Mode: ClaimExclusive, Step: "s"}}
	others := []Holder{
		{WorkflowID: "me", Claims: held, StartedUnixNano: 1},
		{WorkflowID: "earlier", Phase: PhaseRunning, RequestedBy: "alice", Claims: held, StartedUnixNano: 5},
		{WorkflowID: "later", Phase: PhaseRunning, Claims: held, StartedUnixNano: 20},
		{WorkflowID: "later-done", Phase: PhaseDone, Claims: held, StartedUnixNano: 30},
		{WorkflowID: "a-same-time", Phase: PhaseRunning, Claims: held, StartedUnixNano: 10},
		{WorkflowID: "z-same-time", Phase: PhaseRunning, Claims: held, StartedUnixNano: 10},
		{WorkflowID: "unrelated", Phase: PhaseRunning, Claims: []Claim{{Resource: "q", Mode: ClaimExclusive}}, StartedUnixNano: 2},
	}
	names := func(cs []Conflict) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Holder.WorkflowID)
		}
		return strings.Join(out, ",")
	}
	if got := names(FindConflicts(mine, "me", 0, others)); got != "earlier,later,later-done,a-same-time,z-same-time" {
		t.Errorf("apply-time conflicts %s", got)
	}
	// In the workflow (started at 10): earlier and Done requests hold,
	// later running ones do not; at the same instant the smaller ID wins.
	if got := names(FindConflicts(mine, "me", 10, others)); got != "earlier,later-done,a-same-time" {
		t.Errorf("workflow-time conflicts %s", got)
	}
	msg := FindConflicts(mine, "me", 0, others[1:2])[0].Error()
	for _, want := range []string{"step s needs r", "request earlier (applied by alice, Running)", "one at a time"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}
