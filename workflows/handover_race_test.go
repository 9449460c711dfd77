package workflows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TestDecisionsRacingTheHandOverOnTheServer runs on a real dev server told
// to suggest continue-as-new after 32 events: eight approvers of an 8-of-8
// gate approve at once, half by Update and half by Signal, so the history
// passes the suggestion in the middle of the burst and the request hands
// the gate over while decisions are in flight (the test environment of the
// SDK cannot show this: there a signal posted with the suggestion was
// delivered after the hand-over). Each decision is applied exactly once:
// every Update returns without error, the audit has one approval of each
// approver, and the step after the gate runs once, approved by all eight.
// The server's part (an Update admitted while the run continues as new is
// retried on the new run; a Signal that arrives while the hand-over's task
// runs fails its completion, so the old run sees it) and ours (the run
// hands over only when every handler finished and no signal waits,
// continue.go quiet; the next run takes decisions for the gate while it is
// pending there, handover.go) together.
func TestDecisionsRacingTheHandOverOnTheServer(t *testing.T) {
	c := devServer(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=32")
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	e := recordWorker(t, c, rec, reg, LockSignalsInterceptor())
	ctx := context.Background()

	var who []string
	for i := 1; i <= 8; i++ {
		who = append(who, fmt.Sprintf("approver%d", i))
	}
	g := approval("gate", who, time.Hour, "a")
	g.Gate.Required = len(who)
	b := create("b", "gate")
	b.Inputs["by"] = plan.Expr("steps.gate.approvedBy")
	// A burst that fits in the workflow tasks before the suggestion (a
	// loaded machine) is tried again, at most three times.
	var id string
	var d *workflowservice.DescribeWorkflowExecutionResponse
	runs := 0
	for attempt := 1; runs < 2; attempt++ {
		if attempt > 3 {
			t.Fatalf("in 3 bursts the request never handed over with decisions in flight")
		}
		run := e.start(named(mkPlan(plan.FailRollback, create("a"), g, b), fmt.Sprintf("can-race-%d", attempt)))
		id = run.GetID()
		e.waitFor(id, func(p Progress) bool { return stepState(p, "gate") == StepWaiting })
		var wg sync.WaitGroup
		errs := make([]error, len(who))
		for i, name := range who {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Spread over several workflow tasks, so that one of them
				// starts past the suggestion with decisions still coming.
				time.Sleep(time.Duration(i) * 40 * time.Millisecond)
				d := Decision{Step: "gate", Identity: name, Comment: "ok"}
				if i%2 == 0 {
					errs[i] = e.update(id, UpdateApprove, d)
					return
				}
				errs[i] = c.SignalWorkflow(ctx, id, "", UpdateApprove, d)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s's approval: %v", who[i], err)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := Wait(wctx, c.GetWorkflow(wctx, id, ""))
		cancel()
		if err != nil {
			if d, derr := c.DescribeWorkflowExecution(ctx, id, ""); derr == nil {
				for runID := d.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; {
					h := fetchHistory(t, c, id, runID)
					for _, ev := range h.Events {
						if f := ev.GetWorkflowTaskFailedEventAttributes(); f != nil {
							t.Logf("run %s: workflow task failed: %s: %s", runID, f.GetCause(), f.GetFailure().GetMessage())
						}
					}
					runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
				}
			}
			t.Fatalf("request: %v (audit %+v)", err, e.waitFor(id, func(Progress) bool { return true }).Audit)
		}
		if d, err = c.DescribeWorkflowExecution(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		runs = 0
		for runID := d.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; runs++ {
			h := fetchHistory(t, c, id, runID)
			runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		}
		if runs < 2 {
			t.Logf("burst %d: 1 run of %d events, the request did not hand over", attempt, len(fetchHistory(t, c, id, "").Events))
			rec.calls = nil
		}
	}
	final := e.waitFor(id, func(Progress) bool { return true })
	count := map[string]int{}
	for _, a := range final.Audit {
		if a.Action == UpdateApprove {
			count[a.Identity]++
		}
	}
	var by any
	nb := 0
	for _, call := range rec.calls {
		if strings.HasSuffix(call.IdempotencyKey, "/b") {
			by, nb = call.Inputs["by"], nb+1
		}
	}
	t.Logf("%d runs; approvals audited %v; b approved by %v", runs, count, by)
	for _, name := range who {
		if count[name] != 1 {
			t.Errorf("%s's approval audited %d times, want once", name, count[name])
		}
	}
	got, _ := by.(string)
	names := strings.Split(got, ", ")
	slices.Sort(names)
	if nb != 1 || !slices.Equal(names, who) {
		t.Errorf("b ran %d times approved by %v, want once by all %d", nb, by, len(who))
	}
	if *record {
		// -record: the shapes of handOverHoldV and canAfterUpdateChange
		// (TestReplay replays them, TestHandOverHoldHistories checks their
		// facts): the first and last run, and a run that deferred its
		// hand-over past an Update's task, when this burst had one.
		// (-record-only=can-after-update keeps the can-hold ones.)
		if strings.HasPrefix("can-hold", *recordOnly) {
			writeHistory(t, fetchHistory(t, c, id, d.GetWorkflowExecutionInfo().GetFirstRunId()), "can-hold-1")
			writeHistory(t, fetchHistory(t, c, id, ""), "can-hold-last")
		}
		for runID := d.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; {
			h := fetchHistory(t, c, id, runID)
			if markers(h, canAfterUpdateChange) > 0 {
				writeHistory(t, h, "can-after-update")
			}
			runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		}
	}
}
