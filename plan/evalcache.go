package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Compiled programs are cached per process. A program compiled with
// expr.Env(env) depends on the environment only through the types of the
// top-level variables it names (expr's conf.EnvWithCache takes one nature
// per map key, from the value's reflect type); the cache key is therefore
// the code plus the type of every identifier the code uses, which makes a
// cached program exactly the program a fresh compilation would give.
var programs = struct {
	sync.Mutex
	idents map[string][]string     // code -> identifiers it uses, sorted
	progs  map[string]*vm.Program  // code + identifier types -> program
	errs   map[string]error        // code -> parse error
	types  map[reflect.Type]string // type names, to build keys cheaply
}{
	idents: map[string][]string{}, progs: map[string]*vm.Program{},
	errs: map[string]error{}, types: map[reflect.Type]string{},
}

// maxCachedPrograms bounds the cache; past it the cache starts again empty
// (plans hold hundreds of distinct expressions, not millions).
const maxCachedPrograms = 8192

// identifiers returns the identifiers an expression uses (variables and
// called names), sorted, parsing the code once per process.
func identifiers(code string) ([]string, error) {
	programs.Lock()
	ids, ok := programs.idents[code]
	perr := programs.errs[code]
	programs.Unlock()
	if ok || perr != nil {
		return ids, perr
	}
	tree, err := parser.Parse(code)
	if err != nil {
		programs.Lock()
		programs.errs[code] = err
		programs.Unlock()
		return nil, err
	}
	set := map[string]bool{}
	ast.Walk(&tree.Node, identVisitor(set))
	ids = make([]string, 0, len(set))
	for k := range set {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	programs.Lock()
	if len(programs.idents) >= maxCachedPrograms {
		programs.idents = map[string][]string{}
	}
	programs.idents[code] = ids
	programs.Unlock()
	return ids, nil
}

type identVisitor map[string]bool

func (v identVisitor) Visit(node *ast.Node) {
	if n, ok := (*node).(*ast.IdentifierNode); ok && n.Value != "" {
		v[n.Value] = true
	}
}

// program returns the compiled program of code for env's variable types.
func program(code string, env map[string]any) (*vm.Program, error) {
	ids, err := identifiers(code)
	if err != nil {
		// Let expr report the syntax error in its own words.
		return compile(code, env)
	}
	var key strings.Builder
	key.WriteString(code)
	programs.Lock()
	for _, id := range ids {
		key.WriteByte(0)
		key.WriteString(id)
		v, ok := env[id]
		switch {
		case !ok:
			key.WriteString("\x00!")
		case v == nil:
			key.WriteString("\x00nil")
		default:
			t := reflect.TypeOf(v)
			name, ok := programs.types[t]
			if !ok {
				name = t.String()
				programs.types[t] = name
			}
			key.WriteByte(0)
			key.WriteString(name)
		}
	}
	k := key.String()
	prog := programs.progs[k]
	programs.Unlock()
	if prog != nil {
		return prog, nil
	}
	prog, err = compile(code, env)
	if err != nil {
		return nil, err
	}
	programs.Lock()
	if len(programs.progs) >= maxCachedPrograms {
		programs.progs = map[string]*vm.Program{}
	}
	programs.progs[k] = prog
	programs.Unlock()
	return prog, nil
}

func compile(code string, env map[string]any) (*vm.Program, error) {
	opts := append(exprOptions(), expr.Env(env), expr.AllowUndefinedVariables())
	prog, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, fmt.Errorf("compile expression %q: %v", code, err)
	}
	return prog, nil
}

// evalRaw evaluates code against env without normalizing the result.
func evalRaw(code string, env map[string]any) (any, error) {
	prog, err := program(code, env)
	if err != nil {
		return nil, err
	}
	out, err := expr.Run(prog, env)
	if err != nil {
		return nil, fmt.Errorf("evaluate expression %q: %v", code, err)
	}
	return out, nil
}

// Memo evaluates the expressions of one fan-out step for each of its items,
// computing once what does not depend on the item: an expression's leading
// `let` declarations whose values use none of the varying names (the item
// and the index) are evaluated on the first item and reused for the others.
// A plan's per-item inputs often start with such a declaration (a lookup
// table built from an earlier fan-out's outputs, e.g. port ID → service ID),
// so this turns an evaluation quadratic in the number of items into a linear
// one. The results are exactly Eval's: the hoisted values are the values the
// declarations would have for every item, since they read nothing that
// varies, and the rest of the expression sees them under the same names.
//
// A Memo is valid for one base environment (the outputs of the steps done
// before the fan-out started); create a new one when that changes.
type Memo struct {
	varying map[string]bool
	mu      sync.Mutex
	exprs   map[string]*hoisted
}

// hoisted is the split of one expression: the invariant declarations'
// names and values, and the code of the rest. plain means no split (nothing
// to hoist, or a declaration failed: Eval reports the error as usual).
type hoisted struct {
	plain  bool
	names  []string
	values []any
	rest   string
}

// NewMemo returns a Memo for expressions whose varying names (the fan-out's
// item name and the index) are given.
func NewMemo(varying ...string) *Memo {
	m := &Memo{varying: map[string]bool{}, exprs: map[string]*hoisted{}}
	for _, v := range varying {
		m.varying[v] = true
	}
	return m
}

// Eval evaluates code against env like [Eval]; a nil Memo is plain Eval.
func (m *Memo) Eval(code string, env map[string]any) (any, error) {
	if m == nil {
		return Eval(code, env)
	}
	m.mu.Lock()
	h := m.exprs[code]
	m.mu.Unlock()
	if h == nil {
		h = m.split(code, env)
		m.mu.Lock()
		m.exprs[code] = h
		m.mu.Unlock()
	}
	if h.plain {
		return Eval(code, env)
	}
	inner := make(map[string]any, len(env)+len(h.names))
	for k, v := range env {
		inner[k] = v
	}
	for i, n := range h.names {
		inner[n] = h.values[i]
	}
	out, err := evalRaw(h.rest, inner)
	if err != nil {
		// Report the error as the whole expression would.
		return Eval(code, env)
	}
	return normalize(out)
}

// split hoists the leading invariant let declarations of code, evaluating
// them against env.
func (m *Memo) split(code string, env map[string]any) *hoisted {
	tree, err := parser.Parse(code)
	if err != nil {
		return &hoisted{plain: true}
	}
	h := &hoisted{}
	inner := env
	node := tree.Node
	for {
		decl, ok := node.(*ast.VariableDeclaratorNode)
		if !ok || m.uses(decl.Value) {
			break
		}
		if _, taken := inner[decl.Name]; taken {
			// expr refuses to redeclare a variable: let Eval say so.
			return &hoisted{plain: true}
		}
		v, err := evalRaw(decl.Value.String(), inner)
		if err != nil {
			return &hoisted{plain: true}
		}
		if len(h.names) == 0 {
			inner = make(map[string]any, len(env)+4)
			for k, e := range env {
				inner[k] = e
			}
		}
		inner[decl.Name] = v
		h.names = append(h.names, decl.Name)
		h.values = append(h.values, v)
		node = decl.Expr
	}
	if len(h.names) == 0 {
		return &hoisted{plain: true}
	}
	h.rest = node.String()
	if _, err := parser.Parse(h.rest); err != nil {
		return &hoisted{plain: true}
	}
	return h
}

// uses reports whether n reads a varying name.
func (m *Memo) uses(n ast.Node) bool {
	set := map[string]bool{}
	ast.Walk(&n, identVisitor(set))
	for id := range set {
		if m.varying[id] {
			return true
		}
	}
	return false
}

// Resolve evaluates a value like [Value.Resolve], through the memo.
func (m *Memo) Resolve(v Value, env map[string]any) (any, error) {
	if v.Expr == "" {
		return v.Literal, nil
	}
	return m.Eval(v.Expr, env)
}

// ResolveAll evaluates a map of values like [ResolveAll], through the memo.
func (m *Memo) ResolveAll(in map[string]Value, env map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r, err := m.Resolve(in[k], env)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}
