package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Retry of a failed compensation. Under onFailure park, a step whose
// compensation kept failing (a 403 until a permission is fixed, say) is not
// reported as left behind at once: the rollback parks it and waits for an
// operator, who retries it once the cause is fixed (the compensation runs
// again, with the inputs it had) or skips it (the resource is left behind,
// as reported before). Under onFailure rollback the same holds since
// compensationRetryRollbackChange: a leak needs a person whatever the
// policy, and ending the request would leave nobody a way to retry once the
// cause is fixed. (A revoke's leaks under rollback still end the grant.)

// compensationRetryChange guards the parking of failed compensations:
// histories recorded before it end the rollback with the leaks reported.
const compensationRetryChange = "topoflow-compensation-retry"

// compensationRetryRollbackChange extends it to steps under onFailure
// rollback: histories recorded before it end such a rollback with the leaks
// reported.
const compensationRetryRollbackChange = "topoflow-compensation-retry-rollback"

// retryLeaks parks the steps (under onFailure park, and rollback since
// compensationRetryRollbackChange) whose compensation failed, in failed, until an operator retries or skips each. A retried
// compensation that succeeds removes its leak; one that fails again parks
// the step again. It runs in the rollback's disconnected context, before
// the request is final.
func (r *interp) retryLeaks(ctx workflow.Context, failed []completion) {
	pending := map[*stepRun][]completion{}
	var order []*stepRun
	rollbackToo := 0 // 1: leaks under onFailure rollback park too, -1: they do not (0: not asked yet)
	for _, c := range failed {
		if pol := r.policy(c.step); pol != plan.FailPark {
			if pol != plan.FailRollback || r.revoking {
				continue
			}
			if rollbackToo == 0 {
				rollbackToo = -1
				if changeVersion(ctx, compensationRetryRollbackChange, 1) >= 1 {
					rollbackToo = 1
				}
			}
			if rollbackToo < 0 {
				continue
			}
		}
		if _, ok := pending[c.step]; !ok {
			order = append(order, c.step)
		}
		pending[c.step] = append(pending[c.step], c)
	}
	if len(order) == 0 {
		return
	}
	if changeVersion(ctx, compensationRetryChange, 1) < 1 {
		return
	}
	for len(order) > 0 {
		for _, sr := range order {
			sr.state, sr.op, sr.compParked = StepParked, nil, true
			sr.awaiting = r.operators()
			sr.lastErr = "compensation failed: " + r.leakErrors(sr)
		}
		r.wantTrust(false)
		r.refresh(PhaseParked)
		var picked *stepRun
		_ = workflow.Await(ctx, func() bool {
			for _, sr := range order {
				if sr.op != nil {
					picked = sr
					return true
				}
			}
			return false
		})
		op := picked.op
		picked.op, picked.awaiting = nil, nil
		if op.kind == UpdateSkip {
			// Left behind, as reported; the operator's reason is in the audit.
			order = remove(order, picked)
			r.settleLeaked(picked, pending[picked])
			continue
		}
		picked.state = StepRunning
		picked.lastErr = ""
		r.refresh(PhaseRollingBack)
		var still []completion
		for _, c := range pending[picked] {
			if err := r.compensate(ctx, c); err != nil {
				r.setLeakError(c, err.Error())
				still = append(still, c)
				continue
			}
			r.dropLeak(c)
			if c.item != nil {
				c.item.state = StepCompensated
			}
		}
		pending[picked] = still
		if len(still) == 0 {
			order = remove(order, picked)
			r.settleLeaked(picked, nil)
		}
	}
	r.refresh(PhaseRollingBack)
}

// settleLeaked gives a step out of compensation parking its final state:
// a fan-out step goes back to done (the rollback derives its state from its
// items'), another is compensated unless left holds its completion.
func (r *interp) settleLeaked(sr *stepRun, left []completion) {
	sr.compParked = false
	sr.lastErr = ""
	switch {
	case sr.fanout:
		sr.state = StepDone
	case len(left) > 0:
		sr.state = StepCompFailed
	default:
		sr.state = StepCompensated
	}
	r.refresh("")
}

// leakErrors joins the errors of a step's leaks.
func (r *interp) leakErrors(sr *stepRun) string {
	msg := ""
	for _, l := range r.leaks {
		if l.Step != sr.s.ID {
			continue
		}
		if msg != "" {
			msg += "; "
		}
		if l.Item != "" {
			msg += l.Item + ": "
		}
		msg += l.Error
	}
	return msg
}

// leakOf returns the index of c's leak in r.leaks, or -1.
func (r *interp) leakOf(c completion) int {
	item := ""
	if c.item != nil {
		item = c.item.key
	}
	for i, l := range r.leaks {
		if l.Step == c.step.s.ID && l.Item == item {
			return i
		}
	}
	return -1
}

func (r *interp) dropLeak(c completion) {
	if i := r.leakOf(c); i >= 0 {
		r.leaks = append(r.leaks[:i], r.leaks[i+1:]...)
	}
}

func (r *interp) setLeakError(c completion, msg string) {
	if i := r.leakOf(c); i >= 0 {
		r.leaks[i].Error = msg
	}
}

func remove(list []*stepRun, sr *stepRun) []*stepRun {
	out := list[:0]
	for _, x := range list {
		if x != sr {
			out = append(out, x)
		}
	}
	return out
}

// checkCompRetry refuses what a retry of a failed compensation cannot take.
func checkCompRetry(sr *stepRun, a OperatorAction) error {
	if sr != nil && sr.compParked && len(a.Inputs) > 0 {
		return fmt.Errorf("step %q is parked because its compensation failed: retry runs the compensation again as it was; it takes no inputs", a.Step)
	}
	return nil
}
