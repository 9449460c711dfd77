package catalog

import (
	"fmt"
	"reflect"
	"strings"
)

// An action's contract is a pair of Go struct types: its inputs and its
// outputs. [Typed] derives the descriptor's Inputs and Outputs from them, and
// activities.Typed decodes a call's inputs into the input type and encodes
// the output type as the step's outputs, so the descriptor, the
// implementation and the docs cannot disagree on a key.
//
// Field tags of an input type:
//
//	json:"name"       the input key (fields without a json name are skipped)
//	required:"true"   the input must be given (and a string or list non-empty)
//	doc:"..."         what the input is
//	format:"cidr"     a string format the validator checks (cidr, duration, hostport)
//	split:","         a string given for a list is split on this separator
//
// Field tags of an output type: json:"name" (the output key) and doc.

// Contract holds an action's input and output types (see [Typed]).
type Contract struct {
	// In and Out are the struct types of the inputs and outputs.
	In, Out reflect.Type
}

// Typed returns a with its Inputs and Outputs derived from In and Out and
// its Contract set. It panics when a lists Inputs or Outputs itself, or when
// In or Out is not a struct: descriptors are built at init time and a wrong
// one is a programming error.
func Typed[In, Out any](a Action) Action {
	in, out := reflect.TypeFor[In](), reflect.TypeFor[Out]()
	if len(a.Inputs) > 0 || len(a.Outputs) > 0 {
		panic(fmt.Sprintf("catalog: typed action %q lists its inputs or outputs by hand", a.Name))
	}
	a.Inputs = ParamsOf(in)
	for _, f := range fieldsOf(out) {
		a.Outputs = append(a.Outputs, f.Name)
	}
	a.Contract = &Contract{In: in, Out: out}
	return a
}

// ParamsOf returns the params described by struct type t's fields (see the
// field tags above).
func ParamsOf(t reflect.Type) []Param {
	var ps []Param
	for _, f := range fieldsOf(t) {
		ps = append(ps, Param{
			Name: f.Name, Type: JSONType(f.Type), Required: f.Tag.Get("required") == "true",
			Doc: f.Tag.Get("doc"), Format: f.Tag.Get("format"),
		})
	}
	return ps
}

// Field is one input or output field of a contract type.
type Field struct {
	// Name is the key (the field's json name).
	Name string
	// Index is the field's index in its struct.
	Index int
	// Type is the field's Go type.
	Type reflect.Type
	// Tag is the field's struct tag.
	Tag reflect.StructTag
	// OmitEmpty is set by the json option omitempty.
	OmitEmpty bool
}

// Fields returns the keyed fields of struct type t, in declaration order.
func Fields(t reflect.Type) []Field { return fieldsOf(t) }

func fieldsOf(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("catalog: contract type %s is not a struct", t))
	}
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		out = append(out, Field{Name: name, Index: i, Type: sf.Type, Tag: sf.Tag, OmitEmpty: strings.Contains(opts, "omitempty")})
	}
	return out
}

// JSONType names the JSON type of Go type t as Param.Type does: string,
// integer, number, boolean, array, object or any.
func JSONType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "any"
}
