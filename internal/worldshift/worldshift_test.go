package worldshift

import "testing"

// TestTakeNeverHandsOutOverlappingShifts: shifts held at once are whole
// slots apart (their worlds' addresses cannot overlap), and a released one
// can be taken again.
func TestTakeNeverHandsOutOverlappingShifts(t *testing.T) {
	held := map[int]bool{}
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	// Not every slot: stacks of other test processes may hold some.
	for i := 0; i < 4; i++ {
		n, release := Take()
		releases = append(releases, release)
		if n < Min || n > Max || n%Span != 0 {
			t.Fatalf("shift %d is not a slot in [%d, %d]", n, Min, Max)
		}
		for m := range held {
			if d := n - m; d > -Span && d < Span {
				t.Fatalf("shifts %d and %d held at once: their worlds overlap", n, m)
			}
		}
		held[n] = true
	}
	for _, r := range releases {
		r()
	}
	releases = nil
	for n := range held {
		ok, release := lockShift(n)
		if !ok {
			t.Fatalf("shift %d still locked after its release", n)
		}
		release()
	}
}
