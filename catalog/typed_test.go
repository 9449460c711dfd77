package catalog

import (
	"sort"
	"testing"
)

// untypedPending lists the providers whose actions are still being converted
// to typed contracts (issue 18); every other provider's actions must all be
// typed. Every provider's are, since issue 18: a new provider starts typed.
var untypedPending = map[string]bool{}

// TestEveryActionIsTyped fails when an action of a converted provider has no
// typed contract (catalog.Typed), and logs the count per provider
// (go test ./catalog -run TestEveryActionIsTyped -v).
func TestEveryActionIsTyped(t *testing.T) {
	typed, untyped := map[string]int{}, map[string]int{}
	for _, n := range Names() {
		a, _ := Lookup(n)
		if a.Contract != nil {
			typed[a.Provider]++
			continue
		}
		untyped[a.Provider]++
		if !untypedPending[a.Provider] {
			t.Errorf("%s has no typed contract: declare its inputs and outputs as Go types with catalog.Typed", n)
		}
	}
	var providers []string
	for p := range typed {
		providers = append(providers, p)
	}
	for p := range untyped {
		if typed[p] == 0 {
			providers = append(providers, p)
		}
	}
	sort.Strings(providers)
	for _, p := range providers {
		t.Logf("%-8s typed %2d untyped %2d", p, typed[p], untyped[p])
	}
}
