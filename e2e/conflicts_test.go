package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// TestHuaweiSecondClientNetworkIsRefusedBeforeAnything: a request exposes a
// DMS instance to the owner's VPC and ends Done; a second request, from
// another account's VPC, on the same instance cannot coexist (one
// advertised address per broker). apply's check names the first request and
// who applied it, and the second workflow, started without that check,
// refuses before its first step: the cloud is exactly as the first left it.
func TestHuaweiSecondClientNetworkIsRefusedBeforeAnything(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := startPlan(t, s, compile(t, hwSpec("e2e-hw-owner-1", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false)))
	if err := workflows.Wait(ctx, first); err != nil {
		t.Fatalf("first request: %v", err)
	}
	before := worldJSON(t, s)

	p := compile(t, hwSpec("e2e-hw-owner-2", "hw-client-b", hwClientVPC, hwClientSub, true))
	cs, err := workflows.CheckConflicts(ctx, s.Client, workflows.Request{Plan: *p})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Holder.WorkflowID != first.GetID() || cs[0].Holder.RequestedBy != "e2e" ||
		cs[0].Claim.Resource != "huawei:dms:"+hwKafka+":advertised-ips" {
		t.Fatalf("apply's check found %+v, want the first request's hold on the instance's advertised IPs", cs)
	}
	msg := workflows.ConflictsError(cs).Error()
	for _, want := range []string{first.GetID(), "applied by e2e", "Done", "one cross-VPC address per broker"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %q", msg, want)
		}
	}

	second := startPlan(t, s, p)
	err = workflows.Wait(ctx, second)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrConflict || !strings.Contains(err.Error(), first.GetID()) {
		t.Fatalf("second request: %v, want a %s refusal naming %s", err, workflows.ErrConflict, first.GetID())
	}
	pr := progress(t, s, second)
	for _, st := range pr.Steps {
		if st.State != workflows.StepPending {
			t.Errorf("step %s is %s, want pending (refused before the first step)", st.ID, st.State)
		}
	}
	if pr.Phase != workflows.PhaseFailed {
		t.Errorf("second request's phase %s, want %s", pr.Phase, workflows.PhaseFailed)
	}
	if after := worldJSON(t, s); after != before {
		t.Errorf("the refused request changed the cloud:\nbefore %s\nafter  %s", before, after)
	}

	// Past the namespace's retention the first request's record is gone;
	// its grant, running until revoked, still holds its claims.
	forget(t, s, first.GetID())
	cs, err = workflows.CheckConflicts(ctx, s.Client, workflows.Request{Plan: *p})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Holder.WorkflowID != first.GetID() || cs[0].Holder.RequestedBy != "e2e" || cs[0].Holder.Phase != workflows.PhaseDone {
		t.Fatalf("after the first request's record is deleted, apply's check found %+v, want its grant's hold on the advertised IPs", cs)
	}

	// A partial revoke of the advertised map (and what depends on it)
	// releases the claim: the first grant keeps its endpoints but no longer
	// stands in the way (issue 15: it did until the whole grant was revoked).
	gid := workflows.GrantWorkflowID(first.GetID())
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Only: []string{"set-advertised-ips"}})
	eventually(t, time.Minute, "the partial revoke done", func() bool {
		g := grantProgress(t, s, gid)
		return g.Phase == workflows.PhaseGranted && stepState(g, "set-advertised-ips") == workflows.StepCompensated
	})
	var left []workflows.Conflict
	eventually(t, 30*time.Second, "the claim released (visibility of the grant's memo)", func() bool {
		left, err = workflows.CheckConflicts(ctx, s.Client, workflows.Request{Plan: *p})
		return err == nil && len(left) == 0
	})
	if g := grantProgress(t, s, gid); stepState(g, "create-endpoint") != workflows.StepDone {
		t.Errorf("the partial revoke undid the endpoints too: create-endpoint %s", stepState(g, "create-endpoint"))
	}
}

// TestHuaweiConcurrentRequestsOneKeepsTheInstance: two requests on one
// instance started at once: the earlier one runs to Done, the later one is
// refused (before its first step, or before it writes the advertised map if
// visibility had not shown the earlier one yet) and leaves nothing behind.
func TestHuaweiConcurrentRequestsOneKeepsTheInstance(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seed := worldJSON(t, s)
	a := startPlan(t, s, compile(t, hwSpec("e2e-hw-race-a", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false)))
	b := startPlan(t, s, compile(t, hwSpec("e2e-hw-race-b", "hw-client-b", hwClientVPC, hwClientSub, true)))
	errA, errB := workflows.Wait(ctx, a), workflows.Wait(ctx, b)
	if errA != nil {
		t.Fatalf("earlier request: %v", errA)
	}
	var ae *temporal.ApplicationError
	if !errors.As(errB, &ae) || (ae.Type() != workflows.ErrConflict && ae.Type() != workflows.ErrRolledBack) ||
		!strings.Contains(errB.Error(), a.GetID()) {
		t.Fatalf("later request: %v, want it refused naming %s", errB, a.GetID())
	}
	if adv := advertised(t, s); len(adv) == 0 {
		t.Fatal("the earlier request's advertised map is gone")
	}
	if seed == worldJSON(t, s) {
		t.Fatal("the earlier request changed nothing")
	}
}

// worldJSON is the twin's inventory as JSON (objects in ID order), without
// the objects' createdAt/updatedAt (a rule written back the same is the same rule).
func worldJSON(t *testing.T, s *stack.Stack) string {
	t.Helper()
	b, err := json.Marshal(s.Sim().Inventory.Snapshot(inventory.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	var inv map[string][]map[string]any
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	for _, objs := range inv {
		for _, o := range objs {
			delete(o, "createdAt")
			delete(o, "updatedAt")
		}
	}
	b, err = json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forget deletes a finished request from Temporal, as the namespace's
// retention eventually does, and waits until visibility no longer lists it.
func forget(t *testing.T, s *stack.Stack, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}}); err != nil {
		t.Fatalf("delete request %s: %v", id, err)
	}
	for ctx.Err() == nil {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + id + "'"})
		if err == nil && len(resp.GetExecutions()) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("request %s is still listed after its deletion", id)
}
