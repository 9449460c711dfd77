package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// Determinism rules for this package: never iterate a map where the order
// can reach a command, a state change or an output (sort keys first); never
// read the clock except through workflow.Now; block only through
// workflow.Await, futures, channels and selectors; start goroutines only with
// workflow.Go. A change to the commands a running workflow issues must be
// guarded with workflow.GetVersion (change IDs "topoflow-<what>") so that
// running workflows and the recorded histories in testdata keep replaying;
// TestReplay fails when a change is not guarded.

// ErrPlanMismatch is the application error type when Request.PlanSHA256 is
// not the hash of Request.Plan.
const ErrPlanMismatch = "PlanMismatch"

// errGateRejected marks a gate that was rejected or expired: it always rolls
// back, whatever the failure policy.
type errGateRejected struct{ msg string }

func (e *errGateRejected) Error() string { return e.msg }

// errStopped is returned by a step interrupted by a rollback or abort.
var errStopped = errors.New("interrupted by rollback")

// stopReq is a request to roll the whole request back.
type stopReq struct {
	abort  bool
	by     string
	reason string
}

// stepRun is the interpreter's state of one step.
type stepRun struct {
	s          *plan.Step
	state      string
	attempts   int
	lastErr    string
	observed   string
	awaiting   []string
	gateKind   string // PhaseWaitingApproval or PhaseWaitingManual while a gate waits
	fanout     bool
	items      []*itemRun
	itemsReady bool
	inputs     map[string]any // resolved inputs of the last attempt (non-fan-out)
	outputs    plan.Outputs
	overrides  map[string]any
	started    time.Time
	ended      time.Time
	decision   *gateDecision
	approvals  []gateApproval // approvals counted so far (M-of-N gates)
	op         *opDecision
	finished   bool
	keys       []string // lock keys of the last attempt (non-fan-out)
	compParked bool     // parked because its compensation failed (compretry.go)
}

// itemRun is the state of one fan-out item.
type itemRun struct {
	index   int
	key     string
	value   any
	state   string
	lastErr string
	inputs  map[string]any
	outputs plan.Outputs
	keys    []string // lock keys of the last attempt
}

type gateDecision struct {
	kind string // UpdateApprove, UpdateReject, UpdateComplete, "expire"
	d    Decision
	at   time.Time
	// by lists the approving principals' names (M-of-N), nil for older runs.
	by []string
}

type opDecision struct {
	kind string // UpdateRetry or UpdateSkip
	a    OperatorAction
}

// completion is one unit of work that finished and may need compensation.
type completion struct {
	step    *stepRun
	item    *itemRun
	inputs  map[string]any
	outputs plan.Outputs
	keys    []string // lock keys it ran under
	// suffix is the idempotency key suffix of a unit a grant's change ran
	// (change.go); held: its inputs and outputs are its own, not its unit's
	// (an older in-place update under a newer one).
	suffix string
	held   bool
}

// cx holds one coroutine's contexts: work is never cancelled (actions,
// child starts, signals), intr is cancelled when a rollback is requested
// (gates, waits, parking, lock waits). Blocking calls must use the contexts
// of the coroutine they run in.
type cx struct{ work, intr workflow.Context }

// goCx starts a coroutine with its own cx.
func (r *interp) goCx(fn func(c cx)) {
	workflow.Go(r.intr, func(ctx workflow.Context) {
		work, _ := workflow.NewDisconnectedContext(ctx)
		fn(cx{work: work, intr: ctx})
	})
}

// interp runs one plan.
type interp struct {
	root     workflow.Context
	work     workflow.Context // never cancelled: actions, child starts, signals
	intr     workflow.Context // cancelled when a rollback is requested
	stopIntr workflow.CancelFunc
	req      Request
	p        *plan.Plan
	sha      string
	wfID     string
	runID    string
	keyBase  string // prefix of idempotency keys (runkeys.go)
	meta     map[string]any
	steps    []*stepRun
	byID     map[string]*stepRun
	done     []completion
	audit    []AuditEntry
	leaks    []Leak
	stop     *stopReq
	final    bool
	phase    string
	awaiting []string
	running  int
	// lastUpsert* are the search attribute values last written.
	lastUpsertPhase    string
	lastUpsertAwaiting []string
	outputs            map[string]any
	locks              *lockClient
	// span holds lock keys across steps (nil for workflows started before
	// lockSpanChange and for plans without locks).
	span *lockSpan
	// conflictsV is the conflicts change's version (nil: not asked yet);
	// claims are the claims its steps took (conflicts_wf.go).
	conflictsV *workflow.Version
	claims     []Claim
	// trustV is the trustChange version: 0 for runs started before
	// decisions were authenticated (names are checked as given).
	trustV workflow.Version
	// snap is the worker's trust as last loaded (nil when trustV is 0).
	snap        *trust.Snapshot
	trustAt     time.Time
	trustWanted bool
	planTrust   PlanTrust
	// used holds the hashes of signed statements already accepted.
	used map[string]bool
	// auditFolded counts audit entries folded into the summary, by action.
	auditFolded  map[string]int
	auditFoldedN int
	// budgets: the workflow runs with retry budgets (retryBudgetChange).
	budgets bool
	// Grants (grant.go): grantID is the grant workflow a Done request
	// handed its record to (grantErr when that failed); basePhase is the
	// phase shown instead of Running (a grant's Granted); revoke is an
	// accepted revoke and revoking is set while it compensates.
	grantID, grantErr string
	basePhase         string
	revoke            *revokeReq
	revoking          bool
	drift             *Drift // a grant's last drift check (drift.go)
	// change is an accepted change or repair of a grant, delta the state of
	// the one running, lastChange its result (change.go); verifyAt, when
	// set, is the time a plan signature is checked at.
	change     *changeReq
	delta      *deltaState
	lastChange *ChangeResult
	verifyAt   time.Time
	// sched is the scheduler's state (nil before schedulerChange).
	sched *schedState
	// bounded: default and maximum concurrency bounds apply (fanoutBoundChange).
	bounded bool
	// runs counts the runs before this one; pausing stops starting work to
	// continue as new (decided once, pauseDecided); handOver: continue as new now.
	runs                            int
	pausing, pauseDecided, handOver bool
	// packed caches the recordChange version (record.go; nil: not asked yet).
	packed *bool
	// parallelUndo caches the parallelUndoChange version (undo.go);
	// compensated are the steps a rollback has compensated units of.
	parallelUndo *bool
	compensated  map[*stepRun]bool
	// checkedGrant is the grant record grantTooBig built and measured;
	// checkedGrantPayload its encoding.
	checkedGrant        *GrantRecord
	checkedGrantPayload *commonpb.Payload
	// carried is what continue-as-new carries beyond the units: gates, lock
	// keys, a rollback under way (rollcan.go).
	carried carryState
	// trustLazy: the trust is loaded again by a coroutine started when
	// wanted, not one parked for the whole run; trustLoading while it runs
	// (hotpath.go).
	trustLazy, trustLoading bool
	// signalsLazy: signalLoop starts when a signal waits or the steps'
	// loop ends, not at setup; signalsOn once it runs (hotpath.go).
	signalsLazy, signalsOn bool
}

// Interpreter is the workflow that runs a compiled plan (registered as
// WorkflowType). It returns a Result when every step is done or skipped; after
// a rollback that left nothing behind it returns a Result whose Outcome is
// OutcomeRolledBack (before rolledBackChange: an application error of type
// ErrRolledBack); after an abort it fails with ErrRolledBack, and with
// ErrCompensationFailed when a compensation left resources behind (the
// errors' details hold the final Progress).
func Interpreter(ctx workflow.Context, req Request) (Result, error) {
	ctx = withBundle(ctx) // bundle.go
	r, err := newInterp(ctx, req)
	if err != nil {
		return Result{}, err
	}
	if err := r.setup(); err != nil {
		return Result{}, err
	}
	if !r.carried.rolling { // a carried rollback goes on (rollcan.go)
		r.execute()
	}
	if r.handOver {
		r.handOverAfterUpdates() // handover.go
	}
	if r.handOver {
		err := r.continueAsNew() // continue.go
		var big *errTooBig
		if !errors.As(err, &big) {
			return Result{}, err
		}
		// Fail safe: roll back what was created rather than be terminated.
		workflow.GetLogger(r.root).Error("cannot continue as new: rolling back", "error", big.msg)
		r.handOver, r.pausing = false, false
		r.requestStop(false, "topoflow", "cannot continue as new: "+big.msg)
	}
	if r.stop == nil {
		if msg := r.grantTooBig(); msg != "" { // grant.go
			workflow.GetLogger(r.root).Error("cannot hand the record to a grant: rolling back", "error", msg)
			r.requestStop(false, "topoflow", "cannot hand the record to its grant: "+msg)
		}
	}
	if r.stop == nil {
		r.releaseLocks()
		r.outputs = r.evalOutputs()
		r.final = true
		r.handOff()
		r.refresh(PhaseDone)
		if r.sched != nil {
			return Result{Outputs: r.outputs, Summary: r.summary()}, nil
		}
		return Result{Outputs: r.outputs, Steps: r.progress().Steps}, nil
	}
	err = r.rollbackAll() // rollcan.go
	if isCAN(err) {
		return Result{}, err // the lock keys are carried
	}
	r.releaseLocks()
	if res, ok := r.rolledBackResult(err); ok { // outcome.go
		return res, nil
	}
	return Result{}, err
}

// releaseLocks releases the keys a lock span still holds (the workflow ends).
func (r *interp) releaseLocks() {
	if r.span != nil {
		r.span.releaseAll(r.work)
	}
}

func newInterp(ctx workflow.Context, req Request) (*interp, error) {
	trustV := changeVersion(ctx, trustChange, 1)
	sha, err := req.Plan.Hash()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("hash plan: "+err.Error(), ErrPlanMismatch, nil)
	}
	if req.PlanSHA256 != "" && req.PlanSHA256 != sha {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("request says plan sha256 %s but the plan hashes to %s", req.PlanSHA256, sha), ErrPlanMismatch, nil)
	}
	if err := req.Plan.Check(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid plan: "+err.Error(), plan.ErrInvalid, nil)
	}
	info := workflow.GetInfo(ctx)
	keyBase := keyBaseOf(ctx, req)
	work, _ := workflow.NewDisconnectedContext(ctx)
	intr, cancel := workflow.WithCancel(work)
	r := &interp{
		root: ctx, work: work, intr: intr, stopIntr: cancel,
		req: req, p: &req.Plan, sha: sha,
		wfID: info.WorkflowExecution.ID, runID: info.WorkflowExecution.RunID, keyBase: keyBase,
		byID: map[string]*stepRun{}, trustV: trustV, used: map[string]bool{},
	}
	r.meta = map[string]any{"workflowId": r.wfID, "specName": req.Plan.Source.Name, "planSha256": sha}
	for i := range r.p.Steps {
		s := &r.p.Steps[i]
		sr := &stepRun{s: s, state: StepPending, fanout: s.ForEach != nil}
		r.steps = append(r.steps, sr)
		r.byID[s.ID] = sr
	}
	r.locks = newLockClient(r)
	if req.Resume != nil {
		if err := r.restore(req.Resume); err != nil {
			return nil, temporal.NewNonRetryableApplicationError("restore the carried state: "+err.Error(), plan.ErrInvalid, nil)
		}
	}
	return r, nil
}

// setup registers handlers and the initial search attributes.
func (r *interp) setup() error {
	if err := workflow.SetQueryHandler(r.root, QueryProgress, func() (Progress, error) { return r.progress(), nil }); err != nil {
		return fmt.Errorf("set progress query: %w", err)
	}
	if err := r.registerHandlers(); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(r.root, QueryItems, r.itemsPage); err != nil { // itemspage.go
		return fmt.Errorf("set %s query: %w", QueryItems, err)
	}
	if err := r.registerAttach(); err != nil { // apply.go
		return fmt.Errorf("set %s update handler: %w", UpdateAttach, err)
	}
	if err := workflow.SetQueryHandler(r.root, QueryRollbackPreview, r.preview); err != nil { // grant.go
		return fmt.Errorf("set %s query: %w", QueryRollbackPreview, err)
	}
	if r.trustV >= 1 && r.carried.rolling {
		// A carried rollback: the plan was checked in the first run, and a
		// trust file that cannot be read for a while must not stop it.
		workflow.Go(r.root, r.trustUntilLoaded) // rollcan.go (the trust may be carried: handover.go)
	} else if r.trustV >= 1 {
		// The worker's trust is loaded and the plan checked before any step
		// runs (by the first run: a resumed run carries both, handover.go).
		if !r.carried.trusted {
			if err := r.loadTrust(r.work); err != nil {
				return temporal.NewNonRetryableApplicationError("load the worker's trust configuration: "+errText(err), ErrUntrustedPlan, nil)
			}
			if err := r.checkPlan(); err != nil {
				return err
			}
		}
		if !tookBundle(r.root) {
			workflow.Go(r.root, r.trustLoop)
		} else {
			r.trustLazy = true // loaded again on demand (hotpath.go)
		}
	}
	if r.carried.rolling || r.checkedBefore() {
		_ = r.conflictsOn() // asked as in every run; checked by the first (rollcan.go)
	} else if err := r.checkPlanConflicts(); err != nil {
		return err
	}
	if r.hasLocks() {
		r.locks.start()
	}
	for i := range r.p.Steps {
		if len(r.p.Steps[i].Locks) > 0 {
			if changeVersion(r.root, lockSpanChange, 1) >= 1 {
				r.span = newLockSpan(r)
				r.restoreLocks() // rollcan.go
			}
			break
		}
	}
	r.budgets = changeVersion(r.root, retryBudgetChange, 1) >= 1
	if changeVersion(r.root, schedulerChange, 1) >= 1 {
		r.sched = r.newSched()
	} else if !r.hasLocks() {
		// Before the scheduler the lock client listened whatever the plan
		// (its coroutines are created in the same order as then).
		r.locks.start()
	}
	if r.mayExceedBounds() {
		r.bounded = changeVersion(r.root, fanoutBoundChange, 1) >= 1
	}
	// Watch for cancellation of the workflow: it rolls back like an operator's
	// rollback (since schedulerChange the scheduler's loop watches).
	if r.sched == nil {
		workflow.Go(r.root, func(ctx workflow.Context) {
			ctx.Done().Receive(ctx, nil)
			r.requestStop(false, "", "workflow cancelled")
		})
	}
	sas := workflow.GetTypedSearchAttributes(r.root)
	if _, ok := sas.GetKeyword(SASpec); !ok {
		// Started without StartOptions: set the identity attributes once.
		_ = workflow.UpsertTypedSearchAttributes(r.root,
			SASpec.ValueSet(r.p.Source.Name), SAKind.ValueSet(r.p.Source.Kind),
			SAProvider.ValueSet(r.p.Provider), SAPhase.ValueSet(PhaseRunning))
		r.lastUpsertPhase = PhaseRunning
	} else if v, ok := sas.GetKeyword(SAPhase); ok {
		r.lastUpsertPhase = v
	}
	r.phase = PhaseRunning
	if r.carried.rolling {
		r.phase = PhaseRollingBack // a carried rollback (rollcan.go)
	}
	r.refresh("")
	return nil
}

// execute runs every step, each in its own coroutine waiting for its
// dependencies, until all have finished or a rollback stopped them.
func (r *interp) execute() {
	if r.sched != nil {
		r.executeScheduled()
		return
	}
	for _, sr := range r.steps {
		r.goCx(func(c cx) {
			r.runStep(c, sr)
			sr.finished = true
		})
	}
	_ = workflow.Await(r.work, func() bool {
		for _, sr := range r.steps {
			if !sr.finished {
				return false
			}
		}
		return true
	})
}

// requestStop starts a rollback (once): no new step starts, gates, waits and
// parked steps are interrupted, running actions finish.
func (r *interp) requestStop(abort bool, by, reason string) {
	if r.stop != nil || r.final {
		return
	}
	r.stop = &stopReq{abort: abort, by: by, reason: reason}
	r.stopIntr()
	r.refresh(PhaseRollingBack)
}

func (r *interp) depsReady(sr *stepRun) bool {
	for _, d := range sr.s.DependsOn {
		st := r.byID[d].state
		if st != StepDone && st != StepSkipped {
			return false
		}
	}
	return true
}

func (r *interp) slotFree() bool {
	if r.bounded {
		return r.running < bound(r.p.MaxParallel, plan.DefaultMaxParallel)
	}
	return r.p.MaxParallel <= 0 || r.running < r.p.MaxParallel
}

// runStep drives one step through its attempts and its failure policy.
func (r *interp) runStep(c cx, sr *stepRun) {
	if err := workflow.Await(c.intr, func() bool { return r.depsReady(sr) }); err != nil {
		return // stopped before the step could start
	}
	for {
		var skipped bool
		var err error
		if perr := r.takeParked(sr); perr != nil {
			err = perr // parked in the last run: parked again (rollcan.go)
		} else {
			sr.attempts++
			if sr.started.IsZero() {
				sr.started = workflow.Now(c.work)
			}
			sr.state = StepRunning
			sr.lastErr = ""
			r.refresh("")
			skipped, err = r.attempt(c, sr)
			if errors.Is(err, errPaused) {
				return // the next run goes on with this step (continue.go)
			}
			sr.ended = workflow.Now(c.work)
		}
		switch {
		case err == nil && skipped:
			sr.state = StepSkipped
			r.refresh("")
			r.settleLocks(c)
			return
		case err == nil:
			sr.state = StepDone
			r.refresh("")
			r.settleLocks(c)
			return
		}
		sr.lastErr = err.Error()
		sr.state = StepFailed
		if errors.Is(err, errStopped) || r.stop != nil {
			if errors.Is(err, errStopped) {
				sr.lastErr = "interrupted: " + r.stopReason()
			}
			r.refresh("")
			return
		}
		var rej *errGateRejected
		if errors.As(err, &rej) {
			r.requestStop(false, "", fmt.Sprintf("step %s: %s", sr.s.ID, rej.msg))
			return
		}
		if r.policy(sr) != plan.FailPark {
			r.requestStop(false, "", fmt.Sprintf("step %s failed: %s", sr.s.ID, sr.lastErr))
			return
		}
		// Park: wait for an operator's retry, skip, rollback or abort.
		sr.state = StepParked
		sr.op = r.parkedOp(sr) // nil, or a decision carried from the last run (rollcan.go)
		sr.awaiting = r.operators()
		r.wantTrust(false)
		r.refresh("")
		if err := workflow.Await(c.intr, func() bool { return sr.op != nil || r.gatePaused() }); err != nil {
			sr.awaiting = nil
			sr.state = StepFailed
			r.refresh("")
			return
		}
		if sr.op == nil {
			r.pauseParked(sr) // continue as new, parked (rollcan.go)
			return
		}
		sr.awaiting = nil
		op := sr.op
		sr.op = nil
		if op.kind == UpdateSkip {
			sr.state = StepSkipped
			sr.ended = workflow.Now(c.work)
			r.refresh("")
			r.settleLocks(c)
			return
		}
		if len(op.a.Inputs) > 0 {
			if sr.overrides == nil {
				sr.overrides = map[string]any{}
			}
			for _, k := range sortedKeys(op.a.Inputs) {
				sr.overrides[k] = op.a.Inputs[k]
			}
		}
	}
}

func (r *interp) stopReason() string {
	if r.stop == nil {
		return ""
	}
	if r.stop.by != "" {
		return r.stop.reason + " (by " + r.stop.by + ")"
	}
	return r.stop.reason
}

func (r *interp) policy(sr *stepRun) plan.FailurePolicy {
	if r.delta != nil {
		return plan.FailRollback // a grant's change is undone, never parked
	}
	if sr.s.OnFailure != "" {
		return sr.s.OnFailure
	}
	return r.p.OnFailure
}

// operators are the identities shown as awaited for a parked step.
func (r *interp) operators() []string {
	if r.trustV >= 1 {
		return r.expand(r.operatorPolicy())
	}
	if r.req.RequestedBy != "" {
		return []string{r.req.RequestedBy}
	}
	return []string{"operator"}
}

// env is the expression environment of a step.
func (r *interp) env() map[string]any {
	if r.sched != nil {
		return r.envScheduled()
	}
	steps := map[string]any{}
	for _, sr := range r.steps {
		switch sr.state {
		case StepDone:
			if sr.fanout {
				list := make([]any, len(sr.items))
				for i, it := range sr.items {
					if it.outputs != nil {
						list[i] = map[string]any(it.outputs)
					}
				}
				steps[sr.s.ID] = list
			} else {
				steps[sr.s.ID] = copyMap(sr.outputs)
			}
		case StepSkipped:
			steps[sr.s.ID] = map[string]any{}
		}
	}
	return map[string]any{plan.RootSteps: steps, plan.RootMeta: r.meta}
}

func itemEnv(base map[string]any, fe *plan.ForEach, it *itemRun) map[string]any {
	env := make(map[string]any, len(base)+2)
	for k, v := range base {
		env[k] = v
	}
	env[itemName(fe)] = it.value
	env[plan.RootIndex] = it.index
	return env
}

func itemName(fe *plan.ForEach) string {
	if fe.As != "" {
		return fe.As
	}
	return "item"
}

// attempt runs the step once (all its pending items for a fan-out step).
// It reports skipped when the step's condition is false.
func (r *interp) attempt(c cx, sr *stepRun) (skipped bool, err error) {
	s := sr.s
	if s.Action == plan.ActionApproval || s.Action == plan.ActionManual {
		if ok, err := r.when(s.When, r.stepEnv(sr)); err != nil || !ok {
			return err == nil, err
		}
		if r.delta != nil {
			if settled, err := r.deltaGate(c, sr); settled || err != nil {
				return false, err
			}
		}
		out, err := r.runGate(c, sr)
		if err != nil {
			return false, err
		}
		sr.outputs = out
		r.done = append(r.done, completion{step: sr, outputs: out})
		return false, nil
	}
	if sr.fanout {
		return false, r.runFanout(c, sr)
	}
	env := r.stepEnv(sr) // hotpath.go
	if ok, err := r.when(s.When, env); err != nil || !ok {
		return err == nil, err
	}
	if err := r.takeSlot(c); err != nil {
		return false, err
	}
	defer r.releaseSlot()
	inputs, out, err := r.runUnit(c, sr, nil, env, nil)
	sr.inputs = inputs
	if err != nil {
		return false, err
	}
	sr.outputs = out
	r.complete(sr, nil, inputs, out, sr.keys) // change.go
	return false, nil
}

func (r *interp) takeSlot(c cx) error {
	if err := workflow.Await(c.intr, r.slotFree); err != nil {
		return errStopped
	}
	r.running++
	return nil
}

func (r *interp) releaseSlot() { r.running-- }

func (r *interp) when(code string, env map[string]any) (bool, error) {
	if code == "" {
		return true, nil
	}
	v, err := plan.Eval(code, env)
	if err != nil {
		return false, fmt.Errorf("when: %w", err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("when %q gave %T, want a boolean", code, v)
	}
	return b, nil
}

// runFanout runs the pending items of a fan-out step, at most
// ForEach.Concurrency at a time; after an item fails no new item starts.
func (r *interp) runFanout(c cx, sr *stepRun) error {
	s := sr.s
	base := r.stepEnv(sr) // hotpath.go
	// Every item's inputs are evaluated against this base: what does not
	// depend on the item is computed once for all of them.
	memo := plan.NewMemo(itemName(s.ForEach), plan.RootIndex)
	if !sr.itemsReady {
		v, err := plan.Eval(s.ForEach.Items, base)
		if err != nil {
			return fmt.Errorf("forEach.items: %w", err)
		}
		list, err := asList(v)
		if err != nil {
			return fmt.Errorf("forEach.items: %w", err)
		}
		seen := map[string]bool{}
		for i, v := range list {
			it := &itemRun{index: i, key: strconv.Itoa(i), value: v, state: StepPending}
			if s.ForEach.Key != "" {
				k, err := plan.Eval(s.ForEach.Key, itemEnv(base, s.ForEach, it))
				if err != nil {
					return fmt.Errorf("forEach.key of item %d: %w", i, err)
				}
				it.key = fmt.Sprint(k)
			}
			if seen[it.key] {
				return fmt.Errorf("forEach.key %q is not unique (item %d)", it.key, i)
			}
			seen[it.key] = true
			sr.items = append(sr.items, it)
		}
		sr.itemsReady = true
		r.refresh("")
	}
	limit := s.ForEach.Concurrency
	if r.bounded {
		limit = bound(limit, plan.DefaultFanoutConcurrency)
	}
	inflight, failed := 0, false
	var firstErr error
	wg := workflow.NewWaitGroup(c.work)
	for _, it := range sr.items {
		if it.state == StepDone || it.state == StepSkipped {
			continue
		}
		err := workflow.Await(c.intr, func() bool { return failed || r.pausing || ((limit <= 0 || inflight < limit) && r.slotFree()) })
		if err != nil || failed || r.pausing {
			break
		}
		inflight++
		r.running++
		it.state = StepRunning
		wg.Add(1)
		r.goCx(func(c cx) {
			defer wg.Done()
			defer func() { inflight--; r.releaseSlot() }()
			env := itemEnv(base, s.ForEach, it)
			if ok, err := r.when(s.When, env); err != nil || !ok {
				if err != nil {
					it.state, it.lastErr, failed = StepFailed, err.Error(), true
					if firstErr == nil {
						firstErr = fmt.Errorf("item %s: %w", it.key, err)
					}
				} else {
					it.state = StepSkipped
				}
				r.refresh("")
				return
			}
			inputs, out, err := r.runUnit(c, sr, it, env, memo)
			it.inputs = inputs
			if errors.Is(err, errPaused) {
				it.state = StepPending // its lock wait was withdrawn to continue as new (rollcan.go)
				r.refresh("")
				return
			}
			if err != nil {
				it.state, it.lastErr, failed = StepFailed, err.Error(), true
				if firstErr == nil {
					firstErr = fmt.Errorf("item %s: %w", it.key, err)
				}
				r.refresh("")
				return
			}
			it.state, it.outputs, it.lastErr = StepDone, out, ""
			r.complete(sr, it, inputs, out, it.keys) // change.go
			r.refresh("")
		})
	}
	wg.Wait(c.work)
	if firstErr != nil {
		return firstErr
	}
	if r.pausing && r.stop == nil {
		for _, it := range sr.items {
			if it.state != StepDone && it.state != StepSkipped {
				return errPaused
			}
		}
	}
	for _, it := range sr.items {
		if it.state != StepDone && it.state != StepSkipped {
			return errStopped
		}
	}
	return nil
}

func asList(v any) ([]any, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return l, nil
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %T, want a list", v)
}

// idemKey is the idempotency key of a step or item.
func (r *interp) idemKey(sr *stepRun, it *itemRun) string {
	base := r.keyBase
	if base == "" {
		base = r.wfID
	}
	k := base + "/" + sr.s.ID
	if it != nil {
		k += "/" + it.key
	}
	return k
}

// runUnit resolves a step's (or item's) inputs, takes its locks and runs its
// action (or its wait). memo, for the items of a fan-out, evaluates once what
// every item's inputs share (nil: plain evaluation).
func (r *interp) runUnit(c cx, sr *stepRun, it *itemRun, env map[string]any, memo *plan.Memo) (map[string]any, plan.Outputs, error) {
	s := sr.s
	inputs, err := memo.ResolveAll(s.Inputs, env)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve inputs: %w", err)
	}
	for _, k := range sortedKeys(sr.overrides) {
		inputs[k] = sr.overrides[k]
	}
	idem := r.idemKey(sr, it)
	if r.delta != nil {
		// A grant's change: a recorded unit with the same inputs is kept.
		out, kept, err := r.deltaUnit(c, sr, it, inputs)
		if kept || err != nil {
			return inputs, out, err
		}
		idem += r.delta.suffix
	}
	keys, err := lockKeys(s.Locks, env)
	if err != nil {
		return inputs, nil, err
	}
	if it == nil {
		sr.keys = keys
	} else {
		it.keys = keys
	}
	if r.span != nil {
		waited := false
		err := r.span.enter(c, keys, func(msg string) {
			waited = true
			if it == nil {
				sr.observed = msg
			} else {
				sr.observed = it.key + ": " + msg
			}
			r.refresh("")
		})
		if err != nil {
			return inputs, nil, err
		}
		if waited {
			sr.observed = ""
			r.refresh("")
		}
		defer func() {
			// settle signals the lock workflows, which yields; a coroutine
			// must not yield while a panic unwinds (see below).
			if p := recover(); p != nil {
				panic(p)
			}
			r.span.leave(keys)
			r.settleLocks(c)
		}()
	} else {
		held, err := r.locks.acquireAll(c, keys, r.idemKey(sr, it)+"#"+strconv.Itoa(sr.attempts))
		defer func() {
			// Releasing signals the lock workflows, which yields; a coroutine must
			// not yield while a panic unwinds, so let a panic through untouched
			// (the workflow task fails and is retried; the locks stay held until then).
			if p := recover(); p != nil {
				panic(p)
			}
			r.locks.releaseAll(c, held)
		}()
		if err != nil {
			return inputs, nil, err
		}
	}
	if r.delta == nil { // a grant's change holds its request's claims
		if err := r.checkStepClaim(c, sr, inputs, keys); err != nil {
			return inputs, nil, err
		}
	}
	call := plan.Call{Action: s.Action, Account: s.Account, Inputs: inputs, IdempotencyKey: idem}
	var out plan.Outputs
	if s.Wait != nil {
		out, err = r.wait(c.intr, s.Title, call, *s.Wait, func(obs string) {
			if it == nil {
				sr.observed = obs
			} else {
				sr.observed = it.key + ": " + obs
			}
		})
	} else {
		rt, rerr := r.probeRoute(c, s)
		if rerr != nil {
			return inputs, nil, rerr
		}
		if rt.taskQueue != "" {
			sr.observed = "running on probe task queue " + rt.taskQueue
			r.refresh("")
		}
		f := workflow.ExecuteActivity(workflow.WithActivityOptions(c.work, rt.apply(r.actionOptions(s))), s.Action, call)
		err = f.Get(c.work, &out)
		if rt.taskQueue != "" {
			sr.observed = ""
			r.refresh("")
		}
		if perr := rt.probeError(s, err); perr != nil {
			return inputs, nil, perr
		}
	}
	if err != nil {
		return inputs, nil, fmt.Errorf("%s: %s", s.Action, errText(err))
	}
	if out == nil {
		out = plan.Outputs{}
	}
	return inputs, out, nil
}

func lockKeys(exprs []string, env map[string]any) ([]string, error) {
	seen := map[string]bool{}
	var keys []string
	for _, e := range exprs {
		v, err := plan.Eval(e, env)
		if err != nil {
			return nil, fmt.Errorf("lock: %w", err)
		}
		k := fmt.Sprint(v)
		if v == nil || k == "" {
			return nil, fmt.Errorf("lock %q evaluated to an empty key", e)
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	// A fixed order across workflows prevents deadlocks between multi-lock steps.
	sort.Strings(keys)
	return keys, nil
}

// evalOutputs evaluates the plan's outputs once every step is done.
func (r *interp) evalOutputs() map[string]any {
	if len(r.p.Outputs) == 0 {
		return nil
	}
	env := r.env()
	out := map[string]any{}
	for _, k := range sortedKeys(r.p.Outputs) {
		v, err := r.p.Outputs[k].Resolve(env)
		if err != nil {
			workflow.GetLogger(r.root).Warn("plan output did not evaluate", "output", k, "error", err)
			out[k] = nil
			continue
		}
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// errText is the message of an activity error without the SDK's wrapping
// ("activity error (type: ..., scheduledEventID: ...)").
func errText(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.Type() != "" {
			return ae.Type() + ": " + ae.Message()
		}
		return ae.Message()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		msg := "timeout (" + te.TimeoutType().String() + ")"
		if cause := te.Unwrap(); cause != nil {
			// A budget ran out: say what the last attempt hit.
			msg += ", last attempt: " + errText(cause)
		}
		return msg
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "canceled"
	}
	return err.Error()
}
