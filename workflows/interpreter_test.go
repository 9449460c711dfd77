package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/plan"
)

func run(t *testing.T, env *testsuite.TestWorkflowEnvironment, req Request) error {
	t.Helper()
	env.SetStartWorkflowOptions(StartOptions(req, DefaultTaskQueue))
	env.ExecuteWorkflow(WorkflowType, req)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return outcome(t, env)
}

// outcome is the finished workflow's error; a request that completed rolled
// back (rolledBackChange) is returned as the ErrRolledBack error it failed
// with before, its details the final progress (as the failure's were).
func outcome(t *testing.T, env *testsuite.TestWorkflowEnvironment) error {
	t.Helper()
	if err := env.GetWorkflowError(); err != nil {
		return err
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != OutcomeRolledBack {
		return err
	}
	if res.Message == "" || res.Summary == nil || res.Summary.States[StepCompensated]+res.Summary.States[StepFailed]+res.Summary.States[StepSkipped]+res.Summary.States[StepPending] == 0 {
		t.Errorf("rolled-back result %+v lacks its message or states", res)
	}
	return temporal.NewNonRetryableApplicationError(res.Message, ErrRolledBack, nil, queryProgress(t, env))
}

func TestHappyPath(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	a := create("a")
	b := create("b", "a")
	b.Inputs["parent"] = plan.Expr("steps.a.id")
	b.Inputs["label"] = plan.Expr(`meta.specName + "-" + steps.a.echo.name`)
	c := create("c", "a")
	d := create("d", "b", "c")
	p := mkPlan(plan.FailRollback, a, b, c, d)
	p.Outputs = map[string]plan.Value{"last": plan.Expr("steps.d.id")}
	if err := run(t, env, request(p)); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wfID := WorkflowID(p.Source)
	if got, want := res.Outputs["last"], "fake.create-"+wfID+"/d"; got != want {
		t.Errorf("output last = %v, want %v", got, want)
	}
	// The result is a summary; the steps are in the progress query.
	if res.Summary == nil || res.Summary.States[StepDone] != len(p.Steps) || len(res.Steps) != 0 ||
		res.Summary.WorkflowID != wfID || res.Summary.PlanSHA256 != request(p).PlanSHA256 || !strings.Contains(res.Summary.Where, "topoflow status "+wfID) {
		t.Errorf("result summary %+v (steps %d), want %d done steps of %s and where to look", res.Summary, len(res.Steps), len(p.Steps), wfID)
	}
	for _, s := range queryProgress(t, env).Steps {
		if s.State != StepDone || s.Attempts != 1 {
			t.Errorf("step %s: state %s attempts %d, want done after 1", s.ID, s.State, s.Attempts)
		}
	}
	var bCall plan.Call
	for _, c := range rec.calls {
		if c.IdempotencyKey == wfID+"/b" {
			bCall = c
		}
	}
	if got, want := bCall.Inputs["parent"], "fake.create-"+wfID+"/a"; got != want {
		t.Errorf("b.parent = %v, want %v", got, want)
	}
	if got := bCall.Inputs["label"]; got != "test-a" {
		t.Errorf("b.label = %v, want test-a", got)
	}
	if n := rec.count("fake.undo"); n != 0 {
		t.Errorf("%d compensations ran on the happy path", n)
	}
	seq := rec.sequence()
	if seq[0] != "fake.create:"+wfID+"/a" || seq[3] != "fake.create:"+wfID+"/d" {
		t.Errorf("order %v: a must run first and d last", seq)
	}
}

// TestFailureRollsBackCompletedInReverse fails step k of a chain and checks
// that exactly the steps before it are compensated, last first.
func TestFailureRollsBackCompletedInReverse(t *testing.T) {
	ids := []string{"s1", "s2", "s3", "s4"}
	for k := 1; k <= len(ids); k++ {
		t.Run(fmt.Sprintf("fail-at-%d", k), func(t *testing.T) {
			rec := newRecorder()
			failID := ids[k-1]
			rec.fail = func(c plan.Call, n int) error {
				if c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/"+failID) {
					return nonRetryable("boom at " + failID)
				}
				return nil
			}
			env := newEnv(t, rec)
			var steps []plan.Step
			for i, id := range ids {
				if i == 0 {
					steps = append(steps, create(id))
				} else {
					steps = append(steps, create(id, ids[i-1]))
				}
			}
			err := run(t, env, request(mkPlan(plan.FailRollback, steps...)))
			if appErrType(err) != ErrRolledBack {
				t.Fatalf("error %v, want type %s", err, ErrRolledBack)
			}
			var undone []string
			for _, c := range rec.calls {
				if c.Action == "fake.undo" {
					undone = append(undone, c.Inputs["id"].(string))
				}
			}
			var want []string
			for i := k - 2; i >= 0; i-- {
				want = append(want, "fake.create-"+keys(ids[i])[0])
			}
			if !slices.Equal(undone, want) {
				t.Errorf("compensated %v, want %v", undone, want)
			}
			prog := finalProgress(t, err)
			if prog.Phase != PhaseRolledBack {
				t.Errorf("phase %s, want %s", prog.Phase, PhaseRolledBack)
			}
			for i, id := range ids {
				want := StepPending
				switch {
				case i < k-1:
					want = StepCompensated
				case i == k-1:
					want = StepFailed
				}
				if got := stepState(prog, id); got != want {
					t.Errorf("step %s: %s, want %s", id, got, want)
				}
			}
		})
	}
}

// TestParallelRollbackOrder: completion order, not plan order, drives the rollback.
func TestParallelRollbackOrder(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	slow := create("slow")
	slow.Action = "fake.patch" // takes longer
	slow.Compensation.Inputs = map[string]plan.Value{"id": plan.Lit("slow")}
	fast := create("fast")
	fast.Compensation.Inputs = map[string]plan.Value{"id": plan.Lit("fast")}
	late := create("late", "slow", "fast")
	// slow finishes after fast because its action is delayed in the fail hook.
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.patch" {
			time.Sleep(50 * time.Millisecond)
		}
		if strings.HasSuffix(c.IdempotencyKey, "/late") {
			return nonRetryable("late fails")
		}
		return nil
	}
	err := run(t, env, request(mkPlan(plan.FailRollback, slow, fast, late)))
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("error %v, want %s", err, ErrRolledBack)
	}
	var undone []string
	for _, c := range rec.calls {
		if c.Action == "fake.undo" {
			undone = append(undone, c.Inputs["id"].(string))
		}
	}
	if !slices.Equal(undone, []string{"slow", "fast"}) {
		t.Errorf("compensations %v, want [slow fast] (reverse completion order)", undone)
	}
}

func TestCompensationLeak(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		switch {
		case c.Action == "fake.undo":
			return temporal.NewApplicationError("cloud says no", plan.ErrUnavailable)
		case strings.HasSuffix(c.IdempotencyKey, "/b"):
			return nonRetryable("b fails")
		}
		return nil
	}
	env := newEnv(t, rec)
	a := create("a")
	a.Compensation.Retry = &plan.Retry{MaximumAttempts: 3, InitialInterval: plan.D(time.Second)}
	// The leak parks a (compensationRetryRollbackChange); an operator accepts it.
	skipped := skipParkedLeaks(t, env)
	err := run(t, env, request(mkPlan(plan.FailRollback, a, create("b", "a"))))
	if !slices.Equal(*skipped, []string{"a"}) {
		t.Errorf("parked for an operator: %v, want [a]", *skipped)
	}
	if appErrType(err) != ErrCompensationFailed {
		t.Fatalf("error %v, want %s", err, ErrCompensationFailed)
	}
	if n := rec.count("fake.undo"); n != 3 {
		t.Errorf("compensation tried %d times, want 3", n)
	}
	prog := finalProgress(t, err)
	if len(prog.Leaked) != 1 || prog.Leaked[0].Step != "a" || !strings.Contains(prog.Leaked[0].Resource, "id=fake.create-") {
		t.Errorf("leaks %+v, want step a with its id", prog.Leaked)
	}
	if !strings.Contains(err.Error(), "left behind") || prog.Phase != PhaseFailed || stepState(prog, "a") != StepCompFailed {
		t.Errorf("error %q phase %s state %s", err, prog.Phase, stepState(prog, "a"))
	}
}

func approval(id string, who []string, deadline time.Duration, deps ...string) plan.Step {
	return plan.Step{ID: id, Title: "Approve " + id, Action: plan.ActionApproval, DependsOn: deps,
		Gate: &plan.Gate{Who: who, Deadline: plan.D(deadline), Instructions: "check the peering"}}
}

func TestApprovalValidator(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	p := mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice", "bob"}, 0, "a"), create("b", "ok"))
	p.Steps[2].Inputs["approver"] = plan.Expr("steps.ok.approvedBy")
	var mallory, wrongStep, alice updateCB
	var during Progress
	env.RegisterDelayedCallback(func() {
		during = queryProgress(t, env)
		env.UpdateWorkflow(UpdateApprove, "u1", &mallory, Decision{Step: "ok", Identity: "mallory"})
		env.UpdateWorkflow(UpdateComplete, "u2", &wrongStep, Decision{Step: "ok", Identity: "alice"})
		env.UpdateWorkflow(UpdateApprove, "u3", &alice, Decision{Step: "ok", Identity: "alice", Comment: "lgtm"})
	}, time.Hour)
	if err := run(t, env, request(p)); err != nil {
		t.Fatal(err)
	}
	if !mallory.rejected || mallory.accepted || !strings.Contains(mallory.err.Error(), "may not approve") {
		t.Errorf("unlisted approver: rejected=%v accepted=%v err=%v", mallory.rejected, mallory.accepted, mallory.err)
	}
	if !wrongStep.rejected {
		t.Errorf("complete on an approval step was not rejected")
	}
	if !alice.accepted || !alice.done || alice.err != nil {
		t.Errorf("alice: %+v", alice)
	}
	if during.Phase != PhaseWaitingApproval || !slices.Equal(during.Awaiting, []string{"alice", "bob"}) {
		t.Errorf("while waiting: phase %s awaiting %v", during.Phase, during.Awaiting)
	}
	final := queryProgress(t, env)
	if len(final.Audit) != 1 || final.Audit[0].Identity != "alice" || final.Audit[0].Comment != "lgtm" {
		t.Errorf("audit %+v, want only alice's approval", final.Audit)
	}
	last := rec.calls[len(rec.calls)-1]
	if last.Inputs["approver"] != "alice" {
		t.Errorf("b got approver %v", last.Inputs["approver"])
	}
}

func TestApprovalRejectAndExpiry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		act      func(env *testsuite.TestWorkflowEnvironment)
		audit    string
		expiry   plan.ExpiryPolicy
		wantDone bool
	}{
		{name: "reject", audit: UpdateReject, act: func(env *testsuite.TestWorkflowEnvironment) {
			env.UpdateWorkflow(UpdateReject, "r", &updateCB{}, Decision{Step: "gate", Identity: "bob", Comment: "no"})
		}},
		{name: "expire-reject", audit: "expire"},
		{name: "expire-approve", audit: "expire", expiry: plan.ExpireApprove, wantDone: true},
		{name: "signal-reject", audit: UpdateReject, act: func(env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(UpdateReject, map[string]any{"step": "gate", "identity": "bob"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			env := newEnv(t, rec)
			g := approval("gate", []string{"bob"}, 24*time.Hour, "a")
			g.Gate.OnExpiry = tc.expiry
			if tc.act != nil {
				env.RegisterDelayedCallback(func() { tc.act(env) }, time.Hour)
			}
			start := env.Now()
			err := run(t, env, request(mkPlan(plan.FailRollback, create("a"), g, create("b", "gate"))))
			if tc.wantDone {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if appErrType(err) != ErrRolledBack {
				t.Fatalf("error %v, want %s", err, ErrRolledBack)
			}
			if rec.count("fake.undo") != 1 || rec.count("fake.create") != 1 {
				t.Errorf("calls %v: want a created then undone, b never run", rec.sequence())
			}
			prog := finalProgress(t, err)
			if len(prog.Audit) != 1 || prog.Audit[0].Action != tc.audit {
				t.Errorf("audit %+v, want one %s", prog.Audit, tc.audit)
			}
			if tc.act == nil && env.Now().Sub(start) < 24*time.Hour {
				t.Errorf("expired after %s, want the 24h deadline", env.Now().Sub(start))
			}
		})
	}
}

func TestManualStep(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	m := plan.Step{ID: "peer", Title: "Create the peering by hand", Action: plan.ActionManual,
		Gate: &plan.Gate{Who: []string{"netops"}, Instructions: "Create the peering in the console."}}
	b := create("b", "peer")
	b.Inputs["peering"] = plan.Expr("steps.peer.data.peeringId")
	var phase string
	env.RegisterDelayedCallback(func() {
		phase = queryProgress(t, env).Phase
		env.UpdateWorkflow(UpdateComplete, "c", &updateCB{}, Decision{Step: "peer", Identity: "netops", Data: map[string]any{"peeringId": "pcx-1"}})
	}, time.Minute)
	if err := run(t, env, request(mkPlan(plan.FailRollback, m, b))); err != nil {
		t.Fatal(err)
	}
	if phase != PhaseWaitingManual {
		t.Errorf("phase while waiting %s", phase)
	}
	if got := rec.calls[0].Inputs["peering"]; got != "pcx-1" {
		t.Errorf("peering input %v, want pcx-1", got)
	}
}

// parkPlan: a (created) then b, which fails until its input "mode" is "good".
func parkPlan() plan.Plan {
	b := create("b", "a")
	b.Inputs["mode"] = plan.Lit("bad")
	return mkPlan(plan.FailPark, create("a"), b, create("c", "b"))
}

func parkFail(c plan.Call, n int) error {
	if strings.HasSuffix(c.IdempotencyKey, "/b") && c.Inputs["mode"] != "good" && c.Action == "fake.create" {
		return nonRetryable("bad mode")
	}
	return nil
}

func TestParkRetrySkipRollback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		act       func(env *testsuite.TestWorkflowEnvironment, cb *updateCB)
		wantErr   string
		wantUndo  int
		wantState string
		wantPhase string
	}{
		{name: "retry-with-inputs", wantState: StepDone, act: func(env *testsuite.TestWorkflowEnvironment, cb *updateCB) {
			env.UpdateWorkflow(UpdateRetry, "x", cb, OperatorAction{Step: "b", Identity: "ops", Inputs: map[string]any{"mode": "good"}})
		}},
		{name: "skip", wantState: StepSkipped, act: func(env *testsuite.TestWorkflowEnvironment, cb *updateCB) {
			env.UpdateWorkflow(UpdateSkip, "x", cb, OperatorAction{Step: "b", Identity: "ops", Reason: "done by hand"})
		}},
		{name: "rollback", wantErr: ErrRolledBack, wantUndo: 1, wantState: StepFailed, wantPhase: PhaseRolledBack,
			act: func(env *testsuite.TestWorkflowEnvironment, cb *updateCB) {
				env.UpdateWorkflow(UpdateRollback, "x", cb, OperatorAction{Step: "b", Identity: "ops", Reason: "give up"})
			}},
		{name: "abort", wantErr: ErrRolledBack, wantUndo: 1, wantState: StepFailed, wantPhase: PhaseFailed,
			act: func(env *testsuite.TestWorkflowEnvironment, cb *updateCB) {
				env.UpdateWorkflow(UpdateAbort, "x", cb, OperatorAction{Identity: "ops"})
			}},
		{name: "signal-retry", wantState: StepDone, act: func(env *testsuite.TestWorkflowEnvironment, cb *updateCB) {
			cb.accepted, cb.done = true, true
			env.SignalWorkflow(UpdateRetry, map[string]any{"step": "b", "identity": "ops", "inputs": map[string]any{"mode": "good"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.fail = parkFail
			env := newEnv(t, rec)
			var cb, badSkip updateCB
			var parked Progress
			env.RegisterDelayedCallback(func() {
				parked = queryProgress(t, env)
				env.UpdateWorkflow(UpdateSkip, "noreason", &badSkip, OperatorAction{Step: "b", Identity: "ops"})
				tc.act(env, &cb)
			}, 10*time.Minute)
			err := run(t, env, request(parkPlan()))
			if stepState(parked, "b") != StepParked || parked.Phase != PhaseParked || !slices.Equal(parked.Awaiting, []string{"ops"}) {
				t.Errorf("before the decision: b %s, phase %s, awaiting %v", stepState(parked, "b"), parked.Phase, parked.Awaiting)
			}
			if !strings.Contains(parked.Steps[1].LastError, "bad mode") {
				t.Errorf("last error %q", parked.Steps[1].LastError)
			}
			if !badSkip.rejected {
				t.Errorf("skip without a reason was accepted")
			}
			if !cb.accepted || !cb.done {
				t.Errorf("operator update %+v", cb)
			}
			if got := appErrType(err); got != tc.wantErr {
				t.Fatalf("error %v, want type %q", err, tc.wantErr)
			}
			if n := rec.count("fake.undo"); n != tc.wantUndo {
				t.Errorf("%d compensations, want %d", n, tc.wantUndo)
			}
			var prog Progress
			if err != nil {
				prog = finalProgress(t, err)
				if prog.Phase != tc.wantPhase {
					t.Errorf("phase %s, want %s", prog.Phase, tc.wantPhase)
				}
			} else {
				prog = queryProgress(t, env)
				if stepState(prog, "c") != StepDone {
					t.Errorf("c: %s", stepState(prog, "c"))
				}
			}
			if got := stepState(prog, "b"); got != tc.wantState {
				t.Errorf("b: %s, want %s", got, tc.wantState)
			}
		})
	}
}

func TestSignalWithInvalidPayloadIsAudited(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(UpdateApprove, "not an object")
		env.SignalWorkflow(UpdateApprove, map[string]any{"step": "gate", "identity": "eve"})
		env.SignalWorkflow(UpdateApprove, map[string]any{"step": "gate", "who": "bob"})
		env.SignalWorkflow(UpdateApprove, map[string]any{"step": "gate", "identity": "bob"})
	}, time.Minute)
	if err := run(t, env, request(mkPlan(plan.FailRollback, approval("gate", []string{"bob"}, 0)))); err != nil {
		t.Fatal(err)
	}
	prog := queryProgress(t, env)
	var ignored int
	for _, a := range prog.Audit {
		if strings.HasSuffix(a.Action, "(signal ignored)") {
			ignored++
		}
	}
	if ignored != 3 || prog.Audit[len(prog.Audit)-1].Identity != "bob" {
		t.Errorf("audit %+v, want 3 ignored then bob's approval", prog.Audit)
	}
}

func TestCancelRollsBack(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	err := run(t, env, request(mkPlan(plan.FailRollback, create("a"), approval("gate", []string{"bob"}, 0, "a"))))
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("error %v, want %s", err, ErrRolledBack)
	}
	if rec.count("fake.undo") != 1 {
		t.Errorf("calls %v", rec.sequence())
	}
}

func TestWhenSkips(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	b := create("b", "a")
	b.When = `steps.a.echo.name == "zzz"`
	c := create("c", "b")
	if err := run(t, env, request(mkPlan(plan.FailRollback, create("a"), b, c))); err != nil {
		t.Fatal(err)
	}
	prog := queryProgress(t, env)
	if stepState(prog, "b") != StepSkipped || stepState(prog, "c") != StepDone {
		t.Errorf("states b=%s c=%s", stepState(prog, "b"), stepState(prog, "c"))
	}
}

func TestPlanMismatchRefused(t *testing.T) {
	env := newEnv(t, newRecorder())
	req := request(mkPlan(plan.FailRollback, create("a")))
	req.PlanSHA256 = "deadbeef"
	if err := run(t, env, req); appErrType(err) != ErrPlanMismatch {
		t.Fatalf("error %v, want %s", err, ErrPlanMismatch)
	}
}
