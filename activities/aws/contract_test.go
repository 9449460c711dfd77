package aws

import (
	"testing"

	"github.com/topoflow/topoflow/catalog"
)

// TestImplementationsTakeTheDescriptorsContracts: every AWS implementation
// decodes its inputs into, and returns, exactly the contract types its
// catalog descriptor derives its inputs and outputs from, so a key renamed
// in the contract is renamed for both.
func TestImplementationsTakeTheDescriptorsContracts(t *testing.T) {
	if len(typed) == 0 {
		t.Fatal("no AWS action registered")
	}
	for name, act := range typed {
		d, ok := catalog.Lookup(name)
		if !ok {
			t.Errorf("%s: implemented but not in the catalog", name)
			continue
		}
		if d.Contract == nil {
			t.Errorf("%s: the descriptor has no contract types (catalog.Typed)", name)
			continue
		}
		if act.in != d.Contract.In || act.out != d.Contract.Out {
			t.Errorf("%s: implemented over %s → %s, the descriptor's contract is %s → %s", name, act.in, act.out, d.Contract.In, d.Contract.Out)
		}
	}
}
