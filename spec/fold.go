package spec

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/topoflow/topoflow/plan"
)

// ExprLiteral renders a JSON-like value as expr source (maps with sorted keys).
func ExprLiteral(v any) string {
	switch t := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = ExprLiteral(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = strconv.Quote(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ": " + ExprLiteral(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// FoldSpec replaces every `spec.…` member chain in code by the literal it
// denotes in raw (the document's spec section), so plans never need the spec
// at run time. It fails when a chain cannot be evaluated.
func FoldSpec(code string, raw map[string]any) (string, error) {
	refs, err := plan.ParseRefs(code)
	if err != nil {
		return "", err
	}
	usesSpec := false
	for _, r := range refs.Roots {
		usesSpec = usesSpec || r == plan.RootSpec
	}
	if !usesSpec {
		return code, nil
	}
	tree, err := parser.Parse(code)
	if err != nil {
		return "", err
	}
	// Collect spec chains; a chain is maximal when no other chain has it as its object.
	chains := map[ast.Node]bool{}
	inner := map[ast.Node]bool{}
	ast.Walk(&tree.Node, visitFunc(func(n *ast.Node) {
		if isSpecChain(*n) {
			chains[*n] = true
			if m, ok := (*n).(*ast.MemberNode); ok {
				inner[m.Node] = true
			}
		}
	}))
	var ferr error
	ast.Walk(&tree.Node, visitFunc(func(n *ast.Node) {
		if !chains[*n] || inner[*n] || ferr != nil {
			return
		}
		val, err := plan.Eval((*n).String(), map[string]any{plan.RootSpec: raw})
		if err != nil {
			ferr = err
			return
		}
		lit, err := parser.Parse(ExprLiteral(normalize(val)))
		if err != nil {
			ferr = err
			return
		}
		ast.Patch(n, lit.Node)
	}))
	if ferr != nil {
		return "", ferr
	}
	return tree.Node.String(), nil
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

func isSpecChain(n ast.Node) bool {
	switch t := n.(type) {
	case *ast.IdentifierNode:
		return t.Value == plan.RootSpec
	case *ast.MemberNode:
		switch t.Property.(type) {
		case *ast.StringNode, *ast.IntegerNode:
			return isSpecChain(t.Node)
		}
	}
	return false
}

// normalize converts values from evaluation to JSON-like types.
func normalize(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}
