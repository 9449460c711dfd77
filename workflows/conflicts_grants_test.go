package workflows

import (
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// TestGrantClaims: a granted request's claims are its plan's and those its
// done steps took with their final inputs (a route known only at run time).
func TestGrantClaims(t *testing.T) {
	route := plan.Step{ID: "route", Action: "aws.ec2.createRoute",
		Inputs: map[string]plan.Value{"routeTableId": plan.Expr("steps.x.rtb"), "destination": plan.Lit("10.1.0.0/16")}}
	adv := plan.Step{ID: "adv", Action: "huawei.dms.updateCrossVpcIps", Inputs: map[string]plan.Value{"instanceId": plan.Lit("i-1")}}
	pending := plan.Step{ID: "later", Action: "aws.ec2.createRoute",
		Inputs: map[string]plan.Value{"routeTableId": plan.Expr("steps.x.rtb2"), "destination": plan.Lit("10.2.0.0/16")}}
	g := GrantRecord{Request: Request{Plan: mkPlan(plan.FailRollback, adv, route, pending)}, Steps: []GrantStep{
		{ID: "adv", State: StepDone, Inputs: map[string]any{"instanceId": "i-1"}},
		{ID: "route", State: StepDone, Inputs: map[string]any{"routeTableId": "rtb-1", "destination": "10.1.0.0/16", "peeringId": "pcx-1"}},
		{ID: "later", State: StepSkipped, Inputs: map[string]any{"routeTableId": "rtb-2", "destination": "10.2.0.0/16"}},
	}}
	got := map[string]string{}
	for _, c := range grantClaims(g) {
		got[c.Resource] = c.Mode
	}
	want := map[string]string{"huawei:dms:i-1:advertised-ips": ClaimExclusive, "aws:route:rtb-1:10.1.0.0/16": ClaimSame}
	if len(got) != len(want) {
		t.Fatalf("claims %v, want %v", got, want)
	}
	for r, m := range want {
		if got[r] != m {
			t.Fatalf("claims %v, want %v", got, want)
		}
	}
}
