package compiler

import (
	"testing"

	"github.com/topoflow/topoflow/spec"
)

// TestEveryMethodCompiles: every provider/method of spec.MethodTable has a
// builder, and every builder a table entry.
func TestEveryMethodCompiles(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range spec.MethodTable {
		key := m.Provider + "/" + m.Method
		seen[key] = true
		if methodBuilders[key] == nil {
			t.Errorf("method %s has no builder in methodBuilders", key)
		}
		if m.Title == "" {
			t.Errorf("method %s has no title", key)
		}
	}
	for key := range methodBuilders {
		if !seen[key] {
			t.Errorf("builder %s has no entry in spec.MethodTable", key)
		}
	}
}
