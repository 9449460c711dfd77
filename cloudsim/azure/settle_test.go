package azure

import (
	"sync"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestReciprocalCompletionsDoNotInterleave completes the operations of both
// sides of a peering at once, with both completions made to read the other
// side before either writes (when nothing serializes them). Settling must be
// atomic: the second completion sees the first side provisioned and both end
// Connected. Interleaved, both saw the other Updating and stayed Initiated
// for ever (seen as an e2e wait timeout under load).
func TestReciprocalCompletionsDoNotInterleave(t *testing.T) {
	sim, err := cloudsim.New(cloudsim.Options{Providers: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv, err := MountWith(sim, Options{OperationDelay: time.Hour}) // completions are driven by the test
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "/vnets/a", "/vnets/b"
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if _, err := inventory.Create(sim.Inventory, &inventory.Peering{
			Meta:  inventory.Meta{ID: p[0] + "/virtualNetworkPeerings/x", Status: StatusInitiated},
			VPCID: p[0], PeerVPCID: p[1], Attrs: map[string]string{"provisioningState": ProvUpdating},
		}); err != nil {
			t.Fatal(err)
		}
	}
	opA, _, _ := srv.startOp(a, a+"/virtualNetworkPeerings/x", false)
	opB, _, _ := srv.startOp(b, b+"/virtualNetworkPeerings/x", false)

	// Each completion waits (up to 300ms) for the other to have read too.
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	srv.settling = func() {
		arrived.Done()
		select {
		case <-both:
		case <-time.After(300 * time.Millisecond):
		}
	}
	var done sync.WaitGroup
	for _, op := range []*operation{opA, opB} {
		done.Add(1)
		go func() { defer done.Done(); srv.complete(op.ID) }()
	}
	done.Wait()
	for _, v := range []string{a, b} {
		p, err := inventory.Get[*inventory.Peering](sim.Inventory, v+"/virtualNetworkPeerings/x")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != StatusConnected || p.Attrs["provisioningState"] != ProvSucceeded {
			t.Errorf("%s side: %s / %s, want %s / %s", v, p.Status, p.Attrs["provisioningState"], StatusConnected, ProvSucceeded)
		}
	}
}
