package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// budgeted is a step with the default (budgeted) retry policy.
func budgeted(id string, deps ...string) plan.Step {
	s := create(id, deps...)
	s.Retry = nil
	return s
}

// Transient errors are retried for minutes, not 5 attempts; permanent ones
// are not retried; every attempt has a heartbeat timeout and the budget.
func TestRetryBudgets(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      func(n int) error
		timeout   time.Duration
		wantCalls int
		wantErr   string
	}{
		{name: "9 server errors then success", wantCalls: 10,
			fail: func(n int) error {
				if n < 10 {
					return temporal.NewApplicationError("HTTP 500", plan.ErrUnavailable)
				}
				return nil
			}},
		{name: "throttled with Retry-After then success", wantCalls: 4,
			fail: func(n int) error {
				if n < 4 {
					return temporal.NewApplicationErrorWithOptions("HTTP 429", plan.ErrThrottled, temporal.ApplicationErrorOptions{NextRetryDelay: 2 * time.Second})
				}
				return nil
			}},
		{name: "permanent error: one attempt", wantCalls: 1, wantErr: ErrRolledBack,
			fail: func(int) error { return nonRetryable("bad input") }},
		{name: "not found: capped", wantCalls: 1, wantErr: ErrRolledBack,
			fail: func(int) error {
				// The worker's heartbeat interceptor makes a capped type non-retryable (activities.Budgets).
				return temporal.NewNonRetryableApplicationError("gone (gave up after 8 attempts)", plan.ErrNotFound, nil)
			}},
		{name: "budget exhausted: rolled back under onFailure rollback", timeout: 3 * time.Minute, wantErr: ErrRolledBack,
			fail: func(int) error { return temporal.NewApplicationError("HTTP 503", plan.ErrUnavailable) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.fail = func(c plan.Call, n int) error {
				if c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/b") {
					return tc.fail(n)
				}
				return nil
			}
			env := newEnv(t, rec)
			var mu sync.Mutex
			var infos []activity.Info
			var starts []time.Time
			env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				mu.Lock()
				defer mu.Unlock()
				if info.ActivityType.Name == "fake.create" {
					infos = append(infos, *info)
					starts = append(starts, env.Now())
				}
			})
			b := budgeted("b", "a")
			b.Timeout = plan.D(tc.timeout)
			err := run(t, env, request(mkPlan(plan.FailRollback, create("a"), b)))
			if got := appErrType(err); got != tc.wantErr {
				t.Fatalf("error %v, want type %q", err, tc.wantErr)
			}
			calls := len(rec.sequence()) - rec.count("fake.undo") - 1 // b's attempts
			if tc.wantCalls > 0 && calls != tc.wantCalls {
				t.Errorf("b ran %d times, want %d", calls, tc.wantCalls)
			}
			if tc.timeout > 0 && calls < 8 {
				t.Errorf("b ran %d times within its %s budget, want at least 8", calls, tc.timeout)
			}
			last := infos[len(infos)-1]
			if last.HeartbeatTimeout != ActionHeartbeatTimeout {
				t.Errorf("heartbeat timeout %s, want %s", last.HeartbeatTimeout, ActionHeartbeatTimeout)
			}
			if tc.name == "throttled with Retry-After then success" {
				for i := 2; i < len(starts); i++ {
					if gap := starts[i].Sub(starts[i-1]); gap < 2*time.Second {
						t.Errorf("attempt %d started %s after the throttled one, want the Retry-After (2s)", i, gap)
					}
				}
			}
		})
	}
}

// A transient budget that runs out parks the request under onFailure park:
// nothing is rolled back, an operator decides.
func TestExhaustedBudgetParks(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/b") {
			return temporal.NewApplicationError("HTTP 503", plan.ErrUnavailable)
		}
		return nil
	}
	env := newEnv(t, rec)
	b := budgeted("b", "a")
	b.Timeout = plan.D(2 * time.Minute)
	var parked Progress
	var undone int
	var cb updateCB
	env.RegisterDelayedCallback(func() {
		parked = queryProgress(t, env)
		undone = rec.count("fake.undo")
		env.UpdateWorkflow(UpdateSkip, "x", &cb, OperatorAction{Step: "b", Identity: "ops", Reason: "fixed by hand"})
	}, 30*time.Minute)
	err := run(t, env, request(mkPlan(plan.FailPark, create("a"), b)))
	if err != nil {
		t.Fatalf("error %v, want done after the skip", err)
	}
	if parked.Phase != PhaseParked || stepState(parked, "b") != StepParked || undone != 0 {
		t.Fatalf("after the budget: phase %s, b %s, %d compensations; want parked, nothing undone", parked.Phase, stepState(parked, "b"), undone)
	}
	if !strings.Contains(parked.Steps[1].LastError, plan.ErrUnavailable) {
		t.Errorf("last error %q, want the transient error", parked.Steps[1].LastError)
	}
}

// A compensation whose follow-up wait ends in a failure state is run again
// (with a new idempotency key, so e.g. a failed restart is issued again);
// a permanent error is not.
func TestCompensationRounds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failRound int // the follow-up wait fails in rounds < failRound
		undoErr   error
		wantKeys  []string
		wantLeak  bool
	}{
		{name: "wait fails once", failRound: 2, wantKeys: keys("a/undo", "a/undo#2")},
		{name: "wait always fails", failRound: 99, wantKeys: keys("a/undo", "a/undo#2", "a/undo#3", "a/undo#4"), wantLeak: true},
		{name: "permanent error", undoErr: nonRetryable("no such thing"), wantKeys: keys("a/undo"), wantLeak: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.fail = func(c plan.Call, n int) error {
				switch {
				case c.Action == "fake.undo":
					return tc.undoErr
				case c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/b"):
					return nonRetryable("b fails")
				}
				return nil
			}
			rec.statuses = func(c plan.Call, n int) (string, error) {
				round := 1
				if i := strings.LastIndex(c.IdempotencyKey, "#"); i >= 0 {
					round = int(c.IdempotencyKey[i+1] - '0')
				}
				if round < tc.failRound {
					return "failed", nil
				}
				return "deleted", nil
			}
			env := newEnv(t, rec)
			a := budgeted("a")
			a.Compensation.WaitAction = "fake.get"
			a.Compensation.Wait = &plan.Wait{Target: []string{"deleted"}, Failure: []string{"failed"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}
			skipped := skipParkedLeaks(t, env) // a leak waits for an operator (compretry.go)
			err := run(t, env, request(mkPlan(plan.FailRollback, a, create("b", "a"))))
			if (len(*skipped) > 0) != tc.wantLeak {
				t.Errorf("parked for an operator: %v, want a leak %v", *skipped, tc.wantLeak)
			}
			var got []string
			rec.mu.Lock()
			for _, c := range rec.calls {
				if c.Action == "fake.undo" {
					got = append(got, c.IdempotencyKey)
				}
			}
			rec.mu.Unlock()
			if !slices.Equal(got, tc.wantKeys) {
				t.Errorf("compensation keys %v, want %v", got, tc.wantKeys)
			}
			prog := finalProgress(t, err)
			if leaked := len(prog.Leaked) > 0; leaked != tc.wantLeak {
				t.Fatalf("leaks %+v, want leak %v", prog.Leaked, tc.wantLeak)
			}
			want := StepCompensated
			if tc.wantLeak {
				want = StepCompFailed
			}
			if stepState(prog, "a") != want {
				t.Errorf("a: %s, want %s", stepState(prog, "a"), want)
			}
		})
	}
}
