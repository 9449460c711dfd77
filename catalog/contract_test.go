package catalog

import (
	"reflect"
	"testing"
)

// TestTypedDerivesParamsAndOutputs: a typed descriptor's inputs and outputs
// come from its structs' tags, in declaration order.
func TestTypedDerivesParamsAndOutputs(t *testing.T) {
	type in struct {
		CIDR  string            `json:"cidr" required:"true" format:"cidr" doc:"a range"`
		Port  int               `json:"port"`
		On    *bool             `json:"on"`
		List  []string          `json:"list"`
		Map   map[string]string `json:"map"`
		Any   any               `json:"any"`
		Quiet string
	}
	type out struct {
		ID   string `json:"id,omitempty"`
		Size int    `json:"size"`
	}
	a := Typed[in, out](Action{Name: "x.y"})
	want := []Param{
		{Name: "cidr", Type: "string", Required: true, Doc: "a range", Format: "cidr"},
		{Name: "port", Type: "integer"}, {Name: "on", Type: "boolean"}, {Name: "list", Type: "array"},
		{Name: "map", Type: "object"}, {Name: "any", Type: "any"},
	}
	if !reflect.DeepEqual(a.Inputs, want) {
		t.Fatalf("inputs %+v, want %+v", a.Inputs, want)
	}
	if !reflect.DeepEqual(a.Outputs, []string{"id", "size"}) || a.Contract == nil {
		t.Fatalf("outputs %v, contract %v", a.Outputs, a.Contract)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a typed action listing its inputs by hand must panic")
		}
	}()
	Typed[in, out](Action{Name: "x.z", Inputs: []Param{{Name: "cidr"}}})
}
