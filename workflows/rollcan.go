package workflows

// A request's own rollback continues as new (issue 14). A rollback
// (compensation after a failure, an operator's rollback or abort, a cancel)
// of a request with thousands of units has as many compensations: at about
// 2,500 brokers its history would pass Temporal's 51,200-event limit. Since
// rollbackCANChange, when Temporal suggests continuing as new during the
// rollback, undoAll stops starting compensations, lets the running ones
// settle, waits until every Update handler has finished and every received
// Signal was handled, and continues as new with a Resume whose Rollback is
// set: what is left to undo (the packed saga of Units), the stop request,
// the leaks so far, the units whose compensation failed (for the operator's
// retry, compretry.go), the steps' states and errors as the progress shows
// them, and the lock keys held (lockspan.go). The new run skips the steps
// and the checks made before the first step (they ran in the first run) and
// goes on with the rollback where the last run stopped.
//
// Since carryHoldsChange, continue-as-new during forward progress no longer
// waits for a gate's decision, a parked step's operator or a lock span's
// keys to be released: a
// waiting gate stops waiting (errPaused) and hands over when it started
// waiting, for its deadline, and the approvals it has counted so far (M of
// N); the keys the lock span holds are handed over with their tokens (the
// lock workflows grant by token, and a release from the next run names the
// same token). A unit waiting for a key withdraws its request and hands
// over not started (the next run asks again, at the back of the queue). A
// parked step stops waiting for its operator the same way and
// hands over the failure it parked on; the next run parks it again without
// running it (a retry or skip accepted before the hand-over is carried).

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// rollbackCANChange guards a request's own rollback continuing as new.
const rollbackCANChange = "topoflow-rollback-continue-as-new"

// carryHoldsChange guards continue-as-new carrying waiting gates and held
// lock keys instead of waiting for them.
const carryHoldsChange = "topoflow-can-carries-holds"

// ResumeRollback is a rollback carried into the next run.
type ResumeRollback struct {
	Abort  bool   `json:"abort,omitempty"`
	By     string `json:"by,omitempty"`
	Reason string `json:"reason"`
	// Leaked are the resources whose compensation failed so far.
	Leaked []Leak `json:"leaked,omitempty"`
	// Failed is how many units at the start of the carried saga stack are
	// units whose compensation failed (not undone again; an operator may
	// retry them); the rest is what is left to undo.
	Failed int `json:"failed,omitempty"`
	// Compensated lists the steps some unit of which was compensated.
	Compensated []string `json:"compensated,omitempty"`
	// States are the steps' states in plan order (the packed record shows
	// unfinished steps as pending); Errors their last errors, by step ID.
	States []string          `json:"states"`
	Errors map[string]string `json:"errors,omitempty"`
}

// ResumeGate is a gate that was waiting when its request continued as new.
type ResumeGate struct {
	Step string `json:"step"`
	// Since is when the gate started waiting (its deadline counts from it).
	Since time.Time `json:"since"`
	// Approvals are the approvals counted so far (M-of-N gates).
	Approvals []ResumeApproval `json:"approvals,omitempty"`
	// Decided is a decision accepted after the gate stopped waiting and
	// before the hand-over (the next run acts on it at once).
	Decided *ResumeDecision `json:"decided,omitempty"`
}

// ResumeDecision is a carried gate's decision.
type ResumeDecision struct {
	Kind     string    `json:"kind"`
	Decision Decision  `json:"decision"`
	At       time.Time `json:"at"`
	By       []string  `json:"by,omitempty"`
}

// ResumeApproval is one counted approval of a carried gate.
type ResumeApproval struct {
	Principal trust.Principal `json:"principal"`
	Policy    string          `json:"policy,omitempty"`
}

// ResumeLock is a lock key held across the hand-over, with the token the
// lock workflow granted it under.
type ResumeLock struct {
	Key   string `json:"key"`
	Token string `json:"token"`
}

// ResumeLocks is the lock span's state carried into the next run.
type ResumeLocks struct {
	Held []ResumeLock `json:"held,omitempty"`
	// Gen is the token counter (tokens stay unique across runs); Batched
	// says the plan's resolvable keys were taken already.
	Gen     int  `json:"gen,omitempty"`
	Batched bool `json:"batched,omitempty"`
}

// ResumeParked is a step that was parked for its operator when its request
// continued as new.
type ResumeParked struct {
	Step string `json:"step"`
	// Error is the failure it parked on.
	Error string `json:"error"`
	// Op is a retry or skip accepted after the step stopped waiting and
	// before the hand-over (the next run acts on it at once).
	Op *ResumeOp `json:"op,omitempty"`
}

// ResumeOp is a carried operator decision.
type ResumeOp struct {
	Kind   string         `json:"kind"`
	Action OperatorAction `json:"action"`
}

// errCarriedPark is the failure a step parked on in an earlier run.
type errCarriedPark struct{ msg string }

func (e *errCarriedPark) Error() string { return e.msg }

// carryState is what a run restored from its Resume beyond the units.
type carryState struct {
	// rolling: this run goes on with a carried rollback.
	rolling bool
	// failed are carried units whose compensation failed.
	failed []completion
	// gates are the carried gates by step ID, parked the parked steps (and
	// ops the decisions carried for them).
	gates  map[string]ResumeGate
	parked map[string]ResumeParked
	ops    map[string]*opDecision
	locks  *ResumeLocks
	// holds caches the carryHoldsChange version (nil: not asked yet);
	// rollCAN the rollbackCANChange version; noRollPause is set when a
	// rollback could not hand over (too big) and goes on in this run.
	holds, rollCAN *bool
	noRollPause    bool
	// trusted: the trust snapshot and the plan's verdict were carried
	// (handover.go); updates are the IDs of the Updates applied in this
	// chain (the last maxCarriedUpdates, oldest first), applied the same as
	// a set.
	trusted bool
	updates []string
	applied map[string]bool
	// updateLen is the history length of the workflow task in which an
	// Update handler last ran; afterUpdate caches canAfterUpdateChange.
	updateLen   int
	afterUpdate *bool
}

// decideHolds asks carryHoldsChange once a hand-over is decided, only for
// plans with a gate or a lock span (other histories are unchanged).
func (r *interp) decideHolds() {
	if r.carried.holds != nil {
		return
	}
	v := false
	if r.span != nil || r.hasGate() || r.mayPark() {
		v = changeVersion(r.root, carryHoldsChange, 1) >= 1
	}
	r.carried.holds = &v
}

func (r *interp) carriesHolds() bool { return r.carried.holds != nil && *r.carried.holds }

func (r *interp) hasGate() bool {
	for _, sr := range r.steps {
		if isGate(sr.s) {
			return true
		}
	}
	return false
}

// mayPark reports whether a step of the plan parks on failure.
func (r *interp) mayPark() bool {
	for _, sr := range r.steps {
		if r.policy(sr) == plan.FailPark {
			return true
		}
	}
	return false
}

// pauseParked stops a parked step's wait for the hand-over: it stays
// parked (an operator's decision until the hand-over is carried).
func (r *interp) pauseParked(sr *stepRun) {
	if r.carried.parked == nil {
		r.carried.parked = map[string]ResumeParked{}
	}
	r.carried.parked[sr.s.ID] = ResumeParked{Step: sr.s.ID}
}

// takeParked returns the failure a step carried as parked from the last
// run parked on (nil: none), once.
func (r *interp) takeParked(sr *stepRun) error {
	p, ok := r.carried.parked[sr.s.ID]
	if !ok {
		return nil
	}
	delete(r.carried.parked, sr.s.ID)
	if p.Op != nil {
		if r.carried.ops == nil {
			r.carried.ops = map[string]*opDecision{}
		}
		r.carried.ops[sr.s.ID] = &opDecision{kind: p.Op.Kind, a: p.Op.Action}
	}
	return &errCarriedPark{msg: p.Error}
}

// parkedOp is the operator decision carried for a parked step (once), or nil.
func (r *interp) parkedOp(sr *stepRun) *opDecision {
	op := r.carried.ops[sr.s.ID]
	delete(r.carried.ops, sr.s.ID)
	return op
}

// gatePaused reports whether a waiting gate (or a parked step) stops
// waiting to hand over.
func (r *interp) gatePaused() bool {
	return r.pausing && r.stop == nil && r.carriesHolds()
}

// gateStart is when the gate sr started waiting, the approvals it had
// counted and its decision: a carried gate's, else now and none.
func (r *interp) gateStart(c cx, sr *stepRun) (time.Time, []gateApproval, *gateDecision) {
	g, ok := r.carried.gates[sr.s.ID]
	if !ok {
		return workflow.Now(c.work), nil, nil
	}
	delete(r.carried.gates, sr.s.ID)
	if r.holdsDecisions() {
		// Seeded at restore, with what was decided since (handover.go).
		return g.Since, sr.approvals, sr.decision
	}
	var as []gateApproval
	for _, a := range g.Approvals {
		as = append(as, gateApproval{p: a.Principal, policy: a.Policy})
	}
	var d *gateDecision
	if g.Decided != nil {
		d = &gateDecision{kind: g.Decided.Kind, d: g.Decided.Decision, at: g.Decided.At, by: g.Decided.By}
	}
	return g.Since, as, d
}

// pauseGate stops a waiting gate for the hand-over: it stays waiting (a
// decision accepted until the hand-over is carried, carryInto).
func (r *interp) pauseGate(sr *stepRun, since time.Time) error {
	if r.carried.gates == nil {
		r.carried.gates = map[string]ResumeGate{}
	}
	r.carried.gates[sr.s.ID] = ResumeGate{Step: sr.s.ID, Since: since}
	sr.attempts-- // the next run waits on, as the same attempt
	return errPaused
}

// gateNow is the carried form of a paused gate at the hand-over.
func (r *interp) gateNow(g ResumeGate) ResumeGate {
	sr := r.byID[g.Step]
	if sr == nil {
		return g
	}
	g.Approvals = nil
	for _, a := range sr.approvals {
		g.Approvals = append(g.Approvals, ResumeApproval{Principal: a.p, Policy: a.policy})
	}
	if d := sr.decision; d != nil {
		g.Decided = &ResumeDecision{Kind: d.kind, Decision: d.d, At: d.at, By: d.by}
	}
	return g
}

// keyQuiet reports whether a lock span's key lets the run hand over now.
func (r *interp) keyQuiet(k *spanKey) bool {
	if r.carriesHolds() {
		return !k.acquiring && !k.busy
	}
	return !k.held && !k.acquiring
}

// drained reports whether every Update handler has finished and every
// received Signal was handled (nothing is lost at a hand-over).
func (r *interp) drained() bool {
	if !workflow.AllHandlersFinished(r.root) {
		return false
	}
	for _, name := range []string{UpdateApprove, UpdateReject, UpdateComplete, UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort, SignalRefreshTrust} {
		if workflow.GetSignalChannel(r.root, name).Len() > 0 {
			return false
		}
	}
	return true
}

// carryInto adds the carried gates, lock keys, claims and rollback to rs.
func (r *interp) carryInto(rs *Resume, rollback bool) {
	rs.Claims, rs.Started = r.claims, r.firstStarted()
	r.carryTrust(rs) // handover.go
	if r.carriesHolds() && !rollback {
		for _, id := range sortedKeys(r.carried.gates) {
			rs.Gates = append(rs.Gates, r.gateNow(r.carried.gates[id]))
		}
		for _, id := range sortedKeys(r.carried.parked) {
			p := r.carried.parked[id]
			if sr := r.byID[id]; sr != nil {
				p.Error = sr.lastErr
				if sr.op != nil {
					p.Op = &ResumeOp{Kind: sr.op.kind, Action: sr.op.a}
				}
			}
			rs.Parked = append(rs.Parked, p)
		}
	}
	if r.carriesHolds() || rollback {
		if r.span != nil {
			ls := &ResumeLocks{Gen: r.span.gen, Batched: r.span.batched}
			for _, k := range sortedKeys(r.span.keys) {
				if sk := r.span.keys[k]; sk.held {
					ls.Held = append(ls.Held, ResumeLock{Key: k, Token: sk.token})
				}
			}
			rs.Locks = ls
		}
	}
	if !rollback {
		return
	}
	rb := &ResumeRollback{Reason: r.stop.reason, By: r.stop.by, Abort: r.stop.abort, Leaked: r.leaks, Failed: len(r.carried.failed)}
	for _, sr := range r.steps {
		rb.States = append(rb.States, sr.state)
		if r.compensated[sr] {
			rb.Compensated = append(rb.Compensated, sr.s.ID)
		}
		if sr.lastErr != "" {
			if rb.Errors == nil {
				rb.Errors = map[string]string{}
			}
			rb.Errors[sr.s.ID] = sr.lastErr
		}
	}
	rs.Rollback = rb
}

// restoreCarry applies a Resume's gates, locks and rollback (after the
// units are restored).
func (r *interp) restoreCarry(rs *Resume) {
	r.claims = append(r.claims, rs.Claims...)
	for _, g := range rs.Gates {
		if r.carried.gates == nil {
			r.carried.gates = map[string]ResumeGate{}
		}
		r.carried.gates[g.Step] = g
	}
	for _, p := range rs.Parked {
		if r.carried.parked == nil {
			r.carried.parked = map[string]ResumeParked{}
		}
		r.carried.parked[p.Step] = p
	}
	r.carried.locks = rs.Locks
	if rs.HoldV >= handOverHoldV {
		r.seedGates(rs.Gates) // handover.go
		r.restoreTrust()
	}
	rb := rs.Rollback
	if rb == nil {
		return
	}
	r.carried.rolling = true
	r.stop = &stopReq{abort: rb.Abort, by: rb.By, reason: rb.Reason}
	r.leaks = append(r.leaks, rb.Leaked...)
	r.compensated = map[*stepRun]bool{}
	for _, id := range rb.Compensated {
		if sr, ok := r.byID[id]; ok {
			r.compensated[sr] = true
		}
	}
	for i, st := range rb.States {
		if i < len(r.steps) {
			r.steps[i].state = st
		}
	}
	for _, id := range sortedKeys(rb.Errors) {
		if sr, ok := r.byID[id]; ok {
			sr.lastErr = rb.Errors[id]
		}
	}
	if n := min(rb.Failed, len(r.done)); n > 0 {
		r.carried.failed = append([]completion(nil), r.done[:n]...)
		r.done = r.done[n:]
	}
}

// restoreLocks gives a new lock span the keys carried into this run.
func (r *interp) restoreLocks() {
	ls := r.carried.locks
	if ls == nil || r.span == nil {
		return
	}
	r.span.gen, r.span.batched = ls.Gen, ls.Batched
	for _, h := range ls.Held {
		sk := r.span.key(h.Key)
		sk.held, sk.token = true, h.Token
	}
	r.carried.locks = nil
}

// rollbackMayPause reports whether a request's own rollback may stop to
// continue as new (asked only when Temporal suggests it).
func (r *interp) rollbackMayPause() bool {
	if r.revoking || r.delta != nil || r.sched == nil || r.carried.noRollPause {
		return false
	}
	if r.carried.rollCAN == nil {
		v := r.recordV() && changeVersion(r.root, rollbackCANChange, 1) >= 1
		r.carried.rollCAN = &v
	}
	return *r.carried.rollCAN
}

// continueRollback hands a paused rollback over to the next run. It
// returns errTooBig when the state is over the payload limit (the caller
// goes on in this run).
func (r *interp) continueRollback() error {
	_ = workflow.Await(r.root, r.drained)
	r.rollbackAfterUpdates() // handover.go
	// The failed units ride at the start of the saga stack.
	left := r.done
	r.done = append(append([]completion(nil), r.carried.failed...), left...)
	defer func() { r.done = left }()
	req := r.req
	rs, err := r.resume()
	if err != nil {
		return &errTooBig{msg: "the rollback's state: " + err.Error()}
	}
	rs.Runs++
	r.carryInto(rs, true)
	req.Resume = rs
	if msg := tooBig("the rollback's state to continue as new with", req); msg != "" {
		return &errTooBig{msg: msg}
	}
	return workflow.NewContinueAsNewError(r.root, WorkflowType, req)
}

// rollbackAll runs the rollback, continuing as new when it pauses (or, when
// its state is too big to hand over, going on in this run).
func (r *interp) rollbackAll() error {
	// A gate that stopped waiting for a hand-over that a rollback
	// overtook was interrupted like any waiting gate.
	for _, id := range sortedKeys(r.carried.gates) {
		if sr := r.byID[id]; sr != nil && sr.state == StepWaiting {
			sr.state, sr.lastErr = StepFailed, "interrupted: "+r.stopReason()
		}
	}
	for _, id := range sortedKeys(r.carried.parked) {
		if sr := r.byID[id]; sr != nil && sr.state == StepParked {
			sr.state, sr.awaiting = StepFailed, nil
		}
	}
	err := r.rollback()
	for errors.Is(err, errUndoPaused) {
		can := r.continueRollback()
		var big *errTooBig
		if !errors.As(can, &big) {
			return can
		}
		workflow.GetLogger(r.root).Error("cannot continue the rollback as new: going on in this run", "error", big.msg)
		r.carried.noRollPause = true
		err = r.rollback()
	}
	return err
}

// isCAN reports whether err ends the run to continue as new.
func isCAN(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

// trustUntilLoaded loads the worker's trust, again every minute until it
// loads, then keeps it fresh (a carried rollback, as a grant does).
func (r *interp) trustUntilLoaded(ctx workflow.Context) {
	for r.snap == nil {
		if err := r.loadTrust(ctx); err != nil {
			workflow.GetLogger(ctx).Warn("trust not loaded; trying again in a minute", "error", errText(err))
			_ = workflow.Sleep(ctx, time.Minute)
		}
	}
	r.trustLoop(ctx)
}

// firstStarted is when the request's first run started (UnixNano): the
// carried start of runs continued as new since rollcan.go, else this run's
// (runs continued as new before it compared their own run's start, so a
// request started between the runs could seem earlier).
func (r *interp) firstStarted() int64 {
	if rs := r.req.Resume; rs != nil && rs.Started != 0 {
		return rs.Started
	}
	return workflow.GetInfo(r.root).WorkflowStartTime.UnixNano()
}

// checkedBefore reports whether an earlier run of the request checked the
// plan's conflicts before its first step (a run continued as new since
// rollcan.go: its steps have run, it is not refused again).
func (r *interp) checkedBefore() bool {
	return r.req.Resume != nil && r.req.Resume.Started != 0
}
