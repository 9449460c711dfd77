package workflows

// A granted access has a life after Done. When a request ends Done, the
// interpreter hands the record of what it created (every completed unit in
// completion order, with the inputs and outputs its compensation needs, and
// the lock keys it ran under) to a grant workflow of its own, started as an
// abandoned child: the request itself still completes (Done stays what every
// caller waits for), and the grant, an entity workflow that continues as new
// when Temporal suggests it, keeps the record until someone revokes it.
// Revoke is an Update of the grant: it is authorized like a rollback (the
// request's operators), waits again for the plan's approval gates (the same
// approvers, M-of-N and self-approval rules, the revoker being the
// requester), then runs the interpreter's own rollback on the restored
// record (same compensations, rounds, lock keys and leak report) and ends
// Revoked, or Failed with the leaked resources.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// GrantWorkflowType is the registered name of the grant workflow.
const GrantWorkflowType = "topoflow.Grant"

// grantChange guards the hand-off of a Done request's record to its grant
// workflow (a child workflow start after the last step).
const grantChange = "topoflow-grant"

// QueryGranted is the grant's query of what it holds now (a GrantRecord):
// the plan that ran and every step's state, inputs and outputs (topoflow
// plan --against compares a changed spec with it).
const QueryGranted = "granted"

// UpdateRevoke is the Update (payload OperatorAction, no step) that revokes a
// grant; its signed statement kind is "revoke".
const UpdateRevoke = "revoke"

// Phases of a grant.
const (
	// PhaseGranted: what the request created exists; it may be revoked.
	PhaseGranted = "Granted"
	// PhaseRevoking: the revoke is compensating.
	PhaseRevoking = "Revoking"
	// PhaseRevoked: everything the request created was removed.
	PhaseRevoked = "Revoked"
)

// ErrRevokeRejected is the message prefix of a revoke whose gate was rejected
// (the grant stays Granted).
const ErrRevokeRejected = "revoke rejected"

// GrantWorkflowID is the workflow ID of the grant of the request requestID.
func GrantWorkflowID(requestID string) string { return requestID + "/grant" }

// GrantRecord is what a Done request created, as handed to its grant.
type GrantRecord struct {
	// Request is the request's plan and requester (no spec text, no signature).
	Request Request `json:"request"`
	// RequestID and RequestRunID name the request's workflow run.
	RequestID    string `json:"requestId"`
	RequestRunID string `json:"requestRunId"`
	// DoneAt is when the request ended Done.
	DoneAt time.Time `json:"doneAt"`
	// Outputs are the request's outputs.
	Outputs map[string]any `json:"outputs,omitempty"`
	// Units are the steps, their items, the completed units and the drift
	// checks, packed (requests and grants with recordChange); Steps, Done
	// and DriftChecks are the expanded form of older records (and of the
	// granted query's answer).
	Units *Units `json:"units,omitempty"`
	// Steps are the steps' final states, inputs and outputs.
	Steps []GrantStep `json:"steps,omitempty"`
	// Done lists the completed units in completion order.
	Done []GrantUnit `json:"done,omitempty"`
	// Trust is how the request's plan was admitted.
	Trust *PlanTrust `json:"trust,omitempty"`
	// Audit is the request's audit trail, then the grant's.
	Audit []AuditEntry `json:"audit,omitempty"`
	// DriftEvery is the drift check interval (negative: none) and
	// DriftChecks the read units each check runs again; Drift is the last
	// check's result.
	DriftEvery  plan.Duration `json:"driftEvery,omitempty"`
	DriftChecks []GrantUnit   `json:"driftChecks,omitempty"`
	Drift       *Drift        `json:"drift,omitempty"`
	// Changes counts the changes run against the record (change.go) and
	// Change is the last one's result.
	Changes int           `json:"changes,omitempty"`
	Change  *ChangeResult `json:"change,omitempty"`
	// Revoking is a revoke that continued as new while it compensated
	// (recordChange): the next run goes on compensating what Units still
	// holds, without asking the gates again.
	Revoking *GrantRevoking `json:"revoking,omitempty"`
}

// GrantRevoking is a revoke in progress, carried across continue-as-new.
type GrantRevoking struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Leaked are the resources whose compensation failed so far.
	Leaked []Leak `json:"leaked,omitempty"`
	// Compensated lists the steps some unit of which was compensated.
	Compensated []string `json:"compensated,omitempty"`
}

// GrantStep is one step of a GrantRecord (the expanded form).
type GrantStep = RecordStep

// GrantItem is one fan-out item of a GrantStep (the expanded form).
type GrantItem = RecordItem

// GrantUnit names one completed unit: a step, and for a fan-out its item index.
type GrantUnit struct {
	Step string `json:"step"`
	Item *int   `json:"item,omitempty"`
	// Suffix is the idempotency key suffix of a unit a change ran; Inputs,
	// Outputs and Keys, when Held, are the unit's own (an older in-place
	// update under a newer one of the same step or item).
	Suffix  string         `json:"suffix,omitempty"`
	Held    bool           `json:"held,omitempty"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Outputs plan.Outputs   `json:"outputs,omitempty"`
	Keys    []string       `json:"keys,omitempty"`
}

// hasCompensation reports whether any completed unit has something to undo.
func (r *interp) hasCompensation() bool {
	for _, c := range r.done {
		if c.step.s.Compensation != nil {
			return true
		}
	}
	return false
}

// grantRecord captures the record of a Done request: packed (runs with
// recordChange), else expanded.
func (r *interp) grantRecord() (GrantRecord, error) {
	req := r.req
	req.Spec, req.Signature, req.PlanSHA256 = nil, nil, r.sha
	if r.recordV() {
		// What this run carried in is in the record already: a grant
		// restoring it too would hold every unit twice.
		req.Resume = nil
	}
	g := GrantRecord{Request: req, RequestID: r.wfID, RequestRunID: r.runID, DoneAt: workflow.Now(r.root),
		Outputs: r.outputs, Audit: append([]AuditEntry(nil), r.audit...)}
	if r.trustV >= 1 && r.snap != nil {
		pt := r.planTrust
		g.Trust = &pt
	}
	g.DriftEvery = r.req.DriftEvery
	if g.DriftEvery == 0 && r.p.Drift != nil {
		g.DriftEvery = r.p.Drift.Every // the spec's drift.every
	}
	if g.DriftEvery == 0 {
		g.DriftEvery = plan.D(DefaultDriftEvery)
	}
	g.Drift = r.drift
	g.Change = r.lastChange
	if r.lastChange != nil {
		g.Changes = r.lastChange.N
	}
	if r.recordV() && !r.holdsStacked() {
		u, err := r.packUnits(true, r.driftChecks())
		if err != nil {
			return g, err
		}
		g.Units = &u
		return g, nil
	}
	r.expandGrant(&g, true)
	g.DriftChecks = r.driftChecks()
	return g, nil
}

// holdsStacked reports whether the saga holds a unit with data of its own (a
// change by delta stacked it: change.go) or a suffix: the packed record keeps
// neither, so such a grant carries the expanded form.
func (r *interp) holdsStacked() bool {
	for _, c := range r.done {
		if c.held || c.suffix != "" {
			return true
		}
	}
	return false
}

// expandGrant sets a record's expanded Steps and Done from the run's
// state; items carry their inputs and outputs when withData.
func (r *interp) expandGrant(g *GrantRecord, withData bool) {
	g.Steps, g.Done = nil, nil
	for _, sr := range r.steps {
		gs := GrantStep{ID: sr.s.ID, State: sr.state, Attempts: sr.attempts, Inputs: sr.inputs, Outputs: sr.outputs,
			Keys: sr.keys, Started: sr.started, Ended: sr.ended, Fanout: sr.fanout}
		for _, it := range sr.items {
			gi := GrantItem{Index: it.index, Key: it.key, Value: it.value, State: it.state}
			if withData {
				gi.Inputs, gi.Outputs, gi.Keys = it.inputs, it.outputs, it.keys
			}
			gs.Items = append(gs.Items, gi)
		}
		g.Steps = append(g.Steps, gs)
	}
	for _, c := range r.done {
		u := GrantUnit{Step: c.step.s.ID, Suffix: c.suffix}
		if c.item != nil {
			i := c.item.index
			u.Item = &i
		}
		if c.held {
			u.Held, u.Inputs, u.Outputs, u.Keys = true, c.inputs, c.outputs, c.keys
		}
		g.Done = append(g.Done, u)
	}
}

// grantTooBig says why the record of a Done request cannot be handed to a
// grant ("" when it can, or has nothing to hand over): its encoding fails
// or is over Temporal's payload limit (runs with recordChange; the record
// is built again when handed over).
func (r *interp) grantTooBig() string {
	if !r.hasCompensation() || !r.recordV() {
		return ""
	}
	saved := r.outputs
	r.outputs = r.evalOutputs()
	defer func() { r.outputs = saved }()
	g, err := r.grantRecord()
	if err != nil {
		return "the record: " + err.Error()
	}
	enc, msg := encodeFitting("the record", g)
	if msg != "" {
		return msg
	}
	r.checkedGrant, r.checkedGrantPayload = &g, enc // handOff starts the grant with it: built and encoded once
	return ""
}

// handOff starts the grant workflow of a Done request (runs with
// grantChange): an abandoned child holding the record. A failed start is
// logged and shown (the request is still Done; it cannot be revoked).
func (r *interp) handOff() {
	if !r.hasCompensation() || changeVersion(r.root, grantChange, 1) < 1 {
		return
	}
	var g GrantRecord
	if r.checkedGrant != nil {
		g = *r.checkedGrant
	} else {
		var err error
		if g, err = r.grantRecord(); err != nil {
			r.grantErr = "grant record not built: " + err.Error()
			return
		}
	}
	id := GrantWorkflowID(r.wfID)
	ctx := workflow.WithChildOptions(r.work, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(SASpec.ValueSet(r.p.Source.Name),
			SAKind.ValueSet(r.p.Source.Kind), SAProvider.ValueSet(r.p.Provider), SAPhase.ValueSet(PhaseGranted)),
		Memo:          map[string]any{MemoPlanSHA256: r.sha},
		StaticSummary: "Granted: " + r.p.Summary,
		StaticDetails: "What request " + r.wfID + " created; revoke it with `topoflow revoke " + r.wfID + "`.",
	})
	var arg any = g
	if r.checkedGrant != nil && r.checkedGrantPayload != nil {
		arg = converter.NewRawValue(r.checkedGrantPayload) // g, encoded by grantTooBig
	}
	f := workflow.ExecuteChildWorkflow(ctx, GrantWorkflowType, arg)
	if err := f.GetChildWorkflowExecution().Get(r.work, nil); err != nil {
		workflow.GetLogger(r.root).Error("grant workflow not started: the request cannot be revoked", "grant", id, "error", err)
		r.grantErr = "grant workflow " + id + " not started: " + errText(err)
		return
	}
	r.grantID = id
}

// restoreGrant rebuilds the state of a Done request from its record (a
// packed record's drift checks are expanded into g.DriftChecks).
func (r *interp) restoreGrant(g *GrantRecord) error {
	if g.Units != nil {
		drift, err := r.restoreUnits(*g.Units, true)
		if err != nil {
			return err
		}
		g.DriftChecks, g.Units, g.Steps, g.Done = drift, nil, nil, nil
	} else if err := r.restoreExpanded(g); err != nil {
		return err
	}
	r.outputs = g.Outputs
	r.audit = append([]AuditEntry(nil), g.Audit...)
	r.drift = g.Drift
	r.lastChange = g.Change
	if g.Trust != nil {
		r.planTrust = *g.Trust
	}
	return nil
}

// restoreExpanded rebuilds the steps, items and completed units of an
// expanded (older) record.
func (r *interp) restoreExpanded(g *GrantRecord) error {
	for _, gs := range g.Steps {
		sr, ok := r.byID[gs.ID]
		if !ok {
			return fmt.Errorf("grant record names step %q, which the plan does not have", gs.ID)
		}
		sr.state, sr.attempts, sr.inputs, sr.outputs, sr.keys = gs.State, gs.Attempts, gs.Inputs, gs.Outputs, gs.Keys
		sr.started, sr.ended = gs.Started, gs.Ended
		sr.itemsReady = sr.fanout
		for _, gi := range gs.Items {
			sr.items = append(sr.items, &itemRun{index: gi.Index, key: gi.Key, value: gi.Value, state: gi.State,
				inputs: gi.Inputs, outputs: gi.Outputs, keys: gi.Keys})
		}
	}
	for _, u := range g.Done {
		sr, ok := r.byID[u.Step]
		if !ok {
			return fmt.Errorf("grant record names step %q, which the plan does not have", u.Step)
		}
		c := completion{step: sr, inputs: sr.inputs, outputs: sr.outputs, keys: sr.keys}
		if u.Item != nil {
			var it *itemRun
			for _, x := range sr.items {
				if x.index == *u.Item {
					it = x
				}
			}
			if it == nil {
				return fmt.Errorf("grant record names item %d of step %q, which it does not list", *u.Item, u.Step)
			}
			c = completion{step: sr, item: it, inputs: it.inputs, outputs: it.outputs, keys: it.keys}
		}
		c.suffix = u.Suffix
		if u.Held {
			c.held, c.inputs, c.outputs, c.keys = true, u.Inputs, u.Outputs, u.Keys
		}
		r.done = append(r.done, c)
	}
	return nil
}

// Grant is the grant workflow (registered as GrantWorkflowType): it holds the
// record of a Done request until a revoke Update, then undoes the request in
// reverse completion order and returns the final Progress (phase Revoked),
// or fails with ErrCompensationFailed (phase Failed) when resources were left
// behind. It continues as new when Temporal suggests it.
func Grant(ctx workflow.Context, g GrantRecord) (Progress, error) {
	ctx = withBundle(ctx) // bundle.go
	if g.Request.Resume != nil && changeVersion(ctx, recordChange, 1) >= 1 {
		// Records before recordChange kept the request's carried state of
		// its last run in Request: it is in the record's steps already.
		g.Request.Resume = nil
	}
	r, err := newInterp(ctx, g.Request)
	if err != nil {
		return Progress{}, err
	}
	if err := r.restoreGrant(&g); err != nil {
		return Progress{}, temporal.NewNonRetryableApplicationError(err.Error(), plan.ErrInvalid, nil)
	}
	r.basePhase = PhaseGranted
	if g.Drift != nil && len(g.Drift.Findings) > 0 {
		r.basePhase = PhaseDrifted
	}
	r.phase = PhaseGranted
	r.lastUpsertPhase = PhaseGranted
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress(), nil }); err != nil {
		return Progress{}, fmt.Errorf("set progress query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, QueryItems, r.itemsPage); err != nil { // itemspage.go
		return Progress{}, fmt.Errorf("set %s query: %w", QueryItems, err)
	}
	if err := r.registerGrantHandlers(); err != nil {
		return Progress{}, err
	}
	if err := r.registerChangeHandlers(&g); err != nil { // change.go
		return Progress{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryRollbackPreview, r.preview); err != nil {
		return Progress{}, fmt.Errorf("set %s query: %w", QueryRollbackPreview, err)
	}
	if err := workflow.SetQueryHandler(ctx, QueryGranted, func() (GrantRecord, error) { return r.grantView(g), nil }); err != nil {
		return Progress{}, fmt.Errorf("set %s query: %w", QueryGranted, err)
	}
	// The worker's trust is loaded now and again until it loads: a grant
	// never fails for a trust file that cannot be read for a while.
	workflow.Go(ctx, func(ctx workflow.Context) {
		for r.snap == nil {
			if err := r.loadTrust(ctx); err != nil {
				workflow.GetLogger(ctx).Warn("trust not loaded; trying again in a minute", "error", errText(err))
				_ = workflow.Sleep(ctx, time.Minute)
			}
		}
		r.trustLoop(ctx)
	})
	// refresh-trust (after a decision refused for an unknown key), as in requests.
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalRefreshTrust)
		for {
			var raw json.RawMessage
			ch.Receive(ctx, &raw)
			r.wantTrust(true)
		}
	})
	r.locks.start()
	for i := range r.p.Steps {
		if len(r.p.Steps[i].Locks) > 0 {
			r.span = newLockSpan(r)
			break
		}
	}
	r.budgets = true
	r.refresh("")
	if g.Revoking != nil {
		// A revoke that continued as new: go on undoing what is left.
		r.revoke = &revokeReq{by: g.Revoking.By, reason: g.Revoking.Reason}
		r.leaks = append(r.leaks, g.Revoking.Leaked...)
		r.compensated = map[*stepRun]bool{}
		for _, id := range g.Revoking.Compensated {
			if sr, ok := r.byID[id]; ok {
				r.compensated[sr] = true
			}
		}
	}
	for g.Revoking == nil {
		cond := func() bool {
			return r.revoke != nil || r.change != nil || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}
		if every := g.DriftEvery.Std(); every > 0 {
			ok, _ := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: every,
				TimerOptions: workflow.TimerOptions{Summary: "next drift check"}}, cond)
			if !ok {
				r.checkDrift(ctx, &g)
				continue
			}
		} else {
			_ = workflow.Await(ctx, cond)
		}
		if r.change != nil && r.revoke == nil {
			r.runChange(ctx, &g) // change.go
			continue
		}
		if r.revoke == nil {
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			next, err := r.carry(g)
			if err != nil {
				return Progress{}, err
			}
			return Progress{}, workflow.NewContinueAsNewError(ctx, GrantWorkflowType, next)
		}
		if err := r.revokeGates(); err != nil {
			r.addAudit(AuditEntry{At: workflow.Now(ctx), Action: UpdateRevoke + " (refused)", Identity: "topoflow", Comment: err.Error()}, false)
			r.revoke = nil
			r.refresh("")
			continue
		}
		if r.revoke.why != nil {
			r.basePhase = PhaseRevoking
			r.refresh("")
			r.partialRevoke(r.revoke.why)
			r.upsertGrantClaims() // grant_claims.go: what was undone is released
			r.basePhase = PhaseGranted
			if r.hasCompensation() {
				r.revoke = nil
				r.refresh("")
				continue
			}
		}
		break
	}
	r.basePhase = PhaseRevoking
	r.stop = &stopReq{by: r.revoke.by, reason: r.revoke.reason}
	r.revoking = true
	err = r.rollback()
	if errors.Is(err, errUndoPaused) {
		// Too many units for one run's history: continue as new with what
		// is left to undo (the lock span's keys are taken again there).
		r.releaseLocks()
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		next, err := r.carry(g)
		if err != nil {
			return Progress{}, err
		}
		next.Revoking = &GrantRevoking{By: r.revoke.by, Reason: r.revoke.reason, Leaked: r.leaks}
		for _, sr := range r.steps {
			if r.compensated[sr] {
				next.Revoking.Compensated = append(next.Revoking.Compensated, sr.s.ID)
			}
		}
		if msg := tooBig("the revoke's state", next); msg != "" {
			return Progress{}, temporal.NewNonRetryableApplicationError("cannot continue the revoke as new: "+msg, ErrCompensationFailed, nil)
		}
		return Progress{}, workflow.NewContinueAsNewError(ctx, GrantWorkflowType, next)
	}
	r.releaseLocks()
	if r.recordV() {
		return r.compactProgress(), err
	}
	return r.progress(), err
}

// compactProgress is the progress without the fan-out items' outputs (a
// grant's result, since recordChange: thousands of items would be over the
// payload limit; the progress query has them).
func (r *interp) compactProgress() Progress {
	p := r.progress()
	for i := range p.Steps {
		if p.Steps[i].Items > 0 {
			p.Steps[i].Outputs = nil
		}
	}
	return p
}

// carry is the record a grant continues as new with: what it still holds.
func (r *interp) carry(g GrantRecord) (GrantRecord, error) {
	g.Audit, g.Drift = append([]AuditEntry(nil), r.audit...), r.drift
	g.Change = r.lastChange
	if r.lastChange != nil {
		g.Changes = r.lastChange.N
	}
	if r.recordV() && !r.holdsStacked() {
		u, err := r.packUnits(true, g.DriftChecks)
		if err != nil {
			return g, fmt.Errorf("pack the grant's record: %w", err)
		}
		g.Units, g.Steps, g.Done, g.DriftChecks = &u, nil, nil, nil
		return g, nil
	}
	r.expandGrant(&g, true)
	return g, nil
}

// grantView is the granted query's answer: the record expanded, items
// without their inputs and outputs (the record may hold thousands).
func (r *interp) grantView(g GrantRecord) GrantRecord {
	g.Audit, g.Drift, g.Units = append([]AuditEntry(nil), r.audit...), r.drift, nil
	r.expandGrant(&g, false)
	return g
}

// revokeReq is an accepted revoke; why, for a partial revoke, holds the
// steps it undoes (nil: all).
type revokeReq struct {
	by, reason string
	why        map[string]string
}

// revokeGates waits for the plan's approval gates again, in plan order: the
// revoke proceeds when every one approves, and is refused at the first
// rejection or expiry.
func (r *interp) revokeGates() error {
	r.req.RequestedBy = r.revoke.by // the revoker may not approve their own revoke
	for _, sr := range r.steps {
		if sr.s.Action != plan.ActionApproval || sr.state != StepDone {
			continue
		}
		out := sr.outputs
		_, err := r.runGate(cx{work: r.work, intr: r.intr}, sr)
		sr.state, sr.outputs = StepDone, out
		r.refresh("")
		if err != nil {
			var rej *errGateRejected
			if errors.As(err, &rej) {
				return fmt.Errorf("%s at gate %s: %s", ErrRevokeRejected, sr.s.ID, rej.msg)
			}
			return fmt.Errorf("%s at gate %s: %w", ErrRevokeRejected, sr.s.ID, err)
		}
	}
	return nil
}

// registerGrantHandlers installs the revoke Update and the approve and
// reject Updates of the revoke's gates.
func (r *interp) registerGrantHandlers() error {
	for _, name := range []string{UpdateApprove, UpdateReject} {
		err := workflow.SetUpdateHandlerWithOptions(r.root, name,
			func(ctx workflow.Context, raw json.RawMessage) error {
				d, v, err := r.checkDecision(name, raw, false)
				if err != nil {
					return err
				}
				r.applyDecision(name, d, v)
				return nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw json.RawMessage) error {
				_, _, err := r.checkDecision(name, raw, true)
				return err
			}})
		if err != nil {
			return fmt.Errorf("set %s update handler: %w", name, err)
		}
	}
	err := workflow.SetUpdateHandlerWithOptions(r.root, UpdateRevoke,
		func(ctx workflow.Context, raw json.RawMessage) error {
			a, v, err := r.checkRevoke(raw, false)
			if err != nil {
				return err
			}
			r.markUsed(a.Signature)
			comment := a.Reason
			if len(a.Only) > 0 {
				comment = strings.TrimSpace(comment + fmt.Sprintf(" (only %v and what depends on them)", a.Only))
			}
			r.addAudit(r.auditEntry(UpdateRevoke, "", comment, v), false)
			reason := "revoke requested"
			if a.Reason != "" {
				reason += ": " + a.Reason
			}
			r.revoke = &revokeReq{by: v.p.Name, reason: reason}
			if len(a.Only) > 0 {
				r.revoke.why, _ = r.closure(a.Only)
			}
			r.refresh("")
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw json.RawMessage) error {
			_, _, err := r.checkRevoke(raw, true)
			return err
		}})
	if err != nil {
		return fmt.Errorf("set %s update handler: %w", UpdateRevoke, err)
	}
	return nil
}

// checkRevoke decodes and checks a revoke: the grant must be Granted and not
// already revoking, and the identity one of the request's operators (as for
// rollback); it must not change state.
func (r *interp) checkRevoke(raw json.RawMessage, validator bool) (OperatorAction, verdict, error) {
	var a OperatorAction
	if err := r.checkPayload(raw, validator); err != nil {
		return a, verdict{}, err
	}
	if err := decodeStrict(raw, &a); err != nil {
		return a, verdict{}, err
	}
	if r.revoke != nil || r.stop != nil || r.final {
		return a, verdict{}, fmt.Errorf("the grant is already being revoked (phase %s)", r.phase)
	}
	if a.Step != "" || len(a.Inputs) > 0 {
		return a, verdict{}, fmt.Errorf("revoke takes no step and no inputs: it undoes the whole request, or the steps named by only")
	}
	digest := ""
	if len(a.Only) > 0 {
		units, err := r.preview(a.Only)
		if err != nil {
			return a, verdict{}, err
		}
		if len(units) == 0 {
			return a, verdict{}, fmt.Errorf("steps %v and those depending on them created nothing to undo", a.Only)
		}
		if digest, err = trust.DataDigest(map[string]any{"only": a.Only}); err != nil {
			return a, verdict{}, err
		}
	}
	p, err := r.authenticate(a.Identity, a.Signature, trust.Statement{Kind: UpdateRevoke, DataSHA256: digest, Comment: a.Reason})
	if err != nil {
		return a, verdict{}, err
	}
	if !r.snap.Configured {
		return a, verdict{p: p, policy: "operators not checked (no trust file)"}, nil
	}
	ops := r.operatorPolicy()
	by, ok := r.allowed(p.Name, ops)
	if !ok {
		return a, verdict{}, fmt.Errorf("%s is not an operator of this request and may not revoke it (operators: %v)", ident(p.Name), r.expand(ops))
	}
	return a, verdict{p: p, policy: "operators: " + by}, nil
}

// revoked ends a revoke after its compensations (from rollback).
func (r *interp) revoked() error {
	if len(r.leaks) > 0 {
		msg := fmt.Sprintf("revoke of %s: %s; %d compensation(s) failed, left behind:", r.req.Plan.Source.Name, r.stopReason(), len(r.leaks))
		for _, l := range r.leaks {
			msg += " " + l.Step + " " + l.Resource + ";"
		}
		r.refresh(PhaseFailed)
		details := r.progress()
		if r.recordV() {
			details = r.compactProgress()
		}
		return temporal.NewNonRetryableApplicationError(msg, ErrCompensationFailed, nil, details)
	}
	r.refresh(PhaseRevoked)
	return nil
}

// QueryRollbackPreview is the query (argument: step IDs, none for all) that
// lists what a rollback, revoke or partial revoke would compensate, in the
// order it would, without changing anything.
const QueryRollbackPreview = "rollback-preview"

// PreviewUnit is one unit a rollback would compensate.
type PreviewUnit struct {
	Step string `json:"step"`
	Item string `json:"item,omitempty"`
	// Action is the step's action, Compensation the undoing action.
	Action       string `json:"action"`
	Compensation string `json:"compensation"`
	// Resource names what the unit created.
	Resource string `json:"resource"`
	// Because says why the unit is included: "selected" or "depends on <step>".
	Because string `json:"because"`
}

// closure is the set of steps only names and every step that (transitively)
// depends on one of them, each with why it is included; nil only means all.
func (r *interp) closure(only []string) (map[string]string, error) {
	if len(only) == 0 {
		return nil, nil
	}
	why := map[string]string{}
	for _, id := range only {
		if _, ok := r.byID[id]; !ok {
			return nil, fmt.Errorf("no step %s in this request", quote(id))
		}
		why[id] = "selected"
	}
	for changed := true; changed; {
		changed = false
		for _, sr := range r.steps { // plan order: dependencies come first
			if _, in := why[sr.s.ID]; in {
				continue
			}
			for _, d := range sr.s.DependsOn {
				if _, in := why[d]; in {
					why[sr.s.ID] = "depends on " + d
					changed = true
					break
				}
			}
		}
	}
	return why, nil
}

// preview lists the completed units a rollback of the steps in only (and
// their dependents; all steps when only is empty) would compensate, in order.
func (r *interp) preview(only []string) ([]PreviewUnit, error) {
	why, err := r.closure(only)
	if err != nil {
		return nil, err
	}
	var out []PreviewUnit
	for i := len(r.done) - 1; i >= 0; i-- {
		c := r.done[i]
		comp := c.step.s.Compensation
		if comp == nil {
			continue
		}
		because := "selected"
		if why != nil {
			w, ok := why[c.step.s.ID]
			if !ok {
				continue
			}
			because = w
		}
		u := PreviewUnit{Step: c.step.s.ID, Action: c.step.s.Action, Compensation: comp.Action,
			Resource: describeResource(c.outputs), Because: because}
		if c.item != nil {
			u.Item = c.item.key
		}
		out = append(out, u)
	}
	return out, nil
}

// partialRevoke compensates the completed units of the steps in why, in
// reverse completion order under their lock keys, and keeps the others: the
// grant stays Granted with what is left.
func (r *interp) partialRevoke(why map[string]string) {
	ctx, _ := workflow.NewDisconnectedContext(r.root)
	var sel, keep []completion
	for _, c := range r.done {
		if _, in := why[c.step.s.ID]; in {
			sel = append(sel, c)
		} else {
			keep = append(keep, c)
		}
	}
	r.done = sel
	if r.span != nil {
		r.span.holdForRollback(ctx)
	}
	touched := map[*stepRun]bool{}
	var order []int
	for i := len(sel) - 1; i >= 0; i-- {
		if sel[i].step.s.Compensation != nil {
			order = append(order, i)
		}
	}
	r.undoAll(ctx, order, nil, func(c completion, err error) { // undo.go
		touched[c.step] = true
		state := StepCompensated
		if err != nil {
			state = StepCompFailed
			l := Leak{Step: c.step.s.ID, Action: c.step.s.Action, Resource: describeResource(c.outputs), Error: err.Error()}
			if c.item != nil {
				l.Item = c.item.key
			}
			r.leaks = append(r.leaks, l)
		}
		if c.item != nil {
			c.item.state = state
		} else {
			c.step.state = state
		}
		r.refresh("")
	})
	for _, sr := range r.steps {
		if !sr.fanout || !touched[sr] {
			continue
		}
		sr.state = StepCompensated
		for _, it := range sr.items {
			if it.state == StepCompFailed {
				sr.state = StepCompFailed
			}
		}
	}
	if r.span != nil {
		r.span.releaseAll(ctx)
	}
	r.done = keep
}
