package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// resultCB is an update callback that hands the result to fn.
type resultCB struct {
	updateCB
	fn func(any)
}

func (u *resultCB) Complete(v any, e error) { u.updateCB.Complete(v, e); u.fn(v) }

// doneRecord runs p to Done and returns the record handed to its grant.
func doneRecord(t *testing.T, rec *recorder, req Request) GrantRecord {
	t.Helper()
	env := newEnv(t, rec)
	var g *GrantRecord
	env.OnWorkflow(GrantWorkflowType, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, gr GrantRecord) (Progress, error) { g = &gr; return Progress{}, nil })
	if err := run(t, env, req); err != nil {
		t.Fatal(err)
	}
	if g == nil {
		t.Fatal("no grant")
	}
	return *g
}

// TestChangeRunsOnlyTheDelta: a changed plan against a grant keeps the unit
// whose inputs did not change (no call), replaces the one whose inputs did
// (created first, the old one undone after), adds the new step, and undoes
// the removed one; the record then holds exactly what exists, so a revoke
// undoes each once.
func TestChangeRunsOnlyTheDelta(t *testing.T) {
	// gone after b: two units completing in the same instant reach the test
	// environment's workflow in either order (its activities run on
	// goroutines), and the record's order decides the undo order asserted
	// below (the test failed about once in five runs).
	old := mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("gone", "b"))
	rec := newRecorder()
	g := doneRecord(t, rec, request(old))

	b := create("b", "a")
	b.Inputs["size"] = plan.Lit(2)
	next := mkPlan(plan.FailRollback, create("a"), b, create("c", "b"))
	rec = newRecorder()
	env := newEnv(t, rec)
	var changed Progress
	var accepted ChangeResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateChange, "c1", &resultCB{fn: func(v any) { accepted, _ = v.(ChangeResult) }}, ChangeRequest{Request: request(next)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		changed = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRevoke, "r", &updateCB{}, OperatorAction{Identity: "ops"})
	}, 10*time.Minute)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	ch := changed.Change
	if ch == nil || ch.Outcome != ChangeChanged || changed.Phase != PhaseGranted {
		t.Fatalf("change: %+v (phase %s)", ch, changed.Phase)
	}
	if !slices.Equal(ch.Added, []string{"b", "c"}) || !slices.Equal(ch.Removed, []string{"gone", "b"}) || ch.Kept != 1 || len(ch.Updated) != 0 {
		t.Errorf("change added %v, removed %v, kept %d, updated %v; want added [b c], removed [gone b], kept 1", ch.Added, ch.Removed, ch.Kept, ch.Updated)
	}
	seq := rec.sequence()
	gp := GrantWorkflowID(WorkflowID(next.Source)) + "/"
	want := []string{
		// the change: b again (new key), c; then the replaced b and the removed step undone
		"fake.create:" + gp + "b/change-1", "fake.create:" + gp + "c/change-1",
		"fake.undo:" + gp + "gone/undo", "fake.undo:" + gp + "b/undo",
		// the revoke: newest first, each once
		"fake.undo:" + gp + "c/change-1/undo", "fake.undo:" + gp + "b/change-1/undo", "fake.undo:" + gp + "a/undo",
	}
	if !slices.Equal(seq, want) {
		t.Errorf("calls:\n got %v\nwant %v", seq, want)
	}
	if changed.PlanSHA256 != request(next).PlanSHA256 || accepted.N != 1 || accepted.Outcome != ChangeRunning {
		t.Errorf("grant plan %.12s after the change, accepted %+v", changed.PlanSHA256, accepted)
	}
}

// TestDriftAutoRepair: with drift.autoRepair a drift check that finds a
// resource gone repairs it without approval: the mutating step the failing
// read reads is created again, the old one's undo runs (it is gone: nothing
// left), the next check is clean and the phase is Granted again.
func TestDriftAutoRepair(t *testing.T) {
	w := plan.Step{ID: "w", Title: "Wait for a", Action: "fake.get", DependsOn: []string{"a"},
		Inputs: map[string]plan.Value{"id": plan.Expr("steps.a.id")},
		Wait:   &plan.Wait{Target: []string{"ACTIVE"}, Failure: []string{"DELETED"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}}
	p := mkPlan(plan.FailRollback, create("a"), w)
	p.Drift = &plan.Drift{Every: plan.D(10 * time.Minute), AutoRepair: true}
	rec := newRecorder()
	rec.statuses = func(plan.Call, int) (string, error) { return "ACTIVE", nil }
	g := doneRecord(t, rec, request(p))
	if g.DriftEvery.Std() != 10*time.Minute {
		t.Fatalf("drift every %s, want the spec's 10m", g.DriftEvery.Std())
	}

	rec = newRecorder()
	deleted := false
	rec.statuses = func(c plan.Call, _ int) (string, error) {
		if deleted && c.Inputs["id"] == "fake.create-topoflow/Workflow/test/a" {
			return "DELETED", nil // the original a was deleted by hand
		}
		return "ACTIVE", nil
	}
	env := newEnv(t, rec)
	var repaired Progress
	env.RegisterDelayedCallback(func() { deleted = true }, 5*time.Minute)
	env.RegisterDelayedCallback(func() {
		repaired = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRevoke, "r", &updateCB{}, OperatorAction{Identity: "ops"})
	}, 25*time.Minute)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	ch := repaired.Change
	if ch == nil || ch.Kind != UpdateRepair || ch.Outcome != ChangeChanged || !slices.Equal(ch.Added, []string{"a"}) || !slices.Equal(ch.Removed, []string{"a"}) {
		t.Fatalf("repair: %+v", ch)
	}
	if repaired.Phase != PhaseGranted || repaired.Drift == nil || len(repaired.Drift.Findings) != 0 {
		t.Errorf("after the repair: phase %s, drift %+v", repaired.Phase, repaired.Drift)
	}
	if n := rec.count("fake.create"); n != 1 {
		t.Errorf("%d creates, want 1 (the repair)", n)
	}
	if n := rec.count("fake.undo"); n != 2 {
		t.Errorf("%d undos, want 2 (the replaced a, then the revoke of the new one)", n)
	}
}

// TestFailedChangeIsUndone: a change whose new step fails undoes what it
// created (newest first), keeps the record as it was (same plan), and a
// revoke then undoes only what the request created.
func TestFailedChangeIsUndone(t *testing.T) {
	old := mkPlan(plan.FailRollback, create("a"))
	rec := newRecorder()
	g := doneRecord(t, rec, request(old))

	bad := plan.Step{ID: "bad", Title: "Fail", Action: "fake.fail", DependsOn: []string{"c"}, Retry: &plan.Retry{MaximumAttempts: 1}}
	next := mkPlan(plan.FailRollback, create("a"), create("c", "a"), bad)
	rec = newRecorder()
	rec.fail = func(call plan.Call, _ int) error {
		if call.Action == "fake.fail" {
			return nonRetryable("boom")
		}
		return nil
	}
	env := newEnv(t, rec)
	var after Progress
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateChange, "c1", &updateCB{}, ChangeRequest{Request: request(next)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		after = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRevoke, "r", &updateCB{}, OperatorAction{Identity: "ops"})
	}, 10*time.Minute)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if after.Change == nil || after.Change.Outcome != ChangeUndone || after.Phase != PhaseGranted || after.PlanSHA256 != request(old).PlanSHA256 {
		t.Fatalf("after the failed change: %+v, phase %s, plan %.12s", after.Change, after.Phase, after.PlanSHA256)
	}
	gp := GrantWorkflowID(WorkflowID(old.Source)) + "/"
	want := []string{"fake.create:" + gp + "c/change-1", "fake.fail:" + gp + "bad/change-1",
		"fake.undo:" + gp + "c/change-1/undo", // the change undone
		"fake.undo:" + gp + "a/undo"}          // the revoke: only what the request created
	if seq := rec.sequence(); !slices.Equal(seq, want) {
		t.Errorf("calls:\n got %v\nwant %v", seq, want)
	}
}
