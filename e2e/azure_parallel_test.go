package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestAzurePeeringSidesInParallel runs a plan whose two peering PUTs start at
// once (the order the compiler used to produce). The second finds the other
// VNet Updating and cloudsim answers 400 ReferencedResourceNotProvisioned, as
// Azure does; the activity retries it (as azurerm does) and the request
// completes with both sides Connected.
func TestAzurePeeringSidesInParallel(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	p := compile(t, azSpec("e2e-az-parallel", "rg-aks", "aks-vnet", "10.31.0.0/16"))
	first := p.Step("peer-kafka-to-client")
	second := p.Step("peer-client-to-kafka")
	if first == nil || second == nil {
		t.Fatal("the plan has no peering steps")
	}
	second.DependsOn = append([]string(nil), first.DependsOn...)
	wait := p.Step("wait-peering-connected")
	wait.DependsOn = []string{first.ID, second.ID}
	if err := p.Check(); err != nil {
		t.Fatalf("plan check: %v", err)
	}
	run := startPlan(t, s, p)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	ps := cloudPeerings(s.Sim().Inventory)
	if len(ps) != 2 || ps[0].Status != inventory.PeeringActive || ps[1].Status != inventory.PeeringActive {
		t.Fatalf("peerings after the request: %+v", ps)
	}
}
