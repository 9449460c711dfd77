package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TestHandBuiltPlanMustPassThePolicy: a plan started without `topoflow
// apply` (built or edited by hand) gets the same gate policy as a validated
// spec, before any step runs.
func TestHandBuiltPlanMustPassThePolicy(t *testing.T) {
	rule := func(cidr string) plan.Step {
		return plan.Step{ID: "open", Title: "Open", Action: "huawei.vpc.addSecurityGroupRule", Account: "hw-kafka-owner",
			Inputs: map[string]plan.Value{"securityGroupId": plan.Lit("sg-1"), "cidr": plan.Lit(cidr), "port": plan.Lit(9011)}}
	}
	for _, tc := range []struct {
		name, want string
		edit       func(p *plan.Plan)
	}{
		{"ungated mutating step", "no approval", func(p *plan.Plan) { p.Policy = nil }},
		{"rule from 0.0.0.0/0 despite allowUngated", "0.0.0.0/0", func(p *plan.Plan) { p.Steps[0] = rule("0.0.0.0/0") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkPlan(plan.FailRollback, create("a"))
			tc.edit(&p)
			rec := newRecorder()
			env := newEnv(t, rec)
			err := run(t, env, request(p))
			if appErrType(err) != ErrUntrustedPlan || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("error %v, want %s saying %q", err, ErrUntrustedPlan, tc.want)
			}
			if len(rec.calls) != 0 {
				t.Errorf("steps ran: %v", rec.sequence())
			}
		})
	}
}

// TestRetryWithBroadInputsRefused: an operator's replaced inputs pass the
// same grant rules as the plan's own: a parked security-group step is not
// retried with 0.0.0.0/0, and is with a narrow range.
func TestRetryWithBroadInputsRefused(t *testing.T) {
	const action = "huawei.vpc.addSecurityGroupRule"
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == action && c.Inputs["cidr"] != "10.1.0.0/16" {
			return nonRetryable("rule refused")
		}
		return nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	register(t, env, rec)
	reg := activities.NewRegistry()
	reg.Add(action, rec.action(action))
	reg.RegisterWith(env)

	open := plan.Step{ID: "open", Title: "Open", Action: action, Account: "hw-kafka-owner", DependsOn: []string{"a"},
		Inputs: map[string]plan.Value{"securityGroupId": plan.Lit("sg-1"), "cidr": plan.Lit("10.9.0.0/16"), "port": plan.Lit(9011)}}
	p := mkPlan(plan.FailPark, create("a"), open)
	var broad, narrow updateCB
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRetry, "broad", &broad, OperatorAction{Step: "open", Identity: "ops", Inputs: map[string]any{"cidr": "0.0.0.0/0"}})
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRetry, "narrow", &narrow, OperatorAction{Step: "open", Identity: "ops", Inputs: map[string]any{"cidr": "10.1.0.0/16"}})
	}, 20*time.Minute)
	if err := run(t, env, request(p)); err != nil {
		t.Fatal(err)
	}
	if !broad.rejected || !strings.Contains(fmt.Sprint(broad.err), "0.0.0.0/0") {
		t.Errorf("retry with 0.0.0.0/0: %+v", broad)
	}
	if !narrow.accepted || !narrow.done {
		t.Errorf("retry with 10.1.0.0/16: %+v", narrow)
	}
	for _, c := range rec.calls {
		if c.Action == action && c.Inputs["cidr"] == "0.0.0.0/0" {
			t.Errorf("the rule was called with 0.0.0.0/0")
		}
	}
}
