package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// TestDecisionsDuringHandOver: a decision that reaches the next run while
// the gate or parked step it is for is still pending there (handed over,
// not waiting again yet) is taken, applied once with its audit, and acted
// on when the step waits again (handover.go); before, it was refused with
// "not waiting for a decision (state pending)". The Update is sent before
// the next run's first task, so that it reaches the run with the step still
// pending. (A Signal reaches the step once it waits: in runs with the
// bundle the signal loop starts when the steps' loop sees a signal; the
// case checks that it is not lost.)
func TestDecisionsDuringHandOver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal bool
		park   bool
	}{{"update", false, false}, {"signal", true, false}, {"retry-of-a-parked-step", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			var p plan.Plan
			if tc.park {
				rec.fail = func(c plan.Call, n int) error {
					if strings.HasSuffix(c.IdempotencyKey, "/b") && n == 1 {
						return nonRetryable("b fails once")
					}
					return nil
				}
				p = mkPlan(plan.FailPark, create("a"), create("b", "a"), create("c", "b"))
			} else {
				g := approval("gate", []string{"alice", "bob"}, 72*time.Hour, "a")
				g.Gate.Required = 2
				b := create("b", "gate")
				b.Inputs["by"] = plan.Expr("steps.gate.approvedBy")
				p = mkPlan(plan.FailRollback, create("a"), g, b)
			}
			var first, second updateCB
			env, reqs, err := chainRuns(t, rec, request(p), "", 0, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
				switch n {
				case 0:
					if !tc.park {
						env.RegisterDelayedCallback(func() {
							env.UpdateWorkflow(UpdateApprove, "u1", &first, Decision{Step: "gate", Identity: "alice", Comment: "one"})
						}, time.Hour)
					}
					env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 2*time.Hour)
				case 1:
					env.RegisterDelayedCallback(func() {
						switch {
						case tc.park:
							env.UpdateWorkflow(UpdateRetry, "retry", &second, OperatorAction{Step: "b", Identity: "ops", Reason: "fixed"})
						case tc.signal:
							env.SignalWorkflow(UpdateApprove, Decision{Step: "gate", Identity: "bob", Comment: "two"})
							second.accepted = true
						default:
							env.UpdateWorkflow(UpdateApprove, "u2", &second, Decision{Step: "gate", Identity: "bob", Comment: "two"})
						}
					}, 0)
				}
			})
			if len(reqs) != 2 || reqs[1].Resume.HoldV != handOverHoldV {
				t.Fatalf("%d runs (want 2), hand-over version %d", len(reqs), reqs[len(reqs)-1].Resume.HoldV)
			}
			if err != nil {
				t.Fatalf("request: %v (decision %+v: %v)", err, second, second.err)
			}
			if !second.accepted || second.err != nil {
				t.Fatalf("the decision in the next run: %+v", second)
			}
			// Applied once, with its audit, in the run it reached.
			action, who := UpdateApprove, "bob"
			if tc.park {
				action, who = UpdateRetry, "ops"
			}
			n := 0
			for _, e := range queryProgress(t, env).Audit {
				if e.Action == action && e.Identity == who {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d audit entries of %s's %s, want 1", n, who, action)
			}
			var seq []string
			for _, c := range rec.calls {
				seq = append(seq, c.IdempotencyKey[strings.LastIndex(c.IdempotencyKey, "/")+1:])
				if strings.HasSuffix(c.IdempotencyKey, "/b") && !tc.park && c.Inputs["by"] != "alice, bob" {
					t.Errorf("b ran approved by %v, want alice, bob", c.Inputs["by"])
				}
			}
			want := "a,b"
			if tc.park {
				want = "a,b,b,c"
			}
			if strings.Join(seq, ",") != want {
				t.Errorf("calls %v, want %s", seq, want)
			}
		})
	}
}

// TestResumedRunKeepsTheTrustVerdict: a run handed over carries the
// worker's trust and the plan's verdict; the next run does not load the
// trust and check the plan again (before handOverHoldV it did, and a check
// failing there, here a worker gone strict, failed the request with steps
// done and nothing rolled back).
func TestResumedRunKeepsTheTrustVerdict(t *testing.T) {
	rec := newRecorder()
	p := mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("c", "b"), create("d", "c"))
	firstRun := 0 // the loads of the first run (its trust loop may reload when the test environment skips time)
	_, reqs, err := chainRuns(t, rec, request(p), "fake.create", 2, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
		if n == 1 {
			rec.mu.Lock()
			firstRun = rec.trustLoads
			rec.mu.Unlock()
			rec.trust = func() trust.Snapshot { return trust.Snapshot{Configured: true, Mode: trust.ModeStrict} }
		}
	})
	if err != nil {
		t.Fatalf("request after %d runs: %v", len(reqs), err)
	}
	if len(reqs) < 2 || reqs[1].Resume.Trust == nil || reqs[1].Resume.Trust.Plan.Mode != trust.ModeDev {
		t.Fatalf("%d runs; the second carried trust %+v, want the first run's dev-mode verdict", len(reqs), reqs[len(reqs)-1].Resume.Trust)
	}
	if firstRun < 1 || rec.trustLoads != firstRun || rec.count("fake.create") != 4 {
		t.Errorf("trust loaded %d times by the first run and %d after, %d creates; want at least once, none after, and 4",
			firstRun, rec.trustLoads-firstRun, rec.count("fake.create"))
	}
}

// TestHandOverHoldHistories checks the recorded histories of
// handOverHoldV (TestDecisionsRacingTheHandOverOnTheServer -record): the
// first run hands over with the version, the trust and the waiting gate;
// the last run takes an approval before its gate waits again (the Update is
// accepted before the gate's deadline timer starts), loads no trust before
// that (the carried verdict; it refreshes when the gate opens) and
// completes.
func TestHandOverHoldHistories(t *testing.T) {
	first, last := loadHistory(t, "can-hold-1"), loadHistory(t, "can-hold-last")
	rs := continuedWith(t, first).Resume
	if rs.HoldV != handOverHoldV || rs.Trust == nil || len(rs.Gates) != 1 || rs.Gates[0].Step != "gate" {
		t.Fatalf("can-hold-1 continued with version %d, trust %v, gates %+v; want %d, the trust and the gate", rs.HoldV, rs.Trust != nil, rs.Gates, handOverHoldV)
	}
	accepted, timer, trustBefore := 0, 0, false
	for i, e := range last.Events {
		switch {
		case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil && accepted == 0:
			accepted = i + 1
		case e.GetTimerStartedEventAttributes() != nil && timer == 0:
			timer = i + 1
		case e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == TrustActivity && timer == 0:
			trustBefore = true
		}
	}
	if accepted == 0 || timer == 0 || accepted > timer {
		t.Errorf("can-hold-last accepts its first Update at event %d and starts the gate's timer at %d; want the Update first", accepted, timer)
	}
	if trustBefore {
		t.Errorf("can-hold-last loads the trust before its gate waits")
	}
	if e := last.Events[len(last.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("can-hold-last ends with %v, want completed", e.GetEventType())
	}
}

// TestStopWhileAGateIsPausedForTheHandOver: an operator's rollback or abort
// that arrives after a gate paused for a hand-over, while the run is not
// quiet yet, is honoured as asked: the forward part stops, what was done
// is undone (the rollback continues as new, carrying the stop: who asked,
// why, and whether it was an abort), and the request ends rolled back or
// aborted accordingly; nothing is left behind.
func TestStopWhileAGateIsPausedForTheHandOver(t *testing.T) {
	for _, name := range []string{UpdateRollback, UpdateAbort} {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder()
			rec.delayFor = func(c plan.Call) time.Duration {
				if c.Action == "fake.patch" && strings.HasSuffix(c.IdempotencyKey, "/b1") {
					return 300 * time.Millisecond
				}
				return 0
			}
			p := mkPlan(plan.FailRollback, brokers(4), fanout(2), approval("gate", []string{"alice"}, time.Hour, "list"), create("z", "gate", "endpoint"))
			var stop updateCB
			var at Progress
			env, reqs, err := chainRuns(t, rec, request(p), "", 0, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
				if n != 0 {
					return
				}
				done := 0
				env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
					if info.ActivityType.Name == "fake.patch" {
						if done++; done == 1 {
							env.SetContinueAsNewSuggested(true)
							env.RegisterDelayedCallback(func() {
								at = queryProgress(t, env)
								env.UpdateWorkflow(name, "stop", &stop, OperatorAction{Identity: "ops", Reason: "changed my mind"})
							}, 0)
						}
					}
				})
			})
			if !stop.accepted || stop.err != nil {
				t.Fatalf("%s: %+v (%v)", name, stop, stop.err)
			}
			if stepState(at, "gate") != StepWaiting || stepState(at, "endpoint") != StepRunning {
				t.Fatalf("the stop came with gate %s and endpoint %s, want the gate paused (waiting) and an item still running",
					stepState(at, "gate"), stepState(at, "endpoint"))
			}
			for _, rq := range reqs[1:] {
				if rq.Resume.Rollback == nil {
					t.Fatalf("a run started without the stop carried: %+v", rq.Resume)
				}
				if rb := rq.Resume.Rollback; rb.By != "ops" || rb.Abort != (name == UpdateAbort) || !strings.Contains(rb.Reason, "changed my mind") {
					t.Errorf("carried stop %+v, want ops's %s", rb, name)
				}
			}
			if appErrType(err) != ErrRolledBack {
				t.Fatalf("%d runs ending %v, want rolled back", len(reqs), err)
			}
			prog := queryProgress(t, env)
			if st := stepState(prog, "z"); st != StepPending {
				t.Errorf("z %s, want pending (never started)", st)
			}
			if left, bad := inventory(rec); len(left) != 0 || len(bad) != 0 {
				t.Errorf("left %v, undone twice %v", left, bad)
			}
			t.Logf("%d runs, phase %s", len(reqs), prog.Phase)
		})
	}
}

// TestUpdateDeliveredAgainAfterTheHandOver: an Update the last run applied
// that reaches the next run again under the same ID (the server can deliver
// it to both runs when its result is lost in the hand-over) is answered as
// done and not applied twice; before, alice's approval came back "already
// approved".
func TestUpdateDeliveredAgainAfterTheHandOver(t *testing.T) {
	rec := newRecorder()
	g := approval("gate", []string{"alice", "bob"}, 72*time.Hour, "a")
	g.Gate.Required = 2
	p := mkPlan(plan.FailRollback, create("a"), g, create("b", "gate"))
	var first, again, bob updateCB
	env, reqs, err := chainRuns(t, rec, request(p), "", 0, func(env *testsuite.TestWorkflowEnvironment, n int, _ Request) {
		switch n {
		case 0:
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateApprove, "alice-1", &first, Decision{Step: "gate", Identity: "alice", Comment: "one"})
			}, time.Hour)
			env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 2*time.Hour)
		case 1:
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateApprove, "alice-1", &again, Decision{Step: "gate", Identity: "alice", Comment: "one"})
			}, time.Hour)
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateApprove, "bob-1", &bob, Decision{Step: "gate", Identity: "bob", Comment: "two"})
			}, 2*time.Hour)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || !slices.Contains(reqs[1].Resume.Updates, "alice-1") {
		t.Fatalf("%d runs, carried updates %v; want 2 and alice-1 carried", len(reqs), reqs[len(reqs)-1].Resume.Updates)
	}
	for name, u := range map[string]updateCB{"first": first, "again": again, "bob": bob} {
		if !u.accepted || u.err != nil {
			t.Errorf("%s: %+v (%v)", name, u, u.err)
		}
	}
	n := 0
	for _, e := range queryProgress(t, env).Audit {
		if e.Action == UpdateApprove && e.Identity == "alice" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("alice's approval audited %d times, want once", n)
	}
}

// TestCANAfterUpdateHistory checks the recorded run that deferred its
// hand-over past an Update's task (canAfterUpdateChange): it has the
// marker, a timer after it, and no Update in the task that continues as
// new.
func TestCANAfterUpdateHistory(t *testing.T) {
	h := loadHistory(t, "can-after-update")
	if n := markers(h, canAfterUpdateChange); n != 1 {
		t.Fatalf("%d %s markers, want 1", n, canAfterUpdateChange)
	}
	marker, timer, lastTask := 0, 0, 0
	for i, e := range h.Events {
		switch {
		case e.GetMarkerRecordedEventAttributes() != nil && marker == 0 && strings.Contains(e.String(), canAfterUpdateChange):
			marker = i
		case e.GetTimerStartedEventAttributes() != nil && marker > 0 && timer == 0:
			timer = i
		case e.GetWorkflowTaskStartedEventAttributes() != nil:
			lastTask = i
		}
	}
	if timer == 0 {
		t.Errorf("no timer after the marker (event %d)", marker+1)
	}
	for _, e := range h.Events[lastTask:] {
		if e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil {
			t.Errorf("the task that continues as new accepts an Update")
		}
	}
	if h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes() == nil {
		t.Errorf("the run ends with %v, want continued as new", h.Events[len(h.Events)-1].GetEventType())
	}
}
