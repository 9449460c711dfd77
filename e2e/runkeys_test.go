package e2e

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// TestReappliedRequestGetsFreshIdempotencyKeys: a request that rolled back
// and is applied again (the same workflow ID, a new execution) calls its
// actions with keys of its own, not the first execution's: the clouds answer
// a repeated client token with the original result for at least a day
// (Amazon EC2 idempotency), which would hand the second request the
// resources the first one's rollback deleted. On the real Temporal server,
// which gives every execution its own first run ID.
func TestReappliedRequestGetsFreshIdempotencyKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	fail := true
	s := stack.New(t, stack.Options{Worker: true, Register: func(_ worker.Registry, reg *activities.Registry) {
		reg.Add("e2e.create", func(_ context.Context, c plan.Call) (plan.Outputs, error) {
			mu.Lock()
			defer mu.Unlock()
			keys = append(keys, c.IdempotencyKey)
			return plan.Outputs{"id": "x"}, nil
		})
		reg.Add("e2e.undo", func(context.Context, plan.Call) (plan.Outputs, error) { return plan.Outputs{}, nil })
		reg.Add("e2e.fail", func(context.Context, plan.Call) (plan.Outputs, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return nil, temporal.NewNonRetryableApplicationError("fails the first time", plan.ErrInvalid, nil)
			}
			return plan.Outputs{}, nil
		})
	}})
	p := &plan.Plan{
		APIVersion: plan.APIVersion,
		Source:     plan.Source{Kind: "Workflow", Name: "e2e-run-keys", SpecSHA256: "0"},
		Summary:    "create, then a step that fails once",
		OnFailure:  plan.FailRollback,
		Policy:     &plan.Policy{AllowUngated: true, Reason: "test actions"},
		Steps: []plan.Step{
			{ID: "create", Title: "Create", Action: "e2e.create", Inputs: map[string]plan.Value{},
				Compensation: &plan.Compensation{Title: "Undo", Action: "e2e.undo", Inputs: map[string]plan.Value{}},
				Retry:        &plan.Retry{MaximumAttempts: 1}},
			{ID: "then", Title: "Then", Action: "e2e.fail", DependsOn: []string{"create"}, Inputs: map[string]plan.Value{},
				Retry: &plan.Retry{MaximumAttempts: 1}},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sha, err := p.Hash()
	if err != nil {
		t.Fatal(err)
	}
	// Both through apply's own path (Update-With-Start), as the CLI does.
	apply := func() client.WorkflowRun {
		a, err := workflows.Apply(ctx, s.Client, workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: "e2e"}, s.TaskQueue)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		return s.Client.GetWorkflow(ctx, a.WorkflowID, a.RunID)
	}
	first := apply()
	var ae *temporal.ApplicationError
	if err := workflows.Wait(ctx, first); !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("first run: %v, want it rolled back", err)
	}
	second := apply()
	if second.GetID() != first.GetID() || second.GetRunID() == first.GetRunID() {
		t.Fatalf("second apply: workflow %s run %s, want a new run of %s", second.GetID(), second.GetRunID(), first.GetID())
	}
	if err := workflows.Wait(ctx, second); err != nil {
		t.Fatalf("second run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 {
		t.Fatalf("e2e.create called %d times (%v), want once per run", len(keys), keys)
	}
	if keys[0] == keys[1] {
		t.Fatalf("both runs created with idempotency key %q: the second would get the first's deleted resource back", keys[0])
	}
	for i, run := range []string{first.GetRunID(), second.GetRunID()} {
		if !strings.Contains(keys[i], "@"+run+"/") {
			t.Errorf("run %d's key %q does not name its run chain %s", i+1, keys[i], run)
		}
	}
}
