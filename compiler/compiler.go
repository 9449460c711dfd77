// Package compiler turns validated spec documents into plans: immutable DAGs
// of steps with stable IDs, inputs (literals or expressions over earlier
// steps' outputs), fan-out over run-time lists, wait contracts, approval
// gates and compensations derived from the catalog's inverses.
//
// Compilation is deterministic: the same spec always gives a byte-identical
// plan (and so the same sha256). Values from the spec are folded into the plan
// as literals, so a plan never needs the spec at run time.
package compiler

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// Compile compiles one validated document into a plan that passes
// [plan.Plan.Check].
func Compile(doc *spec.Document) (*plan.Plan, error) {
	if doc == nil {
		return nil, errors.New("compile: no document")
	}
	b := &builder{doc: doc, p: &plan.Plan{
		APIVersion: plan.APIVersion,
		Source: plan.Source{Kind: doc.Kind, Name: doc.Metadata.Name, Labels: doc.Metadata.Labels,
			SpecSHA256: doc.SHA256},
		OnFailure: plan.FailRollback,
	}}
	var err error
	switch {
	case doc.KafkaAccess != nil:
		err = b.kafkaAccess(doc.KafkaAccess)
	case doc.Workflow != nil:
		err = b.workflow(doc.Workflow)
	default:
		err = fmt.Errorf("kind %q has no compiler", doc.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("compile %s %q: %w", doc.Kind, doc.Metadata.Name, err)
	}
	b.finish()
	if err := b.p.Check(); err != nil {
		return nil, fmt.Errorf("compile %s %q: compiled plan is inconsistent (compiler bug): %w", doc.Kind, doc.Metadata.Name, err)
	}
	return b.p, nil
}

// CompileFile parses and validates the file, which must hold exactly one
// document, and compiles it. Validation problems are returned as a
// [spec.ErrorList].
func CompileFile(path string, opts spec.Options) (*plan.Plan, error) {
	docs, err := spec.ParseFile(path, opts)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, spec.ErrorList{{File: path, Line: 1, Column: 1,
			Message: fmt.Sprintf("file holds %d spec documents; give one document per request", len(docs))}}
	}
	return Compile(docs[0])
}

// CompileAll compiles every document of every file, in order.
func CompileAll(paths []string, opts spec.Options) ([]*plan.Plan, error) {
	var out []*plan.Plan
	var errs spec.ErrorList
	for _, path := range paths {
		docs, err := spec.ParseFile(path, opts)
		errs = append(errs, spec.Errors(err)...)
		for _, d := range docs {
			p, err := Compile(d)
			if err != nil {
				errs = append(errs, spec.Error{File: path, Line: d.Line, Column: d.Column, Message: err.Error()})
				continue
			}
			out = append(out, p)
		}
	}
	errs.Sort()
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// builder accumulates a plan.
type builder struct {
	doc *spec.Document
	p   *plan.Plan
	// deps[id] are the direct dependencies of the steps added so far.
	deps map[string][]string
}

// noCompensation marks a step whose compensation must not be derived.
var noCompensation = &plan.Compensation{}

// add appends a step, deriving its compensation from the action's inverse
// when none is given, and its locks from the action's descriptor.
func (b *builder) add(s plan.Step) {
	desc, known := catalog.Lookup(s.Action)
	if s.Compensation == noCompensation {
		s.Compensation = nil
	} else if s.Compensation == nil && known {
		s.Compensation = derive(desc)
	}
	if known && len(s.Locks) == 0 {
		for _, l := range desc.Locks {
			s.Locks = append(s.Locks, substituteInputs(l, s.Inputs))
		}
	}
	if s.Title == "" && known {
		s.Title = desc.Title
	}
	s.DependsOn = b.reduce(dedupSorted(s.DependsOn))
	b.p.Steps = append(b.p.Steps, s)
	if b.deps == nil {
		b.deps = map[string][]string{}
	}
	b.deps[s.ID] = s.DependsOn
}

// reduce drops dependencies implied by other dependencies (transitive
// reduction), so plans list only direct edges.
func (b *builder) reduce(deps []string) []string {
	if len(deps) < 2 {
		return deps
	}
	var out []string
	for _, d := range deps {
		implied := false
		for _, o := range deps {
			if o != d && b.reaches(o, d) {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, d)
		}
	}
	return out
}

// reaches reports whether step from depends on step to, transitively.
func (b *builder) reaches(from, to string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range b.deps[n] {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return false
}

// derive builds the compensation of an action from its catalog inverse.
func derive(desc *catalog.Action) *plan.Compensation {
	inv := desc.Inverse
	if inv == nil {
		return nil
	}
	c := &plan.Compensation{Title: inv.Title, Action: inv.Action, WaitAction: inv.WaitAction}
	if len(inv.Inputs) > 0 {
		c.Inputs = make(map[string]plan.Value, len(inv.Inputs))
		for k, v := range inv.Inputs {
			c.Inputs[k] = v
		}
	}
	if inv.Wait != nil {
		w := copyWait(*inv.Wait)
		c.Wait = &w
	}
	return c
}

func copyWait(w plan.Wait) plan.Wait {
	w.Pending = append([]string(nil), w.Pending...)
	w.Target = append([]string(nil), w.Target...)
	w.Failure = append([]string(nil), w.Failure...)
	return w
}

var inputRef = regexp.MustCompile(`\binput\.([A-Za-z_][A-Za-z0-9_]*)`)

// substituteInputs rewrites a descriptor's lock expression, which reads the
// step's `input`, into an expression over the step's own input values.
func substituteInputs(code string, inputs map[string]plan.Value) string {
	return inputRef.ReplaceAllStringFunc(code, func(m string) string {
		v, ok := inputs[m[len("input."):]]
		if !ok {
			return "nil"
		}
		if v.IsExpr() {
			return "(" + v.Expr + ")"
		}
		return literal(v.Literal)
	})
}

// literal renders a JSON-like value as expr source.
func literal(v any) string {
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
			parts[i] = literal(e)
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
			parts[i] = strconv.Quote(k) + ": " + literal(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// foldSpec replaces every `spec.…` member chain in code by the literal it
// denotes in the document, so plans never need the spec at run time.
func foldSpec(code string, raw map[string]any) (string, error) {
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
		lit, err := parser.Parse(literal(normalize(val)))
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

func dedupSorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// finish fills the plan-level fields derived from the steps.
func (b *builder) finish() {
	seen := map[string]bool{}
	for _, s := range b.p.Steps {
		if s.Account != "" {
			seen[s.Account] = true
		}
		if s.Compensation != nil && s.Compensation.Account != "" {
			seen[s.Compensation.Account] = true
		}
	}
	b.p.Accounts = nil
	for a := range seen {
		b.p.Accounts = append(b.p.Accounts, a)
	}
	sort.Strings(b.p.Accounts)
	if len(b.p.Summary) > 200 {
		b.p.Summary = b.p.Summary[:197] + "..."
	}
}
