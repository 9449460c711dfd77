package workflows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Same-change sharing (change ID sameChangeKeptChange). Requests that write
// the same Ambari config change coexist (ClaimSame, conflicts.go): the first
// writes the new version, the others find it desired and write nothing. A
// rollback restores the version its request replaced, which would take the
// change away from the others. Ambari records no users on a config version
// (a version is immutable: tag, properties, note), so the users are the live
// requests holding the same claim (resource and change), as visibility shows
// them:
//
//   - Before the compensation of an ambari.putConfig step, or of a restart
//     step (ambari.restoreAndRestart), the workflow asks SharedHoldersActivity
//     which other live requests hold the same change. If another one holds
//     every change the compensation would undo, the compensation is skipped:
//     the change stays for them (the step shows "kept for <request>").
//   - A request that found the change already written by another request
//     records that version's base as its previousTag (activities/ambari
//     config.go), so whichever of them rolls back last restores the version
//     the first one replaced.
//
// Requests rolling back, and Done requests whose grant is being revoked, do
// not count as holders (two let go together: both restore the same base).
// Limits: visibility lags, so a holder that has just started letting go may
// still count, and the other keeps the change; a restart
// step undoing several config types is skipped only when every one is still
// held by another request (otherwise it restores them all).
const sameChangeKeptChange = "topoflow-same-change-kept"

// SharedHoldersActivity lists the other live requests holding claims.
const SharedHoldersActivity = "topoflow.sharedHolders"

// SharedHoldersInput asks which other live requests hold every one of Claims.
type SharedHoldersInput struct {
	Claims   []Claim `json:"claims"`
	Provider string  `json:"provider"`
	Self     string  `json:"self"`
}

var sharedHoldersOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
	},
}

// SharedHolders returns the IDs of the requests among others (not self, not
// rolling back or rolled back) that hold every claim of mine (same resource,
// same change).
func SharedHolders(mine []Claim, self string, others []Holder) []string {
	var out []string
	for _, h := range others {
		if h.WorkflowID == self || h.Phase == PhaseRollingBack || h.Phase == PhaseRolledBack || h.Phase == PhaseFailed {
			continue
		}
		all := len(mine) > 0
		for _, c := range mine {
			found := false
			for _, o := range h.Claims {
				if o.Mode == ClaimSame && o.Resource == c.Resource && o.Holder == c.Holder {
					found = true
					break
				}
			}
			all = all && found
		}
		if all {
			out = append(out, h.WorkflowID)
		}
	}
	slices.Sort(out)
	return out
}

// registerSharedHolders registers SharedHoldersActivity, which asks c's visibility.
func registerSharedHolders(r worker.ActivityRegistry, c client.Client) {
	r.RegisterActivityWithOptions(func(ctx context.Context, in SharedHoldersInput) ([]string, error) {
		others, err := LiveHolders(ctx, c, in.Provider)
		if err != nil {
			return nil, err
		}
		// A Done request whose grant is being revoked is letting go too: of
		// two revoked together both restore (the same base, twice), rather
		// than both keeping the change.
		revoking, err := revokingRequests(ctx, c)
		if err != nil {
			return nil, err
		}
		others = slices.DeleteFunc(others, func(h Holder) bool { return revoking[h.WorkflowID] })
		out := SharedHolders(in.Claims, in.Self, others)
		if len(out) > 0 {
			activity.GetLogger(ctx).Info("change kept: other live requests hold it", "holders", out)
		}
		return out, nil
	}, activity.RegisterOptions{Name: SharedHoldersActivity})
}

// revokingRequests lists the requests whose grant is being revoked.
func revokingRequests(ctx context.Context, c client.Client) (map[string]bool, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", GrantWorkflowType, SAPhase.GetName(), PhaseRevoking)
	out := map[string]bool{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, fmt.Errorf("list revoking grants (%s): %w", q, err)
		}
		for _, info := range resp.GetExecutions() {
			out[strings.TrimSuffix(info.GetExecution().GetWorkflowId(), grantSuffix)] = true
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// sameChangeClaims are the ClaimSame claims a compensation of step s would
// undo: a putConfig step's own, or every one of the plan for a
// restoreAndRestart (it restores the putConfig steps' versions).
func (r *interp) sameChangeClaims(s *plan.Step) []Claim {
	var of func(Claim) bool
	switch {
	case s.Action == "ambari.putConfig":
		of = func(c Claim) bool { return c.Step == s.ID }
	case s.Compensation != nil && s.Compensation.Action == "ambari.restoreAndRestart":
		of = func(Claim) bool { return true }
	default:
		return nil
	}
	var out []Claim
	for _, c := range mergeClaims(PlanClaims(r.p), r.claims) {
		if c.Mode == ClaimSame && of(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// keptForOthers reports the other live requests that still need the change
// the compensation of s would undo (none: run it). Histories recorded before
// sameChangeKeptChange run every compensation.
func (r *interp) keptForOthers(ctx workflow.Context, s *plan.Step) []string {
	claims := r.sameChangeClaims(s)
	if len(claims) == 0 {
		return nil
	}
	if changeVersion(ctx, sameChangeKeptChange, 1) < 1 {
		return nil
	}
	in := SharedHoldersInput{Claims: claims, Provider: r.p.Provider, Self: strings.TrimSuffix(r.wfID, grantSuffix)}
	var holders []string
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sharedHoldersOptions), SharedHoldersActivity, in).Get(ctx, &holders); err != nil {
		// Visibility unavailable: undo as before (the other request's change
		// may be cut, which is what happened before this check).
		workflow.GetLogger(ctx).Warn("cannot tell whether other requests share the change; undoing it", "step", s.ID, "error", err)
		return nil
	}
	return holders
}
