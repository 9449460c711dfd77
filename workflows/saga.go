package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Compensation defaults: retried for hours before the resource is reported
// as left behind.
const (
	DefaultCompensationAttempts = 30
	DefaultCompensationTimeout  = 10 * time.Minute
)

var defaultCompensationRetry = temporal.RetryPolicy{
	InitialInterval:    5 * time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    10 * time.Minute,
	MaximumAttempts:    DefaultCompensationAttempts,
}

// rollback compensates the completed steps (and fan-out items) in reverse
// completion order in a context disconnected from the workflow's
// cancellation, then returns the workflow's final error.
func (r *interp) rollback() error {
	if r.revoking {
		r.refresh(PhaseRevoking)
	} else {
		r.refresh(PhaseRollingBack)
	}
	ctx, _ := workflow.NewDisconnectedContext(r.root)
	if r.span != nil {
		r.span.holdForRollback(ctx)
	}
	if r.compensated == nil {
		r.compensated = map[*stepRun]bool{}
	}
	compensated := r.compensated
	failed := r.carried.failed // carried from the last run (rollcan.go)
	var order []int
	for i := len(r.done) - 1; i >= 0; i-- {
		if r.done[i].step.s.Compensation != nil {
			order = append(order, i)
		}
	}
	revokePause := r.revoking && r.recordV()
	mayPause := func() bool { return revokePause || r.rollbackMayPause() }    // rollcan.go
	paused := r.undoAll(ctx, order, mayPause, func(c completion, err error) { // undo.go
		compensated[c.step] = true
		state := StepCompensated
		if err != nil {
			state = StepCompFailed
			l := Leak{Step: c.step.s.ID, Action: c.step.s.Action, Resource: describeResource(c.outputs), Error: err.Error()}
			if c.item != nil {
				l.Item = c.item.key
			}
			r.leaks = append(r.leaks, l)
			failed = append(failed, c)
		}
		if c.item != nil {
			c.item.state = state
		} else {
			c.step.state = state
		}
		r.refresh("")
	})
	if paused {
		// The grant (grant.go) or the request (rollcan.go) continues as
		// new with what is left.
		r.carried.failed = failed
		return errUndoPaused
	}
	r.retryLeaks(ctx, failed) // onFailure park: an operator may retry a failed compensation
	for _, sr := range r.steps {
		if !sr.fanout || !compensated[sr] {
			continue
		}
		st := StepCompensated
		for _, it := range sr.items {
			if it.state == StepCompFailed {
				st = StepCompFailed
			}
		}
		if sr.state == StepDone {
			sr.state = st
		} else if st == StepCompFailed {
			sr.lastErr = strings.TrimSpace(sr.lastErr + "; compensation failed for some items")
		}
	}
	r.final = true
	if r.revoking {
		return r.revoked()
	}
	errType, phase := ErrRolledBack, PhaseRolledBack
	if r.stop.abort {
		phase = PhaseFailed
	}
	msg := rolledBackMessage(r.stopReason(), len(r.leaks) > 0)
	if r.stop.abort {
		msg = "request aborted and rolled back: " + r.stopReason()
	}
	if len(r.leaks) > 0 {
		errType, phase = ErrCompensationFailed, PhaseFailed
		var res []string
		for _, l := range r.leaks {
			res = append(res, l.Step+" "+l.Resource)
		}
		msg += fmt.Sprintf("; %d compensation(s) failed, left behind: %s", len(r.leaks), strings.Join(res, "; "))
	}
	r.refresh(phase)
	return temporal.NewNonRetryableApplicationError(msg, errType, nil, r.failureProgress())
}

// compensate runs one compensation and, if it has one, its follow-up wait.
// A compensation that finds the resource already gone (plan.ErrNotFound) has
// nothing left to undo.
func (r *interp) compensate(ctx workflow.Context, c completion) error {
	s := c.step.s
	comp := s.Compensation
	env := r.env()
	env[plan.RootInput] = c.inputs
	env[plan.RootOutput] = map[string]any(c.outputs)
	key := r.idemKey(c.step, c.item) + c.suffix + "/undo"
	if c.item != nil {
		env = itemEnv(env, s.ForEach, c.item)
	}
	inputs, err := plan.ResolveAll(comp.Inputs, env)
	if err != nil {
		return fmt.Errorf("resolve compensation inputs: %w", err)
	}
	account := comp.Account
	if account == "" {
		account = s.Account
	}
	title := comp.Title
	if title == "" {
		title = "Undo " + s.Title
	}
	// A change other live requests share stays for them (samechange.go).
	if kept := r.keptForOthers(ctx, s); len(kept) > 0 {
		workflow.GetLogger(ctx).Info("compensation skipped: other live requests still need the change", "step", s.ID, "keptFor", kept)
		return nil
	}
	if r.budgets {
		return r.compensateRounds(ctx, s, account, inputs, title, key)
	}
	ao := workflow.ActivityOptions{
		StartToCloseTimeout: DefaultCompensationTimeout,
		RetryPolicy:         retryPolicy(comp.Retry, defaultCompensationRetry),
		Summary:             title,
	}
	if s.AttemptTimeout > 0 {
		ao.StartToCloseTimeout = s.AttemptTimeout.Std()
	}
	return r.compensateOnce(ctx, s, ao, account, inputs, title, key)
}

// compensateRounds runs a compensation under retry budgets: each round
// retries transient failures for DefaultCompensationBudget; a round that
// still fails for a reason that may clear is run again with a new
// idempotency key, up to CompensationRounds (one round when the plan gives
// the compensation a retry policy of its own).
func (r *interp) compensateRounds(ctx workflow.Context, s *plan.Step, account string, inputs map[string]any, title, key string) error {
	ao := budgetCompensationOptions(s, title)
	rounds := CompensationRounds
	if s.Compensation.Retry != nil {
		rounds = 1 // the plan's own retry policy is the whole budget
	}
	delay := compensationRoundDelay
	var err error
	for round := 0; round < rounds; round++ {
		if round > 0 {
			workflow.GetLogger(ctx).Warn("compensation failed; running it again", "step", s.ID, "round", round+1, "error", err)
			_ = workflow.NewTimerWithOptions(ctx, delay, workflow.TimerOptions{Summary: fmt.Sprintf("before round %d of %s", round+1, title)}).Get(ctx, nil)
			delay *= 2
		}
		err = r.compensateOnce(ctx, s, ao, account, inputs, title, roundKey(key, round))
		if err == nil {
			return nil
		}
		var ce *compErr
		if errors.As(err, &ce) && permanent(ce.cause) {
			return err
		}
	}
	if rounds == 1 {
		return err
	}
	return fmt.Errorf("%w (after %d rounds)", err, rounds)
}

// compErr is a failed compensation round: msg for the leak report, cause for the retry decision.
type compErr struct {
	msg   string
	cause error
}

func (e *compErr) Error() string { return e.msg }
func (e *compErr) Unwrap() error { return e.cause }

// compensateOnce runs a compensation's action and, if it has one, its follow-up wait.
func (r *interp) compensateOnce(ctx workflow.Context, s *plan.Step, ao workflow.ActivityOptions, account string, inputs map[string]any, title, key string) error {
	comp := s.Compensation
	call := plan.Call{Action: comp.Action, Account: account, Inputs: inputs, IdempotencyKey: key}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), comp.Action, call).Get(ctx, nil)
	var ae *temporal.ApplicationError
	if err != nil && !(errors.As(err, &ae) && ae.Type() == plan.ErrNotFound) {
		return &compErr{msg: fmt.Sprintf("%s: %s", comp.Action, errText(err)), cause: err}
	}
	if comp.Wait != nil && comp.WaitAction != "" {
		wc := plan.Call{Action: comp.WaitAction, Account: account, Inputs: inputs, IdempotencyKey: key}
		if _, err := r.wait(ctx, title+" (wait)", wc, *comp.Wait, func(string) {}); err != nil {
			return &compErr{msg: fmt.Sprintf("wait after %s: %s", comp.Action, errText(err)), cause: err}
		}
	}
	return nil
}

// describeResource names what a step created, from its outputs' identifying
// keys (id, *Id, *ID, arn, name), for the leak report.
func describeResource(out plan.Outputs) string {
	var parts []string
	for _, k := range sortedKeys(out) {
		lk := strings.ToLower(k)
		if lk == "id" || strings.HasSuffix(lk, "id") || strings.HasSuffix(lk, "ids") || strings.HasSuffix(lk, "arn") || lk == "name" {
			parts = append(parts, fmt.Sprintf("%s=%v", k, out[k]))
		}
	}
	if len(parts) == 0 {
		for _, k := range sortedKeys(out) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, out[k]))
		}
	}
	s := strings.Join(parts, " ")
	if s == "" {
		return "(no outputs)"
	}
	return oneLine(s, 300)
}
