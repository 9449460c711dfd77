package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// chainRuns runs req, and every run it continues as new with, each in a
// fresh test environment where continue-as-new is suggested after the
// every-th completed call of action (0: never); prepare, if set, is called
// with each run's environment and number before it starts. It returns the
// last run's environment, the requests the runs started with and the last
// run's error.
func chainRuns(t *testing.T, rec *recorder, req Request, action string, every int, prepare func(env *testsuite.TestWorkflowEnvironment, run int, req Request)) (*testsuite.TestWorkflowEnvironment, []Request, error) {
	t.Helper()
	var reqs []Request
	for n := 0; n < 50; n++ {
		reqs = append(reqs, req)
		env := newEnv(t, rec)
		done := 0
		env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
			if info.ActivityType.Name == action && every > 0 {
				if done++; done == every {
					env.SetContinueAsNewSuggested(true)
				}
			}
		})
		if prepare != nil {
			prepare(env, n, req)
		}
		err := run(t, env, req)
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) {
			return env, reqs, err
		}
		req = Request{}
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &req); err != nil {
			t.Fatal(err)
		}
		if req.Resume == nil {
			t.Fatal("continued as new without the state")
		}
	}
	t.Fatal("more than 50 runs")
	return nil, nil, nil
}

// inventory replays the recorded calls against a model of the cloud: every
// create or patch that succeeded adds the resource it returns, every undo
// that succeeded removes the one it names. It reports what is left and
// every undo of a resource that was not there (undone twice, or never
// created).
func inventory(rec *recorder) (left []string, bad []string) {
	have := map[string]bool{}
	for _, c := range rec.calls {
		if (rec.fail != nil && rec.fail(c, 1) != nil) || strings.HasSuffix(c.IdempotencyKey, "/list") {
			continue // failed, or a step without a compensation (brokers: a list)
		}
		switch c.Action {
		case "fake.create", "fake.patch":
			have[c.Action+"-"+c.IdempotencyKey] = true
		case "fake.undo":
			id := fmt.Sprint(c.Inputs["id"])
			if !have[id] {
				bad = append(bad, id)
			}
			delete(have, id)
		}
	}
	for id := range have {
		left = append(left, id)
	}
	slices.Sort(left)
	return left, bad
}

// TestRollbackContinuesAsNew: a request of 12 fan-out items whose last step
// fails rolls back; Temporal suggests continuing as new after every third
// compensation, so the rollback runs over several runs, each carrying the
// rollback and what is left to undo. Every unit is compensated exactly
// once, newest first (the step after the fan-out before its items), and the
// cloud is empty after; the result is the rollback's.
func TestRollbackContinuesAsNew(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/last") {
			return nonRetryable("last fails")
		}
		return nil
	}
	p := mkPlan(plan.FailRollback, brokers(12), fanout(2), create("after", "endpoint"), create("last", "after"))
	_, reqs, err := chainRuns(t, rec, request(p), "fake.undo", 3, nil)
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("last run: %v, want rolled back", err)
	}
	if len(reqs) < 4 {
		t.Fatalf("%d runs, want the rollback of 13 units to continue as new at least 3 times", len(reqs))
	}
	for i, rq := range reqs[1:] {
		rb := rq.Resume.Rollback
		if rb == nil || !strings.Contains(rb.Reason, "step last failed") || rq.Resume.Runs != i+1 {
			t.Fatalf("run %d started with rollback %+v after %d runs, want the carried rollback of step last", i+2, rb, rq.Resume.Runs)
		}
	}
	left, bad := inventory(rec)
	if len(left) != 0 || len(bad) != 0 {
		t.Errorf("left in the cloud %v, undone twice or never created %v", left, bad)
	}
	var undone []string
	for _, c := range rec.calls {
		if c.Action == "fake.undo" {
			undone = append(undone, fmt.Sprint(c.Inputs["id"]))
		}
	}
	if len(undone) != 13 || !strings.HasSuffix(undone[0], "/after") {
		t.Errorf("compensated %v, want 13 units, step after first", undone)
	}
	if rec.count("fake.create") != 3 || rec.count("fake.patch") != 12 {
		t.Errorf("%d creates, %d patches: a carried rollback ran forward steps again", rec.count("fake.create"), rec.count("fake.patch"))
	}
	prog := finalProgress(t, err)
	if prog.Phase != PhaseRolledBack || len(prog.Leaked) != 0 || stepState(prog, "endpoint") != StepCompensated ||
		stepState(prog, "after") != StepCompensated || stepState(prog, "last") != StepFailed {
		t.Errorf("final phase %s leaks %v states endpoint %s after %s last %s", prog.Phase, prog.Leaked,
			stepState(prog, "endpoint"), stepState(prog, "after"), stepState(prog, "last"))
	}
}

// TestRollbackContinuesAsNewCarriesLeaks: one item's compensation keeps
// failing before the hand-over; the next run still reports it, parks the
// step for an operator (compretry.go) and, once skipped, ends with it left
// behind, every other unit compensated once.
func TestRollbackContinuesAsNewCarriesLeaks(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		switch {
		case c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/last"):
			return nonRetryable("last fails")
		case c.Action == "fake.undo" && strings.HasSuffix(fmt.Sprint(c.Inputs["id"]), "/endpoint/b11"):
			return nonRetryable("b11 will not go")
		}
		return nil
	}
	p := mkPlan(plan.FailRollback, brokers(12), fanout(1), create("after", "endpoint"), create("last", "after"))
	var skipped *[]string
	_, reqs, err := chainRuns(t, rec, request(p), "fake.undo", 3, func(env *testsuite.TestWorkflowEnvironment, _ int, _ Request) {
		skipped = skipParkedLeaks(t, env)
	})
	if appErrType(err) != ErrCompensationFailed {
		t.Fatalf("last run: %v, want %s", err, ErrCompensationFailed)
	}
	if len(reqs) < 3 || reqs[len(reqs)-1].Resume.Rollback.Failed != 1 || len(reqs[len(reqs)-1].Resume.Rollback.Leaked) != 1 {
		t.Fatalf("%d runs; the last started with %+v, want the failed unit carried", len(reqs), reqs[len(reqs)-1].Resume.Rollback)
	}
	if !slices.Equal(*skipped, []string{"endpoint"}) {
		t.Errorf("operator skipped %v, want the parked step endpoint", *skipped)
	}
	left, bad := inventory(rec)
	if !slices.Equal(left, []string{"fake.patch-" + keys("endpoint/b11")[0]}) {
		t.Errorf("left in the cloud %v, want only b11", left)
	}
	if len(bad) != 0 {
		t.Errorf("undone twice or never created: %v", bad)
	}
	prog := finalProgress(t, err)
	if len(prog.Leaked) != 1 || prog.Leaked[0].Item != "b11" {
		t.Errorf("leaks %+v, want b11", prog.Leaked)
	}
}

// TestGateCarriedAcrossContinueAsNew: a 2-of-2 gate that has one approval
// when Temporal suggests continuing as new does not hold the hand-over: the
// next run waits on with the approval counted and the deadline counted from
// when the gate first waited, and opens at the second approval (approvedBy
// names both); without it, the gate expires at its first run's deadline.
func TestGateCarriedAcrossContinueAsNew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second bool
		// signal: alice approves by signal a second before continue-as-new
		// is suggested.
		signal bool
	}{{"approved-in-the-next-run", true, false}, {"expires-at-the-first-deadline", false, false}, {"signal-before-the-hand-over", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			g := approval("gate", []string{"alice", "bob"}, 72*time.Hour, "a")
			g.Gate.Required = 2
			b := create("b", "gate")
			b.Inputs["by"] = plan.Expr("steps.gate.approvedBy")
			p := mkPlan(plan.FailRollback, create("a"), g, b)
			var first, second updateCB
			var start time.Time
			env, reqs, err := chainRuns(t, rec, request(p), "", 0, func(env *testsuite.TestWorkflowEnvironment, n int, req Request) {
				switch n {
				case 0:
					start = env.Now()
					if tc.signal {
						// Not at the same instant: the test environment delivers
						// a signal posted with the suggestion after the task that
						// hands over (the server refuses such a completion, as
						// new events arrived, and delivers the signal first).
						env.RegisterDelayedCallback(func() {
							env.SignalWorkflow(UpdateApprove, Decision{Step: "gate", Identity: "alice", Comment: "one"})
						}, time.Hour)
						env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, time.Hour+time.Second)
						first.accepted = true
						break
					}
					env.RegisterDelayedCallback(func() {
						env.UpdateWorkflow(UpdateApprove, "u1", &first, Decision{Step: "gate", Identity: "alice", Comment: "one"})
					}, time.Hour)
					env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, time.Hour+time.Minute)
				case 1:
					env.SetStartTime(start.Add(2 * time.Hour))
					if tc.second {
						env.RegisterDelayedCallback(func() {
							env.UpdateWorkflow(UpdateApprove, "u2", &second, Decision{Step: "gate", Identity: "bob", Comment: "two"})
						}, time.Hour)
					}
				}
			})
			if len(reqs) != 2 {
				t.Fatalf("%d runs, want 2 (the gate hands over)", len(reqs))
			}
			gs := reqs[1].Resume.Gates
			if len(gs) != 1 || gs[0].Step != "gate" || len(gs[0].Approvals) != 1 || gs[0].Approvals[0].Principal.Name != "alice" ||
				!gs[0].Since.Equal(start) || gs[0].Decided != nil {
				t.Fatalf("carried gates %+v, want gate since %s with alice's approval (alice's update %+v)", gs, start, first)
			}
			if !first.accepted || first.err != nil {
				t.Fatalf("alice's approval: %+v", first)
			}
			prog := queryProgress(t, env)
			if tc.second {
				if err != nil {
					t.Fatal(err)
				}
				var by any
				for _, c := range rec.calls {
					if strings.HasSuffix(c.IdempotencyKey, "/b") {
						by = c.Inputs["by"]
					}
				}
				if by != "alice, bob" || rec.count("fake.create") != 2 {
					t.Errorf("b ran %d creates with approvedBy %v, want a and b once, approved by alice, bob", rec.count("fake.create"), by)
				}
				return
			}
			if appErrType(err) != ErrRolledBack {
				t.Fatalf("%v, want the gate to expire and roll back", err)
			}
			var expired time.Time
			for _, e := range prog.Audit {
				if e.Action == "expire" {
					expired = e.At
				}
			}
			if !expired.Equal(start.Add(72 * time.Hour)) {
				t.Errorf("gate expired at %s, want %s (72 h after it first waited)", expired, start.Add(72*time.Hour))
			}
		})
	}
}

// TestPausedGateOvertakenByRollback: a gate stops waiting for a hand-over,
// but a fan-out item still running fails before the run is quiet: the
// forward part does not hand over, the request rolls back (its rollback
// continues as new at once: the suggestion stands) and the gate shows as
// interrupted, not waiting.
func TestPausedGateOvertakenByRollback(t *testing.T) {
	rec := newRecorder()
	rec.delayFor = func(c plan.Call) time.Duration {
		if c.Action == "fake.patch" && strings.HasSuffix(c.IdempotencyKey, "/b1") {
			return 200 * time.Millisecond
		}
		return 0
	}
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.patch" && strings.HasSuffix(c.IdempotencyKey, "/b1") {
			return nonRetryable("b1 fails")
		}
		return nil
	}
	p := mkPlan(plan.FailRollback, brokers(4), fanout(2), approval("gate", []string{"alice"}, time.Hour, "list"), create("z", "gate", "endpoint"))
	env, reqs, err := chainRuns(t, rec, request(p), "fake.patch", 1, nil)
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("%d runs ending %v, want rolled back", len(reqs), err)
	}
	for _, rq := range reqs[1:] {
		if rq.Resume.Rollback == nil || len(rq.Resume.Gates) != 0 {
			t.Fatalf("a run started with rollback %+v and gates %+v: the forward part handed over", rq.Resume.Rollback, rq.Resume.Gates)
		}
	}
	prog := queryProgress(t, env)
	if st := stepState(prog, "gate"); st != StepFailed {
		t.Errorf("gate %s, want failed (interrupted)", st)
	}
	if left, bad := inventory(rec); len(left) != 0 || len(bad) != 0 {
		t.Errorf("left %v, undone twice %v", left, bad)
	}
}

// TestContinueAsNewKeepsClaims: the claims a step took before the
// hand-over are carried (the next run's memo keeps them), the next run is
// not refused before its "first" step again, and its conflict checks
// compare the request's first start, not its run's (a request started
// between the runs is later, not earlier).
func TestContinueAsNewKeepsClaims(t *testing.T) {
	rec := newRecorder()
	adv := create("adv")
	adv.Action = "huawei.dms.updateCrossVpcIps"
	adv.Inputs = map[string]plan.Value{"instanceId": plan.Lit("i-1")}
	use := create("z", "endpoint")
	adv2 := create("adv2", "z")
	adv2.Action = "huawei.dms.updateCrossVpcIps"
	adv2.Inputs = map[string]plan.Value{"instanceId": plan.Lit("i-2")}
	p := mkPlan(plan.FailRollback, adv, brokers(6), fanout(1), use, adv2)
	p.Steps[2].DependsOn = []string{"list", "adv"}
	var checks []ConflictsInput
	var starts []int64
	env, reqs, err := chainRuns(t, rec, request(p), "fake.patch", 2, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
		env.RegisterActivityWithOptions(rec.action("huawei.dms.updateCrossVpcIps"), activity.RegisterOptions{Name: "huawei.dms.updateCrossVpcIps"})
		env.RegisterActivityWithOptions(func(_ context.Context, in ConflictsInput) error {
			checks = append(checks, in)
			return nil
		}, activity.RegisterOptions{Name: ConflictsActivity})
		env.SetStartTime(time.Date(2026, 12, 1, 10, n, 0, 0, time.UTC))
		starts = append(starts, env.Now().UnixNano())
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) < 2 {
		t.Fatalf("%d runs, want the request to continue as new", len(reqs))
	}
	rs := reqs[1].Resume
	if rs.Started != starts[0] || len(rs.Claims) != 1 || rs.Claims[0].Resource != "huawei:dms:i-1:advertised-ips" {
		t.Fatalf("carried start %d and claims %+v, want the first run's start %d and adv's claim", rs.Started, rs.Claims, starts[0])
	}
	// Run 1: the plan's claims before the first step, then adv's; the last
	// run: adv2's only, as of the first start.
	if len(checks) != 3 || len(checks[0].Claims) != 2 || checks[2].Claims[0].Resource != "huawei:dms:i-2:advertised-ips" {
		t.Fatalf("conflict checks %+v, want the plan's, adv's and adv2's", checks)
	}
	for i, c := range checks {
		if c.StartedUnixNano != starts[0] {
			t.Errorf("check %d compared start %d, want the first run's %d", i, c.StartedUnixNano, starts[0])
		}
	}
	_ = env
}

// TestParkedStepCarriedAcrossContinueAsNew: a step parked for its operator
// does not hold the hand-over: the next run parks it again without running
// it, and the operator's retry there runs it once more.
func TestParkedStepCarriedAcrossContinueAsNew(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		if strings.HasSuffix(c.IdempotencyKey, "/b") && n == 1 {
			return nonRetryable("b fails once")
		}
		return nil
	}
	p := mkPlan(plan.FailPark, create("a"), create("b", "a"), create("c", "b"))
	var retry updateCB
	var parked Progress
	_, reqs, err := chainRuns(t, rec, request(p), "", 0, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
		switch n {
		case 0:
			env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, time.Hour)
		case 1:
			env.RegisterDelayedCallback(func() {
				parked = queryProgress(t, env)
				env.UpdateWorkflow(UpdateRetry, "retry", &retry, OperatorAction{Step: "b", Identity: "ops", Reason: "fixed"})
			}, time.Hour)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || len(reqs[1].Resume.Parked) != 1 || reqs[1].Resume.Parked[0].Step != "b" ||
		!strings.Contains(reqs[1].Resume.Parked[0].Error, "b fails once") {
		t.Fatalf("%d runs, the last carrying parked %+v; want b parked on its failure", len(reqs), reqs[len(reqs)-1].Resume.Parked)
	}
	if st := stepState(parked, "b"); st != StepParked || !strings.Contains(parked.Steps[1].LastError, "b fails once") {
		t.Errorf("in the next run b is %s (%q), want parked on its failure", st, parked.Steps[1].LastError)
	}
	if !retry.accepted || retry.err != nil {
		t.Errorf("retry in the next run: %+v", retry)
	}
	var seq []string
	for _, c := range rec.calls {
		seq = append(seq, c.IdempotencyKey[strings.LastIndex(c.IdempotencyKey, "/")+1:])
	}
	if strings.Join(seq, ",") != "a,b,b,c" {
		t.Errorf("calls %v, want a, b (failed), b (retried), c", seq)
	}
}
