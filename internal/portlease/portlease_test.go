package portlease

import (
	"net"
	"strconv"
	"testing"
)

// TestTakeLeasesDistinctBindablePortsOutsideTheEphemeralRange: ports leased
// at once are distinct, bindable, and in the lease range (below the kernel's
// ephemeral range on a default Linux).
func TestTakeLeasesDistinctBindablePortsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := leaseRange()
	seen := map[int]bool{}
	for i := 0; i < 50; i++ {
		p, err := Take()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d leased twice", p)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Fatalf("port %d outside the lease range %d-%d", p, lo, hi)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("leased port %d not bindable: %v", p, err)
		}
		ln.Close()
	}
}
