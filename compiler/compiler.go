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
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
	"github.com/topoflow/topoflow/spec"
)

// Compile compiles one validated document into a plan that passes
// [plan.Plan.Check] and [policy.Check]. The validator reports every problem a
// spec can cause with its position; an error here that is not a
// [spec.ErrorList] is a compiler bug.
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
	case doc.SaaSPeering != nil:
		err = b.saasPeering(doc.SaaSPeering)
	default:
		err = fmt.Errorf("kind %q has no compiler", doc.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("compile %s %q: %w", doc.Kind, doc.Metadata.Name, err)
	}
	b.drift(doc)
	b.finish()
	if err := b.p.Check(); err != nil {
		if l := stepErrors(doc, err); l != nil {
			return nil, l
		}
		return nil, fmt.Errorf("compile %s %q: compiled plan is inconsistent (compiler bug): %w", doc.Kind, doc.Metadata.Name, err)
	}
	if err := policy.Check(b.p); err != nil {
		return nil, fmt.Errorf("compile %s %q: compiled plan breaks the gate policy the validator checks (compiler bug): %w", doc.Kind, doc.Metadata.Name, err)
	}
	return b.p, nil
}

// stepErrors places the plan.Check problems of a Workflow's steps at the
// steps' keys in the spec: a Workflow's steps are the user's, so a problem
// the validator missed is still the user's to fix, at its position. It
// returns nil when a problem is not about a spec step (a compiler bug).
func stepErrors(doc *spec.Document, err error) spec.ErrorList {
	if doc.Workflow == nil {
		return nil
	}
	index := map[string]int{}
	for i, s := range doc.Workflow.Steps {
		index[s.ID] = i
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out spec.ErrorList
	for _, e := range errs {
		m := stepProblem.FindStringSubmatch(e.Error())
		if m == nil {
			return nil
		}
		i, ok := index[m[1]]
		if !ok {
			return nil
		}
		path := fmt.Sprintf("spec.steps[%d]", i)
		if f := stepField(m[2]); f != "" {
			path += "." + f
		}
		out = append(out, doc.ErrorAt(path, "step %q: %s", m[1], m[2]))
	}
	out.Sort()
	return out
}

// stepProblem matches a plan.Check problem of one step.
var stepProblem = regexp.MustCompile(`^step "([^"]+)": (.*)$`)

// stepField maps a plan.Check problem to the step key it is about.
func stepField(msg string) string {
	for _, f := range []struct{ prefix, key string }{
		{"wait", "wait"}, {"forEach", "forEach"}, {"when", "when"}, {"input ", "inputs"}, {"lock", "locks"},
		{"gate", "gate"}, {"compensation", "compensation"}, {"onFailure", "onFailure"}, {"depends", "dependsOn"},
	} {
		if strings.HasPrefix(msg, f.prefix) {
			return f.key
		}
	}
	return ""
}

// operatorsAndPolicy records the spec's operators and gate-policy opt-ins in the plan.
func (b *builder) operatorsAndPolicy(operators []string, pol *spec.Policy) {
	if len(operators) > 0 {
		b.p.Operators = append([]string(nil), operators...)
	}
	if pol != nil && (pol.AllowBroadAccess || pol.AllowUngated) {
		b.p.Policy = &plan.Policy{AllowBroadAccess: pol.AllowBroadAccess, AllowUngated: pol.AllowUngated, Reason: pol.Reason}
	}
}

// CompileFile parses and validates the file, which must hold exactly one
// document, and compiles it. Problems are returned as a [spec.ErrorList]; a
// compile failure (a compiler bug) is placed at the document's start.
func CompileFile(path string, opts spec.Options) (*plan.Plan, error) {
	docs, err := spec.ParseFile(path, opts)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, spec.ErrorList{{File: path, Line: 1, Column: 1,
			Message: fmt.Sprintf("file holds %d spec documents; give one document per request", len(docs))}}
	}
	p, err := Compile(docs[0])
	if l, ok := err.(spec.ErrorList); ok {
		return nil, l
	}
	if err != nil {
		return nil, spec.ErrorList{{File: path, Line: docs[0].Line, Column: docs[0].Column, Message: err.Error()}}
	}
	return p, nil
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
			if l, ok := err.(spec.ErrorList); ok {
				errs = append(errs, l...)
				continue
			}
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
func literal(v any) string { return spec.ExprLiteral(v) }

// foldSpec replaces every `spec.…` member chain in code by the literal it
// denotes in the document, so plans never need the spec at run time.
func foldSpec(code string, raw map[string]any) (string, error) { return spec.FoldSpec(code, raw) }

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
	if pol := b.p.Policy; pol != nil {
		// Reviewers see the opt-in in the Web UI's details panel, not only in the plan JSON.
		var what []string
		if pol.AllowBroadAccess {
			what = append(what, "broad access")
		}
		if pol.AllowUngated {
			what = append(what, "changes without approval")
		}
		b.p.Details += fmt.Sprintf("\n**Gate policy opt-in** (%s): %s\n", strings.Join(what, ", "), pol.Reason)
	}
	if len(b.p.Summary) > 200 {
		b.p.Summary = b.p.Summary[:197] + "..."
	}
}

// drift copies the spec's drift watch into the plan.
func (b *builder) drift(doc *spec.Document) {
	var d *spec.Drift
	switch {
	case doc.KafkaAccess != nil:
		d = doc.KafkaAccess.Drift
	case doc.Workflow != nil:
		d = doc.Workflow.Drift
	}
	if d == nil || (d.Every == "" && !d.AutoRepair) {
		return
	}
	b.p.Drift = &plan.Drift{Every: dur(d.Every), AutoRepair: d.AutoRepair}
}
