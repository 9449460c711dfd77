package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// twinState is the twin's inventory as JSON objects by kind, without the
// store's timestamps (a restore in place updates them).
func twinState(t *testing.T, s *stack.Stack) map[string][]map[string]any {
	t.Helper()
	b, err := s.Sim().Inventory.SnapshotJSON(inventory.Filter{})
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
	return inv
}

// updateGrant sends an Update to a grant, retrying while it refuses because
// it is still loading (its trust) or its gate has not opened yet.
func updateGrant(t *testing.T, s *stack.Stack, gid, name string, arg any) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: gid, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !(strings.Contains(err.Error(), "retry in a few seconds") || strings.Contains(err.Error(), "not waiting")) {
			t.Fatalf("%s %s: %v", name, gid, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestRevokeHuaweiCrossAccount: a Done cross-account VPC endpoint request
// (endpoint services, whitelist, endpoints, advertised addresses) is revoked
// on the real Temporal server and the twin: the revoke waits for the
// approval gate again, then the twin's inventory is the seed world again.
func TestRevokeHuaweiCrossAccount(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	seed := twinState(t, s)
	p := compile(t, hwSpec("e2e-hw-revoke", "hw-client-b", hwClientVPC, hwClientSub, true))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if n := count(s, inventory.KindEndpoint); n != 3 {
		t.Fatalf("%d endpoints after Done, want 3", n)
	}
	gid := progress(t, s, run).Grant
	if gid != workflows.GrantWorkflowID(run.GetID()) {
		t.Fatalf("Done request names grant %q, want %q", gid, workflows.GrantWorkflowID(run.GetID()))
	}
	start := time.Now()
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "team left"})
	updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-connection", Identity: "kafka-owner@example.com"})
	var final workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil {
		t.Fatalf("revoke failed: %v", err)
	}
	if final.Phase != workflows.PhaseRevoked || len(final.Leaked) != 0 {
		t.Fatalf("grant ended %s with leaks %v", final.Phase, final.Leaked)
	}
	t.Logf("revoked in %s", time.Since(start).Round(time.Millisecond))
	if diff := inventoryDiff(seed, twinState(t, s)); diff != "" {
		t.Fatalf("after the revoke the twin is not the seed world:\n%s", diff)
	}
}

// revoke revokes a Done example with topoflow revoke as the on-call
// operator, opens the revoke's gates as their approvers, and waits for the
// grant to end Revoked.
func (d *devEnv) revoke(t *testing.T, ex *example, id string) {
	t.Helper()
	if id == "" {
		return // rolled back (a twin exception), nothing granted
	}
	undoes := false
	for _, st := range ex.plan.Steps {
		undoes = undoes || len(st.Compensation) > 0 && string(st.Compensation) != "null"
	}
	if !undoes {
		// Nothing to take back (e.g. a Workflow of manual steps and a
		// verification): revoke must say so and change nothing.
		out, err := d.cliResult(t, "revoke", id, "--reason", "examples e2e", "--as", exampleOperator)
		if err == nil || !strings.Contains(out, "has nothing to revoke") {
			t.Fatalf("%s: revoke of a request with no compensation: %v\n%s", ex.file, err, out)
		}
		return
	}
	start := time.Now()
	// A grant refuses a revoke until it has loaded its trust configuration
	// ("retry in a few seconds", as the CLI says): retried as a user would.
	for attempt := 0; ; attempt++ {
		out, err := d.cliResult(t, "revoke", id, "--reason", "examples e2e", "--as", exampleOperator)
		if err == nil {
			break
		}
		if attempt == 10 || !strings.Contains(out, "still loading its trust configuration") {
			t.Fatalf("%s: topoflow revoke %s: %v\n%s", ex.file, id, err, out)
		}
		time.Sleep(2 * time.Second)
	}
	if ex.isSaaS() {
		d.emqxConsoleDelete(t, ex, d.status(t, id)) // runbook 003 删除对等连接, in the EMQX console
	}
	gid := workflows.GrantWorkflowID(id)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := d.status(t, gid)
		switch {
		case st.Status != "Running":
			if st.Phase != workflows.PhaseRevoked || len(st.Leaked) > 0 {
				t.Fatalf("%s: grant ended %s (%s) with leaks %v, want Revoked with none:\n%s", ex.file, st.Phase, st.Status, st.Leaked, stepTable(st))
			}
			t.Logf("%s: revoked in %s", ex.file, time.Since(start).Round(time.Millisecond))
			return
		case st.Phase == workflows.PhaseWaitingApproval:
			d.openGates(t, ex, gid, st, nil, nil)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not revoked after 3m (phase %s):\n%s", ex.file, st.Phase, stepTable(st))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestDriftOfADeletedEndpoint: an endpoint of a Done Huawei request deleted
// by hand in the twin is reported as drift by the next check of its grant
// (the endpoint's status wait and the verification fail); topoflow repair's
// Update runs the repair as a delta plan, which waits for the approval gate
// (nothing is created before), then creates exactly that endpoint again and
// updates the advertised map; verify passes and the phase is Granted again.
// The grant is then revoked: the twin is the seed world again.
func TestDriftOfADeletedEndpoint(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	seed := twinState(t, s)
	p := compile(t, hwSpec("e2e-hw-drift", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, true))
	sha, _ := p.Hash()
	req := workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: "e2e", DriftEvery: plan.D(2 * time.Second)}
	run, err := s.Client.ExecuteWorkflow(context.Background(), workflows.StartOptions(req, s.TaskQueue), workflows.WorkflowType, req)
	if err != nil {
		t.Fatal(err)
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	gid := workflows.GrantWorkflowID(run.GetID())
	grant := func() workflows.Progress {
		v, err := s.Client.QueryWorkflow(ctx, gid, "", workflows.QueryProgress)
		var p workflows.Progress
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			t.Fatalf("progress of %s: %v", gid, err)
		}
		return p
	}
	eventually(t, time.Minute, "a clean drift check", func() bool {
		p := grant()
		return p.Drift != nil && p.Drift.Checks > 0 && len(p.Drift.Findings) == 0 && p.Phase == workflows.PhaseGranted
	})
	eps := inventory.List[*inventory.Endpoint](s.Sim().Inventory, inventory.Filter{})
	if len(eps) != 3 {
		t.Fatalf("%d endpoints, want 3", len(eps))
	}
	gone := eps[0].ID
	if err := s.Sim().Inventory.Delete(inventory.KindEndpoint, gone); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	var drifted workflows.Progress
	// The first check that starts after the deletion reports it.
	eventually(t, 3*time.Minute, "a drift check started after the deletion", func() bool {
		drifted = grant()
		return drifted.Drift != nil && drifted.Drift.StartedAt.After(deleted)
	})
	if drifted.Phase != workflows.PhaseDrifted {
		t.Fatalf("the first check after the deletion (started %s later) found no drift: %+v",
			drifted.Drift.StartedAt.Sub(deleted), drifted.Drift)
	}
	t.Logf("drift reported %s after the deletion: %+v", time.Since(deleted).Round(time.Millisecond), drifted.Drift.Findings)
	found := false
	for _, f := range drifted.Drift.Findings {
		if f.Step == "wait-endpoint-accepted" {
			found = true
		}
	}
	if !found {
		t.Errorf("no finding for the deleted endpoint's status wait: %+v", drifted.Drift.Findings)
	}
	if since := drifted.Drift.StartedAt.Sub(deleted); since > 2*time.Second+drifted.Drift.CheckedAt.Sub(drifted.Drift.StartedAt) {
		t.Errorf("the check that reported the drift started %s after the deletion: more than one interval (2s) after the check running then", since)
	}

	// Repair, gated by the approval: nothing is created until it is given.
	svc, err := inventory.Get[*inventory.EndpointService](s.Sim().Inventory, eps[0].ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	updateGrant(t, s, gid, workflows.UpdateRepair, workflows.OperatorAction{Identity: "e2e-ops", Reason: "endpoint deleted by hand"})
	eventually(t, time.Minute, "the repair waiting for approval", func() bool { return grant().Phase == workflows.PhaseWaitingApproval })
	if n := count(s, inventory.KindEndpoint); n != 2 {
		t.Fatalf("%d endpoints while the repair waits for approval, want 2", n)
	}
	updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-connection", Identity: "kafka-owner@example.com"})
	repaired := waitChange(t, s, gid, 1, false)
	ch := repaired.Change
	unit := "create-endpoint[" + svc.PortID + "]"
	// The advertised map changes only when the new endpoint got another address.
	var wantUpdated []string
	for _, e := range inventory.List[*inventory.Endpoint](s.Sim().Inventory, inventory.Filter{}) {
		if e.ServiceID == svc.ID && e.IP != eps[0].IP {
			wantUpdated = []string{"set-advertised-ips"}
		}
	}
	if ch.Outcome != workflows.ChangeChanged || ch.Kind != workflows.UpdateRepair || !slices.Equal(ch.Added, []string{unit}) ||
		!slices.Equal(ch.Removed, []string{unit}) || !slices.Equal(ch.Updated, wantUpdated) {
		t.Fatalf("repair: %+v, want %s added and removed, updated %v", ch, unit, wantUpdated)
	}
	if repaired.Phase != workflows.PhaseGranted || repaired.Drift == nil || len(repaired.Drift.Findings) != 0 || stepState(repaired, "verify") != workflows.StepDone {
		t.Fatalf("after the repair: phase %s, drift %+v, verify %s", repaired.Phase, repaired.Drift, stepState(repaired, "verify"))
	}
	checkOnePerBroker(t, s, hwKafka, "hw-kafka-owner", hwOwnerVPC)
	t.Logf("repaired in %s after the approval: %s", ch.EndedAt.Sub(ch.StartedAt).Round(time.Millisecond), ch.Added)

	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "drifted"})
	updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-connection", Identity: "kafka-owner@example.com"})
	var final workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != workflows.PhaseRevoked {
		t.Fatalf("revoke of the drifted grant: %s, %v", final.Phase, err)
	}
	if diff := inventoryDiff(seed, twinState(t, s)); diff != "" {
		t.Fatalf("after the revoke the twin is not the seed world:\n%s", diff)
	}
}
