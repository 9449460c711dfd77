package workflows

import (
	"context"
	"encoding/json"

	"go.temporal.io/sdk/temporal"
)

// A request rolled back on purpose (rejected, expired, a failed step under
// onFailure rollback, an operator's rollback or a cancel) that left nothing
// behind completes normally since rolledBackChange, with a Result whose
// Outcome is OutcomeRolledBack: the Web UI shows it Completed, not as a red
// "Failed" with a prominent Reset. An abort, or a rollback that left
// resources behind, still fails (with ErrRolledBack or ErrCompensationFailed).

// rolledBackChange guards the completion of a clean rollback: histories
// recorded before it fail with ErrRolledBack.
const rolledBackChange = "topoflow-rolled-back-completes"

// OutcomeRolledBack is Result.Outcome of a request that was rolled back and
// left nothing behind.
const OutcomeRolledBack = PhaseRolledBack

// rolledBackResult is the Result a clean rollback completes with (ok false:
// the request fails with err, as before rolledBackChange).
func (r *interp) rolledBackResult(err error) (Result, bool) {
	if r.revoking || r.phase != PhaseRolledBack || err == nil {
		return Result{}, false
	}
	ae, ok := err.(*temporal.ApplicationError)
	if !ok || ae.Type() != ErrRolledBack {
		return Result{}, false
	}
	if changeVersion(r.root, rolledBackChange, 1) < 1 {
		return Result{}, false
	}
	return Result{Outcome: OutcomeRolledBack, Message: ae.Message(), Summary: r.summary()}, true
}

// Err is the error a Result stands for: an ErrRolledBack application error
// (its message the Result's) for a rolled-back request, nil otherwise.
func (res Result) Err() error {
	if res.Outcome == OutcomeRolledBack {
		return temporal.NewNonRetryableApplicationError(res.Message, ErrRolledBack, nil)
	}
	return nil
}

// Waiter is what Wait waits for (client.WorkflowRun).
type Waiter interface {
	Get(ctx context.Context, valuePtr any) error
}

// Wait waits for a request's run to end and returns its error: the
// workflow's, or for a request that completed rolled back the ErrRolledBack
// error of Result.Err, so that callers see every request that did not
// succeed as an error, whichever version ran it.
func Wait(ctx context.Context, run Waiter) error {
	var raw json.RawMessage
	if err := run.Get(ctx, &raw); err != nil {
		return err
	}
	var res struct {
		Outcome string `json:"outcome"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &res) != nil {
		return nil // not a Result (another workflow's): it succeeded
	}
	return Result{Outcome: res.Outcome, Message: res.Message}.Err()
}
