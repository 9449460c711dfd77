package plan

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Names that expressions may use at their root, besides fan-out item names.
const (
	RootSpec   = "spec"   // the spec's `spec` section
	RootSteps  = "steps"  // outputs of done steps, by step ID
	RootIndex  = "index"  // the fan-out index
	RootInput  = "input"  // in compensations: the step's resolved inputs
	RootOutput = "output" // in compensations: the step's outputs
	RootMeta   = "meta"   // workflow identity: {workflowId, specName, planSha256}
)

// nondeterministic are expr built-ins banned from plans: a workflow must
// evaluate every expression to the same value on replay.
var nondeterministic = []string{"now", "date"}

func exprOptions() []expr.Option {
	opts := []expr.Option{expr.MaxNodes(2000)}
	for _, b := range nondeterministic {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	return opts
}

// Refs describes what an expression refers to.
type Refs struct {
	// Roots are the root identifiers used (spec, steps, item, ...), sorted.
	Roots []string
	// Steps are the step IDs used as steps.<id> or steps["<id>"], sorted.
	Steps []string
}

// ParseRefs parses an expression without evaluating it and reports the
// identifiers it uses. It fails on syntax errors and banned built-ins.
func ParseRefs(code string) (Refs, error) {
	// Parsed once per process: a worker checks every plan it replays.
	if c, ok := refsCache.Load(code); ok {
		e := c.(refsEntry)
		return Refs{Roots: slices.Clone(e.refs.Roots), Steps: slices.Clone(e.refs.Steps)}, e.err
	}
	refs, err := parseRefs(code)
	if refsCacheSize.Add(1) <= maxRefsCache {
		refsCache.Store(code, refsEntry{refs: Refs{Roots: slices.Clone(refs.Roots), Steps: slices.Clone(refs.Steps)}, err: err})
	}
	return refs, err
}

// refsCache holds ParseRefs' answers by code (at most maxRefsCache).
var (
	refsCache     sync.Map
	refsCacheSize atomic.Int64
)

const maxRefsCache = 100_000

type refsEntry struct {
	refs Refs
	err  error
}

func parseRefs(code string) (Refs, error) {
	tree, err := parser.Parse(code)
	if err != nil {
		return Refs{}, fmt.Errorf("invalid expression %q: %v", code, err)
	}
	v := &refVisitor{roots: map[string]bool{}, steps: map[string]bool{}, locals: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	if v.banned != "" {
		return Refs{}, fmt.Errorf("expression %q calls %s(), which is not deterministic; pass the value as an input instead", code, v.banned)
	}
	return Refs{Roots: sortedKeys(v.roots), Steps: sortedKeys(v.steps)}, nil
}

type refVisitor struct {
	roots, steps, locals map[string]bool
	banned               string
}

func (v *refVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value != "" && n.Value != "$env" && n.Value[0] != '#' {
			v.roots[n.Value] = true
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == RootSteps {
			if s, ok := n.Property.(*ast.StringNode); ok {
				v.steps[s.Value] = true
			}
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			for _, b := range nondeterministic {
				if id.Value == b {
					v.banned = b
				}
			}
			// A called function is not a root variable.
			delete(v.roots, id.Value)
		}
	case *ast.BuiltinNode:
		for _, b := range nondeterministic {
			if n.Name == b {
				v.banned = b
			}
		}
	case *ast.PointerNode:
		// `#` inside predicates (map(list, #.x)) is local.
	case *ast.VariableDeclaratorNode:
		v.locals[n.Name] = true
	}
	for l := range v.locals {
		delete(v.roots, l)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Eval evaluates an expression against env. Evaluation is deterministic:
// built-ins that read the clock are disabled.
// Compiled programs are cached (see evalcache.go), so an expression is
// compiled once per process for each shape of its environment.
func Eval(code string, env map[string]any) (any, error) {
	out, err := evalRaw(code, env)
	if err != nil {
		return nil, err
	}
	return normalize(out)
}

// normalize turns expression results into JSON-encodable values: expr-lang
// builds map[any]any (e.g. fromPairs), which encoding/json cannot encode and
// which would fail when the value becomes an activity argument.
func normalize(v any) (any, error) {
	switch t := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[ks] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	default:
		return v, nil
	}
}

// Resolve evaluates a value: the literal as is, or the expression against env.
func (v Value) Resolve(env map[string]any) (any, error) {
	if v.Expr == "" {
		return v.Literal, nil
	}
	return Eval(v.Expr, env)
}

// ResolveAll evaluates a map of values.
func ResolveAll(in map[string]Value, env map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r, err := in[k].Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}
