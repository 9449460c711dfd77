package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// grantOf runs p to Done in a test environment and returns the record the
// request handed to its grant workflow (mocked there), and the request's
// final progress.
func grantOf(t *testing.T, p plan.Plan, approvers ...string) (GrantRecord, Progress, *recorder) {
	t.Helper()
	rec := newRecorder()
	env := newEnv(t, rec)
	var got *GrantRecord
	var gotID string
	env.OnWorkflow(GrantWorkflowType, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, g GrantRecord) (Progress, error) {
			got, gotID = &g, workflow.GetInfo(ctx).WorkflowExecution.ID
			return Progress{}, nil
		})
	for i, who := range approvers {
		env.RegisterDelayedCallback(func() {
			var cb updateCB
			env.UpdateWorkflow(UpdateApprove, fmt.Sprint("a", i), &cb, Decision{Step: "gate", Identity: who})
		}, time.Duration(i+1)*time.Minute)
	}
	if err := run(t, env, request(p)); err != nil {
		t.Fatalf("request: %v", err)
	}
	prog := queryProgress(t, env)
	if got == nil {
		t.Fatalf("no grant workflow started (progress grant %q, error %q)", prog.Grant, prog.GrantError)
	}
	if want := GrantWorkflowID(WorkflowID(p.Source)); gotID != want || prog.Grant != want {
		t.Errorf("grant workflow ID %q, progress says %q, want %q", gotID, prog.Grant, want)
	}
	expandGrantRecord(t, got) // for the assertions; the grant restores from Units
	return *got, prog, rec
}

// runGrant runs the grant workflow of g under its workflow ID.
func runGrant(env *testsuite.TestWorkflowEnvironment, g GrantRecord) {
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: GrantWorkflowID(g.RequestID), TaskQueue: DefaultTaskQueue})
	env.ExecuteWorkflow(Grant, g)
}

// TestRevokeUndoesADoneRequestInReverse: the grant holds what a Done request
// created and a revoke compensates it in reverse completion order, fan-out
// items included, each with the outputs its unit produced, ending Revoked.
func TestRevokeUndoesADoneRequestInReverse(t *testing.T) {
	fan := create("fan", "b")
	fan.ForEach = &plan.ForEach{Items: `["x", "y"]`, Concurrency: 1}
	fan.Inputs["name"] = plan.Expr("item")
	b := create("b", "a")
	b.Inputs["from"] = plan.Expr("steps.a.id")
	p := mkPlan(plan.FailRollback, create("a"), b, fan)
	g, prog, created := grantOf(t, p)
	if prog.Phase != PhaseDone {
		t.Fatalf("request phase %s, want Done", prog.Phase)
	}
	if len(g.Done) != 4 || created.count("fake.undo") != 0 {
		t.Fatalf("record lists %d units (want 4), %d undo calls before the revoke", len(g.Done), created.count("fake.undo"))
	}

	rec := newRecorder()
	env := newEnv(t, rec)
	var early, denied, ok, twice updateCB
	env.RegisterDelayedCallback(func() {
		if p := queryProgress(t, env); p.Phase != PhaseGranted {
			t.Errorf("grant phase %s before the revoke, want Granted", p.Phase)
		}
		env.UpdateWorkflow(UpdateRevoke, "r0", &early, OperatorAction{Step: "a", Identity: "ops"})
		env.UpdateWorkflow(UpdateRevoke, "r1", &denied, OperatorAction{Identity: "ops", Inputs: map[string]any{"x": 1}})
		env.UpdateWorkflow(UpdateRevoke, "r2", &ok, OperatorAction{Identity: "ops", Reason: "team left"})
		env.UpdateWorkflow(UpdateRevoke, "r3", &twice, OperatorAction{Identity: "ops"})
	}, time.Hour)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("grant: %v", err)
	}
	if !early.rejected || !denied.rejected || !ok.accepted || !twice.rejected ||
		!strings.Contains(fmt.Sprint(twice.err), "already being revoked") {
		t.Errorf("revokes: with step %+v, with inputs %+v, ok %+v, twice %+v", early, denied, ok, twice)
	}
	var final Progress
	if err := env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Phase != PhaseRevoked || len(final.Leaked) != 0 {
		t.Errorf("final phase %s leaked %v, want Revoked and nothing leaked", final.Phase, final.Leaked)
	}
	for _, s := range final.Steps {
		if s.State != StepCompensated {
			t.Errorf("step %s is %s after the revoke, want compensated", s.ID, s.State)
		}
	}
	// Reverse completion order, each undo naming what its unit created.
	id := WorkflowID(p.Source)
	var undone []string
	for _, c := range rec.calls {
		if c.Action != "fake.undo" {
			t.Errorf("the revoke called %s: only compensations may run", c.Action)
			continue
		}
		undone = append(undone, fmt.Sprint(c.Inputs["id"]))
	}
	want := []string{"fake.create-" + id + "/fan/1", "fake.create-" + id + "/fan/0", "fake.create-" + id + "/b", "fake.create-" + id + "/a"}
	if strings.Join(undone, " ") != strings.Join(want, " ") {
		t.Errorf("undone\n  %v\nwant\n  %v", undone, want)
	}
	if n := len(final.Audit); n == 0 || final.Audit[n-1].Action != UpdateRevoke || final.Audit[n-1].Comment != "team left" {
		t.Errorf("audit does not end with the revoke: %+v", final.Audit)
	}
}

// TestRevokeWaitsForTheGateAgain: a plan with an approval gate needs the
// gate's approval again to revoke; a rejection keeps the grant, the
// revoker may not approve their own revoke, and an approval revokes.
func TestRevokeWaitsForTheGateAgain(t *testing.T) {
	p := mkPlan(plan.FailRollback, create("a"), approval("gate", []string{"alice", "bob"}, 0, "a"), create("b", "gate"))
	g, _, _ := grantOf(t, p, "alice")

	rec := newRecorder()
	env := newEnv(t, rec)
	var first, rejected, second, self, approved updateCB
	var waiting, afterReject Progress
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRevoke, "r1", &first, OperatorAction{Identity: "bob"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		waiting = queryProgress(t, env)
		env.UpdateWorkflow(UpdateReject, "j1", &rejected, Decision{Step: "gate", Identity: "alice", Comment: "still used"})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		afterReject = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRevoke, "r2", &second, OperatorAction{Identity: "alice"})
	}, 3*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "a1", &self, Decision{Step: "gate", Identity: "alice"})
		env.UpdateWorkflow(UpdateApprove, "a2", &approved, Decision{Step: "gate", Identity: "bob"})
	}, 4*time.Hour)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("grant: %v", err)
	}
	if waiting.Phase != PhaseWaitingApproval || stepState(waiting, "gate") != StepWaiting {
		t.Errorf("after the first revoke: phase %s gate %s", waiting.Phase, stepState(waiting, "gate"))
	}
	if afterReject.Phase != PhaseGranted || stepState(afterReject, "gate") != StepDone {
		t.Errorf("after the rejection: phase %s gate %s, want Granted and done", afterReject.Phase, stepState(afterReject, "gate"))
	}
	if !first.accepted || !rejected.accepted || !second.accepted || !approved.accepted {
		t.Errorf("updates: revoke %+v reject %+v revoke %+v approve %+v", first, rejected, second, approved)
	}
	if !self.rejected || !strings.Contains(fmt.Sprint(self.err), "may not approve") {
		t.Errorf("the revoker approving their own revoke: %+v", self)
	}
	var final Progress
	if err := env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Phase != PhaseRevoked || rec.count("fake.undo") != 2 {
		t.Errorf("final phase %s with %d undo calls, want Revoked and 2", final.Phase, rec.count("fake.undo"))
	}
}

// TestRevokeReportsLeaks: a compensation that keeps failing during a revoke
// is reported as left behind and the grant ends Failed, like a rollback.
func TestRevokeReportsLeaks(t *testing.T) {
	a := create("a")
	a.Compensation.Retry = &plan.Retry{MaximumAttempts: 2}
	p := mkPlan(plan.FailRollback, a, create("b", "a"))
	g, _, _ := grantOf(t, p)
	rec := newRecorder()
	rec.fail = func(call plan.Call, n int) error {
		if call.Action == "fake.undo" && call.Inputs["id"] == "fake.create-"+WorkflowID(p.Source)+"/a" {
			return fmt.Errorf("still in use")
		}
		return nil
	}
	env := newEnv(t, rec)
	env.RegisterDelayedCallback(func() {
		var cb updateCB
		env.UpdateWorkflow(UpdateRevoke, "r", &cb, OperatorAction{Identity: "ops"})
	}, time.Minute)
	runGrant(env, g)
	err := env.GetWorkflowError()
	if appErrType(err) != ErrCompensationFailed {
		t.Fatalf("grant error %v, want %s", err, ErrCompensationFailed)
	}
	prog := finalProgress(t, err)
	if prog.Phase != PhaseFailed || len(prog.Leaked) != 1 || prog.Leaked[0].Step != "a" || stepState(prog, "b") != StepCompensated {
		t.Errorf("phase %s leaked %+v b %s", prog.Phase, prog.Leaked, stepState(prog, "b"))
	}
}

// TestNoGrantWithoutCompensations: a Done request that created nothing to
// undo starts no grant workflow.
func TestNoGrantWithoutCompensations(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	s := create("a")
	s.Compensation = nil
	if err := run(t, env, request(mkPlan(plan.FailRollback, s))); err != nil {
		t.Fatal(err)
	}
	if p := queryProgress(t, env); p.Grant != "" || p.GrantError != "" {
		t.Errorf("grant %q error %q, want none", p.Grant, p.GrantError)
	}
}

// TestPartialRevoke: a revoke limited to a step undoes it and every step
// depending on it (the preview lists them first, in the order they will be
// undone); the grant stays Granted with the rest, which a later revoke undoes.
func TestPartialRevoke(t *testing.T) {
	p := mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("c", "b"), create("d", "a"))
	// Completion order: a, then b and d, then c.
	g, _, _ := grantOf(t, p)
	id := WorkflowID(p.Source)
	rec := newRecorder()
	env := newEnv(t, rec)
	var preview []PreviewUnit
	var previewErr error
	var partial, nothing, whole updateCB
	var between Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryRollbackPreview, []string{"b"})
		if err == nil {
			err = v.Get(&preview)
		}
		if err != nil {
			t.Errorf("preview: %v", err)
		}
		_, previewErr = env.QueryWorkflow(QueryRollbackPreview, []string{"nope"})
		env.UpdateWorkflow(UpdateRevoke, "p", &partial, OperatorAction{Identity: "ops", Only: []string{"b"}})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		between = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRevoke, "n", &nothing, OperatorAction{Identity: "ops", Only: []string{"c"}})
		env.UpdateWorkflow(UpdateRevoke, "w", &whole, OperatorAction{Identity: "ops"})
	}, 2*time.Hour)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("grant: %v", err)
	}
	var got []string
	for _, u := range preview {
		got = append(got, u.Step+"("+u.Because+")")
	}
	if strings.Join(got, " ") != "c(depends on b) b(selected)" || preview[0].Compensation != "fake.undo" ||
		preview[0].Resource != "id=fake.create-"+id+"/c" {
		t.Errorf("preview of b: %+v", preview)
	}
	if previewErr == nil || !strings.Contains(previewErr.Error(), "no step") {
		t.Errorf("preview of an unknown step: %v", previewErr)
	}
	if !partial.accepted || !nothing.rejected || !strings.Contains(fmt.Sprint(nothing.err), "nothing to undo") || !whole.accepted {
		t.Errorf("partial %+v, of compensated c %+v, whole %+v", partial, nothing, whole)
	}
	if between.Phase != PhaseGranted || stepState(between, "b") != StepCompensated || stepState(between, "c") != StepCompensated ||
		stepState(between, "a") != StepDone || stepState(between, "d") != StepDone {
		t.Errorf("after the partial revoke: phase %s, steps %+v", between.Phase, between.Steps)
	}
	var undone []string
	for _, c := range rec.calls {
		undone = append(undone, strings.TrimPrefix(fmt.Sprint(c.Inputs["id"]), "fake.create-"+id+"/"))
	}
	if strings.Join(undone, " ") != "c b d a" {
		t.Errorf("undone %v, want c b (partial) then d a", undone)
	}
	var final Progress
	if err := env.GetWorkflowResult(&final); err != nil || final.Phase != PhaseRevoked {
		t.Errorf("final %s, %v", final.Phase, err)
	}
}

// TestDriftWatch: a grant re-runs its request's read steps on a durable
// timer: a resource whose status is no longer a target state is drift
// (phase Drifted, the finding in progress and the audit), and a later check
// that finds it back clears it.
func TestDriftWatch(t *testing.T) {
	w := plan.Step{ID: "w", Title: "Wait for a", Action: "fake.get", DependsOn: []string{"a"},
		Inputs: map[string]plan.Value{"id": plan.Expr("steps.a.id")},
		Wait:   &plan.Wait{Target: []string{"ACTIVE"}, Failure: []string{"DELETED"}, PollInterval: plan.D(time.Second), Timeout: plan.D(time.Minute)}}
	p := mkPlan(plan.FailRollback, create("a"), w)
	rec := newRecorder()
	rec.statuses = func(plan.Call, int) (string, error) { return "ACTIVE", nil }
	env := newEnv(t, rec)
	var g *GrantRecord
	env.OnWorkflow(GrantWorkflowType, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, gr GrantRecord) (Progress, error) { g = &gr; return Progress{}, nil })
	req := request(p)
	req.DriftEvery = plan.D(10 * time.Minute)
	if err := run(t, env, req); err != nil {
		t.Fatal(err)
	}
	expandGrantRecord(t, g)
	if g == nil || len(g.DriftChecks) != 1 || g.DriftChecks[0].Step != "w" || g.DriftEvery.Std() != 10*time.Minute {
		t.Fatalf("record's drift checks: %+v", g)
	}

	rec = newRecorder()
	deleted := false
	rec.statuses = func(plan.Call, int) (string, error) {
		if deleted {
			return "DELETED", nil
		}
		return "ACTIVE", nil
	}
	env = newEnv(t, rec)
	var ok, drifted, back Progress
	env.RegisterDelayedCallback(func() { ok = queryProgress(t, env); deleted = true }, 15*time.Minute)
	env.RegisterDelayedCallback(func() { drifted = queryProgress(t, env); deleted = false }, 25*time.Minute)
	env.RegisterDelayedCallback(func() {
		back = queryProgress(t, env)
		var cb updateCB
		env.UpdateWorkflow(UpdateRevoke, "r", &cb, OperatorAction{Identity: "ops"})
	}, 35*time.Minute)
	runGrant(env, *g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if ok.Phase != PhaseGranted || ok.Drift == nil || ok.Drift.Checks != 1 || len(ok.Drift.Findings) != 0 {
		t.Errorf("after the first check: phase %s drift %+v", ok.Phase, ok.Drift)
	}
	if drifted.Phase != PhaseDrifted || drifted.Drift == nil || len(drifted.Drift.Findings) != 1 ||
		drifted.Drift.Findings[0].Step != "w" || !strings.Contains(drifted.Drift.Findings[0].Error, "DELETED") {
		t.Errorf("after the resource went: phase %s drift %+v", drifted.Phase, drifted.Drift)
	}
	if back.Phase != PhaseGranted || len(back.Drift.Findings) != 0 {
		t.Errorf("after it came back: phase %s drift %+v", back.Phase, back.Drift)
	}
	var audit []string
	for _, e := range back.Audit {
		if e.Action == "drift" {
			audit = append(audit, e.Comment)
		}
	}
	if len(audit) != 2 || !strings.Contains(audit[0], "1 of 1 checks failed, first w") {
		t.Errorf("drift audit: %q", audit)
	}
	if n := rec.count("fake.undo"); n != 1 {
		t.Errorf("%d undo calls after the revoke, want 1 (a; the wait step has nothing to undo)", n)
	}
}

// TestSignedRevoke: in strict mode a revoke must be signed by an operator of
// the request, over the grant's workflow ID and run, and over its only list.
func TestSignedRevoke(t *testing.T) {
	p := mkPlan(plan.FailRollback, create("a"), create("b", "a"))
	p.Operators = []string{"alice"}
	g, _, _ := grantOf(t, p)
	pp := newPeople(t, trust.ModeStrict, nil, "alice", "bob")
	env, rec := strictEnv(t, pp)
	sha, _ := p.Hash()
	sign := func(who string, only []string) *trust.Signature {
		digest := ""
		if only != nil {
			var err error
			if digest, err = trust.DataDigest(map[string]any{"only": only}); err != nil {
				t.Fatal(err)
			}
		}
		st, err := trust.NewStatement(trust.Statement{Kind: UpdateRevoke, WorkflowID: GrantWorkflowID(g.RequestID), RunID: testRunID,
			PlanSHA256: sha, Identity: who, DataSHA256: digest}, env.Now())
		if err != nil {
			t.Fatal(err)
		}
		return pp.keys[who].SignSSH(t, st)
	}
	var unsigned, notOperator, wrongOnly, ok, rest updateCB
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRevoke, "u", &unsigned, OperatorAction{Identity: "alice"})
		env.UpdateWorkflow(UpdateRevoke, "b", &notOperator, OperatorAction{Identity: "bob", Signature: sign("bob", nil)})
		env.UpdateWorkflow(UpdateRevoke, "w", &wrongOnly, OperatorAction{Identity: "alice", Only: []string{"a"}, Signature: sign("alice", nil)})
		env.UpdateWorkflow(UpdateRevoke, "a", &ok, OperatorAction{Identity: "alice", Only: []string{"b"}, Signature: sign("alice", []string{"b"})})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRevoke, "rest", &rest, OperatorAction{Identity: "alice", Signature: sign("alice", nil)})
	}, time.Hour)
	runGrant(env, g)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !unsigned.rejected || !strings.Contains(fmt.Sprint(unsigned.err), "strict mode") {
		t.Errorf("unsigned revoke: %+v", unsigned)
	}
	if !notOperator.rejected || !strings.Contains(fmt.Sprint(notOperator.err), "not an operator") {
		t.Errorf("revoke by a non-operator: %+v", notOperator)
	}
	if !wrongOnly.rejected {
		t.Errorf("revoke whose signature does not cover its only list: %+v", wrongOnly)
	}
	if !ok.accepted || !rest.accepted || rec.count("fake.undo") != 2 {
		t.Errorf("signed revokes: %+v, %+v, %d undo calls", ok, rest, rec.count("fake.undo"))
	}
}
