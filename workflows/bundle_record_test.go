package workflows

import (
	"context"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TestRecordBundle records the shapes of changeBundle (bundle.go) and the
// hot paths it switches on (hotpath.go) on a dev server told to suggest
// continue-as-new after 60 events (`go test ./workflows -run
// TestRecordBundle -record`): a diamond behind an approval whose last step
// reads a step's output, handed to its grant and revoked; a chain that
// continues as new; a chain that fails and rolls back; an approval
// given by a signal. TestReplay replays
// them all; TestBundleHistories checks their facts.
func TestRecordBundle(t *testing.T) {
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
	id := func(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

	{
		name := "bundle-diamond"
		d := create("d", "b", "c")
		d.Inputs["after"] = plan.Expr("steps.b.id")
		p := named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice"}, 0, "a"),
			create("b", "ok"), create("c", "ok"), d), name)
		run := e.start(p)
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "alice", Comment: "lgtm"}); err != nil {
			t.Fatalf("alice's approval: %v", err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		saveHistory(t, c, id(name), name)
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseGranted && p.Trust != nil })
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops", Reason: "recording"}); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		// The revoke waits for the gate again (as grant-revoke).
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(gid, UpdateApprove, Decision{Step: "ok", Identity: "alice"}); err != nil {
			t.Fatal(err)
		}
		var final Progress
		if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != PhaseRevoked {
			t.Fatalf("grant ended %s: %v", final.Phase, err)
		}
		saveHistory(t, c, gid, "bundle-grant")
	}
	{
		// Approved by a signal: signalLoop starts when the signal waits.
		name := "bundle-signal"
		run := e.start(named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice"}, 0, "a"), create("b", "ok")), name))
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := c.SignalWorkflow(ctx, id(name), "", UpdateApprove, Decision{Step: "ok", Identity: "alice", Comment: "by signal"}); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		saveHistory(t, c, id(name), name)
	}
	{
		name := "bundle-can"
		steps := []plan.Step{create("s1")}
		for _, s := range []string{"s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15"} {
			steps = append(steps, create(s, steps[len(steps)-1].ID))
		}
		run := e.start(named(mkPlan(plan.FailRollback, steps...), name))
		var res Result
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if res.Summary == nil || res.Summary.Runs < 2 {
			t.Fatalf("result %+v, want 2 runs or more", res.Summary)
		}
		rd, err := c.DescribeWorkflowExecution(ctx, id(name), "")
		if err != nil {
			t.Fatal(err)
		}
		writeHistory(t, fetchHistory(t, c, id(name), rd.GetWorkflowExecutionInfo().GetFirstRunId()), "bundle-can-run-1")
		writeHistory(t, fetchHistory(t, c, id(name), ""), "bundle-can-run-last")
	}
	{
		name := "bundle-rollback"
		rec.fail = func(call plan.Call, n int) error {
			if strings.HasSuffix(call.IdempotencyKey, "/s3") && strings.Contains(call.IdempotencyKey, name) {
				return nonRetryable("s3 fails")
			}
			return nil
		}
		p := named(mkPlan(plan.FailRollback, create("s1"), create("s2", "s1"), create("s3", "s2"), create("s4", "s3")), name)
		var out Result
		if err := e.start(p).Get(ctx, &out); err != nil || out.Outcome != OutcomeRolledBack {
			t.Fatalf("%s: %+v, %v; want rolled back", name, out, err)
		}
		rec.fail = nil
		saveHistory(t, c, id(name), name)
	}
}

// versionMarkers lists the change IDs of h's version markers.
func versionMarkers(h *historypb.History) []string {
	var out []string
	for _, e := range h.GetEvents() {
		a := e.GetMarkerRecordedEventAttributes()
		if a == nil || a.GetMarkerName() != "Version" {
			continue
		}
		for _, p := range a.GetDetails()["change-id"].GetPayloads() {
			out = append(out, strings.Trim(string(p.GetData()), `"`))
		}
	}
	return out
}

// TestBundleHistories: the runs recorded with changeBundle carry its one
// marker and none of a bundled change; the grant's revoke asks the
// parallel undo on its own (not bundled); the chain continued as new
// carrying its state; the diamond's last step resolved its input from
// steps.b; the histories recorded before the bundle have no bundle marker.
func TestBundleHistories(t *testing.T) {
	for _, name := range []string{"bundle-diamond", "bundle-grant", "bundle-can-run-1", "bundle-can-run-last", "bundle-rollback", "bundle-signal"} {
		h := loadHistory(t, name)
		n := 0
		for _, id := range versionMarkers(h) {
			if id == changeBundle {
				n++
			}
			if _, ok := bundled[id]; ok {
				t.Errorf("%s: a marker of the bundled change %s", name, id)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d %s markers, want 1", name, n, changeBundle)
		}
	}
	first := loadHistory(t, "bundle-can-run-1")
	if first.Events[len(first.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes() == nil {
		t.Error("bundle-can-run-1 does not continue as new")
	}
	var req Request
	startInput(t, loadHistory(t, "bundle-can-run-last"), &req)
	if req.Resume == nil || req.Resume.Units == nil {
		t.Error("bundle-can-run-last does not start from the carried units")
	}
	found := false
	for _, e := range loadHistory(t, "bundle-diamond").Events {
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil || a.GetActivityType().GetName() != "fake.create" {
			continue
		}
		var call plan.Call
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &call); err != nil {
			t.Fatal(err)
		}
		if call.Inputs["name"] == "d" {
			found = call.Inputs["after"] != nil && call.Inputs["after"] != ""
		}
	}
	if !found {
		t.Error("bundle-diamond: step d did not resolve steps.b.id")
	}
	sig := loadHistory(t, "bundle-signal")
	if countEvents(sig, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 1 || countEvents(sig, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) != 1 {
		t.Error("bundle-signal: want one signal (the approval) and the request Done (its grant started)")
	}
	if countEvents(loadHistory(t, "bundle-rollback"), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 {
		t.Error("bundle-rollback did not complete (rolled back)")
	}
	for _, name := range []string{"packed-run-1", "can-run-1", "run-keys", "sched-diamond"} {
		for _, id := range versionMarkers(loadHistory(t, name)) {
			if id == changeBundle {
				t.Errorf("%s, recorded before the bundle, has its marker", name)
			}
		}
	}
}
