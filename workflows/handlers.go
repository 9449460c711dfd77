package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// registerHandlers installs the Update handlers (with validators) and the
// Signal handlers of the same names for the Web UI's "Send Signal".
func (r *interp) registerHandlers() error {
	for _, name := range []string{UpdateApprove, UpdateReject, UpdateComplete} {
		err := workflow.SetUpdateHandlerWithOptions(r.root, name,
			func(ctx workflow.Context, d Decision) error {
				r.applyDecision(name, d)
				return nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d Decision) error {
				return r.validateDecision(name, d)
			}})
		if err != nil {
			return fmt.Errorf("set %s update handler: %w", name, err)
		}
	}
	for _, name := range []string{UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort} {
		err := workflow.SetUpdateHandlerWithOptions(r.root, name,
			func(ctx workflow.Context, a OperatorAction) error {
				r.applyOp(name, a)
				return nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, a OperatorAction) error {
				return r.validateOp(name, a)
			}})
		if err != nil {
			return fmt.Errorf("set %s update handler: %w", name, err)
		}
	}
	workflow.Go(r.root, r.signalLoop)
	return nil
}

// signalLoop applies signals with the same checks as the Updates; a signal
// that fails them is recorded in the audit as ignored.
func (r *interp) signalLoop(ctx workflow.Context) {
	names := []string{UpdateApprove, UpdateReject, UpdateComplete, UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort}
	sel := workflow.NewSelector(ctx)
	for _, name := range names {
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, more bool) {
			var raw json.RawMessage
			c.Receive(ctx, &raw)
			r.handleSignal(name, raw)
		})
	}
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

func (r *interp) handleSignal(name string, raw json.RawMessage) {
	var err error
	var step, identity string
	switch name {
	case UpdateApprove, UpdateReject, UpdateComplete:
		var d Decision
		if err = decodeStrict(raw, &d); err == nil {
			step, identity = d.Step, d.Identity
			if err = r.validateDecision(name, d); err == nil {
				r.applyDecision(name, d)
				return
			}
		}
	default:
		var a OperatorAction
		if err = decodeStrict(raw, &a); err == nil {
			step, identity = a.Step, a.Identity
			if err = r.validateOp(name, a); err == nil {
				r.applyOp(name, a)
				return
			}
		}
	}
	r.audit = append(r.audit, AuditEntry{
		At: workflow.Now(r.root), Action: name + " (signal ignored)", Step: step, Identity: identity, Comment: err.Error(),
	})
	r.refresh("")
}

// validateDecision checks an approve, reject or complete; it must not change state.
func (r *interp) validateDecision(name string, d Decision) error {
	sr, ok := r.byID[d.Step]
	if !ok {
		return fmt.Errorf("no step %q in this request", d.Step)
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
		return fmt.Errorf("%s may not %s step %q (allowed: %v)", d.Identity, name, d.Step, sr.s.Gate.Who)
	}
	if sr.state != StepWaiting || sr.decision != nil {
		return fmt.Errorf("step %q is not waiting for a decision (state %s)", d.Step, sr.state)
	}
	return nil
}

func (r *interp) applyDecision(name string, d Decision) {
	sr := r.byID[d.Step]
	now := workflow.Now(r.root)
	sr.decision = &gateDecision{kind: name, d: d, at: now}
	r.audit = append(r.audit, AuditEntry{At: now, Action: name, Step: d.Step, Identity: d.Identity, Comment: d.Comment})
	r.refresh("")
}

// validateOp checks retry, skip, rollback and abort; it must not change state.
func (r *interp) validateOp(name string, a OperatorAction) error {
	if a.Identity == "" {
		return fmt.Errorf("%s needs an identity", name)
	}
	if r.final {
		return fmt.Errorf("the request has finished")
	}
	var sr *stepRun
	if a.Step != "" {
		var ok bool
		if sr, ok = r.byID[a.Step]; !ok {
			return fmt.Errorf("no step %q in this request", a.Step)
		}
	}
	switch name {
	case UpdateRetry, UpdateSkip:
		if sr == nil {
			return fmt.Errorf("%s needs the parked step", name)
		}
		if sr.state != StepParked || sr.op != nil {
			return fmt.Errorf("step %q is not parked (state %s)", a.Step, sr.state)
		}
		if name == UpdateSkip && a.Reason == "" {
			return fmt.Errorf("skip needs a reason")
		}
		if name == UpdateRetry {
			for _, k := range sortedKeys(a.Inputs) {
				if _, ok := sr.s.Inputs[k]; !ok {
					return fmt.Errorf("step %q has no input %q", a.Step, k)
				}
			}
		}
	case UpdateRollback, UpdateAbort:
		if r.stop != nil {
			return fmt.Errorf("the request is already rolling back")
		}
		if sr != nil && sr.state != StepParked {
			return fmt.Errorf("step %q is not parked (state %s); omit the step to roll back the whole request", a.Step, sr.state)
		}
	default:
		return fmt.Errorf("unknown operator action %q", name)
	}
	return nil
}

func (r *interp) applyOp(name string, a OperatorAction) {
	comment := a.Reason
	if name == UpdateRetry && len(a.Inputs) > 0 {
		comment += fmt.Sprintf(" (changed inputs: %v)", sortedKeys(a.Inputs))
	}
	r.audit = append(r.audit, AuditEntry{At: workflow.Now(r.root), Action: name, Step: a.Step, Identity: a.Identity, Comment: comment})
	switch name {
	case UpdateRetry, UpdateSkip:
		r.byID[a.Step].op = &opDecision{kind: name, a: a}
		r.refresh("")
	case UpdateRollback, UpdateAbort:
		reason := name + " requested"
		if a.Reason != "" {
			reason += ": " + a.Reason
		}
		r.requestStop(name == UpdateAbort, a.Identity, reason)
	}
}
