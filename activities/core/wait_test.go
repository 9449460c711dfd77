package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// script is a fake read action returning one result per poll (the last one repeats).
type script struct {
	mu    sync.Mutex
	steps []func() (plan.Outputs, error)
	n     int
}

func (s *script) fn(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := min(s.n, len(s.steps)-1)
	s.n++
	return s.steps[i]()
}

func status(st string) func() (plan.Outputs, error) {
	return func() (plan.Outputs, error) { return plan.Outputs{"status": st, "id": "ep-1"}, nil }
}

func nested(st string) func() (plan.Outputs, error) {
	return func() (plan.Outputs, error) { return plan.Outputs{"endpoint": map[string]any{"state": st}}, nil }
}

func fail(typ string) func() (plan.Outputs, error) {
	return func() (plan.Outputs, error) { return nil, temporal.NewApplicationError("read failed", typ) }
}

func TestWait(t *testing.T) {
	contract := plan.Wait{Pending: []string{"creating", "pendingAcceptance"}, Target: []string{"accepted"},
		Failure: []string{"rejected", "failed"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}
	for _, tc := range []struct {
		name      string
		steps     []func() (plan.Outputs, error)
		edit      func(w *plan.Wait)
		wantType  string
		wantPolls int
		wantOut   string
	}{
		{name: "target-first-poll", steps: []func() (plan.Outputs, error){status("accepted")}, wantPolls: 1, wantOut: "accepted"},
		{name: "pending-then-target", steps: []func() (plan.Outputs, error){status("creating"), status("pendingAcceptance"), status("accepted")}, wantPolls: 3, wantOut: "accepted"},
		{name: "failure-state", steps: []func() (plan.Outputs, error){status("creating"), status("rejected")}, wantType: plan.ErrWaitFailed, wantPolls: 2},
		{name: "timeout", steps: []func() (plan.Outputs, error){status("creating")}, wantType: plan.ErrWaitTimeout, wantPolls: 60},
		{name: "transient-errors-keep-polling", steps: []func() (plan.Outputs, error){fail(plan.ErrUnavailable), fail(plan.ErrThrottled), fail(plan.ErrNotFound), status("accepted")}, wantPolls: 4, wantOut: "accepted"},
		{name: "unauthorized-stops", steps: []func() (plan.Outputs, error){fail(plan.ErrUnauthorized)}, wantType: plan.ErrUnauthorized, wantPolls: 1},
		{name: "gone", steps: []func() (plan.Outputs, error){status("deleting"), fail(plan.ErrNotFound)}, edit: func(w *plan.Wait) { w.Gone = true; w.Target = nil }, wantPolls: 2, wantOut: StatusGone},
		{name: "occurrences", steps: []func() (plan.Outputs, error){status("accepted"), status("creating"), status("accepted"), status("accepted")}, edit: func(w *plan.Wait) { w.Occurrences = 2 }, wantPolls: 4, wantOut: "accepted"},
		{name: "status-path", steps: []func() (plan.Outputs, error){nested("creating"), nested("accepted")}, edit: func(w *plan.Wait) { w.StatusPath = "endpoint.state" }, wantPolls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := activities.NewRegistry()
			sc := &script{steps: tc.steps}
			reg.Add("read", sc.fn)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			w := &Waiter{Registry: reg,
				Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
				Sleep: func(ctx context.Context, d time.Duration) error {
					mu.Lock()
					defer mu.Unlock()
					now = now.Add(d)
					return nil
				}}
			c := contract
			if tc.edit != nil {
				tc.edit(&c)
			}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(w.Wait, activity.RegisterOptions{Name: plan.ActionWait})
			val, err := env.ExecuteActivity(plan.ActionWait, plan.WaitCall{Call: plan.Call{Action: "read"}, Contract: c})
			if sc.n != tc.wantPolls {
				t.Errorf("%d polls, want %d", sc.n, tc.wantPolls)
			}
			if tc.wantType != "" {
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != tc.wantType {
					t.Fatalf("error %v, want type %s", err, tc.wantType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out plan.Outputs
			if err := val.Get(&out); err != nil {
				t.Fatal(err)
			}
			if tc.wantOut != "" && out["status"] != tc.wantOut {
				t.Errorf("status %v, want %s", out["status"], tc.wantOut)
			}
		})
	}
}

func TestWaitUnknownAction(t *testing.T) {
	w := &Waiter{Registry: activities.NewRegistry()}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(w.Wait, activity.RegisterOptions{Name: plan.ActionWait})
	_, err := env.ExecuteActivity(plan.ActionWait, plan.WaitCall{Call: plan.Call{Action: "nope"},
		Contract: plan.Wait{Target: []string{"x"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != plan.ErrInvalid || !ae.NonRetryable() {
		t.Fatalf("error %v, want non-retryable %s", err, plan.ErrInvalid)
	}
}

func TestWaitResumesFromHeartbeat(t *testing.T) {
	reg := activities.NewRegistry()
	sc := &script{steps: []func() (plan.Outputs, error){status("creating")}}
	reg.Add("read", sc.fn)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Waiter{Registry: reg, Now: func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil }}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(w.Wait, activity.RegisterOptions{Name: plan.ActionWait})
	// A previous attempt already spent 50s of the 60s wait.
	env.SetHeartbeatDetails(WaitProgress{Polls: 50, LastStatus: "creating", Deadline: now.Add(10 * time.Second)})
	_, err := env.ExecuteActivity(plan.ActionWait, plan.WaitCall{Call: plan.Call{Action: "read"},
		Contract: plan.Wait{Target: []string{"accepted"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != plan.ErrWaitTimeout {
		t.Fatalf("error %v, want %s", err, plan.ErrWaitTimeout)
	}
	if sc.n != 10 {
		t.Errorf("resumed wait polled %d times, want 10 (the rest of the deadline)", sc.n)
	}
	var d WaitFailure
	if err := ae.Details(&d); err != nil || d.Polls != 60 || d.LastStatus != "creating" {
		t.Errorf("details %+v (%v), want 60 polls, last creating", d, err)
	}
}

// TestPollingWait: a polling wait (WaitCall.Poll) polls once per attempt:
// a pending status fails the attempt with the retryable ErrWaitPending,
// asking for the next attempt after the poll interval; the target, a failure
// state and the deadline (carried by the heartbeat details across attempts)
// end it as the heartbeating loop does.
func TestPollingWait(t *testing.T) {
	contract := plan.Wait{Pending: []string{"creating"}, Target: []string{"accepted"}, Failure: []string{"rejected"},
		PollInterval: plan.D(time.Minute), Timeout: plan.D(time.Hour)}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		status    string
		progress  *WaitProgress // heartbeat details of the previous attempt
		wantType  string        // "" means done
		wantRetry bool
		wantPolls int
	}{
		{name: "target", status: "accepted"},
		{name: "pending", status: "creating", wantType: plan.ErrWaitPending, wantRetry: true, wantPolls: 1},
		{name: "pending-again", status: "creating", progress: &WaitProgress{Polls: 7, Deadline: start.Add(time.Hour)}, wantType: plan.ErrWaitPending, wantRetry: true, wantPolls: 8},
		{name: "failure", status: "rejected", wantType: plan.ErrWaitFailed, wantPolls: 1},
		{name: "deadline", status: "creating", progress: &WaitProgress{Polls: 59, Deadline: start.Add(30 * time.Second)}, wantType: plan.ErrWaitTimeout, wantPolls: 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := activities.NewRegistry()
			sc := &script{steps: []func() (plan.Outputs, error){status(tc.status)}}
			reg.Add("read", sc.fn)
			slept := time.Duration(0)
			w := &Waiter{Registry: reg, Now: func() time.Time { return start },
				Sleep: func(ctx context.Context, d time.Duration) error { slept += d; return nil }}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(w.Wait, activity.RegisterOptions{Name: plan.ActionWait})
			if tc.progress != nil {
				env.SetHeartbeatDetails(*tc.progress)
			}
			_, err := env.ExecuteActivity(plan.ActionWait, plan.WaitCall{Call: plan.Call{Action: "read"}, Contract: contract, Poll: true})
			if sc.n != 1 || slept != 0 {
				t.Errorf("%d polls and %s slept in one attempt, want 1 poll and no sleep", sc.n, slept)
			}
			if tc.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != tc.wantType || ae.NonRetryable() == tc.wantRetry {
				t.Fatalf("error %v, want %s (retryable %v)", err, tc.wantType, tc.wantRetry)
			}
			if tc.wantRetry && ae.NextRetryDelay() != time.Minute {
				t.Errorf("next retry in %s, want the poll interval", ae.NextRetryDelay())
			}
			var d WaitFailure
			if err := ae.Details(&d); err != nil || d.Polls != tc.wantPolls || d.LastStatus != tc.status {
				t.Errorf("details %+v (%v), want %d polls, last %s", d, err, tc.wantPolls, tc.status)
			}
		})
	}
}
