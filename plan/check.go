package plan

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var stepIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidStepID reports whether id is a valid step ID: lowercase letters,
// digits and '-', starting and ending with a letter or digit, at most 63 characters.
func ValidStepID(id string) bool { return stepIDPattern.MatchString(id) }

// Check verifies the plan's structural invariants: a known API version,
// valid and unique step IDs, dependencies that exist and come earlier (so the
// graph is acyclic and Steps is in topological order), expressions that parse
// and only read steps the step depends on (directly or transitively), gates
// exactly on gate actions, and sane wait contracts. It returns every problem
// found, joined.
func (p *Plan) Check() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.APIVersion != APIVersion {
		add("plan apiVersion is %q, want %q", p.APIVersion, APIVersion)
	}
	switch p.OnFailure {
	case FailRollback, FailPark:
	default:
		add("plan onFailure is %q, want %q or %q", p.OnFailure, FailRollback, FailPark)
	}
	index := map[string]int{}
	for i := range p.Steps {
		s := &p.Steps[i]
		where := fmt.Sprintf("step %q", s.ID)
		if !ValidStepID(s.ID) {
			add("%s: invalid ID (use lowercase letters, digits and '-', at most 63 characters)", where)
		}
		if _, dup := index[s.ID]; dup {
			add("%s: duplicate step ID", where)
		}
		if s.Action == "" {
			add("%s: no action", where)
		}
		for _, d := range s.DependsOn {
			if _, ok := index[d]; !ok {
				if p.Step(d) != nil {
					add("%s: depends on %q, which comes later (cycle or wrong order)", where, d)
				} else {
					add("%s: depends on unknown step %q", where, d)
				}
			}
		}
		index[s.ID] = i
		// dependsOn reports whether s depends on id, directly or transitively.
		// It searches on demand: storing every step's ancestor set costs memory
		// quadratic in the length of a dependency chain.
		dependsOn := func(id string) bool { return p.reaches(index, i, id) }

		checkExpr := func(what, code string, extraRoots ...string) {
			refs, err := ParseRefs(code)
			if err != nil {
				add("%s: %s: %v", where, what, err)
				return
			}
			for _, dep := range refs.Steps {
				if !dependsOn(dep) {
					add("%s: %s reads steps.%s, but the step does not depend on %q", where, what, dep, dep)
				}
			}
			allowed := map[string]bool{RootSpec: true, RootSteps: true, RootMeta: true}
			for _, r := range extraRoots {
				allowed[r] = true
			}
			for _, r := range refs.Roots {
				if !allowed[r] {
					add("%s: %s uses unknown name %q", where, what, r)
				}
			}
		}
		var itemRoots []string
		if s.ForEach != nil {
			checkExpr("forEach.items", s.ForEach.Items)
			as := s.ForEach.As
			if as == "" {
				as = "item"
			}
			itemRoots = []string{as, RootIndex}
			if s.ForEach.Key != "" {
				checkExpr("forEach.key", s.ForEach.Key, itemRoots...)
			}
			if s.ForEach.Concurrency < 0 {
				add("%s: forEach.concurrency is negative", where)
			}
		}
		if s.When != "" {
			checkExpr("when", s.When, itemRoots...)
		}
		for _, k := range sortedValueKeys(s.Inputs) {
			if v := s.Inputs[k]; v.IsExpr() {
				checkExpr("input "+k, v.Expr, itemRoots...)
			}
		}
		for _, l := range s.Locks {
			checkExpr("lock", l, itemRoots...)
		}
		isGate := s.Action == ActionApproval || s.Action == ActionManual
		switch {
		case isGate && s.Gate == nil:
			add("%s: %s step without gate settings", where, s.Action)
		case !isGate && s.Gate != nil:
			add("%s: gate settings on a %q step", where, s.Action)
		case isGate && len(s.Gate.Who) == 0:
			add("%s: gate lists nobody who may act", where)
		}
		if s.Gate != nil {
			switch s.Gate.OnExpiry {
			case "", ExpireReject, ExpireApprove:
			default:
				add("%s: gate onExpiry is %q, want reject or approve", where, s.Gate.OnExpiry)
			}
			if s.Gate.Required < 0 {
				add("%s: gate required is %d, want 0 or more approvals", where, s.Gate.Required)
			}
		}
		if s.Probe != nil {
			switch {
			case s.Probe.Account == "":
				add("%s: probe names no client account", where)
			case isGate || s.Wait != nil || s.ForEach != nil:
				add("%s: probe is only supported on a plain action step (no gate, wait or forEach)", where)
			}
		}
		if s.Wait != nil {
			if err := s.Wait.check(); err != nil {
				add("%s: wait: %v", where, err)
			}
		}
		switch s.OnFailure {
		case "", FailRollback, FailPark:
		default:
			add("%s: onFailure is %q", where, s.OnFailure)
		}
		if c := s.Compensation; c != nil {
			if c.Action == "" {
				add("%s: compensation has no action", where)
			}
			for _, k := range sortedValueKeys(c.Inputs) {
				if v := c.Inputs[k]; v.IsExpr() {
					checkExpr("compensation input "+k, v.Expr, append([]string{RootInput, RootOutput}, itemRoots...)...)
				}
			}
			if c.Wait != nil {
				if c.WaitAction == "" {
					add("%s: compensation wait without waitAction", where)
				}
				if err := c.Wait.check(); err != nil {
					add("%s: compensation wait: %v", where, err)
				}
			}
		}
	}
	for _, k := range sortedValueKeys(p.Outputs) {
		if v := p.Outputs[k]; v.IsExpr() {
			refs, err := ParseRefs(v.Expr)
			if err != nil {
				add("output %s: %v", k, err)
				continue
			}
			for _, dep := range refs.Steps {
				if _, ok := index[dep]; !ok {
					add("output %s reads unknown step %q", k, dep)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// reaches reports whether step i depends on the step with ID target, following
// DependsOn edges to earlier steps only (index holds the steps seen so far).
func (p *Plan) reaches(index map[string]int, i int, target string) bool {
	for _, d := range p.Steps[i].DependsOn {
		if d == target {
			return true
		}
	}
	seen := map[int]bool{i: true}
	stack := []int{i}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range p.Steps[n].DependsOn {
			j, ok := index[d]
			if !ok || j >= n || seen[j] {
				continue
			}
			if d == target {
				return true
			}
			seen[j] = true
			stack = append(stack, j)
		}
	}
	return false
}

func (w *Wait) check() error {
	var problems []string
	if len(w.Target) == 0 && !w.Gone {
		problems = append(problems, "no target state")
	}
	if w.PollInterval <= 0 {
		problems = append(problems, "pollInterval must be positive")
	}
	if w.Timeout <= 0 {
		problems = append(problems, "timeout must be positive")
	}
	seen := map[string]string{}
	for _, group := range []struct {
		name   string
		states []string
	}{{"pending", w.Pending}, {"target", w.Target}, {"failure", w.Failure}} {
		for _, s := range group.states {
			if prev, ok := seen[s]; ok && prev != group.name {
				problems = append(problems, fmt.Sprintf("state %q is both %s and %s", s, prev, group.name))
			}
			seen[s] = group.name
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func sortedValueKeys(m map[string]Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Classify reports which group a status belongs to under the contract:
// "target", "pending", "failure", or "unknown".
func (w *Wait) Classify(status string) string {
	for _, s := range w.Target {
		if s == status {
			return "target"
		}
	}
	for _, s := range w.Failure {
		if s == status {
			return "failure"
		}
	}
	for _, s := range w.Pending {
		if s == status {
			return "pending"
		}
	}
	return "unknown"
}
