package aws

import (
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestPropagateKeepsTheZoneInOrder: three changes each add one broker's
// record; their timers fire 1, 3, 2. DNS must end with all three records,
// as Route 53 (which applies a zone's changes in order) would.
func TestPropagateKeepsTheZoneInOrder(t *testing.T) {
	z := &inventory.Config{Properties: map[string]string{}}
	snap := []map[string]string{
		{"b-1.c.kafka": "A 300 10.0.0.1"},
		{"b-1.c.kafka": "A 300 10.0.0.1", "b-2.c.kafka": "A 300 10.0.0.2"},
		{"b-1.c.kafka": "A 300 10.0.0.1", "b-2.c.kafka": "A 300 10.0.0.2", "b-3.c.kafka": "A 300 10.0.0.3"},
	}
	for _, seq := range []int{1, 3, 2} {
		propagate(z, seq, snap[seq-1])
	}
	for _, n := range []string{"b-1", "b-2", "b-3"} {
		if got := z.Properties["record:"+n+".c.kafka"]; got == "" {
			t.Errorf("record %s.c.kafka lost after out-of-order propagation; zone %v", n, z.Properties)
		}
	}
	if got, want := z.Properties["record:b-3.c.kafka"], "A 10.0.0.3"; got != want {
		t.Errorf("record b-3 = %q, want %q", got, want)
	}
	// A deletion propagating after an earlier add keeps the deletion.
	propagate(z, 4, snap[1])
	propagate(z, 3, snap[2])
	if got := z.Properties["record:b-3.c.kafka"]; got != "" {
		t.Errorf("b-3 deleted by change 4 came back with change 3's late timer: %q", got)
	}
}
