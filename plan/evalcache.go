package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	return compiledOf(code).eval(env)
}

// codes holds each expression's compiled form (its identifiers, fast path
// and last program), so that evaluating it again costs a type check of its
// identifiers and a run, not a cache key built under a lock.
var codes struct {
	m sync.Map // code -> *compiled
	n atomic.Int64
}

// compiledOf returns code's compiled form, made once per process (the map
// starts again empty past maxCachedPrograms entries).
func compiledOf(code string) *compiled {
	if c, ok := codes.m.Load(code); ok {
		return c.(*compiled)
	}
	c := &compiled{}
	_ = c.init(code) // a syntax error is expr's to report, on each evaluation
	if codes.n.Add(1) > maxCachedPrograms {
		codes.m.Clear()
		codes.n.Store(0)
	}
	got, _ := codes.m.LoadOrStore(code, c)
	return got.(*compiled)
}

// Memo evaluates the expressions of one fan-out step for each of its items,
// computing once what does not depend on the item:
//   - an expression that reads none of the varying names (the item and the
//     index) is evaluated on the first item, and its value reused;
//   - an expression's leading `let` declarations whose values read none of
//     them are evaluated on the first item and reused for the others.
//
// A plan's per-item inputs often start with such a declaration (a lookup
// table built from an earlier fan-out's outputs, e.g. port ID → service ID),
// so this turns an evaluation quadratic in the number of items into a linear
// one. The results are exactly Eval's: the reused values are the values the
// expressions and declarations would have for every item, since they read
// nothing that varies, and the rest of an expression sees them under the
// same names. Each expression's compiled program is kept with the types it
// was compiled for (see program), so an item costs a run of the compiled
// program, not a compilation-cache lookup.
//
// A Memo is valid for one base environment (the outputs of the steps done
// before the fan-out started); create a new one when that changes.
type Memo struct {
	varying map[string]bool
	mu      sync.Mutex
	exprs   map[string]*hoisted
	keys    []string // the inputs' names, sorted, of the last ResolveAll
}

// hoisted is the split of one expression: the invariant declarations'
// names and values, and the code of the rest. plain means no split (nothing
// to hoist, or a declaration failed: Eval reports the error as usual).
// invariant means the whole expression reads nothing varying: value is its
// result (before normalize, which copies it for each item).
type hoisted struct {
	plain     bool
	invariant bool
	value     any
	names     []string
	values    []any
	rest      string
	// run is what an item evaluates: rest (or the code, when plain) with
	// its compiled program.
	run compiled
}

// compiled is one code's program for the variable types it was compiled
// with. ids are the identifiers the code reads; all means it reads $env
// (the whole environment), so it is evaluated against env itself.
type compiled struct {
	code string
	ids  []string
	all  bool
	fast fastChain // fastpath.go; nil: the VM runs it
	last atomic.Pointer[typedProgram]
}

// typedProgram is a program and the type of each of its identifiers in the
// environment it was compiled for (nil type: absent; nilType: present, nil).
type typedProgram struct {
	prog  *vm.Program
	types []reflect.Type
}

// nilType marks a variable that is present with a nil value.
var nilType = reflect.TypeOf(struct{ nilValue bool }{})

func (c *compiled) init(code string) error {
	c.code = code
	ids, err := identifiers(code)
	if err != nil {
		c.all = true
		return err
	}
	if tree, err := parser.Parse(code); err == nil {
		c.fast = compileChain(tree.Node)
	}
	c.ids = ids
	for _, id := range ids {
		if id == "$env" {
			c.all = true
		}
	}
	return nil
}

// typeOf is v's entry in a typedProgram's types.
func typeOf(v any, ok bool) reflect.Type {
	switch {
	case !ok:
		return nil
	case v == nil:
		return nilType
	}
	return reflect.TypeOf(v)
}

// program returns c's program for the scope's variable types, compiling
// (through the process cache) only when they differ from the last
// compilation's.
func (c *compiled) program(sc scope) (*vm.Program, error) {
	if c.all {
		// $env's type is the whole environment's: no shortcut.
		return program(c.code, sc.flat())
	}
	if last := c.last.Load(); last != nil {
		same := true
		for i, id := range c.ids {
			v, ok := sc.get(id)
			if typeOf(v, ok) != last.types[i] {
				same = false
				break
			}
		}
		if same {
			return last.prog, nil
		}
	}
	prog, err := program(c.code, sc.flat())
	if err != nil {
		return nil, err
	}
	tp := &typedProgram{prog: prog, types: make([]reflect.Type, len(c.ids))}
	for i, id := range c.ids {
		v, ok := sc.get(id)
		tp.types[i] = typeOf(v, ok)
	}
	c.last.Store(tp)
	return prog, nil
}

// vms are reusable expression VMs (a VM keeps its stack between runs).
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

// eval runs c against env, unnormalized.
func (c *compiled) eval(env map[string]any) (any, error) {
	return c.evalScope(scope{env: env})
}

// evalScope runs c against a scope, unnormalized.
func (c *compiled) evalScope(sc scope) (any, error) {
	// Compiled even when the fast path answers: a program expr refuses for
	// these types is refused here too.
	prog, err := c.program(sc)
	if err != nil {
		return nil, err
	}
	if c.fast != nil {
		if out, ok := c.fast(sc); ok {
			return out, nil
		}
	}
	v := vms.Get().(*vm.VM)
	out, err := v.Run(prog, sc.flat())
	vms.Put(v)
	if err != nil {
		return nil, fmt.Errorf("evaluate expression %q: %v", c.code, err)
	}
	return out, nil
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
	switch {
	case h.invariant:
		return normalize(h.value)
	case h.plain:
		out, err := h.run.eval(env)
		if err != nil {
			// Report the error in Eval's own words.
			return Eval(code, env)
		}
		return normalize(out)
	}
	out, err := h.run.evalScope(scope{env: env, names: h.names, values: h.values})
	if err != nil {
		// Report the error as the whole expression would.
		return Eval(code, env)
	}
	return normalize(out)
}

// split hoists what of code does not vary: the whole expression, or its
// leading invariant let declarations, evaluating them against env.
func (m *Memo) split(code string, env map[string]any) *hoisted {
	plain := func() *hoisted {
		h := &hoisted{plain: true}
		// A syntax error leaves no identifiers: the program is asked of
		// the process cache, which lets expr report it.
		_ = h.run.init(code)
		return h
	}
	tree, err := parser.Parse(code)
	if err != nil {
		return plain()
	}
	if !m.uses(tree.Node) {
		v, err := evalRaw(code, env)
		if err != nil {
			return plain()
		}
		return &hoisted{invariant: true, value: v}
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
			return plain()
		}
		v, err := hoist(decl.Value, inner)
		if err != nil {
			return plain()
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
		return plain()
	}
	h.rest = node.String()
	if err := h.run.init(h.rest); err != nil {
		return plain()
	}
	return h
}

// hoist evaluates an invariant declaration's value: a lookup table through
// its fast path (fastpath.go) once expr has compiled it, anything else (or
// a table the fast path declines) by the VM.
func hoist(n ast.Node, env map[string]any) (any, error) {
	code := n.String()
	if t := compilePairs(n); t != nil {
		if _, err := program(code, env); err != nil {
			return nil, err
		}
		if v, ok := t.eval(env); ok {
			return v, nil
		}
	}
	return evalRaw(code, env)
}

// uses reports whether n reads a varying name (or the whole environment,
// $env, which holds them).
func (m *Memo) uses(n ast.Node) bool {
	set := map[string]bool{}
	ast.Walk(&n, identVisitor(set))
	for id := range set {
		if m.varying[id] || id == "$env" {
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
	keys := m.sortedKeys(in)
	for _, k := range keys {
		r, err := m.Resolve(in[k], env)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

// sortedKeys returns in's keys, sorted: every item of a step resolves the
// same inputs, so the last call's keys serve when they are in's.
func (m *Memo) sortedKeys(in map[string]Value) []string {
	if m != nil {
		m.mu.Lock()
		keys := m.keys
		m.mu.Unlock()
		if len(keys) == len(in) {
			same := true
			for _, k := range keys {
				if _, ok := in[k]; !ok {
					same = false
					break
				}
			}
			if same {
				return keys
			}
		}
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if m != nil {
		m.mu.Lock()
		m.keys = keys
		m.mu.Unlock()
	}
	return keys
}
