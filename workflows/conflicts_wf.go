package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// conflictsChange (GetVersion) adds the conflict checks: before the first
// step, and again before each claiming step's action (under its lock), the
// interpreter runs ConflictsActivity; a request that another, earlier live
// request stands in the way of is refused (before the first step: nothing is
// created) or fails that step (it rolls back). Histories recorded before it,
// and plans without claims, run no check.
const conflictsChange = "topoflow-conflicts"

// MemoClaims is the memo key listing a request's claims: the plan's (set by
// StartOptions) and those its steps took with their inputs resolved (only
// known at run time). MemoRequestedBy holds who applied it; MemoSummary and
// MemoLabels the plan's summary and metadata.labels (for topoflow list).
const (
	MemoClaims      = "claims"
	MemoRequestedBy = "requestedBy"
	MemoSummary     = "summary"
	MemoLabels      = "labels"
)

var conflictsActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		// Visibility unavailable is transient; a refusal is not (ErrConflict).
		MaximumAttempts: 10, NonRetryableErrorTypes: []string{ErrConflict},
	},
}

// conflictsOn reports whether the checks run (the plan claims something;
// GetVersion is asked once, so histories without claims are unchanged).
func (r *interp) conflictsOn() bool {
	if r.conflictsV == nil {
		v := workflow.DefaultVersion
		if len(PlanClaims(r.p)) > 0 || r.hasClaimingSteps() {
			v = changeVersion(r.root, conflictsChange, 1)
		}
		r.conflictsV = &v
	}
	return *r.conflictsV >= 1
}

func (r *interp) hasClaimingSteps() bool {
	for i := range r.p.Steps {
		if claimRules[r.p.Steps[i].Action] != nil {
			return true
		}
	}
	return false
}

// checkConflicts runs ConflictsActivity for claims.
func (r *interp) checkConflicts(ctx workflow.Context, claims []Claim) error {
	in := ConflictsInput{Claims: claims, Provider: r.p.Provider, Self: r.wfID,
		StartedUnixNano: r.firstStarted()} // rollcan.go
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, conflictsActivityOptions), ConflictsActivity, in).Get(ctx, nil)
}

// checkPlanConflicts refuses the request before its first step when an
// earlier live request holds one of the plan's claims.
func (r *interp) checkPlanConflicts() error {
	on := r.conflictsOn() // asked here, in setup, for every plan with claiming steps
	claims := PlanClaims(r.p)
	if len(claims) == 0 || !on {
		return nil
	}
	if err := r.checkConflicts(r.work, claims); err != nil {
		_ = workflow.UpsertTypedSearchAttributes(r.root, SAPhase.ValueSet(PhaseFailed))
		r.phase, r.lastUpsertPhase = PhaseFailed, PhaseFailed
		return temporal.NewNonRetryableApplicationError("before any step: "+errText(err), ErrConflict, nil)
	}
	return nil
}

// checkStepClaim runs before a claiming step's action, under its lock: the
// claim with resolved inputs is checked again (a request started at the same
// time may not have been visible at the start) and recorded in the memo.
func (r *interp) checkStepClaim(c cx, sr *stepRun, inputs map[string]any, keys []string) error {
	if !r.conflictsOn() {
		return nil
	}
	cl, ok := StepClaim(sr.s, inputs, keys)
	if !ok {
		return nil
	}
	if err := r.checkConflicts(c.work, []Claim{cl}); err != nil {
		return err
	}
	for _, have := range r.claims {
		if have == cl {
			return nil
		}
	}
	r.claims = append(r.claims, cl)
	if err := workflow.UpsertMemo(r.root, map[string]any{MemoClaims: mergeClaims(PlanClaims(r.p), r.claims)}); err != nil {
		workflow.GetLogger(r.root).Warn("upsert claims memo failed", "error", err)
	}
	return nil
}
