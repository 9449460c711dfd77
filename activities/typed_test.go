package activities

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

type typedIn struct {
	Name    string            `json:"name" required:"true"`
	Port    int               `json:"port"`
	On      *bool             `json:"on"`
	Hosts   []string          `json:"hosts" split:","`
	IDs     []string          `json:"ids"`
	Labels  map[string]string `json:"labels"`
	Nested  *typedNested      `json:"nested"`
	Any     any               `json:"any"`
	Ignored string
}

type typedNested struct {
	Mode string `json:"mode" required:"true"`
}

type typedOut struct {
	ID    string         `json:"id"`
	Count int            `json:"count"`
	List  []string       `json:"list"`
	Maybe *string        `json:"maybe,omitempty"`
	Skip  string         `json:"skip,omitempty"`
	Obj   map[string]int `json:"obj"`
	Item  typedNested    `json:"item"`
}

// TestDecodeInputs: the adapter reads inputs as the readers String, Int,
// Bool, Strings and Object do, and fails with the same Invalid errors.
func TestDecodeInputs(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want typedIn
		err  string
	}{
		{"JSON shapes", map[string]any{"name": "n", "port": 9092.0, "on": "true", "hosts": "a:1,b:2", "ids": []any{"x"},
			"labels": map[string]any{"k": "v"}, "nested": map[string]any{"mode": "m"}, "any": []any{1.0}},
			typedIn{Name: "n", Port: 9092, On: ptrTo(true), Hosts: []string{"a:1", "b:2"}, IDs: []string{"x"},
				Labels: map[string]string{"k": "v"}, Nested: &typedNested{Mode: "m"}, Any: []any{1.0}}, ""},
		{"Go shapes", map[string]any{"name": "n", "port": "7", "ids": "one", "hosts": []string{"h:1"}},
			typedIn{Name: "n", Port: 7, IDs: []string{"one"}, Hosts: []string{"h:1"}}, ""},
		{"missing required", map[string]any{"port": 1}, typedIn{}, `a.b: input "name" is required`},
		{"empty required", map[string]any{"name": ""}, typedIn{}, `a.b: input "name" is empty`},
		{"wrong type", map[string]any{"name": 3}, typedIn{}, `a.b: input "name" must be a string, got int`},
		{"fraction", map[string]any{"name": "n", "port": 1.5}, typedIn{}, `a.b: input "port" must be an integer`},
		{"list item", map[string]any{"name": "n", "ids": []any{"a", 2}}, typedIn{}, `a.b: input "ids[1]" must be a string, got int`},
		{"nested required", map[string]any{"name": "n", "nested": map[string]any{}}, typedIn{}, `a.b: input "nested.mode" is required`},
		{"not an object", map[string]any{"name": "n", "labels": "x"}, typedIn{}, `a.b: input "labels" must be an object, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got typedIn
			err := DecodeInputs(plan.Call{Action: "a.b", Inputs: tt.in}, &got)
			if tt.err != "" {
				var ae *temporal.ApplicationError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &ae) || ae.Type() != plan.ErrInvalid || !ae.NonRetryable() {
					t.Fatalf("err = %v, want a non-retryable Invalid containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestEncodeOutputs: outputs keep scalars' Go types, turn lists into []any
// and objects into map[string]any, and leave out empty omitempty fields.
func TestEncodeOutputs(t *testing.T) {
	out, err := EncodeOutputs(typedOut{ID: "i", Count: 3, List: []string{"a"}, Obj: map[string]int{"x": 1}, Item: typedNested{Mode: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	want := plan.Outputs{"id": "i", "count": 3, "list": []any{"a"}, "obj": map[string]any{"x": 1}, "item": map[string]any{"mode": "m"}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %#v, want %#v", out, want)
	}
	out, _ = EncodeOutputs(typedOut{Maybe: ptrTo(""), Skip: "s"})
	if v, ok := out["maybe"]; !ok || v != "" || out["skip"] != "s" {
		t.Fatalf("a set pointer and a non-empty omitempty field must be kept: %#v", out)
	}
}

// TestTypedAdapter: one generic adapter decodes, calls and encodes.
func TestTypedAdapter(t *testing.T) {
	fn := Typed(func(_ context.Context, call plan.Call, in typedNested) (typedOut, error) {
		return typedOut{ID: call.Action + "/" + in.Mode}, nil
	})
	out, err := fn(context.Background(), plan.Call{Action: "a.b", Inputs: map[string]any{"mode": "m"}})
	if err != nil || out["id"] != "a.b/m" {
		t.Fatalf("got %v, %v", out, err)
	}
	if _, err := fn(context.Background(), plan.Call{Action: "a.b"}); err == nil {
		t.Fatal("a missing required input must fail before the implementation runs")
	}
}

func ptrTo[T any](v T) *T { return &v }
