package workflows

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// compRetryPlan: a is created and b fails (onFailure park); a's compensation
// fails (once, no retries) while fixed is false, like a 403 until a
// permission is fixed.
func compRetryPlan(rec *recorder, fixed *atomic.Bool) plan.Plan {
	return compRetryPlanUnder(rec, fixed, plan.FailPark)
}

// compRetryPlanUnder is compRetryPlan under the failure policy pol.
func compRetryPlanUnder(rec *recorder, fixed *atomic.Bool, pol plan.FailurePolicy) plan.Plan {
	rec.fail = func(c plan.Call, n int) error {
		switch {
		case c.Action == "fake.undo" && !fixed.Load():
			return temporal.NewNonRetryableApplicationError("HTTP 403 Forbidden: not allowed to delete", plan.ErrUnauthorized, nil)
		case c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/b"):
			return nonRetryable("b fails")
		}
		return nil
	}
	a := create("a")
	a.Compensation.Retry = &plan.Retry{MaximumAttempts: 1}
	return mkPlan(pol, a, create("b", "a"))
}

// TestRetryOfAFailedCompensation: under onFailure park, a compensation that
// failed parks its step; a retry with inputs is refused, a retry once the
// cause is fixed runs the compensation again and the request ends rolled
// back with nothing left behind; a skip leaves the resource behind as
// reported. The same under onFailure rollback (compensationRetryRollbackChange),
// where b's failure starts the rollback without an operator.
func TestRetryOfAFailedCompensation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pol       plan.FailurePolicy
		act       OperatorAction
		fix       bool
		wantErr   string
		wantUndo  int
		wantState string
		wantLeaks int
	}{
		{"retry once fixed", plan.FailPark, OperatorAction{Step: "a", Identity: "ops"}, true, ErrRolledBack, 2, StepCompensated, 0},
		{"skip leaves it behind", plan.FailPark, OperatorAction{Step: "a", Identity: "ops", Reason: "deleted by hand"}, false, ErrCompensationFailed, 1, StepCompFailed, 1},
		{"rollback: retry once fixed", plan.FailRollback, OperatorAction{Step: "a", Identity: "ops"}, true, ErrRolledBack, 2, StepCompensated, 0},
		{"rollback: skip leaves it behind", plan.FailRollback, OperatorAction{Step: "a", Identity: "ops", Reason: "deleted by hand"}, false, ErrCompensationFailed, 1, StepCompFailed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			var fixed atomic.Bool
			env := newEnv(t, rec)
			var rollback, withInputs, act updateCB
			var parked Progress
			if tc.pol == plan.FailPark {
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflow(UpdateRollback, "r", &rollback, OperatorAction{Identity: "ops", Reason: "b is wrong"})
				}, time.Minute)
			}
			env.RegisterDelayedCallback(func() {
				parked = queryProgress(t, env)
				env.UpdateWorkflow(UpdateRetry, "i", &withInputs, OperatorAction{Step: "a", Identity: "ops", Inputs: map[string]any{"name": "x"}})
				fixed.Store(tc.fix)
				name := UpdateRetry
				if !tc.fix {
					name = UpdateSkip
				}
				env.UpdateWorkflow(name, "a", &act, tc.act)
			}, 2*time.Minute)
			err := run(t, env, request(compRetryPlanUnder(rec, &fixed, tc.pol)))
			if rollback.err != nil || act.err != nil {
				t.Fatalf("rollback %v, %s %v", rollback.err, tc.name, act.err)
			}
			if parked.Phase != PhaseParked || stepState(parked, "a") != StepParked || len(parked.Leaked) != 1 {
				t.Fatalf("after the failed compensation: phase %s, a %s, leaks %+v", parked.Phase, stepState(parked, "a"), parked.Leaked)
			}
			if !withInputs.rejected || !strings.Contains(withInputs.err.Error(), "takes no inputs") {
				t.Errorf("retry with inputs: %+v", withInputs)
			}
			if appErrType(err) != tc.wantErr {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			if n := rec.count("fake.undo"); n != tc.wantUndo {
				t.Errorf("compensation ran %d times, want %d", n, tc.wantUndo)
			}
			prog := finalProgress(t, err)
			if stepState(prog, "a") != tc.wantState || len(prog.Leaked) != tc.wantLeaks {
				t.Errorf("a %s, leaks %+v; want %s and %d leaks", stepState(prog, "a"), prog.Leaked, tc.wantState, tc.wantLeaks)
			}
		})
	}
}
