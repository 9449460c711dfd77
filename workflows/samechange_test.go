package workflows

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/plan"
)

func TestSharedHolders(t *testing.T) {
	same := func(res, h string) Claim { return Claim{Resource: res, Holder: h, Mode: ClaimSame} }
	mine := []Claim{same("ambari:c1:config:kafka-env", "h1")}
	tests := []struct {
		name   string
		mine   []Claim
		others []Holder
		want   string
	}{
		{"another live request with the same change", mine, []Holder{{WorkflowID: "b", Phase: PhaseWaitingManual, Claims: mine}}, "b"},
		{"a Done request still holds it", mine, []Holder{{WorkflowID: "b", Phase: PhaseDone, Claims: mine}}, "b"},
		{"itself", mine, []Holder{{WorkflowID: "self", Claims: mine}}, ""},
		{"a different change", mine, []Holder{{WorkflowID: "b", Claims: []Claim{same("ambari:c1:config:kafka-env", "h2")}}}, ""},
		{"another config type", mine, []Holder{{WorkflowID: "b", Claims: []Claim{same("ambari:c1:config:kafka-broker", "h1")}}}, ""},
		{"rolling back", mine, []Holder{{WorkflowID: "b", Phase: PhaseRollingBack, Claims: mine}}, ""},
		{"only some of the changes", append(mine, same("ambari:c1:config:kafka-broker", "h3")), []Holder{{WorkflowID: "b", Claims: mine}}, ""},
		{"no claims", nil, []Holder{{WorkflowID: "b", Claims: mine}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(SharedHolders(tc.mine, "self", tc.others), ","); got != tc.want {
				t.Fatalf("holders %q, want %q", got, tc.want)
			}
		})
	}
}

// ambariCfgPlan writes one Ambari config change (a claiming step, lock
// "ambari:rg/c1") and waits at a manual hold, so it can be rolled back.
func ambariCfgPlan(rec *recorder) plan.Plan {
	cfg := plan.Step{ID: "cfg", Title: "Advertise IPs", Action: "ambari.putConfig",
		Inputs: map[string]plan.Value{"type": plan.Lit("kafka-env"), "appendContent": plan.Lit("export IP=1")},
		Locks:  []string{`"ambari:rg/c1"`},
		Compensation: &plan.Compensation{Title: "Restore", Action: "ambari.putConfig",
			Inputs: map[string]plan.Value{"type": plan.Expr("input.type"), "restoreTag": plan.Expr("output.previousTag")}},
		Retry: &plan.Retry{MaximumAttempts: 1}}
	hold := plan.Step{ID: "hold", Title: "Hold", Action: plan.ActionManual, DependsOn: []string{"cfg"}, Gate: &plan.Gate{Who: []string{"ops"}}}
	return mkPlan(plan.FailRollback, cfg, hold)
}

func registerAmbariFakes(rec *recorder, reg interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}, holders func() []string) {
	reg.RegisterActivityWithOptions(func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, call)
		rec.mu.Unlock()
		if call.Inputs["restoreTag"] != nil {
			return plan.Outputs{"type": "kafka-env", "tag": "v-restored", "previousTag": "v1", "changed": true, "version": 3}, nil
		}
		return plan.Outputs{"type": "kafka-env", "tag": "v1", "previousTag": "v0", "changed": true, "version": 2}, nil
	}, activity.RegisterOptions{Name: "ambari.putConfig"})
	reg.RegisterActivityWithOptions(func(context.Context, ConflictsInput) ([]Conflict, error) { return nil, nil },
		activity.RegisterOptions{Name: ConflictsActivity})
	reg.RegisterActivityWithOptions(func(_ context.Context, in SharedHoldersInput) ([]string, error) {
		if len(in.Claims) != 1 || in.Claims[0].Mode != ClaimSame || !strings.HasSuffix(in.Claims[0].Resource, ":config:kafka-env") {
			return nil, fmt.Errorf("unexpected claims %+v", in.Claims)
		}
		return holders(), nil
	}, activity.RegisterOptions{Name: SharedHoldersActivity})
}

// TestRollbackKeepsAChangeAnotherRequestHolds: rolling back a request whose
// Ambari config change another live request shares skips the restore (the
// change stays for it); with no other holder the restore runs.
func TestRollbackKeepsAChangeAnotherRequestHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		holders  []string
		restores int
	}{
		{"another live request holds the change", []string{"topoflow/Workflow/other"}, 0},
		{"the last holder", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetTestTimeout(30 * time.Second)
			register(t, env, rec)
			registerAmbariFakes(rec, env, func() []string { return tc.holders })
			var rb updateCB
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateRollback, "r", &rb, OperatorAction{Identity: "ops", Reason: "done with it"})
			}, time.Minute)
			err := run(t, env, request(ambariCfgPlan(rec)))
			if rb.err != nil || appErrType(err) != ErrRolledBack {
				t.Fatalf("rollback %v, request %v", rb.err, err)
			}
			restores := 0
			for _, c := range rec.calls {
				if c.Action == "ambari.putConfig" && c.Inputs["restoreTag"] == "v0" {
					restores++
				}
			}
			if restores != tc.restores {
				t.Fatalf("restores of the previous version: %d, want %d (calls %v)", restores, tc.restores, rec.sequence())
			}
		})
	}
}
