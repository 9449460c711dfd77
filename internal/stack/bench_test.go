package stack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// BenchmarkRequestOneStep measures a whole request on the real local server:
// start the interpreter with a one-step plan (a test action) and wait for
// its result, through the in-process worker.
func BenchmarkRequestOneStep(b *testing.B) {
	s := stack.New(b, stack.Options{Worker: true, Register: registerEcho})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := testPlan(fmt.Sprintf("bench-one-%d-%d", time.Now().UnixNano(), i), false)
		sha, _ := p.Hash()
		req := workflows.Request{Plan: p, PlanSHA256: sha}
		run, err := s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(req, s.TaskQueue), workflows.WorkflowType, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := workflows.Wait(ctx, run); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApprovalRoundTrip measures an approve Update on a waiting
// request until the request has finished.
func BenchmarkApprovalRoundTrip(b *testing.B) {
	s := stack.New(b, stack.Options{Worker: true, Register: registerEcho})
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := testPlan(fmt.Sprintf("bench-approve-%d-%d", time.Now().UnixNano(), i), true)
		sha, _ := p.Hash()
		req := workflows.Request{Plan: p, PlanSHA256: sha}
		run, err := s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(req, s.TaskQueue), workflows.WorkflowType, req)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		// The Update is accepted once the gate is open; retry until then.
		for {
			h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: run.GetID(), UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
				Args: []any{workflows.Decision{Step: "ok", Identity: "alice"}},
			})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			if err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := workflows.Wait(ctx, run); err != nil {
			b.Fatal(err)
		}
	}
}
