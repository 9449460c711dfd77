// Package e2e holds end-to-end tests: the real local Temporal server,
// cloudsim and the worker (internal/stack), driven like the starter does.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei" // registers the Huawei provider
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/workflows"
)

const (
	hwKafka     = "6b2f7e4a-0000-4000-8000-00000000a010"
	hwOwnerVPC  = "4f1a0c3e-0000-4000-8000-00000000a001"
	hwOwnerSub  = "4f1a0c3e-0000-4000-8000-00000000a002"
	hwClientVPC = "4f1a0c3e-0000-4000-8000-00000000b001"
	hwClientSub = "4f1a0c3e-0000-4000-8000-00000000b002"
)

func hwSpec(name, client, vpc, subnet string, approval bool) string {
	s := fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: %s}
spec:
  kafka: {provider: huawei, account: hw-kafka-owner, instanceId: %s}
  client: {account: %s, vpcId: %s, subnetId: %s}
  method: vpcEndpoint
  timeouts: {pollInterval: 500ms, wait: 2m, step: 2m}
`, name, hwKafka, client, vpc, subnet)
	if approval {
		s += "  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"
	}
	return s
}

func compile(t *testing.T, doc string) *plan.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := compiler.CompileFile(path, spec.Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	// Every inline spec's plan keeps the catalog's contracts (input keys,
	// types, required inputs, outputs read), as internal/contract checks for specs/*.yaml.
	if errs := contract.CheckPlan(p); len(errs) > 0 {
		t.Fatalf("the compiled plan disagrees with the catalog:\n%s", strings.Join(errs, "\n"))
	}
	return p
}

func startPlan(t *testing.T, s *stack.Stack, p *plan.Plan) client.WorkflowRun {
	t.Helper()
	sha, err := p.Hash()
	if err != nil {
		t.Fatal(err)
	}
	req := workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: "e2e"}
	run, err := s.Client.ExecuteWorkflow(context.Background(), workflows.StartOptions(req, s.TaskQueue), workflows.WorkflowType, req)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return run
}

// decide sends approve/reject for a gate, retrying until the gate is open.
func decide(t *testing.T, s *stack.Stack, run client.WorkflowRun, update, step string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: update,
			Args:         []any{workflows.Decision{Step: step, Identity: "kafka-owner@example.com", Comment: "e2e"}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: %v", update, step, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func newStack(t *testing.T) *stack.Stack {
	hwsim.DefaultTiming.ServiceCreate = 200 * time.Millisecond
	hwsim.DefaultTiming.EndpointCreate = 200 * time.Millisecond
	hwsim.DefaultTiming.Delete = 200 * time.Millisecond
	if !hasProvider("huawei") {
		t.Fatal("cloudsim/huawei is not registered")
	}
	return stack.New(t, stack.Options{Cloudsim: true, Worker: true})
}

func hasProvider(name string) bool {
	for _, p := range cloudsim.Providers() {
		if p == name {
			return true
		}
	}
	return false
}

func advertised(t *testing.T, s *stack.Stack) map[string]string {
	t.Helper()
	k, err := inventory.Get[*inventory.KafkaInstance](s.Sim().Inventory, hwKafka)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range k.Brokers {
		out[b.ListenerIP] = b.AdvertisedHost()
	}
	return out
}

func count(s *stack.Stack, k inventory.Kind) int {
	return len(s.Sim().Inventory.List(k, inventory.Filter{}))
}

func TestHuaweiSameAccount(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	p := compile(t, hwSpec("e2e-hw-same", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false))
	run := startPlan(t, s, p)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if n := count(s, inventory.KindEndpoint); n != 3 {
		t.Fatalf("%d endpoints, want 3", n)
	}
	for l, a := range advertised(t, s) {
		if l == a {
			t.Fatalf("listener %s still advertises itself", l)
		}
	}
	if !strings.Contains(fmt.Sprint(out), "9011") {
		t.Fatalf("outputs: %v", out)
	}
}

// TestHuaweiCrossAccountApproved runs the default cross-account procedure,
// runbook 000's: endpoint services with approval_enabled false, Topoflow's
// approval gate before the client account is whitelisted, endpoints accepted
// by the cloud without any provider-side accept.
func TestHuaweiCrossAccountApproved(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	p := compile(t, hwSpec("e2e-hw-cross", "hw-client-b", hwClientVPC, hwClientSub, true))
	accepts := s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.vpcep.AcceptOrRejectEndpoint", Kind: faults.Latency})
	run := startPlan(t, s, p)
	eventually(t, time.Minute, "the approval gate waits", func() bool {
		return stepState(progress(t, s, run), "approve-connection") == workflows.StepWaiting
	})
	if n := len(permissions(s)) + count(s, inventory.KindEndpoint); n != 0 {
		t.Fatalf("%d whitelist entries and endpoints exist before the approval", n)
	}
	for _, sv := range inventory.List[*inventory.EndpointService](s.Sim().Inventory, inventory.Filter{}) {
		if sv.ApprovalEnabled {
			t.Fatalf("endpoint service %s has approval_enabled true (runbook 000: false)", sv.ID)
		}
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	eps := inventory.List[*inventory.Endpoint](s.Sim().Inventory, inventory.Filter{})
	if len(eps) != 3 || count(s, inventory.KindEndpointService) != 3 {
		t.Fatalf("%d endpoints, %d services", len(eps), count(s, inventory.KindEndpointService))
	}
	adv := advertised(t, s)
	for _, e := range eps {
		if e.Status != "accepted" || e.Account != "hw-client-b" {
			t.Fatalf("endpoint %+v", e)
		}
		svc, _ := inventory.Get[*inventory.EndpointService](s.Sim().Inventory, e.ServiceID)
		found := false
		k, _ := inventory.Get[*inventory.KafkaInstance](s.Sim().Inventory, hwKafka)
		for _, b := range k.Brokers {
			if b.PortID == svc.PortID && adv[b.ListenerIP] == e.IP {
				found = true
			}
		}
		if !found {
			t.Fatalf("endpoint %s (%s) is not advertised by the broker behind port %s", e.ID, e.IP, svc.PortID)
		}
	}
	if n := ruleHits(s, accepts); n != 0 {
		t.Fatalf("%d provider-side accept calls, want none (the whitelist connects the endpoints)", n)
	}
}

func TestHuaweiRejectedRollsBack(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	before := advertised(t, s)
	p := compile(t, hwSpec("e2e-hw-reject", "hw-client-b", hwClientVPC, hwClientSub, true))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateReject, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	if err == nil {
		t.Fatal("a rejected request must not complete")
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(s, inventory.KindEndpoint)+count(s, inventory.KindEndpointService) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := count(s, inventory.KindEndpoint) + count(s, inventory.KindEndpointService); n != 0 {
		t.Fatalf("%d VPCEP resources left after rollback", n)
	}
	if fmt.Sprint(advertised(t, s)) != fmt.Sprint(before) {
		t.Fatalf("advertised map changed: %v -> %v", before, advertised(t, s))
	}
}
