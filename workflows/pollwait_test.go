package workflows

import (
	"context"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// TestSlotFreeWait: a wait polling every minute or more polls once per
// activity attempt (slotFreeWaitChange), the retry policy waiting the poll
// interval in between; a shorter poll keeps the single heartbeating
// activity. Both end on the target or the failure state.
func TestSlotFreeWait(t *testing.T) {
	for _, tc := range []struct {
		name       string
		every      time.Duration
		polls      int
		final      string
		wantErr    string
		wantStarts int
	}{
		{name: "minute-5-polls", every: time.Minute, polls: 5, final: "ACTIVE", wantStarts: 5},
		{name: "minute-failure", every: 2 * time.Minute, polls: 3, final: "FAILED", wantErr: ErrRolledBack, wantStarts: 3},
		{name: "second-5-polls", every: time.Second, polls: 5, final: "ACTIVE", wantStarts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.statuses = func(c plan.Call, n int) (string, error) {
				if n >= tc.polls {
					return tc.final, nil
				}
				if n == 2 {
					return "", temporal.NewApplicationError("flaky", plan.ErrUnavailable)
				}
				return "CREATING", nil
			}
			env := newEnv(t, rec)
			var starts int
			var first, last time.Time
			var poll bool
			env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
				if info.ActivityType.Name != plan.ActionWait {
					return
				}
				starts++
				if first.IsZero() {
					first = env.Now()
				}
				last = env.Now()
				var wc plan.WaitCall
				if err := args.Get(&wc); err != nil {
					t.Error(err)
				}
				poll = wc.Poll
			})
			p := waitPlan()
			p.Steps[0].Wait.PollInterval = plan.D(tc.every)
			err := run(t, env, request(p))
			if appErrType(err) != tc.wantErr {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := rec.count("fake.get"); got != tc.polls {
				t.Errorf("%d polls, want %d", got, tc.polls)
			}
			if starts != tc.wantStarts || poll != (tc.wantStarts > 1) {
				t.Errorf("wait activity started %d times (poll %v), want %d", starts, poll, tc.wantStarts)
			}
			if tc.wantStarts > 1 {
				if gap := last.Sub(first); gap < time.Duration(tc.polls-1)*tc.every {
					t.Errorf("%d polls in %s, want one every %s", tc.polls, gap, tc.every)
				}
			}
			var prog Progress
			if err != nil {
				prog = finalProgress(t, err)
			} else {
				prog = queryProgress(t, env)
			}
			if prog.Steps[0].Observed != tc.final {
				t.Errorf("observed %q, want %q", prog.Steps[0].Observed, tc.final)
			}
		})
	}
}

// TestSlotFreeWaitHistories: the recorded waits polling every minute (1
// and 3 polls) have the same events, the version marker, one wait activity
// retried by the server at the poll interval (its third attempt completed
// the 3-poll wait); the waits recorded before (wait-1, wait-1000) have no
// marker and keep the heartbeating activity.
func TestSlotFreeWaitHistories(t *testing.T) {
	one, three := loadHistory(t, "slotfree-wait-1"), loadHistory(t, "slotfree-wait-3")
	if len(one.Events) != len(three.Events) {
		t.Errorf("a wait of 3 polls has %d events, one of 1 poll %d: the cost must not grow", len(three.Events), len(one.Events))
	}
	for name, h := range map[string]*historypb.History{"slotfree-wait-1": one, "slotfree-wait-3": three} {
		if n := markers(h, slotFreeWaitChange); n != 1 {
			t.Errorf("%s: %d %s markers, want 1", name, n, slotFreeWaitChange)
		}
	}
	attempts := 0
	for _, e := range three.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == plan.ActionWait {
			rp := a.GetRetryPolicy()
			if rp.GetInitialInterval().AsDuration() != SlotFreePollInterval || rp.GetBackoffCoefficient() != 1 || rp.GetMaximumAttempts() != 0 {
				t.Errorf("wait scheduled with retry policy %v, want every %s without backoff or attempt limit", rp, SlotFreePollInterval)
			}
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			attempts = max(attempts, int(a.GetAttempt()))
		}
	}
	if attempts != 3 {
		t.Errorf("the 3-poll wait completed at attempt %d, want 3", attempts)
	}
	for _, name := range []string{"wait-1", "wait-1000"} {
		if n := markers(loadHistory(t, name), slotFreeWaitChange); n != 0 {
			t.Errorf("%s: %d %s markers, want 0", name, n, slotFreeWaitChange)
		}
	}
}
