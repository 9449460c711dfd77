package compiler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// Defaults of waits when neither the spec nor the action's contract says.
const (
	defaultPollInterval = 10 * time.Second
	defaultWaitTimeout  = 30 * time.Minute
)

func (b *builder) workflow(w *spec.Workflow) error {
	p := b.p
	p.Provider = w.Provider
	if w.OnFailure != "" {
		p.OnFailure = plan.FailurePolicy(w.OnFailure)
	}
	p.MaxParallel = w.MaxParallel
	b.operatorsAndPolicy(w.Operators, w.Policy)
	p.Summary = fmt.Sprintf("Workflow %s: %d steps", b.doc.Metadata.Name, len(w.Steps))
	if b.doc.Metadata.Description != "" {
		p.Summary = fmt.Sprintf("Workflow %s: %s", b.doc.Metadata.Name, b.doc.Metadata.Description)
	}

	steps := make([]plan.Step, len(w.Steps))
	index := map[string]int{}
	for i := range w.Steps {
		st, err := b.workflowStep(&w.Steps[i])
		if err != nil {
			return fmt.Errorf("step %q: %w", w.Steps[i].ID, err)
		}
		steps[i] = st
		index[st.ID] = i
	}
	// Topological order, stable: among ready steps, the one written first.
	done := make([]bool, len(steps))
	for emitted := 0; emitted < len(steps); {
		progressed := false
		for i := range steps {
			if done[i] {
				continue
			}
			ready := true
			for _, d := range steps[i].DependsOn {
				j, ok := index[d]
				if !ok {
					return fmt.Errorf("step %q depends on unknown step %q", steps[i].ID, d)
				}
				ready = ready && done[j]
			}
			if !ready {
				continue
			}
			b.add(steps[i])
			done[i] = true
			emitted++
			progressed = true
			break
		}
		if !progressed {
			return fmt.Errorf("dependency cycle among steps")
		}
	}
	if len(w.Outputs) > 0 {
		p.Outputs = map[string]plan.Value{}
		for k, v := range w.Outputs {
			e, err := foldSpec(spec.StripExpr(v), b.doc.Raw)
			if err != nil {
				return fmt.Errorf("output %q: %w", k, err)
			}
			p.Outputs[k] = plan.Expr(e)
		}
	}
	var d strings.Builder
	if b.doc.Metadata.Description != "" {
		fmt.Fprintf(&d, "%s\n\n", b.doc.Metadata.Description)
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&d, "%d. **%s** (`%s`)\n", i+1, s.Title, s.Action)
	}
	p.Details = d.String()
	return nil
}

func (b *builder) workflowStep(ws *spec.WorkflowStep) (plan.Step, error) {
	s := plan.Step{ID: ws.ID, Title: ws.Title, Action: ws.Action, Account: ws.Account,
		OnFailure: plan.FailurePolicy(ws.OnFailure)}
	deps := append([]string(nil), ws.DependsOn...)
	expr := func(code string) (string, error) {
		e, err := foldSpec(spec.StripExpr(code), b.doc.Raw)
		if err != nil {
			return "", err
		}
		refs, err := plan.ParseRefs(e)
		if err != nil {
			return "", err
		}
		deps = append(deps, refs.Steps...)
		return e, nil
	}
	var err error
	if ws.ForEach != nil {
		fe := &plan.ForEach{As: ws.ForEach.As, Concurrency: ws.ForEach.Concurrency}
		if fe.Items, err = expr(ws.ForEach.Items); err != nil {
			return s, fmt.Errorf("forEach.items: %w", err)
		}
		if ws.ForEach.Key != "" {
			if fe.Key, err = expr(ws.ForEach.Key); err != nil {
				return s, fmt.Errorf("forEach.key: %w", err)
			}
		}
		s.ForEach = fe
	}
	if ws.When != "" {
		if s.When, err = expr(ws.When); err != nil {
			return s, fmt.Errorf("when: %w", err)
		}
	}
	if s.Inputs, err = b.values(ws.Inputs, expr); err != nil {
		return s, err
	}
	for _, l := range ws.Locks {
		if e, ok := spec.ExprOf(l); ok {
			x, err := expr(e)
			if err != nil {
				return s, fmt.Errorf("lock: %w", err)
			}
			s.Locks = append(s.Locks, x)
		} else {
			s.Locks = append(s.Locks, literal(l))
		}
	}
	desc, known := catalog.Lookup(ws.Action)
	if ws.Wait != nil {
		var def *plan.Wait
		if known {
			def = desc.Wait
		}
		s.Wait = mergeWait(ws.Wait, def)
	}
	if ws.Gate != nil {
		s.Gate = &plan.Gate{Who: append([]string(nil), ws.Gate.Who...), Instructions: ws.Gate.Instructions,
			Deadline: dur(ws.Gate.Deadline), OnExpiry: plan.ExpiryPolicy(ws.Gate.OnExpiry),
			Required: ws.Gate.Required, AllowSelfApproval: ws.Gate.AllowSelfApproval}
	}
	if r := ws.Retry; r != nil {
		s.Retry = &plan.Retry{InitialInterval: dur(r.InitialInterval), BackoffCoefficient: r.BackoffCoefficient,
			MaximumInterval: dur(r.MaximumInterval), MaximumAttempts: r.MaximumAttempts,
			NonRetryable: append([]string(nil), r.NonRetryable...)}
	}
	s.Timeout = dur(ws.Timeout)
	if f := ws.From; f != nil {
		// The step runs on the probe the registry names for that client
		// network (workflows/probe.go); kafka.verify says it dialed from it.
		s.Probe = &plan.Probe{Account: f.Account, Network: f.Network}
		if _, set := s.Inputs["clientNetwork"]; ws.Action == catalog.KafkaVerify && !set && f.Network != "" {
			if s.Inputs == nil {
				s.Inputs = map[string]plan.Value{}
			}
			s.Inputs["clientNetwork"] = plan.Lit(f.Network)
		}
	}
	if c := ws.Compensation; c != nil {
		if c.None {
			s.Compensation = noCompensation
		} else {
			comp := &plan.Compensation{Title: c.Title, Action: c.Action, Account: c.Account}
			if comp.Title == "" {
				if d, ok := catalog.Lookup(c.Action); ok {
					comp.Title = d.Title
				}
			}
			// Compensation expressions read input/output; step reads become dependencies too.
			if comp.Inputs, err = b.values(c.Inputs, expr); err != nil {
				return s, fmt.Errorf("compensation: %w", err)
			}
			s.Compensation = comp
		}
	}
	if s.Title == "" {
		switch ws.Action {
		case plan.ActionApproval:
			s.Title = "Approval: " + ws.ID
		case plan.ActionManual:
			s.Title = "Manual task: " + ws.ID
		}
	}
	s.DependsOn = dedupSorted(deps)
	return s, nil
}

// values converts free-form spec inputs: "${{ e }}" strings become
// expressions (spec references folded), everything else is a literal.
func (b *builder) values(in map[string]any, expr func(string) (string, error)) (map[string]plan.Value, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]plan.Value, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := b.value(in[k], expr)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// value converts one input. A list or mapping containing expressions becomes
// one expression building it.
func (b *builder) value(v any, expr func(string) (string, error)) (plan.Value, error) {
	if !hasExpr(v) {
		return plan.Lit(v), nil
	}
	code, err := exprSource(v, expr)
	if err != nil {
		return plan.Value{}, err
	}
	return plan.Expr(code), nil
}

func hasExpr(v any) bool {
	switch t := v.(type) {
	case string:
		_, ok := spec.ExprOf(t)
		return ok
	case []any:
		for _, e := range t {
			if hasExpr(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if hasExpr(e) {
				return true
			}
		}
	}
	return false
}

func exprSource(v any, expr func(string) (string, error)) (string, error) {
	switch t := v.(type) {
	case string:
		if e, ok := spec.ExprOf(t); ok {
			x, err := expr(e)
			if err != nil {
				return "", err
			}
			return x, nil
		}
		return literal(t), nil
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			s, err := exprSource(e, expr)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			s, err := exprSource(t[k], expr)
			if err != nil {
				return "", err
			}
			parts[i] = literal(k) + ": " + s
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	return literal(v), nil
}

// mergeWait fills a spec wait contract from the action's default.
func mergeWait(w *spec.Wait, def *plan.Wait) *plan.Wait {
	out := plan.Wait{}
	if def != nil {
		out = copyWait(*def)
	}
	if w.StatusPath != "" {
		out.StatusPath = w.StatusPath
	}
	if len(w.Pending) > 0 {
		out.Pending = append([]string(nil), w.Pending...)
	}
	if len(w.Target) > 0 {
		out.Target = append([]string(nil), w.Target...)
	}
	if len(w.Failure) > 0 {
		out.Failure = append([]string(nil), w.Failure...)
	}
	// States the spec places in a group leave the default's other groups.
	given := map[string]bool{}
	for _, g := range [][]string{w.Pending, w.Target, w.Failure} {
		for _, st := range g {
			given[st] = true
		}
	}
	drop := func(states []string, fromSpec bool) []string {
		if fromSpec {
			return states
		}
		var kept []string
		for _, st := range states {
			if !given[st] {
				kept = append(kept, st)
			}
		}
		return kept
	}
	out.Pending = drop(out.Pending, len(w.Pending) > 0)
	out.Target = drop(out.Target, len(w.Target) > 0)
	out.Failure = drop(out.Failure, len(w.Failure) > 0)
	if w.Gone {
		out.Gone = true
	}
	if w.Occurrences > 0 {
		out.Occurrences = w.Occurrences
	}
	if w.PollInterval != "" {
		out.PollInterval = dur(w.PollInterval)
	}
	if w.Timeout != "" {
		out.Timeout = dur(w.Timeout)
	}
	if out.PollInterval <= 0 {
		out.PollInterval = plan.D(defaultPollInterval)
	}
	if out.Timeout <= 0 {
		out.Timeout = plan.D(defaultWaitTimeout)
	}
	return &out
}

// dur converts a validated duration string ("" is zero).
func dur(s string) plan.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0
	}
	return plan.D(d)
}
