package workflows

// Apply starts a request or attaches to it in one call with Temporal's
// Update-With-Start: the start (conflict policy USE_EXISTING) and the attach
// Update travel together, and the attach Update's validator, run by the
// workflow itself, refuses a different plan. Two applies of different plans
// at once cannot both succeed: one starts the request, the other meets the
// started request's validator.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// UpdateAttach is the Update that Apply sends with its start (payload
// Attach, result AttachResult).
const UpdateAttach = "attach"

// Attach is the payload of the attach Update.
type Attach struct {
	// PlanSHA256 is the plan the caller applies; a request running another
	// plan refuses the Update.
	PlanSHA256 string `json:"planSha256"`
	// ApplyID is the caller's Request.ApplyID: the request says it was
	// started by this apply when its own ApplyID is the same.
	ApplyID string `json:"applyId,omitempty"`
	// Identity is who applies (for messages only).
	Identity string `json:"identity,omitempty"`
}

// AttachResult is the attach Update's result.
type AttachResult struct {
	// Started: this apply started the request (else it attached to it).
	Started     bool      `json:"started"`
	PlanSHA256  string    `json:"planSha256"`
	Phase       string    `json:"phase"`
	RequestedBy string    `json:"requestedBy,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
}

// Outcomes of Apply.
const (
	// AppliedStarted: the apply started a new request.
	AppliedStarted = "started"
	// AppliedAttached: a request of the same plan was running; the apply attached to it.
	AppliedAttached = "attached"
	// AppliedDone: a request of the same plan is Done (granted); nothing was started.
	AppliedDone = "done"
	// AppliedChanging: the request is Done and granted; its grant runs the
	// new plan as a delta (Applied.Change).
	AppliedChanging = "changing"
)

// Applied is what Apply did.
type Applied struct {
	Outcome     string    `json:"outcome"`
	WorkflowID  string    `json:"workflowId"`
	RunID       string    `json:"runId"`
	PlanSHA256  string    `json:"planSha256"`
	Phase       string    `json:"phase,omitempty"`
	RequestedBy string    `json:"requestedBy,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitempty"`
	// DoneAt and Outputs are set when Outcome is AppliedDone.
	DoneAt  time.Time      `json:"doneAt,omitempty"`
	Outputs map[string]any `json:"outputs,omitempty"`
	// Grant is the Done request's grant workflow (AppliedDone, AppliedChanging).
	Grant string `json:"grant,omitempty"`
	// Change is the change the grant accepted (AppliedChanging).
	Change *ChangeResult `json:"change,omitempty"`
}

// changeGrant sends a change Update to a Done request's grant.
func changeGrant(ctx context.Context, c client.Client, done doneReq, req Request) (Applied, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: done.Grant, UpdateName: UpdateChange, Args: []any{ChangeRequest{Request: req}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res ChangeResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return Applied{}, fmt.Errorf("%w: grant %s refused the change: %s", ErrPlanChanged, done.Grant, app.Message())
		}
		return Applied{}, fmt.Errorf("change grant %s: %w", done.Grant, err)
	}
	a := done.Applied
	a.Outcome, a.PlanSHA256, a.Phase, a.Change = AppliedChanging, req.PlanSHA256, PhaseChanging, &res
	return a, nil
}

// ErrDone is returned by Apply when the spec's request is Done with a
// different plan: it must be revoked before another plan can run.
var ErrDone = errors.New("this spec's request is Done with a different plan")

// Apply starts req's request, or attaches to its running request when that
// runs the same plan, in one Update-With-Start call; it refuses (ErrPlanChanged)
// when the running request runs a different plan. When the request is Done it
// starts nothing: it reports AppliedDone for the same plan and refuses
// (ErrDone) a different one; once the Done request was revoked, or when it
// completed rolled back, it starts a new run.
func Apply(ctx context.Context, c client.Client, req Request, taskQueue string) (Applied, error) {
	return apply(ctx, c, req, taskQueue, false)
}

// ApplyRefresh is Apply, except that a Done request whose grant holds this
// very plan runs it again as a delta (change.go): the cloud is read again
// and what changed there (e.g. new brokers) is added.
func ApplyRefresh(ctx context.Context, c client.Client, req Request, taskQueue string) (Applied, error) {
	return apply(ctx, c, req, taskQueue, true)
}

func apply(ctx context.Context, c client.Client, req Request, taskQueue string, refresh bool) (Applied, error) {
	id := WorkflowID(req.Plan.Source)
	if req.PlanSHA256 == "" {
		sha, err := req.Plan.Hash()
		if err != nil {
			return Applied{}, err
		}
		req.PlanSHA256 = sha
	}
	if req.ApplyID == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return Applied{}, fmt.Errorf("apply ID: %w", err)
		}
		req.ApplyID = hex.EncodeToString(b)
	}
	opts := StartOptions(req, taskQueue)
	for attempt := 0; ; attempt++ {
		op := c.NewWithStartWorkflowOperation(opts, WorkflowType, req)
		h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateName:   UpdateAttach,
				Args:         []any{Attach{PlanSHA256: req.PlanSHA256, ApplyID: req.ApplyID, Identity: req.RequestedBy}},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		var res AttachResult
		if err == nil {
			err = h.Get(ctx, &res)
			if err == nil {
				a := Applied{Outcome: AppliedAttached, WorkflowID: id, RunID: h.RunID(), PlanSHA256: res.PlanSHA256,
					Phase: res.Phase, RequestedBy: res.RequestedBy, StartedAt: res.StartedAt}
				if res.Started {
					a.Outcome = AppliedStarted
				}
				return a, nil
			}
			var app *temporal.ApplicationError
			if errors.As(err, &app) {
				return Applied{}, fmt.Errorf("%w: %s", ErrPlanChanged, app.Message())
			}
			return Applied{}, fmt.Errorf("attach to request %s: %w", id, err)
		}
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) {
			return Applied{}, fmt.Errorf("start request %s: %w", id, err)
		}
		// The reuse policy refused a new run: the last one succeeded (Done).
		done, err := doneRequest(ctx, c, id)
		if err != nil {
			return Applied{}, err
		}
		if (done.revoked || done.rolledBack) && attempt == 0 {
			// Its grant was revoked, or it completed rolled back
			// (rolledBackChange): nothing it created is left; a new run may start.
			opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
			continue
		}
		if done.Grant != "" && (done.PlanSHA256 != req.PlanSHA256 || refresh) {
			// Granted: the change runs as a delta in the grant.
			return changeGrant(ctx, c, done, req)
		}
		if done.PlanSHA256 != req.PlanSHA256 {
			return Applied{}, fmt.Errorf("%w: request %s (run %s) is Done with plan %.12s since %s; this spec compiles to plan %.12s; "+
				"revoke it first (topoflow revoke %s), then apply again", ErrDone, id, done.RunID, done.PlanSHA256,
				done.DoneAt.UTC().Format(time.RFC3339), req.PlanSHA256, id)
		}
		return done.Applied, nil
	}
}

type doneReq struct {
	Applied
	revoked, rolledBack bool
}

// doneRequest describes the last run of a request that ended successfully.
func doneRequest(ctx context.Context, c client.Client, id string) (doneReq, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return doneReq{}, fmt.Errorf("describe request %s: %w", id, err)
	}
	info := d.GetWorkflowExecutionInfo()
	sha, err := PlanSHA256FromMemo(info.GetMemo())
	if err != nil {
		return doneReq{}, fmt.Errorf("request %s: %w", id, err)
	}
	out := doneReq{Applied: Applied{Outcome: AppliedDone, WorkflowID: id, RunID: info.GetExecution().GetRunId(),
		PlanSHA256: sha, Phase: PhaseDone, StartedAt: info.GetStartTime().AsTime(), DoneAt: info.GetCloseTime().AsTime()}}
	var res Result
	if err := c.GetWorkflow(ctx, id, out.RunID).Get(ctx, &res); err == nil {
		if res.Outcome == OutcomeRolledBack {
			out.rolledBack = true
			return out, nil
		}
		out.Outputs = res.Outputs
	}
	gid := GrantWorkflowID(id)
	g, err := c.DescribeWorkflowExecution(ctx, gid, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return doneReq{}, fmt.Errorf("describe grant %s: %w", gid, err)
	case g.GetWorkflowExecutionInfo().GetStartTime().AsTime().Before(out.StartedAt):
		// A grant of an older run of this request.
	case g.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		out.Grant = gid
		out.Phase = PhaseGranted
		if sha, err := PlanSHA256FromMemo(g.GetWorkflowExecutionInfo().GetMemo()); err == nil && sha != "" {
			out.PlanSHA256 = sha // the plan the grant holds now (changed by a delta)
		}
	case g.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		out.revoked = true
	}
	return out, nil
}

// registerAttach installs the attach Update: its validator refuses a
// different plan; it changes no state.
func (r *interp) registerAttach() error {
	check := func(raw json.RawMessage) (Attach, error) {
		var a Attach
		if err := r.checkPayload(raw, true); err != nil {
			return a, err
		}
		if err := decodeStrict(raw, &a); err != nil {
			return a, err
		}
		if a.PlanSHA256 != r.sha {
			by := ""
			if r.req.RequestedBy != "" {
				by = ", requested by " + ident(r.req.RequestedBy)
			}
			return a, fmt.Errorf("request %s (run %s%s, phase %s) runs plan %.12s; this spec compiles to plan %.12s: "+
				"wait for it to finish, or roll it back (topoflow rollback %s) and apply again",
				r.wfID, r.runID, by, r.phase, r.sha, cut(a.PlanSHA256, 64), r.wfID)
		}
		return a, nil
	}
	return workflow.SetUpdateHandlerWithOptions(r.root, UpdateAttach,
		func(ctx workflow.Context, raw json.RawMessage) (AttachResult, error) {
			a, err := check(raw)
			if err != nil {
				return AttachResult{}, err
			}
			phase := r.phase
			if phase == "" {
				phase = PhaseRunning // still setting up
			}
			return AttachResult{Started: a.ApplyID != "" && a.ApplyID == r.req.ApplyID, PlanSHA256: r.sha, Phase: phase,
				RequestedBy: r.req.RequestedBy, StartedAt: workflow.GetInfo(ctx).WorkflowStartTime}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw json.RawMessage) error {
			_, err := check(raw)
			return err
		}})
}
