package workflows

import "go.temporal.io/sdk/workflow"

// runScopedKeysChange makes idempotency keys unique to one request's run
// chain instead of its workflow ID. A spec applied again after its revoke or
// rollback starts a new workflow execution with the same ID; with keys built
// from the ID alone its creates carried the first execution's client tokens,
// and the clouds answer a repeated token with the original result for a long
// time (Amazon EC2: "A client token is valid for at least 24 hours after the
// termination of the instance"; a repeat "returns the result of the original
// request", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html):
// the re-applied request would be handed the deleted endpoint service.
const runScopedKeysChange = "topoflow-run-scoped-keys"

// keyBaseOf returns the prefix of a request's idempotency keys: the workflow
// ID and the first run ID of its chain (stable across continue-as-new and
// reset, new on every apply), or the workflow ID alone for requests started
// before the change. A continued run takes its chain's base from the state
// it resumes (a chain started before the change keeps the old base).
func keyBaseOf(ctx workflow.Context, req Request) string {
	info := workflow.GetInfo(ctx)
	id := info.WorkflowExecution.ID
	if req.Resume != nil {
		if req.Resume.KeyBase != "" {
			return req.Resume.KeyBase
		}
		return id
	}
	if changeVersion(ctx, runScopedKeysChange, 1) < 1 || info.FirstRunID == "" {
		return id
	}
	return id + "@" + info.FirstRunID
}
