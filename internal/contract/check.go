package contract

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// CheckOutputs returns an error naming every key of out that action's
// descriptor does not declare among its outputs.
func CheckOutputs(action string, out plan.Outputs) error {
	d, ok := catalog.Lookup(action)
	if !ok {
		return nil // test-only actions have no descriptor
	}
	declared := map[string]bool{}
	for _, o := range d.Outputs {
		declared[o] = true
	}
	var extra []string
	for k := range out {
		if !declared[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return fmt.Errorf("action %s returned outputs %s that its descriptor does not declare (declared: %s)",
		action, strings.Join(extra, ", "), strings.Join(d.Outputs, ", "))
}

// CheckPlan returns every disagreement between plan p and the catalog.
func CheckPlan(p *plan.Plan) []string {
	c := &checker{p: p, steps: map[string]*plan.Step{}}
	for i := range p.Steps {
		c.steps[p.Steps[i].ID] = &p.Steps[i]
	}
	for i := range p.Steps {
		c.step(&p.Steps[i])
	}
	for k, v := range p.Outputs {
		c.value("plan output "+k, v, nil)
	}
	return c.errs
}

// CheckCatalog returns every disagreement inside the catalog: inverses and
// waits naming unknown actions, inputs or outputs.
func CheckCatalog() []string {
	c := &checker{}
	for _, name := range catalog.Names() {
		a, _ := catalog.Lookup(name)
		if a.Wait != nil && a.Read {
			c.statusPath(name+" wait", a, a.Wait)
		}
		if inv := a.Inverse; inv != nil {
			c.call(name+" inverse", inv.Action, inv.Inputs, a)
			if inv.WaitAction != "" {
				c.wait(name+" inverse", inv.WaitAction, inv.Wait)
			}
		}
	}
	return c.errs
}

type checker struct {
	p     *plan.Plan
	steps map[string]*plan.Step
	errs  []string
}

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *checker) step(st *plan.Step) {
	where := "step " + st.ID
	switch st.Action {
	case plan.ActionApproval, plan.ActionManual:
		return
	}
	a := c.call(where, st.Action, st.Inputs, nil)
	if a != nil && st.Wait != nil {
		c.statusPath(where+" wait", a, st.Wait)
	}
	if comp := st.Compensation; comp != nil && a != nil {
		c.call(where+" compensation", comp.Action, comp.Inputs, a)
		if comp.WaitAction != "" {
			c.wait(where+" compensation", comp.WaitAction, comp.Wait)
		}
	}
}

// wait checks a follow-up poll of a read action.
func (c *checker) wait(where, action string, w *plan.Wait) {
	a, ok := catalog.Lookup(action)
	if !ok {
		c.errorf("%s: wait action %q is not in the catalog", where, action)
		return
	}
	if !a.Read {
		c.errorf("%s: wait action %q is not a read", where, action)
	}
	if w != nil {
		c.statusPath(where+" wait", a, w)
	}
}

// statusPath checks that a wait reads a declared output of the polled action.
func (c *checker) statusPath(where string, a *catalog.Action, w *plan.Wait) {
	if w.Gone && w.StatusPath == "" {
		return
	}
	path := w.StatusPath
	if path == "" {
		path = "status"
	}
	key, _, _ := strings.Cut(path, ".")
	if !contains(a.Outputs, key) {
		c.errorf("%s: status path %q reads output %q, which %s does not declare (outputs: %s)", where, path, key, a.Name, strings.Join(a.Outputs, ", "))
	}
}

// call checks one call of action with inputs; self is the action whose
// input and output the values may read (compensations and inverses).
func (c *checker) call(where, action string, inputs map[string]plan.Value, self *catalog.Action) *catalog.Action {
	a, ok := catalog.Lookup(action)
	if !ok {
		c.errorf("%s: action %q is not in the catalog", where, action)
		return nil
	}
	params := map[string]catalog.Param{}
	for _, p := range a.Inputs {
		params[p.Name] = p
		if _, ok := inputs[p.Name]; p.Required && !ok {
			c.errorf("%s: %s's required input %q is not given", where, action, p.Name)
		}
	}
	for _, k := range sortedKeys(inputs) {
		p, ok := params[k]
		if !ok {
			c.errorf("%s: %s has no input %q (inputs: %s)", where, action, k, strings.Join(paramNames(a), ", "))
			continue
		}
		v := inputs[k]
		if v.Expr == "" {
			if err := CheckType(p, v.Literal); err != nil {
				c.errorf("%s: %s input %q: %v", where, action, k, err)
			}
		}
		c.value(fmt.Sprintf("%s input %s", where, k), v, self)
	}
	return a
}

// value checks the step outputs and own inputs/outputs an expression reads.
func (c *checker) value(where string, v plan.Value, self *catalog.Action) {
	if v.Expr == "" {
		return
	}
	chains, err := plan.Members(v.Expr)
	if err != nil {
		c.errorf("%s: %v", where, err)
		return
	}
	for _, ch := range chains {
		switch {
		case ch[0] == plan.RootSteps && len(ch) >= 3 && c.steps != nil:
			st, ok := c.steps[ch[1]]
			if !ok {
				c.errorf("%s: reads unknown step %q", where, ch[1])
				continue
			}
			key := ch[2]
			if st.ForEach != nil {
				if key != plan.IndexMember || len(ch) < 4 {
					continue
				}
				key = ch[3]
			}
			a, ok := catalog.Lookup(st.Action)
			if !ok || key == plan.IndexMember {
				continue
			}
			if !contains(a.Outputs, key) {
				c.errorf("%s: reads output %q of step %s, which %s does not declare (outputs: %s)", where, key, st.ID, a.Name, strings.Join(a.Outputs, ", "))
			}
		case ch[0] == plan.RootOutput && len(ch) >= 2 && self != nil:
			if !contains(self.Outputs, ch[1]) {
				c.errorf("%s: reads output %q, which %s does not declare (outputs: %s)", where, ch[1], self.Name, strings.Join(self.Outputs, ", "))
			}
		case ch[0] == plan.RootInput && len(ch) >= 2 && self != nil:
			if !contains(paramNames(self), ch[1]) {
				c.errorf("%s: reads input %q, which %s does not declare (inputs: %s)", where, ch[1], self.Name, strings.Join(paramNames(self), ", "))
			}
		}
	}
}

// CheckType checks a literal against a param's JSON type.
func CheckType(p catalog.Param, v any) error {
	if v == nil {
		return nil
	}
	ok := true
	rv := reflect.ValueOf(v)
	switch p.Type {
	case "string":
		ok = rv.Kind() == reflect.String
	case "boolean":
		ok = rv.Kind() == reflect.Bool
	case "integer":
		switch rv.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64:
		case reflect.Float64:
			ok = rv.Float() == float64(int64(rv.Float()))
		default:
			ok = false
		}
	case "number":
		switch rv.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		default:
			ok = false
		}
	case "array":
		ok = rv.Kind() == reflect.Slice
	case "object":
		ok = rv.Kind() == reflect.Map
	}
	if !ok {
		return fmt.Errorf("want %s, got %T", p.Type, v)
	}
	return nil
}

func paramNames(a *catalog.Action) []string {
	out := make([]string, 0, len(a.Inputs))
	for _, p := range a.Inputs {
		out = append(out, p.Name)
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]plan.Value) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
