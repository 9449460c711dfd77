package stack_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
)

// slowCalls records what each attempt of test.slow saw.
type slowCalls struct {
	mu      sync.Mutex
	details []string // the previous attempts' heartbeat details, per attempt
}

// TestWorkerHeartbeatsBlockedActivities runs, on the real server, an
// activity with a 2 s heartbeat timeout that blocks 3 s per attempt without
// heartbeating (as an SDK call does): the worker's heartbeat interceptor keeps
// it alive, and the details the first attempt recorded survive a second
// attempt that records none, so a third attempt still resumes from them.
func TestWorkerHeartbeatsBlockedActivities(t *testing.T) {
	rec := &slowCalls{}
	slow := func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		info := activity.GetInfo(ctx)
		var prior string
		if activity.HasHeartbeatDetails(ctx) {
			_ = activity.GetHeartbeatDetails(ctx, &prior)
		}
		rec.mu.Lock()
		rec.details = append(rec.details, prior)
		rec.mu.Unlock()
		if info.Attempt == 1 {
			activity.RecordHeartbeat(ctx, "created pcx-1")
		}
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if info.Attempt < 3 {
			return nil, temporal.NewApplicationError("lost response", plan.ErrUnavailable)
		}
		return plan.Outputs{"resumedFrom": prior}, nil
	}
	wf := func(ctx workflow.Context) (plan.Outputs, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: 2 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3},
		})
		var out plan.Outputs
		err := workflow.ExecuteActivity(ctx, "test.slow", plan.Call{Action: "test.slow"}).Get(ctx, &out)
		return out, err
	}
	s := stack.New(t, stack.Options{Worker: true, Register: func(w worker.Registry, reg *activities.Registry) {
		reg.Add("test.slow", slow)
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "test.heartbeat"})
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: s.TaskQueue}, "test.heartbeat")
	if err != nil {
		t.Fatal(err)
	}
	var out plan.Outputs
	if err := run.Get(ctx, &out); err != nil {
		var te *temporal.TimeoutError
		if errors.As(err, &te) {
			t.Fatalf("the blocked activity timed out (%s): nothing heartbeated for it", te.TimeoutType())
		}
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.details) != 3 || rec.details[1] != "created pcx-1" || rec.details[2] != "created pcx-1" || out["resumedFrom"] != "created pcx-1" {
		t.Fatalf("attempts saw details %q, result %v; want 3 attempts, the 2nd and 3rd resuming from the 1st's", rec.details, out)
	}
}
