package workflows

// Change by delta. A grant holds what its request created; a change runs a
// plan (a changed spec's, or the same plan again to follow a changed cloud,
// or a drift repair) against that record and does only the difference:
//
//   - read steps (describes, status waits, verify) run again, so discovery
//     sees the cloud as it is now (e.g. two new brokers);
//   - a mutating unit (a step, or one fan-out item by its key) whose
//     resolved inputs, action, account and compensation are what the record
//     holds is kept: nothing is called, its outputs are the recorded ones;
//   - any other mutating unit runs (new brokers' endpoint services,
//     whitelist entries and endpoints; a changed advertised map). The first
//     one to run waits for the plan's approval gates again (unless the change
//     is an automatic repair the spec allows): nothing changes unapproved.
//     A unit that replaces a recorded one is created first and the old one
//     undone once the whole change succeeded (create before destroy), except
//     an in-place update whose undo is the same action (updateCrossVpcIps
//     restores the map it replaced): both stay in the record, newest last,
//     so a revoke unwinds them in reverse to the original state;
//   - recorded units the new run no longer has (a removed step, a broker
//     gone) are undone after the change succeeded.
//
// A change that fails undoes what it created and keeps the record as it was.

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
	"github.com/topoflow/topoflow/trust"
)

// grantChangeChange guards a grant's change by delta (the change and repair
// Updates and the runs they start).
const grantChangeChange = "topoflow-grant-change"

// driftRepairChange guards the automatic repair a drift check starts when
// the plan allows it (plan.Drift.AutoRepair).
const driftRepairChange = "topoflow-drift-repair"

// UpdateChange is the Update (payload ChangeRequest, result ChangeResult)
// that asks a grant to run a changed plan, or the same plan again, as a delta.
const UpdateChange = "change"

// UpdateRepair is the Update (payload OperatorAction, no step) that repairs
// a drifted grant as a delta plan; its signed statement kind is "repair".
const UpdateRepair = "repair"

// PhaseChanging is a grant running a change.
const PhaseChanging = "Changing"

// ChangeRequest is the payload of the change Update.
type ChangeRequest struct {
	// Request is the plan to run as applied (checked like an apply's:
	// hash, gate policy, spec, signature).
	Request Request `json:"request"`
}

// Change outcomes.
const (
	ChangeRunning   = "running"
	ChangeChanged   = "changed"
	ChangeNothing   = "nothing to change"
	ChangeRefused   = "refused"
	ChangeUndone    = "undone"
	ChangeIncorrect = "failed"
)

// ChangeResult describes a grant's last change.
type ChangeResult struct {
	// N counts the grant's changes (1 for the first).
	N int `json:"n"`
	// Kind is "apply" (a changed or re-read plan) or "repair" (drift).
	Kind string `json:"kind"`
	By   string `json:"by,omitempty"`
	// PlanSHA256 is the plan the change runs.
	PlanSHA256 string    `json:"planSha256"`
	Outcome    string    `json:"outcome"`
	StartedAt  time.Time `json:"startedAt"`
	EndedAt    time.Time `json:"endedAt,omitempty"`
	// Added, Updated and Removed name the units created, updated in place
	// and undone ("step" or "step[key]"); Kept counts those left alone.
	Added   []string `json:"added,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Kept    int      `json:"kept"`
	Error   string   `json:"error,omitempty"`
}

// changeReq is an accepted change or repair.
type changeReq struct {
	kind string // "apply" or "repair"
	by   string
	req  *Request        // apply: the new plan
	redo map[string]bool // repair: units to run again whatever their inputs
	auto bool            // an automatic repair: gates do not wait
}

// deltaState is the state of a running change.
type deltaState struct {
	old    map[string]*stepRun // the record's steps, by ID
	suffix string              // idempotency key suffix of this change's units
	redo   map[string]bool
	auto   bool
	// kept, stacked: units of the record left alone or updated in place.
	kept, stacked map[string]bool
	res           *ChangeResult
	// approval of the change: asked once, by the first mutating unit to run.
	approving, approved bool
	approveErr          error
}

func unitKey(step string, it *itemRun) string {
	if it == nil {
		return step
	}
	return step + "[" + it.key + "]"
}

// oldUnit returns the record's step and item for sr (and it's key).
func (d *deltaState) oldUnit(sr *stepRun, it *itemRun) (*stepRun, *itemRun, bool) {
	o := d.old[sr.s.ID]
	if o == nil {
		return nil, nil, false
	}
	if it == nil {
		return o, nil, !o.fanout && o.state == StepDone
	}
	for _, oi := range o.items {
		if oi.key == it.key {
			return o, oi, oi.state == StepDone
		}
	}
	return o, nil, false
}

// mutates reports whether a step changes the cloud (a delta decides whether
// to run it); reads and waits always run again.
func mutates(s *plan.Step) bool {
	return !isGate(s) && s.Wait == nil && policy.Mutates(s.Action)
}

// deltaUnit decides, before a mutating unit runs during a change, whether
// the record's unit is kept (its outputs returned, ok) or the unit runs
// (after the change's approval).
func (r *interp) deltaUnit(c cx, sr *stepRun, it *itemRun, inputs map[string]any) (plan.Outputs, bool, error) {
	d := r.delta
	s := sr.s
	if !mutates(s) {
		return nil, false, nil
	}
	key := unitKey(s.ID, it)
	o, oi, had := d.oldUnit(sr, it)
	same := had && o.s.Action == s.Action && o.s.Account == s.Account && jsonOf(o.s.Compensation) == jsonOf(s.Compensation)
	if same && !d.redo[key] {
		oin, oout, okeys := o.inputs, o.outputs, o.keys
		if oi != nil {
			oin, oout, okeys = oi.inputs, oi.outputs, oi.keys
		}
		if jsonOf(normalize(oin)) == jsonOf(normalize(inputs)) {
			d.kept[key] = true
			d.res.Kept++
			if it == nil {
				sr.keys = okeys
			} else {
				it.keys = okeys
			}
			return oout, true, nil
		}
	}
	if err := r.deltaApprove(c); err != nil {
		return nil, false, err
	}
	switch {
	case had && s.Compensation != nil && s.Compensation.Action == s.Action && jsonOf(o.s.Compensation) == jsonOf(s.Compensation):
		d.stacked[key] = true
		d.res.Updated = append(d.res.Updated, key)
	default:
		d.res.Added = append(d.res.Added, key)
	}
	return nil, false, nil
}

// deltaApprove waits, once per change, for the plan's approval gates (as a
// revoke does); an automatic repair the plan allows does not wait.
func (r *interp) deltaApprove(c cx) error {
	d := r.delta
	if d.approved || d.auto {
		return nil
	}
	if d.approving {
		if err := workflow.Await(c.intr, func() bool { return d.approved || d.approveErr != nil }); err != nil {
			return errStopped
		}
		return d.approveErr
	}
	d.approving = true
	for _, sr := range r.steps {
		if sr.s.Action != plan.ActionApproval || sr.state != StepDone {
			continue
		}
		out := sr.outputs
		_, err := r.runGate(c, sr)
		sr.state, sr.outputs = StepDone, out
		r.refresh("")
		if err != nil {
			d.approveErr = err
			return err
		}
	}
	d.approved = true
	return nil
}

// deltaGate settles a gate step during a change: approval gates are asked
// lazily (deltaApprove); a manual step already done is kept.
func (r *interp) deltaGate(c cx, sr *stepRun) (bool, error) {
	o := r.delta.old[sr.s.ID]
	if sr.s.Action == plan.ActionApproval || (o != nil && o.state == StepDone) {
		if o != nil {
			sr.outputs = o.outputs
		}
		if sr.outputs == nil {
			sr.outputs = plan.Outputs{}
		}
		return true, nil
	}
	return false, nil
}

// complete records a finished unit: during a change, a kept unit adds no
// completion (the record's stays).
func (r *interp) complete(sr *stepRun, it *itemRun, inputs map[string]any, out plan.Outputs, keys []string) {
	c := completion{step: sr, item: it, inputs: inputs, outputs: out, keys: keys}
	if r.delta != nil {
		if r.delta.kept[unitKey(sr.s.ID, it)] {
			return
		}
		c.suffix = r.delta.suffix
	}
	r.done = append(r.done, c)
}

// registerChangeHandlers installs the change and repair Updates.
func (r *interp) registerChangeHandlers(g *GrantRecord) error {
	err := workflow.SetUpdateHandlerWithOptions(r.root, UpdateChange,
		func(ctx workflow.Context, raw json.RawMessage) (ChangeResult, error) {
			ch, err := r.checkChange(raw, g, false)
			if err != nil {
				return ChangeResult{}, err
			}
			r.change = ch
			r.addAudit(AuditEntry{At: workflow.Now(ctx), Action: UpdateChange, Identity: ch.by,
				Comment: fmt.Sprintf("plan %.12s", ch.req.PlanSHA256)}, false)
			return ChangeResult{N: g.Changes + 1, Kind: ch.kind, By: ch.by, PlanSHA256: ch.req.PlanSHA256, Outcome: ChangeRunning,
				StartedAt: workflow.Now(ctx)}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw json.RawMessage) error {
			_, err := r.checkChange(raw, g, true)
			return err
		}})
	if err != nil {
		return fmt.Errorf("set %s update handler: %w", UpdateChange, err)
	}
	err = workflow.SetUpdateHandlerWithOptions(r.root, UpdateRepair,
		func(ctx workflow.Context, raw json.RawMessage) error {
			a, v, err := r.checkRepair(raw, false)
			if err != nil {
				return err
			}
			r.markUsed(a.Signature)
			r.addAudit(r.auditEntry(UpdateRepair, "", a.Reason, v), false)
			r.change = &changeReq{kind: UpdateRepair, by: v.p.Name, redo: r.repairSet()}
			r.refresh("")
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw json.RawMessage) error {
			_, _, err := r.checkRepair(raw, true)
			return err
		}})
	if err != nil {
		return fmt.Errorf("set %s update handler: %w", UpdateRepair, err)
	}
	return nil
}

// busyErr refuses a change or repair while the grant does something else.
func (r *interp) busyErr() error {
	switch {
	case r.revoke != nil || r.stop != nil || r.final:
		return fmt.Errorf("the grant is being revoked (phase %s)", r.phase)
	case r.change != nil || r.delta != nil:
		return fmt.Errorf("the grant is already running a change (phase %s): wait for it to finish", r.phase)
	}
	return nil
}

// checkChange decodes and checks a change (what can be checked without
// activities: the plan's hash and shape, and that it is this request's).
func (r *interp) checkChange(raw json.RawMessage, g *GrantRecord, validator bool) (*changeReq, error) {
	var cr ChangeRequest
	if err := r.checkPayload(raw, validator); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &cr); err != nil {
		return nil, fmt.Errorf("decode change: %w", err)
	}
	if err := r.busyErr(); err != nil {
		return nil, err
	}
	req := cr.Request
	sha, err := req.Plan.Hash()
	if err != nil {
		return nil, fmt.Errorf("hash plan: %w", err)
	}
	if req.PlanSHA256 != sha {
		return nil, fmt.Errorf("change says plan sha256 %.12s but the plan hashes to %.12s", req.PlanSHA256, sha)
	}
	if err := req.Plan.Check(); err != nil {
		return nil, fmt.Errorf("invalid plan: %w", err)
	}
	if id := WorkflowID(req.Plan.Source); id != g.RequestID {
		return nil, fmt.Errorf("the plan is request %s's, this grant holds request %s", id, g.RequestID)
	}
	if req.Resume != nil {
		return nil, fmt.Errorf("a change carries no resume state")
	}
	return &changeReq{kind: "apply", by: req.RequestedBy, req: &req}, nil
}

// checkRepair checks a repair: the grant must have drifted, and the
// identity be one of the request's operators (as for revoke).
func (r *interp) checkRepair(raw json.RawMessage, validator bool) (OperatorAction, verdict, error) {
	var a OperatorAction
	if err := r.checkPayload(raw, validator); err != nil {
		return a, verdict{}, err
	}
	if err := decodeStrict(raw, &a); err != nil {
		return a, verdict{}, err
	}
	if err := r.busyErr(); err != nil {
		return a, verdict{}, err
	}
	if r.drift == nil || len(r.drift.Findings) == 0 {
		return a, verdict{}, fmt.Errorf("the grant has not drifted (last check: %s): nothing to repair", r.lastCheck())
	}
	if a.Step != "" || len(a.Inputs) > 0 || len(a.Only) > 0 {
		return a, verdict{}, fmt.Errorf("repair takes no step, inputs or only: it repairs what the last drift check found")
	}
	p, err := r.authenticate(a.Identity, a.Signature, trust.Statement{Kind: UpdateRepair, Comment: a.Reason})
	if err != nil {
		return a, verdict{}, err
	}
	if !r.snap.Configured {
		return a, verdict{p: p, policy: "operators not checked (no trust file)"}, nil
	}
	ops := r.operatorPolicy()
	by, ok := r.allowed(p.Name, ops)
	if !ok {
		return a, verdict{}, fmt.Errorf("%s is not an operator of this request and may not repair it (operators: %v)", ident(p.Name), r.expand(ops))
	}
	return a, verdict{p: p, policy: "operators: " + by}, nil
}

func (r *interp) lastCheck() string {
	if r.drift == nil {
		return "none yet"
	}
	return r.drift.CheckedAt.UTC().Format(time.RFC3339)
}

// repairSet lists the units a repair runs again: for each drift finding of
// a resource read (not a verification, a symptom), the mutating steps it
// reads, for the same fan-out item.
func (r *interp) repairSet() map[string]bool {
	redo := map[string]bool{}
	if r.drift == nil {
		return redo
	}
	for _, f := range r.drift.Findings {
		sr := r.byID[f.Step]
		if sr == nil || f.Action == VerifyAction {
			continue
		}
		for _, dep := range sr.s.DependsOn {
			ds := r.byID[dep]
			if ds == nil || !mutates(ds.s) {
				continue
			}
			if ds.fanout && f.Item != "" {
				redo[dep+"["+f.Item+"]"] = true
			} else if !ds.fanout {
				redo[dep] = true
			}
		}
	}
	return redo
}

// VerifyAction is the verification action (a drift of it is a symptom, not
// a resource to recreate).
const VerifyAction = "kafka.verify"

// runChange runs an accepted change as a delta against the record, then
// updates the record (success) or undoes what the change created (failure).
func (r *interp) runChange(ctx workflow.Context, g *GrantRecord) {
	ch := r.change
	if changeVersion(ctx, grantChangeChange, 1) < 1 {
		r.change = nil
		return
	}
	res := &ChangeResult{N: g.Changes + 1, Kind: ch.kind, By: ch.by, PlanSHA256: r.sha, Outcome: ChangeRunning, StartedAt: workflow.Now(ctx)}
	r.lastChange = res
	g.Changes, g.Change = res.N, res
	type saved struct {
		req   Request
		p     *plan.Plan
		sha   string
		steps []*stepRun
		byID  map[string]*stepRun
		done  []completion
		trust PlanTrust
	}
	old := saved{r.req, r.p, r.sha, r.steps, r.byID, r.done, r.planTrust}
	restore := func() {
		r.req, r.p, r.sha, r.steps, r.byID, r.done, r.planTrust = old.req, old.p, old.sha, old.steps, old.byID, old.done, old.trust
		r.sched, r.delta, r.change, r.stop = nil, nil, nil, nil
		r.meta["planSha256"] = r.sha
	}
	finish := func(outcome, msg string) {
		res.Outcome, res.EndedAt = outcome, workflow.Now(ctx)
		if msg != "" {
			res.Error = oneLine(msg, 500)
		}
		r.addAudit(AuditEntry{At: res.EndedAt, Action: "change " + outcome, Identity: "topoflow",
			Comment: oneLine(changeSummary(res), 500)}, false)
		r.basePhase = PhaseGranted
		if r.drift != nil && len(r.drift.Findings) > 0 {
			r.basePhase = PhaseDrifted
		}
		r.refresh("")
	}
	r.basePhase = PhaseChanging
	r.refresh("")
	// The new plan (or the same again), checked like an apply's.
	next := r.req
	if ch.req != nil {
		next = *ch.req
		next.Spec, next.Signature = ch.req.Spec, ch.req.Signature
		if err := r.checkChangePlan(g, next); err != nil {
			restore()
			finish(ChangeRefused, errText(err))
			return
		}
		res.PlanSHA256 = next.PlanSHA256
	}
	if ch.kind == UpdateRepair {
		next.RequestedBy = ch.by // the repairer may not approve their own repair
	}
	sha, _ := next.Plan.Hash()
	next.Spec, next.Signature, next.PlanSHA256, next.Resume = nil, nil, sha, nil
	r.req, r.p, r.sha = next, &next.Plan, sha
	r.meta["planSha256"] = sha
	r.steps, r.byID = nil, map[string]*stepRun{}
	for i := range r.p.Steps {
		s := &r.p.Steps[i]
		sr := &stepRun{s: s, state: StepPending, fanout: s.ForEach != nil}
		r.steps = append(r.steps, sr)
		r.byID[s.ID] = sr
	}
	r.delta = &deltaState{old: old.byID, suffix: "/change-" + strconv.Itoa(res.N), redo: ch.redo, auto: ch.auto,
		kept: map[string]bool{}, stacked: map[string]bool{}, res: res}
	if r.delta.redo == nil {
		r.delta.redo = map[string]bool{}
	}
	r.done = slices.Clone(old.done)
	r.stop, r.final = nil, false
	r.intr, r.stopIntr = workflow.WithCancel(r.work)
	r.pauseDecided, r.pausing, r.handOver = true, false, false
	r.sched = r.newSched()
	r.executeScheduled()
	if r.stop != nil {
		// Undo what this change created, newest first; the record stays.
		reason := r.stopReason()
		dctx, _ := workflow.NewDisconnectedContext(r.root)
		var leaks []Leak
		for i := len(r.done) - 1; i >= len(old.done); i-- {
			c := r.done[i]
			if c.step.s.Compensation == nil {
				continue
			}
			if err := r.compensate(dctx, c); err != nil {
				l := Leak{Step: c.step.s.ID, Action: c.step.s.Action, Resource: describeResource(c.outputs), Error: err.Error()}
				if c.item != nil {
					l.Item = c.item.key
				}
				leaks = append(leaks, l)
			}
		}
		restore()
		r.leaks = append(r.leaks, leaks...)
		outcome := ChangeUndone
		if len(leaks) > 0 {
			outcome = ChangeIncorrect
			reason += fmt.Sprintf("; %d compensation(s) of the change failed, left behind (see leaked)", len(leaks))
		}
		finish(outcome, reason)
		return
	}
	// Success: undo what the change replaced or no longer has, newest
	// first, and keep the record in the new plan's steps.
	d := r.delta
	dctx, _ := workflow.NewDisconnectedContext(r.root)
	var kept []completion
	var drop []completion
	for _, c := range old.done {
		key := unitKey(c.step.s.ID, c.item)
		if d.kept[key] || d.stacked[key] {
			if nc, ok := r.rebind(c); ok {
				kept = append(kept, nc)
				continue
			}
		}
		if c.step.s.Compensation != nil {
			drop = append(drop, c)
		}
	}
	var leaks []Leak
	for i := len(drop) - 1; i >= 0; i-- {
		c := drop[i]
		res.Removed = append(res.Removed, unitKey(c.step.s.ID, c.item))
		if err := r.compensate(dctx, c); err != nil {
			l := Leak{Step: c.step.s.ID, Action: c.step.s.Action, Resource: describeResource(c.outputs), Error: err.Error()}
			if c.item != nil {
				l.Item = c.item.key
			}
			leaks = append(leaks, l)
		}
	}
	r.done = append(kept, r.done[len(old.done):]...)
	r.leaks = append(r.leaks, leaks...)
	r.sched, r.delta, r.change, r.stop = nil, nil, nil, nil
	r.outputs = r.evalOutputs()
	g.Request, g.Outputs = r.req, r.outputs
	g.DriftChecks = r.driftChecks()
	if ch.kind == UpdateRepair || len(res.Added)+len(res.Updated)+len(res.Removed) > 0 {
		// Every read and the verification ran again: the record is checked.
		r.drift = &Drift{CheckedAt: workflow.Now(ctx), Checks: len(g.DriftChecks), Every: g.DriftEvery}
		g.Drift = r.drift
	}
	if err := workflow.UpsertMemo(r.root, map[string]any{MemoPlanSHA256: r.sha}); err != nil {
		workflow.GetLogger(ctx).Warn("upsert plan memo failed", "error", err)
	}
	r.upsertGrantClaims() // grant_claims.go
	outcome := ChangeChanged
	if len(res.Added)+len(res.Updated)+len(res.Removed) == 0 {
		outcome = ChangeNothing
	}
	msg := ""
	if len(leaks) > 0 {
		outcome = ChangeIncorrect
		msg = fmt.Sprintf("%d undo(s) of replaced resources failed, left behind (see leaked)", len(leaks))
	}
	finish(outcome, msg)
}

// rebind moves a record's completion onto the new plan's step (and item by
// key); held marks a completion whose inputs and outputs are its own (an
// older in-place update under a newer one).
func (r *interp) rebind(c completion) (completion, bool) {
	sr := r.byID[c.step.s.ID]
	if sr == nil {
		return c, false
	}
	nc := c
	nc.step = sr
	if c.item != nil {
		nc.item = nil
		for _, it := range sr.items {
			if it.key == c.item.key {
				nc.item = it
			}
		}
		if nc.item == nil {
			return c, false
		}
	}
	nc.held = r.delta.stacked[unitKey(c.step.s.ID, c.item)]
	return nc, true
}

// checkChangePlan checks a change's plan as an apply's plan is checked
// (gate policy, spec compiled again on the worker, signature), as request
// requestID, at the time of the change.
func (r *interp) checkChangePlan(g *GrantRecord, next Request) error {
	if r.trustV < 1 {
		return nil
	}
	if r.snap == nil {
		if err := r.loadTrust(r.work); err != nil {
			return fmt.Errorf("load the worker's trust configuration: %s", errText(err))
		}
	}
	sha, _ := next.Plan.Hash()
	req, p, s, id, pt, at := r.req, r.p, r.sha, r.wfID, r.planTrust, r.verifyAt
	r.req, r.p, r.sha, r.wfID, r.verifyAt = next, &next.Plan, sha, g.RequestID, workflow.Now(r.root)
	err := r.checkPlan()
	npt := r.planTrust
	r.req, r.p, r.sha, r.wfID, r.planTrust, r.verifyAt = req, p, s, id, pt, at
	if err != nil {
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) {
			return fmt.Errorf("%s", ae.Message())
		}
		return err
	}
	r.planTrust = npt
	return nil
}

// changeSummary is one line saying what a change did.
func changeSummary(c *ChangeResult) string {
	s := fmt.Sprintf("change %d (%s, plan %.12s): %s; %d added, %d updated, %d removed, %d kept", c.N, c.Kind, c.PlanSHA256,
		c.Outcome, len(c.Added), len(c.Updated), len(c.Removed), c.Kept)
	if c.Error != "" {
		s += ": " + c.Error
	}
	return s
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
