package plan

import (
	"fmt"
	"testing"
)

// TestRootFields: the fields an expression reads of a root, or all.
func TestRootFields(t *testing.T) {
	for _, c := range []struct {
		code, fields string
		all          bool
	}{
		{`output.serviceId`, "[serviceId]", false},
		{`output["a"] + input.b + output.c`, "[a c]", false},
		{`output.a + len(output)`, "[a]", true},
		{`output[input.k]`, "[]", true},
		{`input.x`, "[]", false},
		{`let o = 1; o + 2`, "[]", false},
	} {
		fields, all, err := RootFields(c.code, RootOutput)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(fields) != c.fields || all != c.all {
			t.Errorf("%s: fields %v all %v, want %s %v", c.code, fields, all, c.fields, c.all)
		}
	}
}
