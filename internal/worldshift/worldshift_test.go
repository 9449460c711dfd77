package worldshift

import "testing"

// TestTakeNeverHandsOutAHeldShift: every shift held at once is distinct, and
// a released one can be taken again.
func TestTakeNeverHandsOutAHeldShift(t *testing.T) {
	held := map[int]bool{}
	var releases []func()
	// Not every shift: stacks of other test processes may hold some.
	for i := 0; i < 40; i++ {
		n, release := Take()
		if n < Min || n > Max {
			t.Fatalf("shift %d outside [%d, %d]", n, Min, Max)
		}
		if held[n] {
			t.Fatalf("shift %d handed out twice while held", n)
		}
		held[n] = true
		releases = append(releases, release)
	}
	for _, r := range releases {
		r()
	}
	// Each released shift can be locked again.
	for n := range held {
		other, release := lockShift(n)
		if !other {
			t.Fatalf("shift %d still locked after its release", n)
		}
		release()
	}
}
