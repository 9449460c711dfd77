package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
	"github.com/topoflow/topoflow/trust"
)

// registerHandlers installs the Update handlers (with validators) and the
// Signal handlers of the same names for the Web UI's "Send Signal". Both
// decode their payload the same strict way (unknown fields refused) and run
// the same checks.
func (r *interp) registerHandlers() error {
	for _, name := range []string{UpdateApprove, UpdateReject, UpdateComplete} {
		err := workflow.SetUpdateHandlerWithOptions(r.root, name,
			func(ctx workflow.Context, raw json.RawMessage) error {
				r.updateInTask() // handover.go
				if r.appliedBefore(ctx) {
					return nil
				}
				d, v, err := r.checkDecision(name, raw, false)
				if err != nil {
					return err
				}
				r.applyDecision(name, d, v)
				r.noteApplied(ctx)
				return nil
			},
			workflow.UpdateHandlerOptions{Description: updateDescriptions[name], Validator: func(ctx workflow.Context, raw json.RawMessage) error {
				if r.appliedBefore(ctx) {
					return nil
				}
				_, _, err := r.checkDecision(name, raw, true)
				return err
			}})
		if err != nil {
			return fmt.Errorf("set %s update handler: %w", name, err)
		}
	}
	for _, name := range []string{UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort} {
		err := workflow.SetUpdateHandlerWithOptions(r.root, name,
			func(ctx workflow.Context, raw json.RawMessage) error {
				r.updateInTask() // handover.go
				if r.appliedBefore(ctx) {
					return nil
				}
				a, v, err := r.checkOp(name, raw, false)
				if err != nil {
					return err
				}
				r.applyOp(name, a, v)
				r.noteApplied(ctx)
				return nil
			},
			workflow.UpdateHandlerOptions{Description: updateDescriptions[name], Validator: func(ctx workflow.Context, raw json.RawMessage) error {
				if r.appliedBefore(ctx) {
					return nil
				}
				_, _, err := r.checkOp(name, raw, true)
				return err
			}})
		if err != nil {
			return fmt.Errorf("set %s update handler: %w", name, err)
		}
	}
	if tookBundle(r.root) {
		r.declareSignals() // the loop starts when a signal waits (hotpath.go)
	} else {
		workflow.Go(r.root, r.signalLoop)
	}
	return nil
}

// signalLoop applies signals with the same checks as the Updates; a signal
// that fails them is recorded in the audit as ignored.
func (r *interp) signalLoop(ctx workflow.Context) {
	names := []string{UpdateApprove, UpdateReject, UpdateComplete, UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort}
	sel := workflow.NewSelector(ctx)
	for _, name := range names {
		sel.AddReceive(signalChannel(ctx, name), func(c workflow.ReceiveChannel, more bool) {
			var raw json.RawMessage
			c.Receive(ctx, &raw)
			r.handleSignal(name, raw)
		})
	}
	sel.AddReceive(signalChannel(ctx, SignalRefreshTrust), func(c workflow.ReceiveChannel, more bool) {
		var raw json.RawMessage
		c.Receive(ctx, &raw)
		r.wantTrust(true)
	})
	for {
		sel.Select(ctx)
	}
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return fmt.Errorf("no payload")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid payload: %v", err)
	}
	return nil
}

// checkPayload refuses an oversized payload before decoding it. Updates'
// validators always check it; signals only in runs with trustChange (older
// runs replay the signals they accepted).
func (r *interp) checkPayload(raw json.RawMessage, validator bool) error {
	if (validator || r.trustV >= 1) && len(raw) > MaxPayload {
		return fmt.Errorf("payload of %d bytes is larger than %d", len(raw), MaxPayload)
	}
	return nil
}

func (r *interp) handleSignal(name string, raw json.RawMessage) {
	var err error
	var step, identity string
	switch name {
	case UpdateApprove, UpdateReject, UpdateComplete:
		var d Decision
		var v verdict
		if d, v, err = r.checkDecision(name, raw, false); err == nil {
			r.applyDecision(name, d, v)
			return
		}
		step, identity = d.Step, d.Identity
	default:
		var a OperatorAction
		var v verdict
		if a, v, err = r.checkOp(name, raw, false); err == nil {
			r.applyOp(name, a, v)
			return
		}
		step, identity = a.Step, a.Identity
	}
	if isUnknownKey(err) {
		r.wantTrust(true)
	}
	e := AuditEntry{At: workflow.Now(r.root), Action: name + " (signal ignored)", Step: step, Identity: identity, Comment: err.Error()}
	if r.trustV >= 1 {
		e.Method = "refused"
	}
	r.addAudit(e, true)
	r.refresh("")
}

// checkDecision decodes and checks an approve, reject or complete and says
// who made it and which policy admits it; it must not change state.
func (r *interp) checkDecision(name string, raw json.RawMessage, validator bool) (Decision, verdict, error) {
	var d Decision
	if err := r.checkPayload(raw, validator); err != nil {
		return d, verdict{}, err
	}
	if err := decodeStrict(raw, &d); err != nil {
		return d, verdict{}, err
	}
	if r.trustV < 1 {
		if err := r.validateDecisionV0(name, d); err != nil {
			return d, verdict{}, err
		}
		return d, verdict{p: trust.Principal{Name: d.Identity, Method: trust.MethodUnverified}}, nil
	}
	sr, ok := r.byID[d.Step]
	if !ok {
		return d, verdict{}, fmt.Errorf("no step %s in this request", quote(d.Step))
	}
	want := plan.ActionApproval
	if name == UpdateComplete {
		want = plan.ActionManual
	}
	if sr.s.Action != want {
		return d, verdict{}, fmt.Errorf("step %q is a %s step; %s applies to %s steps", d.Step, sr.s.Action, name, want)
	}
	if (sr.state != StepWaiting && !r.gateHandedOver(sr)) || sr.decision != nil { // handover.go
		return d, verdict{}, fmt.Errorf("step %q is not waiting for a decision (state %s)", d.Step, sr.state)
	}
	digest := ""
	if len(d.Data) > 0 {
		if name != UpdateComplete {
			return d, verdict{}, fmt.Errorf("data applies to complete only, not %s", name)
		}
		b, err := json.Marshal(d.Data)
		if err != nil || len(b) > MaxData {
			return d, verdict{}, fmt.Errorf("data of %d bytes is larger than %d", len(b), MaxData)
		}
		if digest, err = trust.DataDigest(d.Data); err != nil {
			return d, verdict{}, err
		}
	}
	p, err := r.authenticate(d.Identity, d.Signature, trust.Statement{Kind: name, Step: d.Step, DataSHA256: digest, Comment: d.Comment})
	if err != nil {
		return d, verdict{}, err
	}
	g := sr.s.Gate
	by, ok := r.allowed(p.Name, g.Who)
	if !ok {
		return d, verdict{}, fmt.Errorf("%s may not %s step %q (allowed: %v)", ident(p.Name), name, d.Step, r.expand(g.Who))
	}
	if name == UpdateApprove {
		if p.Name == r.req.RequestedBy && !g.AllowSelfApproval {
			return d, verdict{}, fmt.Errorf("%s requested this change and may not approve it (the spec does not allow self-approval); ask another approver: %v",
				ident(p.Name), r.expand(g.Who))
		}
		for _, a := range sr.approvals {
			if a.p.Name == p.Name {
				return d, verdict{}, fmt.Errorf("%s already approved step %q; it needs %d distinct approvers (%d so far)", ident(p.Name), d.Step, required(g), len(sr.approvals))
			}
		}
	}
	policy := fmt.Sprintf("gate %s: who %s", d.Step, by)
	if name == UpdateApprove && required(g) > 1 {
		policy += fmt.Sprintf(" (%d of %d)", len(sr.approvals)+1, required(g))
	}
	return d, verdict{p: p, policy: policy}, nil
}

// validateDecisionV0 is the check of runs started before trustChange.
func (r *interp) validateDecisionV0(name string, d Decision) error {
	sr, ok := r.byID[d.Step]
	if !ok {
		return fmt.Errorf("no step %s in this request", quote(d.Step))
	}
	want := plan.ActionApproval
	if name == UpdateComplete {
		want = plan.ActionManual
	}
	if sr.s.Action != want {
		return fmt.Errorf("step %q is a %s step; %s applies to %s steps", d.Step, sr.s.Action, name, want)
	}
	if d.Identity == "" {
		return fmt.Errorf("%s needs an identity", name)
	}
	if !slices.Contains(sr.s.Gate.Who, d.Identity) {
		return fmt.Errorf("%s may not %s step %q (allowed: %v)", ident(d.Identity), name, d.Step, sr.s.Gate.Who)
	}
	if sr.state != StepWaiting || sr.decision != nil {
		return fmt.Errorf("step %q is not waiting for a decision (state %s)", d.Step, sr.state)
	}
	return nil
}

// quote quotes a caller's value for an error message, cut so no caller inflates it.
func quote(s string) string { return fmt.Sprintf("%q", cut(s, 128)) }

// ident is a caller's identity for an error message, cut.
func ident(s string) string { return cut(s, 128) }

func (r *interp) markUsed(sig *trust.Signature) {
	if sig != nil && r.trustV >= 1 {
		r.used[sig.Statement.Hash()] = true
	}
}

func (r *interp) auditEntry(action, step, comment string, v verdict) AuditEntry {
	e := AuditEntry{At: workflow.Now(r.root), Action: action, Step: step, Identity: v.p.Name, Comment: comment}
	if r.trustV >= 1 {
		e.Method, e.Detail, e.Policy = v.p.Method, v.p.Detail, v.policy
	}
	return e
}

func (r *interp) applyDecision(name string, d Decision, v verdict) {
	sr := r.byID[d.Step]
	now := workflow.Now(r.root)
	r.markUsed(d.Signature)
	d.Signature = nil
	d.Identity = v.p.Name
	r.addAudit(r.auditEntry(name, d.Step, d.Comment, v), false)
	if r.trustV >= 1 && name == UpdateApprove {
		sr.approvals = append(sr.approvals, gateApproval{p: v.p, policy: v.policy})
		if len(sr.approvals) < required(sr.s.Gate) {
			sr.awaiting = r.stillAwaiting(sr)
			r.refresh("")
			return
		}
		var by []string
		for _, a := range sr.approvals {
			by = append(by, a.p.Name)
		}
		sr.decision = &gateDecision{kind: name, d: d, at: now, by: by}
		r.refresh("")
		return
	}
	sr.decision = &gateDecision{kind: name, d: d, at: now}
	r.refresh("")
}

// stillAwaiting is who may still approve a gate: its approvers but those who did.
func (r *interp) stillAwaiting(sr *stepRun) []string {
	var out []string
	for _, w := range r.expand(sr.s.Gate.Who) {
		if !slices.ContainsFunc(sr.approvals, func(a gateApproval) bool { return a.p.Name == w }) {
			out = append(out, w)
		}
	}
	return out
}

// checkOp decodes and checks retry, skip, rollback and abort and says who
// acts and which policy admits it; it must not change state.
func (r *interp) checkOp(name string, raw json.RawMessage, validator bool) (OperatorAction, verdict, error) {
	var a OperatorAction
	if err := r.checkPayload(raw, validator); err != nil {
		return a, verdict{}, err
	}
	if err := decodeStrict(raw, &a); err != nil {
		return a, verdict{}, err
	}
	if r.trustV < 1 && a.Identity == "" {
		return a, verdict{}, fmt.Errorf("%s needs an identity", name)
	}
	if err := r.validateOp(name, a); err != nil {
		return a, verdict{}, err
	}
	if r.trustV < 1 {
		return a, verdict{p: trust.Principal{Name: a.Identity, Method: trust.MethodUnverified}}, nil
	}
	digest := ""
	if len(a.Inputs) > 0 {
		if name != UpdateRetry {
			return a, verdict{}, fmt.Errorf("inputs apply to retry only, not %s", name)
		}
		b, err := json.Marshal(a.Inputs)
		if err != nil || len(b) > MaxData {
			return a, verdict{}, fmt.Errorf("inputs of %d bytes are larger than %d", len(b), MaxData)
		}
		if digest, err = trust.DataDigest(a.Inputs); err != nil {
			return a, verdict{}, err
		}
	}
	p, err := r.authenticate(a.Identity, a.Signature, trust.Statement{Kind: name, Step: a.Step, DataSHA256: digest, Comment: a.Reason})
	if err != nil {
		return a, verdict{}, err
	}
	if !r.snap.Configured {
		// A worker without a trust file knows no one: operators are not
		// checked (as before); the audit says so.
		return a, verdict{p: p, policy: "operators not checked (no trust file)"}, nil
	}
	ops := r.operatorPolicy()
	by, ok := r.allowed(p.Name, ops)
	if !ok {
		return a, verdict{}, fmt.Errorf("%s is not an operator of this request and may not %s it (operators: %v)", ident(p.Name), name, r.expand(ops))
	}
	policy := "operators: " + by
	if name == UpdateRetry && len(a.Inputs) > 0 {
		if g := r.governingGate(a.Step); g != nil {
			gby, ok := r.allowed(p.Name, g.Gate.Who)
			if !ok {
				return a, verdict{}, fmt.Errorf("%s may not replace inputs of step %q: replaced inputs need an approver of gate %s (%v)",
					ident(p.Name), a.Step, g.ID, r.expand(g.Gate.Who))
			}
			if p.Name == r.req.RequestedBy && !g.Gate.AllowSelfApproval {
				return a, verdict{}, fmt.Errorf("%s requested this change and may not approve its replaced inputs (gate %s does not allow self-approval)", ident(p.Name), g.ID)
			}
			policy += fmt.Sprintf("; inputs approved under gate %s: who %s", g.ID, gby)
		}
	}
	return a, verdict{p: p, policy: policy}, nil
}

// validateOp checks the state of retry, skip, rollback and abort; it must not change state.
func (r *interp) validateOp(name string, a OperatorAction) error {
	if r.final {
		return fmt.Errorf("the request has finished")
	}
	var sr *stepRun
	if a.Step != "" {
		var ok bool
		if sr, ok = r.byID[a.Step]; !ok {
			return fmt.Errorf("no step %s in this request", quote(a.Step))
		}
	}
	switch name {
	case UpdateRetry, UpdateSkip:
		if sr == nil {
			return fmt.Errorf("%s needs the parked step", name)
		}
		if (sr.state != StepParked && !r.parkHandedOver(sr)) || sr.op != nil { // handover.go
			return fmt.Errorf("step %q is not parked (state %s)", a.Step, sr.state)
		}
		if name == UpdateSkip && a.Reason == "" {
			return fmt.Errorf("skip needs a reason")
		}
		if err := checkCompRetry(sr, a); err != nil {
			return err
		}
		if name == UpdateRetry {
			for _, k := range sortedKeys(a.Inputs) {
				if _, ok := sr.s.Inputs[k]; !ok {
					return fmt.Errorf("step %q has no input %s", a.Step, quote(k))
				}
			}
			if len(a.Inputs) > 0 {
				// Replaced inputs pass the gate policy's grant rules like the
				// plan's own (no 0.0.0.0/0 rule, no * whitelist), whatever the
				// plan opted in to: nobody reviewed them. A validator change
				// leaves no trace in history (a refused Update is not recorded).
				merged := make(map[string]any, len(sr.inputs)+len(a.Inputs))
				for k, v := range sr.inputs {
					merged[k] = v
				}
				for k, v := range a.Inputs {
					merged[k] = v
				}
				if err := policy.CheckReplacedInputs(r.p, a.Step, merged); err != nil {
					return fmt.Errorf("replaced inputs refused: %w", err)
				}
			}
		}
	case UpdateRollback, UpdateAbort:
		if len(a.Only) > 0 {
			return fmt.Errorf("a partial rollback (only) applies to a Done request's grant; while the request runs, roll it back whole or retry the parked step")
		}
		if r.stop != nil {
			return fmt.Errorf("the request is already rolling back")
		}
		if sr != nil && sr.state != StepParked && !r.parkHandedOver(sr) {
			return fmt.Errorf("step %q is not parked (state %s); omit the step to roll back the whole request", a.Step, sr.state)
		}
	default:
		return fmt.Errorf("unknown operator action %q", name)
	}
	return nil
}

func (r *interp) applyOp(name string, a OperatorAction, v verdict) {
	r.markUsed(a.Signature)
	a.Signature = nil
	a.Identity = v.p.Name
	comment := a.Reason
	if name == UpdateRetry && len(a.Inputs) > 0 {
		comment += fmt.Sprintf(" (changed inputs: %v)", sortedKeys(a.Inputs))
	}
	r.addAudit(r.auditEntry(name, a.Step, comment, v), false)
	switch name {
	case UpdateRetry, UpdateSkip:
		if op := (&opDecision{kind: name, a: a}); !r.holdOp(r.byID[a.Step], op) { // handover.go
			r.byID[a.Step].op = op
		}
		r.refresh("")
	case UpdateRollback, UpdateAbort:
		reason := name + " requested"
		if a.Reason != "" {
			reason += ": " + a.Reason
		}
		r.requestStop(name == UpdateAbort, a.Identity, reason)
	}
}
