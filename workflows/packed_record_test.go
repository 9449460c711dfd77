package workflows

import (
	"context"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TestRecordPackedRecord records the shapes of recordChange and
// parallelUndoChange on a real dev server told to suggest continue-as-new
// early (after 60 events) (`go test ./workflows -run TestRecordPackedRecord
// -record`): a request whose 10-item fan-out continues as new carrying a
// packed record, ends Done and hands a packed record to its grant; the
// revoke undoes the items concurrently (bound 2) and continues as new in
// the middle, carrying what is left to undo. TestReplay replays the first
// and last run of each; TestPackedRecordHistories checks their facts.
func TestRecordPackedRecord(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60")
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	e := recordWorker(t, c, rec, reg)
	ctx := context.Background()
	p := named(mkPlan(plan.FailRollback, brokers(10), fanout(2), create("after", "endpoint")), "packed")
	run := e.start(p)
	var res Result
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Summary == nil || res.Summary.Runs < 2 || rec.count("fake.patch") != 10 {
		t.Fatalf("result %+v after %d patches, want 10 items, each once, in 2 runs or more", res.Summary, rec.count("fake.patch"))
	}
	id := run.GetID()
	rd, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	writeHistory(t, fetchHistory(t, c, id, rd.GetWorkflowExecutionInfo().GetFirstRunId()), "packed-run-1")
	writeHistory(t, fetchHistory(t, c, id, ""), "packed-run-last")
	gid := GrantWorkflowID(id)
	e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseGranted && p.Trust != nil })
	d, err := c.DescribeWorkflowExecution(ctx, gid, "")
	if err != nil {
		t.Fatal(err)
	}
	first := d.GetWorkflowExecutionInfo().GetFirstRunId()
	if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops", Reason: "recording"}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	var final Progress
	if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil {
		t.Fatal(err)
	}
	if final.Phase != PhaseRevoked || rec.count("fake.undo") != 11 {
		t.Fatalf("grant ended %s after %d undo calls, want Revoked after 11", final.Phase, rec.count("fake.undo"))
	}
	writeHistory(t, fetchHistory(t, c, gid, first), "packed-grant-1")
	writeHistory(t, fetchHistory(t, c, gid, ""), "packed-grant-last")
}

// startInput decodes the input of a recorded run's first event.
func startInput(t *testing.T, h *historypb.History, v any) {
	t.Helper()
	if err := converter.GetDefaultDataConverter().FromPayloads(h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), v); err != nil {
		t.Fatal(err)
	}
}

// TestPackedRecordHistories checks the recorded packed-record histories:
// the request's first run continues as new carrying Units (not the
// expanded steps), its last run starts from them and hands a packed record
// to the grant (no carried Resume inside); the grant's first run undoes
// fan-out items two at a time and continues as new in the middle of the
// revoke, carrying the revoke and what is left; its last run ends Revoked.
func TestPackedRecordHistories(t *testing.T) {
	first, last := loadHistory(t, "packed-run-1"), loadHistory(t, "packed-run-last")
	if markers(first, recordChange) != 1 {
		t.Errorf("the request's first run has %d %s markers, want 1", markers(first, recordChange), recordChange)
	}
	end := first.Events[len(first.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if end == nil {
		t.Fatal("the request's first run does not continue as new")
	}
	var next Request
	if err := converter.GetDefaultDataConverter().FromPayloads(end.GetInput(), &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.Units == nil || len(next.Resume.Steps) != 0 || len(next.Resume.Done) != 0 {
		t.Fatalf("carried %+v, want packed units only", next.Resume)
	}
	var req Request
	startInput(t, last, &req)
	if req.Resume == nil || req.Resume.Units == nil {
		t.Fatal("the request's last run does not start from packed units")
	}
	var g GrantRecord
	found := false
	for _, e := range last.Events {
		if a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &g); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found || g.Units == nil || len(g.Steps) != 0 || g.Request.Resume != nil {
		t.Fatalf("grant started %v with units %v, %d expanded steps, carried resume %v; want packed units only", found, g.Units != nil, len(g.Steps), g.Request.Resume != nil)
	}
	steps, saga, _ := expandUnits(t, g.Units)
	if len(steps) != 3 || len(steps[1].Items) != 10 || len(saga) != 12 {
		t.Errorf("grant record: %d steps, %d items, %d completed units; want 3, 10, 12", len(steps), len(steps[1].Items), len(saga))
	}

	g1, gl := loadHistory(t, "packed-grant-1"), loadHistory(t, "packed-grant-last")
	if markers(g1, parallelUndoChange) != 1 {
		t.Errorf("the grant's first run has %d %s markers, want 1", markers(g1, parallelUndoChange), parallelUndoChange)
	}
	undo := map[int64]bool{}
	open, most := 0, 0
	for _, e := range g1.Events {
		if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "fake.undo" {
			undo[e.GetEventId()] = true
			open++
			most = max(most, open)
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && undo[a.GetScheduledEventId()] {
			open--
		}
	}
	if most != 2 {
		t.Errorf("at most %d undo activities were open at once, want 2 (the fan-out's bound)", most)
	}
	gend := g1.Events[len(g1.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if gend == nil {
		t.Fatal("the grant's first run does not continue as new during the revoke")
	}
	var gn GrantRecord
	if err := converter.GetDefaultDataConverter().FromPayloads(gend.GetInput(), &gn); err != nil {
		t.Fatal(err)
	}
	_, left, _ := expandUnits(t, gn.Units)
	if gn.Revoking == nil || gn.Revoking.By != "ops" || len(left) == 0 || len(left) >= 12 {
		t.Fatalf("the grant continued with revoking %+v and %d units left, want the revoke and fewer than 12", gn.Revoking, len(left))
	}
	if e := gl.Events[len(gl.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("the grant's last run ends with %v, want completed (Revoked)", e.GetEventType())
	}
}
