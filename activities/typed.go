package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// TypedFunc implements an action over its contract types (see catalog.Typed).
type TypedFunc[In, Out any] func(ctx context.Context, call plan.Call, in In) (Out, error)

// Typed adapts fn to a Func: it decodes the call's inputs into In (with the
// same rules and errors as the readers String, Int, Bool, Strings and Object,
// per the field tags of catalog's contract types) and encodes fn's Out as
// the step's outputs (the keys of Out's json-named fields; omitempty fields
// that are empty are left out). Every provider registers its actions
// through it.
func Typed[In, Out any](fn TypedFunc[In, Out]) Func {
	return func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		var in In
		if err := DecodeInputs(call, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, call, in)
		if err != nil {
			return nil, err
		}
		return EncodeOutputs(out)
	}
}

// DecodeInputs decodes call.Inputs into the struct dst points to. Errors are
// Invalid and name the action and the input.
func DecodeInputs(call plan.Call, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("activities: DecodeInputs needs a pointer to a struct, got %T", dst)
	}
	return decodeStruct(call.Action, "", call.Inputs, rv.Elem())
}

func decodeStruct(action, prefix string, in map[string]any, dst reflect.Value) error {
	for _, f := range catalog.Fields(dst.Type()) {
		key := prefix + f.Name
		v, ok := in[f.Name]
		if !ok || v == nil {
			if f.Tag.Get("required") == "true" {
				return Invalid("%s: input %q is required", action, key)
			}
			continue
		}
		if err := decodeValue(action, key, f.Tag, v, dst.Field(f.Index)); err != nil {
			return err
		}
		if f.Tag.Get("required") == "true" && isEmpty(dst.Field(f.Index)) {
			return Invalid("%s: input %q is empty", action, key)
		}
	}
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}

func decodeValue(action, key string, tag reflect.StructTag, v any, dst reflect.Value) error {
	t := dst.Type()
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := decodeValue(action, key, tag, v, p.Elem()); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Interface:
		dst.Set(reflect.ValueOf(v))
		return nil
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return Invalid("%s: input %q must be a string, got %T", action, key, v)
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		switch b := v.(type) {
		case bool:
			dst.SetBool(b)
			return nil
		case string:
			if p, err := strconv.ParseBool(b); err == nil {
				dst.SetBool(p)
				return nil
			}
		}
		return Invalid("%s: input %q must be a boolean, got %T", action, key, v)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := toInt(v)
		if err != nil {
			return Invalid("%s: input %q must be an integer%s", action, key, err.Error())
		}
		dst.SetInt(int64(n))
		return nil
	case reflect.Float64:
		switch n := v.(type) {
		case float64:
			dst.SetFloat(n)
			return nil
		case int:
			dst.SetFloat(float64(n))
			return nil
		}
		return Invalid("%s: input %q must be a number, got %T", action, key, v)
	case reflect.Slice:
		return decodeSlice(action, key, tag, v, dst)
	case reflect.Map:
		m, err := toMap(action, key, v)
		if err != nil {
			return err
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, x := range m {
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(action, key+"."+k, "", x, e); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		dst.Set(out)
		return nil
	case reflect.Struct:
		m, err := toMap(action, key, v)
		if err != nil {
			return err
		}
		return decodeStruct(action, key+".", m, dst)
	}
	return fmt.Errorf("activities: input %q: unsupported contract type %s", key, t)
}

func decodeSlice(action, key string, tag reflect.StructTag, v any, dst reflect.Value) error {
	var items []any
	switch l := v.(type) {
	case []any:
		items = l
	case []string:
		for _, s := range l {
			items = append(items, s)
		}
	case string:
		// A single string counts as a list of one (or is split on the
		// field's separator).
		if sep := tag.Get("split"); sep != "" {
			for _, s := range strings.Split(l, sep) {
				items = append(items, s)
			}
		} else {
			items = []any{l}
		}
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			return Invalid("%s: input %q must be a list, got %T", action, key, v)
		}
		for i := range rv.Len() {
			items = append(items, rv.Index(i).Interface())
		}
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, x := range items {
		if err := decodeValue(action, fmt.Sprintf("%s[%d]", key, i), "", x, out.Index(i)); err != nil {
			return err
		}
	}
	dst.Set(out)
	return nil
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int32:
		return int(n), nil
	case int64:
		return int(n), nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
		return 0, fmt.Errorf("")
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i, nil
		}
		return 0, fmt.Errorf("")
	}
	return 0, fmt.Errorf(", got %T", v)
}

func toMap(action, key string, v any) (map[string]any, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, Invalid("%s: input %q has a non-string key", action, key)
			}
			out[ks] = x
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[k] = x
		}
		return out, nil
	}
	return nil, Invalid("%s: input %q must be an object, got %T", action, key, v)
}

// EncodeOutputs returns the outputs of out, a contract output struct (or
// plan.Outputs, returned as is): one key per json-named field, omitempty
// fields left out when empty. Scalars keep their Go types; lists become
// []any and objects (maps and structs) map[string]any, the shapes a step's
// outputs have after Temporal's data converter.
func EncodeOutputs(out any) (plan.Outputs, error) {
	if o, ok := out.(plan.Outputs); ok {
		return o, nil
	}
	rv := reflect.ValueOf(out)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return plan.Outputs{}, nil
		}
		rv = rv.Elem()
	}
	res := plan.Outputs{}
	for _, f := range catalog.Fields(rv.Type()) {
		fv := rv.Field(f.Index)
		if f.OmitEmpty && fv.IsZero() {
			continue
		}
		v, err := plain(fv)
		if err != nil {
			return nil, fmt.Errorf("encode output %q: %w", f.Name, err)
		}
		res[f.Name] = v
	}
	return res, nil
}

// plain converts v to the JSON shapes of a decoded value, keeping scalars.
func plain(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return plain(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any(nil), nil
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			x, err := plain(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case reflect.Map:
		if v.IsNil() {
			return map[string]any(nil), nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			x, err := plain(it.Value())
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(it.Key().Interface())] = x
		}
		return out, nil
	case reflect.Struct:
		fs := catalog.Fields(v.Type())
		if len(fs) == 0 {
			// A struct without json names (e.g. time.Time) goes through encoding/json.
			b, err := json.Marshal(v.Interface())
			if err != nil {
				return nil, err
			}
			var x any
			return x, json.Unmarshal(b, &x)
		}
		out := make(map[string]any, len(fs))
		for _, f := range fs {
			fv := v.Field(f.Index)
			if f.OmitEmpty && fv.IsZero() {
				continue
			}
			x, err := plain(fv)
			if err != nil {
				return nil, err
			}
			out[f.Name] = x
		}
		return out, nil
	}
	return v.Interface(), nil
}
