package spec

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"time"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// inputTypes checks a Workflow step's inputs against its action's declared
// types and formats (catalog.Param Type and Format): literals as written,
// and expressions that read only spec values (e.g. ${{ spec.inputs.cidr }})
// as the value they fold to. Values are accepted as the actions' readers
// accept them (a decimal string for an integer, "true" for a boolean, a
// single string for a list).
func (v *validator) inputTypes(p string, st *WorkflowStep, desc *catalog.Action) {
	for _, prm := range desc.Inputs {
		val, ok := st.Inputs[prm.Name]
		if !ok || val == nil {
			continue
		}
		from := ""
		if s, isStr := val.(string); isStr {
			if code, isExpr := ExprOf(s); isExpr {
				folded, ok := foldedValue(code, v.doc.Raw)
				if !ok {
					continue // read at run time: the action checks it
				}
				val, from = folded, fmt.Sprintf("%s (from %s) ", ExprLiteral(normalize(folded)), s)
			}
		}
		if msg := paramProblem(prm, val); msg != "" {
			if from == "" {
				from = ExprLiteral(normalize(val)) + " "
			}
			v.d.errorf(v.node(p+".inputs."+prm.Name), "step %q: input %q of action %q: %sis %s", st.ID, prm.Name, desc.Name, from, msg)
		}
	}
}

// foldedValue evaluates an expression that reads only spec values.
func foldedValue(code string, raw map[string]any) (any, bool) {
	refs, err := plan.ParseRefs(code)
	if err != nil || len(refs.Roots) != 1 || refs.Roots[0] != plan.RootSpec {
		return nil, false
	}
	folded, err := FoldSpec(code, raw)
	if err != nil {
		return nil, false
	}
	val, err := plan.Eval(folded, map[string]any{})
	if err != nil {
		return nil, false
	}
	return val, true
}

// paramProblem says what is wrong with val as an input of type and format
// prm ("" when nothing is).
func paramProblem(prm catalog.Param, val any) string {
	rv := reflect.ValueOf(val)
	kind := rv.Kind()
	want := map[string]string{"string": "a string", "integer": "an integer", "number": "a number",
		"boolean": "true or false", "array": "a list", "object": "a map"}[prm.Type]
	ok := true
	switch prm.Type {
	case "string":
		ok = kind == reflect.String
	case "integer":
		switch kind {
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64:
		case reflect.Float64:
			ok = rv.Float() == float64(int64(rv.Float()))
		case reflect.String:
			_, err := strconv.Atoi(rv.String())
			ok = err == nil
		default:
			ok = false
		}
	case "number":
		switch kind {
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Float64:
		default:
			ok = false
		}
	case "boolean":
		switch kind {
		case reflect.Bool:
		case reflect.String:
			_, err := strconv.ParseBool(rv.String())
			ok = err == nil
		default:
			ok = false
		}
	case "array":
		ok = kind == reflect.Slice || kind == reflect.String
	case "object":
		ok = kind == reflect.Map
	}
	if !ok {
		return "not " + want
	}
	s, isStr := val.(string)
	if !isStr {
		return ""
	}
	switch prm.Format {
	case "cidr":
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return "not a valid CIDR (e.g. 10.0.0.0/16)"
		}
		if pfx.Masked() != pfx {
			return fmt.Sprintf("a CIDR with host bits set (did you mean %q?)", pfx.Masked().String())
		}
	case "duration":
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return "not a positive duration (e.g. 30s, 10m)"
		}
	}
	return ""
}
