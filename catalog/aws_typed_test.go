package catalog

import "testing"

// TestEveryAWSActionIsTyped: every AWS action's inputs and outputs come from
// its contract types (catalog.Typed), so the descriptor, the implementation
// (activities.Typed) and the docs cannot disagree on a key. It logs how many
// actions of every provider are typed.
func TestEveryAWSActionIsTyped(t *testing.T) {
	typed, all := map[string]int{}, map[string]int{}
	for _, n := range Names() {
		a, _ := Lookup(n)
		all[a.Provider]++
		if a.Contract != nil {
			typed[a.Provider]++
		} else if a.Provider == "aws" {
			t.Errorf("%s lists its inputs and outputs by hand: give it contract types (catalog.Typed)", n)
		}
	}
	total, untyped := 0, 0
	for p, n := range all {
		t.Logf("%s: %d of %d actions typed", p, typed[p], n)
		total += n
		untyped += n - typed[p]
	}
	t.Logf("all providers: %d of %d actions typed, %d untyped", total-untyped, total, untyped)
	if all["aws"] == 0 {
		t.Fatal("no AWS action registered")
	}
}
