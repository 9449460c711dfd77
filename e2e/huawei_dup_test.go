package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestHuaweiSecondServiceOnAPortIsRefused: after one request exposed every
// broker port on 9011/TCP, a second request (another name, so other
// idempotency keys) on the same instance asks for services repeating those
// (port_id, 9011/TCP) mappings, which the cloud refuses (SDK
// model_create_endpoint_service_request_body.go, Ports). The second request
// rolls back and leaves the first one's services alone. (A first request
// that Temporal still lists is refused earlier, before the second creates
// anything: TestHuaweiSecondClientNetworkIsRefusedBeforeAnything.)
func TestHuaweiSecondServiceOnAPortIsRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := startPlan(t, s, compile(t, hwSpec("e2e-hw-dup-1", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false)))
	if err := workflows.Wait(ctx, first); err != nil {
		t.Fatalf("first request: %v", err)
	}
	// The cloud refuses the duplicate even when Temporal no longer knows the
	// first request (its record deleted, as retention does, and its grant,
	// which would otherwise keep its claims: workflows/conflicts_grants.go),
	// so the conflict check cannot see it.
	forget(t, s, first.GetID())
	forget(t, s, workflows.GrantWorkflowID(first.GetID()))
	before := inventory.List[*inventory.EndpointService](s.Sim().Inventory, inventory.Filter{})
	second := startPlan(t, s, compile(t, hwSpec("e2e-hw-dup-2", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false)))
	err := workflows.Wait(ctx, second)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack || !strings.Contains(err.Error(), "already maps server_port 9011/TCP") {
		t.Fatalf("second request: %v, want a rollback after the refused endpoint service", err)
	}
	after := inventory.List[*inventory.EndpointService](s.Sim().Inventory, inventory.Filter{})
	if len(before) != 3 || len(after) != len(before) {
		t.Fatalf("endpoint services: %d after the first request, %d after the second", len(before), len(after))
	}
	for i := range before {
		if before[i].ID != after[i].ID || after[i].Status != "available" {
			t.Fatalf("the first request's service %s changed: %+v", before[i].ID, after[i])
		}
	}
}
