package main

import (
	"context"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/workflows"
)

// workflowMetadata is what the Web UI reads of a running workflow: its
// handlers (with their descriptions) and its current details.
func workflowMetadata(t *testing.T, id string) *sdkpb.WorkflowMetadata {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := testStack.Client.QueryWorkflow(ctx, id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("metadata query of %s: %v", id, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatalf("decode metadata of %s: %v", id, err)
	}
	return &md
}

// listIDs lists the workflow IDs a visibility query finds (as the Web UI's
// filter does), polling until want's presence matches (visibility is
// eventually consistent).
func listIDs(t *testing.T, query, id string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := testStack.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: query, PageSize: 1000})
		if err != nil {
			t.Fatalf("list %q: %v", query, err)
		}
		found := false
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == id {
				found = true
			}
		}
		if found == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("list %q: %s found=%v, want %v", query, id, found, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestLockWorkflowsStayOutOfTheWay: a request's lock workflow marks itself
// TopoflowKind=Lock and says what it is, so the requests' filter leaves it
// out; the request's signals and Updates carry descriptions (Updates give
// their input) and the internal lock replies are not among its signals.
func TestLockWorkflowsStayOutOfTheWay(t *testing.T) {
	key := "kafka:test:webui-lock"
	file := writeSpec(t, "ui-locked", `  steps:
  - id: ok
    action: approval
    gate: {who: [alice], instructions: "Check the lock test"}
  - id: patch
    action: test.pending
    dependsOn: [ok]
    locks: ["`+key+`"]
    wait: {pollInterval: 200ms, timeout: 10m}
`)
	id := "topoflow/Workflow/ui-locked"
	mustCLI(t, "apply", file)
	waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))

	md := workflowMetadata(t, id)
	descs := map[string]string{}
	for _, d := range md.GetDefinition().GetSignalDefinitions() {
		descs["signal "+d.GetName()] = d.GetDescription()
	}
	for _, d := range md.GetDefinition().GetUpdateDefinitions() {
		descs["update "+d.GetName()] = d.GetDescription()
	}
	// The lock replies reach the request through the worker's interceptor
	// (workflows/lockinbox.go): they are no signal definitions, so Send a
	// Signal does not offer them (they were listed, labelled Internal).
	for _, internal := range []string{workflows.SignalLockGranted, workflows.SignalLockQueued} {
		if d, ok := descs["signal "+internal]; ok {
			t.Errorf("signal %s is listed (description %q): Send a Signal offers it", internal, d)
		}
	}
	for name, want := range map[string]string{
		"signal " + workflows.UpdateApprove: "prefer the Update approve",
		"update " + workflows.UpdateApprove: `Input {"step": "<step id>", "identity": "<you>"`,
		"update " + workflows.UpdateRetry:   "Retry a parked step",
	} {
		if !strings.Contains(descs[name], want) {
			t.Errorf("%s: description %q lacks %q", name, descs[name], want)
		}
	}
	details := md.GetCurrentDetails()
	if !strings.HasPrefix(details, "🟡 **WaitingApproval** — **alice** must act") ||
		!strings.Contains(details, "topoflow approve "+id+" --step ok --as alice") ||
		!strings.Contains(details, `{"step":"ok","identity":"alice"}`) {
		t.Errorf("current details:\n%s", details)
	}

	mustCLI(t, "approve", id, "--step", "ok", "--as", "alice")
	lockID := workflows.LockWorkflowID(key)
	// The locked step waits (test.pending stays creating) while it holds the key.
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := testStack.Client.DescribeWorkflowExecution(context.Background(), lockID, "")
		if err == nil {
			var summary string
			_ = converter.GetDefaultDataConverter().FromPayload(d.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary)
			if !strings.Contains(summary, "Topoflow internal lock "+key) || !strings.Contains(summary, "not a request") {
				t.Errorf("lock workflow summary %q", summary)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lock workflow %s: %v", lockID, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	listIDs(t, workflows.ListQueryLocks, lockID, true)
	listIDs(t, `TopoflowKind != "`+workflows.KindLock+`"`, lockID, false)
	listIDs(t, workflows.ListQueryRequests, lockID, false)
	listIDs(t, workflows.ListQueryRequests, id, true)
	var lockDetails string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		lockDetails = workflowMetadata(t, lockID).GetCurrentDetails()
		if strings.Contains(lockDetails, "**Held by**: `"+id+"`") {
			break
		}
	}
	if !strings.Contains(lockDetails, "Topoflow internal lock") || !strings.Contains(lockDetails, "**Held by**: `"+id+"`") {
		t.Errorf("lock details:\n%s", lockDetails)
	}
	mustCLI(t, "rollback", id, "--as", "carol", "--reason", "test done")
	waitFor(t, id, "rolled back", closedWith("Completed", workflows.PhaseRolledBack))
}
