package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// gateLockPlan: step a takes lock key L (held by the span until z, which
// names it too), a 2-of-2 gate and a 12-item fan-out run after a, z after
// both.
func gateLockPlan(name string) plan.Plan {
	g := approval("gate", []string{"alice", "bob"}, time.Hour, "a")
	g.Gate.Required = 2
	z := spanStep("z", "span.locked", true, "gate", "endpoint")
	z.Inputs["by"] = plan.Expr("steps.gate.approvedBy")
	return named(mkPlan(plan.FailRollback, brokers(12), spanStep("a", "span.locked", true), g, fanout(2), z), name)
}

// TestRecordRollbackContinueAsNew records the shapes of rollbackCANChange
// and carryHoldsChange on a real dev server told to suggest continue-as-new
// early (after 60 events) (`go test ./workflows -run
// TestRecordRollbackContinueAsNew -record`): a request whose last step
// fails rolls back 11 units and continues as new during the rollback; a
// request whose 2-of-2 gate has one approval and whose lock span holds a
// key when the suggestion comes hands both over, and its next run opens the
// gate at the second approval and releases the key it never took again; a
// request with a step parked for its operator hands it over parked, and
// its next run runs it again at the operator's retry; a request waiting for
// a key another request holds withdraws its request and hands over. TestReplay replays the first and last run of each;
// TestRollbackContinueAsNewHistories checks their facts.
func TestRecordRollbackContinueAsNew(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60")
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	sr := &spanRec{}
	for _, a := range []string{"span.locked", "span.free", "span.undo", "span.fail"} {
		reg.Add(a, sr.action(a))
	}
	e := recordWorker(t, c, rec, reg, LockSignalsInterceptor())
	ctx := context.Background()
	firstRun := func(id string) string {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		return d.GetWorkflowExecutionInfo().GetFirstRunId()
	}

	{
		rec.fail = func(call plan.Call, n int) error {
			if call.Action == "fake.create" && strings.HasSuffix(call.IdempotencyKey, "/last") {
				return nonRetryable("last fails")
			}
			return nil
		}
		p := named(mkPlan(plan.FailRollback, brokers(10), fanout(2), create("after", "endpoint"), create("last", "after")), "can-rollback")
		run := e.start(p)
		if err := Wait(ctx, run); appErrType(err) != ErrRolledBack {
			t.Fatalf("can-rollback: %v, want rolled back", err)
		}
		left, bad := inventory(rec)
		rec.fail = nil
		if len(left) != 0 || len(bad) != 0 || rec.count("fake.undo") != 11 {
			t.Fatalf("after %d undos: left %v, undone twice %v; want 11 undos and nothing left", rec.count("fake.undo"), left, bad)
		}
		// The run that continued as new during the rollback (the forward
		// part may have continued as new before).
		id := run.GetID()
		var during *historypb.History
		for runID := firstRun(id); runID != "" && during == nil; {
			h := fetchHistory(t, c, id, runID)
			runID = ""
			if a := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				if continuedWith(t, h).Resume.Rollback != nil {
					during = h
				}
				runID = a.GetNewExecutionRunId()
			}
		}
		if during == nil {
			t.Fatal("can-rollback did not continue as new during its rollback")
		}
		writeHistory(t, during, "can-rollback-1")
		writeHistory(t, fetchHistory(t, c, id, ""), "can-rollback-last")
	}

	{
		rec.delayFor = func(call plan.Call) time.Duration {
			if call.Action == "fake.patch" {
				return 300 * time.Millisecond
			}
			return 0
		}
		p := gateLockPlan("can-gate-lock")
		run := e.start(p)
		id := run.GetID()
		e.waitFor(id, func(p Progress) bool { return p.Phase == PhaseWaitingApproval || stepState(p, "gate") == StepWaiting })
		if err := e.update(id, UpdateApprove, Decision{Step: "gate", Identity: "alice", Comment: "one of two"}); err != nil {
			t.Fatalf("alice: %v", err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("can-gate-lock did not continue as new")
			}
		}
		rec.delayFor = nil
		e.waitFor(id, func(p Progress) bool { return stepState(p, "gate") == StepWaiting })
		if err := e.update(id, UpdateApprove, Decision{Step: "gate", Identity: "bob", Comment: "two of two"}); err != nil {
			t.Fatalf("bob: %v", err)
		}
		var res Result
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if res.Summary == nil || res.Summary.Runs < 2 {
			t.Fatalf("result %+v, want Done in 2 runs or more", res.Summary)
		}
		lw, err := c.DescribeWorkflowExecution(ctx, LockWorkflowID("ambari:rg/cluster"), "")
		if err != nil || lw.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("the lock workflow: %v %v, want completed (the key released)", lw.GetWorkflowExecutionInfo().GetStatus(), err)
		}
		writeHistory(t, fetchHistory(t, c, id, firstRun(id)), "can-gate-lock-1")
		writeHistory(t, fetchHistory(t, c, id, ""), "can-gate-lock-last")
	}

	{
		rec.fail = func(call plan.Call, n int) error {
			if strings.Contains(call.IdempotencyKey, "can-parked") && strings.HasSuffix(call.IdempotencyKey, "/b") && n == 1 {
				return nonRetryable("b fails once")
			}
			return nil
		}
		rec.delayFor = func(call plan.Call) time.Duration {
			if call.Action == "fake.patch" {
				return 300 * time.Millisecond
			}
			return 0
		}
		p := named(mkPlan(plan.FailPark, brokers(12), create("b"), fanout(2), create("c", "b", "endpoint")), "can-parked")
		run := e.start(p)
		id := run.GetID()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("can-parked did not continue as new")
			}
		}
		rec.delayFor = nil
		e.waitFor(id, func(p Progress) bool { return stepState(p, "b") == StepParked })
		if err := e.update(id, UpdateRetry, OperatorAction{Step: "b", Identity: "ops", Reason: "fixed"}); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec.fail = nil
		writeHistory(t, fetchHistory(t, c, id, firstRun(id)), "can-parked-1")
		writeHistory(t, fetchHistory(t, c, id, ""), "can-parked-last")
	}

	{
		// The holder keeps key L across its gate; the waiter's step l
		// waits for L while its fan-out runs, and the waiter continues as
		// new: it withdraws its request and asks again in the next run.
		holder := named(mkPlan(plan.FailRollback, spanStep("a", "span.locked", true), approval("gate", []string{"alice"}, 0, "a"),
			spanStep("z", "span.locked", true, "gate")), "can-lock-holder")
		rh := e.start(holder)
		e.waitFor(rh.GetID(), func(p Progress) bool { return stepState(p, "gate") == StepWaiting })
		rec.delayFor = func(call plan.Call) time.Duration {
			if call.Action == "fake.patch" {
				return 300 * time.Millisecond
			}
			return 0
		}
		waiter := named(mkPlan(plan.FailRollback, brokers(12), fanout(2), spanStep("l", "span.locked", true, "list")), "can-lock-waiter")
		run := e.start(waiter)
		id := run.GetID()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("can-lock-waiter did not continue as new while it waited for the key")
			}
		}
		rec.delayFor = nil
		e.waitFor(id, func(p Progress) bool { return stepState(p, "endpoint") == StepDone })
		if err := e.update(rh.GetID(), UpdateApprove, Decision{Step: "gate", Identity: "alice"}); err != nil {
			t.Fatalf("approve the holder: %v", err)
		}
		for _, r := range []string{rh.GetID(), id} {
			if err := c.GetWorkflow(ctx, r, "").Get(ctx, nil); err != nil {
				t.Fatalf("%s: %v", r, err)
			}
		}
		_, hLast := lockedSpan(sr.intervals("can-lock-holder", "span.locked"))
		wFirst, _ := lockedSpan(sr.intervals("can-lock-waiter", "span.locked"))
		if wFirst.Before(hLast) {
			t.Fatalf("the waiter's locked step started at %s, before the holder released the key (%s)", wFirst, hLast)
		}
		writeHistory(t, fetchHistory(t, c, id, firstRun(id)), "can-lock-wait-1")
		writeHistory(t, fetchHistory(t, c, id, ""), "can-lock-wait-last")
	}
}

// continuedWith decodes the request a recorded run continued as new with.
func continuedWith(t *testing.T, h *historypb.History) Request {
	t.Helper()
	end := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if end == nil {
		t.Fatalf("the run ends with %v, want continued as new", h.Events[len(h.Events)-1].GetEventType())
	}
	var req Request
	if err := converter.GetDefaultDataConverter().FromPayloads(end.GetInput(), &req); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRollbackContinueAsNewHistories checks the recorded histories: the
// run in which the rollback started has the rollbackCANChange marker and
// continues as new during the rollback with fewer units left than it started with; the
// last run undoes what is left, never showing Running, and ends rolled
// back (completed). The
// gate-and-lock request's first run has the carryHoldsChange marker and
// continues as new carrying the waiting gate with alice's approval and the
// held key; its last run opens the gate, starts no lock workflow (the key
// is carried) and releases the key under the carried token.
func TestRollbackContinueAsNewHistories(t *testing.T) {
	r1, rl := loadHistory(t, "can-rollback-1"), loadHistory(t, "can-rollback-last")
	if n := markers(r1, rollbackCANChange); n != 1 {
		t.Errorf("can-rollback-1 has %d %s markers, want 1", n, rollbackCANChange)
	}
	next := continuedWith(t, r1)
	rb := next.Resume.Rollback
	if rb == nil || !strings.Contains(rb.Reason, "step last failed") || next.Resume.Units == nil {
		t.Fatalf("can-rollback-1 continued with %+v, want the rollback and packed units", next.Resume)
	}
	_, left, _ := expandUnits(t, next.Resume.Units)
	if len(left) == 0 || len(left) >= 11 {
		t.Errorf("%d units carried, want some of the 11 left to undo", len(left))
	}
	if n := countEvents(rl, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED); n < len(left) {
		t.Errorf("the last run scheduled %d activities, want the %d undos left at least", n, len(left))
	}
	for _, e := range rl.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && (a.GetActivityType().GetName() == "fake.create" || a.GetActivityType().GetName() == "fake.patch") {
			t.Errorf("the carried rollback ran a forward action: %s", a.GetActivityType().GetName())
		}
	}
	if e := rl.Events[len(rl.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("can-rollback-last ends with %v, want completed (rolled back)", e.GetEventType())
	}
	for _, e := range rl.Events {
		if a := e.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			if f := a.GetSearchAttributes().GetIndexedFields()[SAPhase.GetName()]; f != nil && strings.Contains(string(f.GetData()), PhaseRunning) {
				t.Errorf("the carried rollback showed phase %s", f.GetData())
			}
		}
	}

	g1, gl := loadHistory(t, "can-gate-lock-1"), loadHistory(t, "can-gate-lock-last")
	if n := markers(g1, carryHoldsChange); n != 1 {
		t.Errorf("can-gate-lock-1 has %d %s markers, want 1", n, carryHoldsChange)
	}
	gn := continuedWith(t, g1).Resume
	if len(gn.Gates) != 1 || gn.Gates[0].Step != "gate" || len(gn.Gates[0].Approvals) != 1 || gn.Gates[0].Approvals[0].Principal.Name != "alice" {
		t.Errorf("carried gates %+v, want the gate with alice's approval", gn.Gates)
	}
	if gn.Locks == nil || len(gn.Locks.Held) != 1 || gn.Locks.Held[0].Key != "ambari:rg/cluster" {
		t.Fatalf("carried locks %+v, want key ambari:rg/cluster held", gn.Locks)
	}
	token := gn.Locks.Held[0].Token
	released := false
	for _, e := range gl.Events {
		if a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil && a.GetWorkflowType().GetName() == LockWorkflowType {
			t.Errorf("the last run started lock workflow %s: the carried key was taken again", a.GetWorkflowId())
		}
		if a := e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil && a.GetSignalName() == SignalLockRelease {
			var tok string
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &tok); err != nil {
				t.Fatal(err)
			}
			released = released || tok == token
		}
	}
	if !released {
		t.Errorf("the last run never released the carried token %s", token)
	}
	if e := gl.Events[len(gl.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("can-gate-lock-last ends with %v, want completed", e.GetEventType())
	}

	p1, pl := loadHistory(t, "can-parked-1"), loadHistory(t, "can-parked-last")
	if n := markers(p1, carryHoldsChange); n != 1 {
		t.Errorf("can-parked-1 has %d %s markers, want 1", n, carryHoldsChange)
	}
	pn := continuedWith(t, p1).Resume
	if len(pn.Parked) != 1 || pn.Parked[0].Step != "b" || !strings.Contains(pn.Parked[0].Error, "b fails once") {
		t.Errorf("carried parked %+v, want b parked on its failure", pn.Parked)
	}
	// The retry came in the run after the first or a later one (the
	// fan-out may continue as new again); step c ran after it, last.
	ranC := false
	for _, e := range pl.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "fake.create" {
			var call plan.Call
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &call); err != nil {
				t.Fatal(err)
			}
			ranC = ranC || strings.HasSuffix(call.IdempotencyKey, "/c")
		}
	}
	if !ranC {
		t.Error("can-parked-last did not run step c")
	}

	w1, wl := loadHistory(t, "can-lock-wait-1"), loadHistory(t, "can-lock-wait-last")
	if n := markers(w1, carryHoldsChange); n != 1 {
		t.Errorf("can-lock-wait-1 has %d %s markers, want 1", n, carryHoldsChange)
	}
	asked, withdrawn := "", ""
	for _, e := range w1.Events {
		if a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil && a.GetWorkflowType().GetName() == LockWorkflowType {
			var st LockState
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &st); err != nil {
				t.Fatal(err)
			}
			asked = st.Queue[0].Token
		}
		if a := e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil {
			switch a.GetSignalName() {
			case SignalLockAcquire:
				var req LockRequest
				if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &req); err != nil {
					t.Fatal(err)
				}
				asked = req.Token
			case SignalLockRelease:
				if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &withdrawn); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if asked == "" || withdrawn != asked {
		t.Errorf("can-lock-wait-1 asked for the key with token %q and withdrew %q, want the same", asked, withdrawn)
	}
	if rs := continuedWith(t, w1).Resume; rs.Locks != nil && len(rs.Locks.Held) > 0 {
		t.Errorf("can-lock-wait-1 handed over keys %+v it never held", rs.Locks.Held)
	}
	if e := wl.Events[len(wl.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("can-lock-wait-last ends with %v, want completed", e.GetEventType())
	}
	if e := pl.Events[len(pl.Events)-1]; e.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Errorf("can-parked-last ends with %v, want completed", e.GetEventType())
	}
}
