package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// Lock workflows are Topoflow's internals: the Web UI's list should show
// people their requests, not the locks between them. A lock workflow marks
// itself with TopoflowKind = KindLock (so a saved view can leave locks out:
// `TopoflowKind != "Lock"`, or show only requests: `WorkflowType =
// "topoflow.Interpreter"`), says in its summary and current details what it
// is, and its signals carry descriptions saying they are internal.

// KindLock is the TopoflowKind search attribute value of lock workflows
// (requests carry their spec's kind: KafkaAccess, Workflow).
const KindLock = "Lock"

// lockVisibilityChange guards the lock workflow's search attribute upsert.
const lockVisibilityChange = "topoflow-lock-visibility"

// ListQueryRequests and ListQueryLocks are the visibility queries (and the
// Web UI filters) of requests only and of lock workflows only.
const (
	ListQueryRequests = `WorkflowType = "` + WorkflowType + `"`
	ListQueryLocks    = `TopoflowKind = "` + KindLock + `"`
)

// lockSummary is the static summary of a lock workflow started for key.
func lockSummary(key string) string {
	return "Topoflow internal lock " + key + " (serializes requests; not a request)"
}

// markLockWorkflow sets TopoflowKind = KindLock on a lock workflow once
// (a continued-as-new run keeps its search attributes).
func markLockWorkflow(ctx workflow.Context) {
	if workflow.GetVersion(ctx, lockVisibilityChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	if k, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(SAKind); ok && k == KindLock {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAKind.ValueSet(KindLock)); err != nil {
		workflow.GetLogger(ctx).Warn("mark lock workflow", "error", err)
	}
}

// lockDetails is a lock workflow's current details: what it is, who holds
// the key, who waits, and how an operator frees a key whose holder is gone.
func lockDetails(st LockState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "🔒 **Topoflow internal lock** `%s` — not a request: nothing to approve here.\n\n", mdText(st.Key))
	b.WriteString("It lets one request at a time change what this key names; requests ask for it and release it themselves.\n\n")
	if st.Holder == nil {
		b.WriteString("**Held by**: nobody\n\n")
	} else {
		fmt.Fprintf(&b, "**Held by**: `%s`\n\n", mdText(st.Holder.WorkflowID))
	}
	if len(st.Queue) > 0 {
		fmt.Fprintf(&b, "**Waiting** (%d):\n\n", len(st.Queue))
		for i, q := range st.Queue {
			if i == 20 {
				fmt.Fprintf(&b, "- … and %d more\n", len(st.Queue)-i)
				break
			}
			fmt.Fprintf(&b, "- `%s`\n", mdText(q.WorkflowID))
		}
		b.WriteString("\n")
	}
	if st.Holder != nil {
		fmt.Fprintf(&b, "Only if that request was terminated while holding the key, free it (signal `%s` with the holder's token):\n\n```\n%s\n```\n",
			SignalLockRelease, fmt.Sprintf("temporal workflow signal --workflow-id %s --name %s --input '%s'",
				shellQuote(LockWorkflowID(st.Key)), SignalLockRelease, payload(st.Holder.Token)))
	}
	return b.String()
}

// signalDescriptions describe the signals in the Web UI's "Send a Signal".
var signalDescriptions = map[string]string{
	UpdateApprove:      "Kept for compatibility: prefer the Update approve (a refused signal is only recorded in the audit). Input {\"step\": …, \"identity\": …}",
	UpdateReject:       "Kept for compatibility: prefer the Update reject. Input {\"step\": …, \"identity\": …, \"comment\": …}",
	UpdateComplete:     "Kept for compatibility: prefer the Update complete. Input {\"step\": …, \"identity\": …, \"data\": {…}}",
	UpdateRetry:        "Kept for compatibility: prefer the Update retry. Input {\"step\": …, \"identity\": …}",
	UpdateSkip:         "Kept for compatibility: prefer the Update skip. Input {\"step\": …, \"identity\": …, \"reason\": …}",
	UpdateRollback:     "Kept for compatibility: prefer the Update rollback. Input {\"identity\": …, \"reason\": …}",
	UpdateAbort:        "Kept for compatibility: prefer the Update abort. Input {\"identity\": …, \"reason\": …}",
	SignalRefreshTrust: "Reload the worker's trust configuration (after adding a key); no input",
	SignalLockGranted:  "Internal (sent by a Topoflow lock workflow): do not send by hand",
	SignalLockQueued:   "Internal (sent by a Topoflow lock workflow): do not send by hand",
	SignalLockAcquire:  "Internal (sent by Topoflow requests): do not send by hand",
	SignalLockRelease:  "Internal (sent by Topoflow requests); an operator may send the token of a holder that was terminated",
}

// signalChannel is workflow.GetSignalChannel with the signal's description.
func signalChannel(ctx workflow.Context, name string) workflow.ReceiveChannel {
	return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: signalDescriptions[name]})
}

// updateDescriptions describe the Updates in the Web UI's "Send an Update",
// with the input each takes.
var updateDescriptions = map[string]string{
	UpdateApprove:  `Approve a waiting approval step. Input {"step": "<step id>", "identity": "<you>", "comment": "…"}`,
	UpdateReject:   `Reject a waiting approval step (the request rolls back). Input {"step": "<step id>", "identity": "<you>", "comment": "why"}`,
	UpdateComplete: `Confirm a manual step as done. Input {"step": "<step id>", "identity": "<you>", "comment": "…", "data": {…}}`,
	UpdateRetry:    `Retry a parked step. Input {"step": "<step id>", "identity": "<you>", "inputs": {…}}`,
	UpdateSkip:     `Skip a parked step. Input {"step": "<step id>", "identity": "<you>", "reason": "why"}`,
	UpdateRollback: `Roll the request back. Input {"identity": "<you>", "reason": "why"}`,
	UpdateAbort:    `Abort the request (rolls back, ends Failed). Input {"identity": "<you>", "reason": "why"}`,
}
