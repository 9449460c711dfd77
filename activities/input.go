package activities

import (
	"strconv"

	"github.com/topoflow/topoflow/plan"
)

// The input readers below take a step's resolved inputs as they arrive in an
// activity: JSON-decoded (numbers as float64, lists as []any, objects as
// map[string]any), or Go values when called in-process. Every error is
// Invalid and names the action and the input.

// String reads a string input; a required one must be present and non-empty.
func String(call plan.Call, key string, required bool) (string, error) {
	v, ok := call.Inputs[key]
	if !ok || v == nil {
		if required {
			return "", Invalid("%s: input %q is required", call.Action, key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", Invalid("%s: input %q must be a string, got %T", call.Action, key, v)
	}
	if required && s == "" {
		return "", Invalid("%s: input %q is empty", call.Action, key)
	}
	return s, nil
}

// Int reads an integer input (a whole JSON number or a decimal string),
// returning def when it is absent and not required.
func Int(call plan.Call, key string, def int, required bool) (int, error) {
	v, ok := call.Inputs[key]
	if !ok || v == nil {
		if required {
			return 0, Invalid("%s: input %q is required", call.Action, key)
		}
		return def, nil
	}
	switch n := v.(type) {
	case int:
		return n, nil
	case int32:
		return int(n), nil
	case int64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, Invalid("%s: input %q must be an integer", call.Action, key)
		}
		return int(n), nil
	case string:
		i, err := strconv.Atoi(n)
		if err != nil {
			return 0, Invalid("%s: input %q must be an integer", call.Action, key)
		}
		return i, nil
	}
	return 0, Invalid("%s: input %q must be an integer, got %T", call.Action, key, v)
}

// Bool reads a boolean input (or "true"/"false"), returning def when absent.
func Bool(call plan.Call, key string, def bool) (bool, error) {
	v, ok := call.Inputs[key]
	if !ok || v == nil {
		return def, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, nil
		}
	}
	return false, Invalid("%s: input %q must be a boolean, got %T", call.Action, key, v)
}

// Strings reads a list of strings (a single string counts as a list of one).
func Strings(call plan.Call, key string, required bool) ([]string, error) {
	v, ok := call.Inputs[key]
	if !ok || v == nil {
		if required {
			return nil, Invalid("%s: input %q is required", call.Action, key)
		}
		return nil, nil
	}
	var out []string
	switch l := v.(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, Invalid("%s: input %q[%d] must be a string, got %T", call.Action, key, i, x)
			}
			out = append(out, s)
		}
	case string:
		out = []string{l}
	default:
		return nil, Invalid("%s: input %q must be a list of strings, got %T", call.Action, key, v)
	}
	if required && len(out) == 0 {
		return nil, Invalid("%s: input %q is empty", call.Action, key)
	}
	return out, nil
}

// Object reads a required object input as map[string]any.
func Object(call plan.Call, key string) (map[string]any, error) {
	v, ok := call.Inputs[key]
	if !ok || v == nil {
		return nil, Invalid("%s: input %q is required", call.Action, key)
	}
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, Invalid("%s: input %q has a non-string key", call.Action, key)
			}
			out[ks] = x
		}
		return out, nil
	}
	return nil, Invalid("%s: input %q must be an object, got %T", call.Action, key, v)
}
