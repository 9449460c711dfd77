package workflows

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/trust"
)

// Register registers the interpreter (as WorkflowType), the lock
// workflow (as LockWorkflowType) and the grant workflow (as GrantWorkflowType) on a worker or test environment.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(LockWorkflow, workflow.RegisterOptions{Name: LockWorkflowType})
	r.RegisterWorkflowWithOptions(Grant, workflow.RegisterOptions{Name: GrantWorkflowType})
}

// StartOptions are the options every starter uses: the ID derives from the
// spec's identity and a running request with that ID is attached to rather
// than duplicated (conflict policy USE_EXISTING); a finished request may be
// started again only if it failed or was rolled back (reuse policy
// ALLOW_DUPLICATE_FAILED_ONLY; override it to re-apply a succeeded spec). The
// typed search attributes, the memo with the plan's sha256 and the Web UI's
// summary and details are set at start. Check a running request's plan with
// CheckSamePlan first: USE_EXISTING attaches whatever plan it runs.
func StartOptions(req Request, taskQueue string) client.StartWorkflowOptions {
	if taskQueue == "" {
		taskQueue = DefaultTaskQueue
	}
	sha := req.PlanSHA256
	if sha == "" {
		sha, _ = req.Plan.Hash()
	}
	p := req.Plan
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(p.Source),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SASpec.ValueSet(p.Source.Name),
			SAKind.ValueSet(p.Source.Kind),
			SAProvider.ValueSet(p.Provider),
			SAPhase.ValueSet(PhaseRunning),
		),
		Memo: map[string]any{MemoPlanSHA256: sha,
			// Read by the conflict checks (conflicts_client.go) without the history.
			MemoClaims: PlanClaims(&p), MemoRequestedBy: req.RequestedBy,
			// Read by topoflow list (a list returns memos, not the user metadata).
			MemoSummary: p.Summary, MemoLabels: p.Source.Labels},
		StaticSummary: p.Summary,
		StaticDetails: p.Details,
	}
}

// PlanSHA256FromMemo reads the plan sha256 that StartOptions put in the memo.
func PlanSHA256FromMemo(m *commonpb.Memo) (string, error) {
	if m == nil || m.GetFields()[MemoPlanSHA256] == nil {
		return "", fmt.Errorf("memo has no %s", MemoPlanSHA256)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(m.GetFields()[MemoPlanSHA256], &s); err != nil {
		return "", fmt.Errorf("decode memo %s: %w", MemoPlanSHA256, err)
	}
	return s, nil
}

// ErrPlanChanged is returned by CheckSamePlan when the running request of a
// spec runs a different plan.
var ErrPlanChanged = errors.New("a different version of this spec is running")

// CheckSamePlan refuses to apply req while a request of the same spec runs a
// different plan. It returns nil when no request runs, or when the running
// one has req's plan (apply then attaches to it).
func CheckSamePlan(ctx context.Context, c client.Client, req Request) error {
	id := WorkflowID(req.Plan.Source)
	sha := req.PlanSHA256
	if sha == "" {
		var err error
		if sha, err = req.Plan.Hash(); err != nil {
			return err
		}
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe workflow %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil
	}
	running, err := PlanSHA256FromMemo(info.GetMemo())
	if err != nil {
		return fmt.Errorf("workflow %s: %w", id, err)
	}
	if running != sha {
		return fmt.Errorf("%w: workflow %s (run %s) runs plan %.12s, this spec compiles to plan %.12s; "+
			"wait for it to finish, or roll it back (topoflow rollback) and apply again",
			ErrPlanChanged, id, info.GetExecution().GetRunId(), running, sha)
	}
	return nil
}

// RegisterTrust registers load as TrustActivity: the activity that gives a
// request the worker's trust snapshot (the worker's is app.RegisterTrust).
func RegisterTrust(r worker.ActivityRegistry, load func(context.Context) (trust.Snapshot, error)) {
	r.RegisterActivityWithOptions(load, activity.RegisterOptions{Name: TrustActivity})
}

// RegisterCompile registers compile as CompileActivity: it compiles a
// request's spec on the worker and returns the plan's sha256 (the worker's
// is app.RegisterCompile).
func RegisterCompile(r worker.ActivityRegistry, compile func(context.Context, SpecSource) (string, error)) {
	r.RegisterActivityWithOptions(compile, activity.RegisterOptions{Name: CompileActivity})
}
