package activities

import (
	"errors"
	"reflect"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

func call(in map[string]any) plan.Call { return plan.Call{Action: "test.action", Inputs: in} }

// wantInvalid checks err is a non-retryable InvalidInput naming the action.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != plan.ErrInvalid || !ae.NonRetryable() {
		t.Fatalf("error %v is not a non-retryable %s", err, plan.ErrInvalid)
	}
}

func TestInputReaders(t *testing.T) {
	in := map[string]any{
		"s": "x", "empty": "", "n": 9011.0, "frac": 1.5, "ns": "42", "b": true, "bs": "false",
		"list": []any{"a", "b"}, "one": "a", "mixed": []any{"a", 1.0},
		"obj": map[string]any{"k": 1.0}, "anyobj": map[any]any{"k": "v"}, "badobj": map[any]any{1: "v"},
	}
	c := call(in)
	tests := []struct {
		name    string
		get     func() (any, error)
		want    any
		invalid bool
	}{
		{"string", func() (any, error) { return String(c, "s", true) }, "x", false},
		{"string absent optional", func() (any, error) { return String(c, "nope", false) }, "", false},
		{"string absent required", func() (any, error) { return String(c, "nope", true) }, nil, true},
		{"string empty required", func() (any, error) { return String(c, "empty", true) }, nil, true},
		{"string wrong type", func() (any, error) { return String(c, "n", false) }, nil, true},
		{"int from JSON number", func() (any, error) { return Int(c, "n", 0, true) }, 9011, false},
		{"int from string", func() (any, error) { return Int(c, "ns", 0, false) }, 42, false},
		{"int default", func() (any, error) { return Int(c, "nope", 7, false) }, 7, false},
		{"int required", func() (any, error) { return Int(c, "nope", 7, true) }, nil, true},
		{"int fraction", func() (any, error) { return Int(c, "frac", 0, false) }, nil, true},
		{"int not a number", func() (any, error) { return Int(c, "s", 0, false) }, nil, true},
		{"bool", func() (any, error) { return Bool(c, "b", false) }, true, false},
		{"bool from string", func() (any, error) { return Bool(c, "bs", true) }, false, false},
		{"bool default", func() (any, error) { return Bool(c, "nope", true) }, true, false},
		{"bool wrong", func() (any, error) { return Bool(c, "s", false) }, nil, true},
		{"strings", func() (any, error) { return Strings(c, "list", true) }, []string{"a", "b"}, false},
		{"strings from one", func() (any, error) { return Strings(c, "one", true) }, []string{"a"}, false},
		{"strings mixed", func() (any, error) { return Strings(c, "mixed", true) }, nil, true},
		{"strings required", func() (any, error) { return Strings(c, "nope", true) }, nil, true},
		{"object", func() (any, error) { return Object(c, "obj") }, map[string]any{"k": 1.0}, false},
		{"object from map[any]any", func() (any, error) { return Object(c, "anyobj") }, map[string]any{"k": "v"}, false},
		{"object non-string key", func() (any, error) { return Object(c, "badobj") }, nil, true},
		{"object wrong type", func() (any, error) { return Object(c, "s") }, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if tt.invalid {
				wantInvalid(t, err)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}
