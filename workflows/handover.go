package workflows

// Decisions around a hand-over (issue 14). A run that continues as new
// carries its waiting gates and parked steps (rollcan.go); the next run
// shows them pending until its scheduler starts them again. Before
// handOverHoldV an approval, reject, complete, retry or skip that reached
// the next run in that moment was refused ("step X is not waiting for a
// decision (state pending)"), and a signed one was refused too when it was
// signed for the run that had just handed over.
//
// Temporal retries an Update admitted while a run continues as new on the
// new run itself (server docs/architecture/workflow-update.md, "Aborting an
// Update": WorkflowContinuing aborts admitted Updates with the retryable
// ErrWorkflowClosing, "the next attempt should land on the new run"), and a
// Signal that arrives while the hand-over's task runs fails that task's
// completion, so the old run sees it first. What is left is the new run's
// part, and Temporal's guidance for it is its safe-message-handlers
// pattern (temporalio/samples-go safe_message_handlers: handlers accept
// messages for the state the workflow is about to be in rather than making
// the caller retry) together with carrying handler state across
// continue-as-new yourself, since Temporal's deduplication does not cross
// it (docs.temporal.io/handling-messages, "Message IDs and handling
// Continue-As-New"). So since handOverHoldV a gate or parked step carried
// into a run takes its decision while it is pending there: the validator
// checks it against what was carried (approvals counted so far, the
// operator's decision), the handler applies it once, with its audit, and
// the gate or step acts on it as soon as it waits again. A signature for
// the run that handed over to this one is taken as for this one (the
// statements already used are carried, so none is taken twice). The
// version travels in the Resume (Resume.HoldV): the run that hands over
// writes it, the next run acts on it, and runs resumed by older hand-overs
// replay as they ran.
//
// The same version carries the worker's trust snapshot and the plan's
// verdict (Resume.Trust): a resumed run no longer loads the trust and
// checks the plan again before its steps (the first run did; the check
// could fail there with steps already done, and nothing was rolled back).
// It refreshes the snapshot when a gate opens, as every run does.

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/trust"
)

// handOverHoldV is the Resume.HoldV a hand-over writes.
const handOverHoldV = 1

// ResumeTrust is the trust a run carries into the next one.
type ResumeTrust struct {
	// Snapshot is the worker's trust as last loaded, At when (workflow time).
	Snapshot trust.Snapshot `json:"snapshot"`
	At       time.Time      `json:"at"`
	// Plan is the plan's verdict of the first run's check.
	Plan PlanTrust `json:"plan"`
}

// holdsDecisions reports whether this run was handed over by a run that
// wrote handOverHoldV.
func (r *interp) holdsDecisions() bool {
	rs := r.req.Resume
	return rs != nil && rs.HoldV >= handOverHoldV
}

// gateHandedOver reports whether sr is a gate carried into this run that
// does not wait again yet (it takes a decision as if it waited).
func (r *interp) gateHandedOver(sr *stepRun) bool {
	if !r.holdsDecisions() || r.stop != nil || sr.state != StepPending {
		return false
	}
	_, ok := r.carried.gates[sr.s.ID]
	return ok
}

// parkHandedOver reports whether sr is a step carried into this run parked
// that is not parked again yet and has no operator decision.
func (r *interp) parkHandedOver(sr *stepRun) bool {
	if !r.holdsDecisions() || r.stop != nil || sr.state != StepPending {
		return false
	}
	p, ok := r.carried.parked[sr.s.ID]
	return ok && p.Op == nil
}

// holdOp keeps an operator's retry or skip of a step parked again in this
// run not yet (takeParked hands it to the step).
func (r *interp) holdOp(sr *stepRun, op *opDecision) bool {
	if !r.parkHandedOver(sr) {
		return false
	}
	p := r.carried.parked[sr.s.ID]
	p.Op = &ResumeOp{Kind: op.kind, Action: op.a}
	r.carried.parked[sr.s.ID] = p
	return true
}

// seedGates gives each carried gate the approvals and decision it carried
// (restore), so that a decision taken before it waits again counts them.
func (r *interp) seedGates(gates []ResumeGate) {
	for _, g := range gates {
		sr := r.byID[g.Step]
		if sr == nil {
			continue
		}
		sr.approvals = nil
		for _, a := range g.Approvals {
			sr.approvals = append(sr.approvals, gateApproval{p: a.Principal, policy: a.Policy})
		}
		sr.decision = nil
		if d := g.Decided; d != nil {
			sr.decision = &gateDecision{kind: d.Kind, d: d.Decision, at: d.At, by: d.By}
		}
	}
}

// signedRun is the run a decision signed for runID may be taken in: this
// run, or, in a run handed over with handOverHoldV, the run that handed
// over to it.
func (r *interp) signedRun(runID string) string {
	if r.holdsDecisions() && runID != "" && runID == workflow.GetInfo(r.root).ContinuedExecutionRunID {
		return runID
	}
	return r.runID
}

// maxCarriedUpdates bounds the Update IDs a hand-over carries.
const maxCarriedUpdates = 200

// appliedBefore reports whether the Update of ctx was applied by an earlier
// run of the chain: Temporal deduplicates Updates by ID within a run only
// (docs.temporal.io/handling-messages, "Message IDs and handling
// Continue-As-New"), and an Update whose result was lost in a hand-over can
// reach the next run again (server docs/architecture/workflow-update.md,
// the note under "Aborting an Update"). It is answered as it was: done.
func (r *interp) appliedBefore(ctx workflow.Context) bool {
	if !r.holdsDecisions() || len(r.carried.applied) == 0 {
		return false
	}
	info := workflow.GetCurrentUpdateInfo(ctx)
	return info != nil && r.carried.applied[info.ID]
}

// noteApplied remembers the Update of ctx for the next run.
func (r *interp) noteApplied(ctx workflow.Context) {
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil && info.ID != "" {
		r.carried.updates = append(r.carried.updates, info.ID)
		if n := len(r.carried.updates); n > maxCarriedUpdates {
			r.carried.updates = r.carried.updates[n-maxCarriedUpdates:]
		}
	}
}

// carryTrust writes the hand-over's version, the trust and the applied
// Updates into rs.
func (r *interp) carryTrust(rs *Resume) {
	rs.HoldV = handOverHoldV
	rs.Updates = append([]string(nil), r.carried.updates...)
	if r.trustV >= 1 && r.snap != nil {
		rs.Trust = &ResumeTrust{Snapshot: *r.snap, At: r.trustAt, Plan: r.planTrust}
	}
}

// restoreTrust takes the carried trust and applied Updates (restore,
// before any handler can run: a decision in the run's first task is
// authenticated with it).
func (r *interp) restoreTrust() {
	rs := r.req.Resume
	if rs != nil && len(rs.Updates) > 0 {
		r.carried.updates = append([]string(nil), rs.Updates...)
		r.carried.applied = map[string]bool{}
		for _, id := range rs.Updates {
			r.carried.applied[id] = true
		}
	}
	if rs == nil || rs.Trust == nil || r.trustV < 1 {
		return
	}
	s := rs.Trust.Snapshot
	r.snap, r.trustAt, r.planTrust = &s, rs.Trust.At, rs.Trust.Plan
	r.carried.trusted = true
}

// canAfterUpdateChange: a run no longer continues as new in the workflow
// task in which an Update handler ran. The server refuses a task's
// completion that closes the run when a Signal arrived while the task ran
// (UnhandledCommand), and an Update the failed task had delivered fails for
// its caller with "unexpected workflow task failure" (non-retryable; server
// docs/architecture/workflow-update.md, "Aborting an Update", (4)); seen on
// the dev server by TestDecisionsRacingTheHandOverOnTheServer. The run
// first lets that task complete (a one-millisecond timer: the accepted
// Update is then in history), checks again that it may hand over, and
// hands over in a later task, in which an Update not yet seen is aborted
// with a retryable error and retried on the next run.
const canAfterUpdateChange = "topoflow-can-after-update"

// updateInTask notes that an Update handler runs in the current task.
func (r *interp) updateInTask() {
	r.carried.updateLen = workflow.GetInfo(r.root).GetCurrentHistoryLength()
}

// updateThisTask reports whether an Update handler ran in the current task
// (and the run takes canAfterUpdateChange, asked only then).
func (r *interp) updateThisTask() bool {
	if r.carried.updateLen == 0 || r.carried.updateLen != workflow.GetInfo(r.root).GetCurrentHistoryLength() {
		return false
	}
	if r.carried.afterUpdate == nil {
		v := workflow.GetVersion(r.root, canAfterUpdateChange, workflow.DefaultVersion, 1) >= 1
		r.carried.afterUpdate = &v
	}
	return *r.carried.afterUpdate
}

// handOverAfterUpdates defers a forward hand-over decided in a task in
// which an Update handler ran to a later task; a rollback asked meanwhile
// overtakes it (the caller rolls back).
func (r *interp) handOverAfterUpdates() {
	for r.updateThisTask() {
		_ = workflow.Sleep(r.work, time.Millisecond)
		_ = workflow.Await(r.work, func() bool { return r.stop != nil || r.cancelled() || r.quiet() })
		if r.cancelled() {
			r.requestStop(false, "", "workflow cancelled")
		}
		if r.stop != nil {
			r.handOver = false
			return
		}
	}
}

// rollbackAfterUpdates is handOverAfterUpdates for a rollback's hand-over.
func (r *interp) rollbackAfterUpdates() {
	for r.updateThisTask() {
		_ = workflow.Sleep(r.work, time.Millisecond)
		_ = workflow.Await(r.work, r.drained)
	}
}
