package spec

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
)

// Checks of approvals, operators and the gate policy (package policy), with
// positions. The compiler runs policy.Check on the plan as well; the two must
// agree, so every rule here has its plan-level twin there.

// approvers checks an approver list (path is its key, name how messages
// call it) and its required count.
func (v *validator) approvers(path, name string, who []string, requiredPath string, required int) {
	if len(who) == 0 {
		if v.has(path) {
			v.d.errorf(v.key(path), "%s must list at least one identity or group:<name>", name)
		}
		return
	}
	v.principalList(path, name, who)
	if requiredPath == "" || !v.has(requiredPath) {
		return
	}
	ids, groups := 0, 0
	seen := map[string]bool{}
	for _, w := range who {
		switch {
		case seen[w]:
		case policy.IsGroup(w):
			groups++
		default:
			ids++
		}
		seen[w] = true
	}
	switch {
	case required < 1:
		// reported by the decoder (format count)
	case groups == 0 && required > ids:
		v.errorf(requiredPath, "required is %d but %s lists %d %s; list more approvers or a group:<name>, or lower required",
			required, name, ids, plural(ids, "distinct identity", "distinct identities"))
	}
}

// principalList reports duplicates in a list of identities and groups (the
// decoder checks each entry's syntax).
func (v *validator) principalList(path, name string, list []string) {
	first := map[string]int{}
	for i, w := range list {
		if j, dup := first[w]; dup {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice in %s (first at line %d)", w, name, v.node(fmt.Sprintf("%s[%d]", path, j)).Line)
			continue
		}
		first[w] = i
	}
}

// operators checks the spec's operator list.
func (v *validator) operators(list []string) {
	const path = "spec.operators"
	if !v.has(path) {
		return
	}
	if len(list) == 0 {
		v.d.errorf(v.key(path), "operators must list at least one identity or group:<name>; leave the key out for the default (every gate's approvers plus %s)", policy.DefaultOperatorGroup)
		return
	}
	v.principalList(path, "operators", list)
}

// policyUse counts the problems each opt-in excuses, to report unused ones.
type policyUse struct {
	broad, ungated int
}

// policyBlock checks the opt-ins themselves.
func (v *validator) policyBlock(p *Policy, workflow bool) {
	if p == nil {
		return
	}
	const path = "spec.policy"
	if !p.AllowBroadAccess && !p.AllowUngated {
		v.d.errorf(v.key(path), "policy opts in to nothing: set allowBroadAccess or allowUngated to true, or remove it")
		return
	}
	if strings.TrimSpace(p.Reason) == "" {
		v.d.errorf(v.node(path), "missing required key %q in policy: say why the opt-in is needed (the plan records it for reviewers and the audit)", "reason")
	}
	if p.AllowUngated && !workflow {
		v.d.errorf(v.key(path+".allowUngated"), "allowUngated is only used by Workflow specs: KafkaAccess plans place the approval where the other side must accept")
	}
}

// unusedPolicy reports opt-ins that excuse nothing: an opt-in stays only
// where it is needed, so that reviewers see what it allows.
func (v *validator) unusedPolicy(p *Policy, use policyUse, workflow bool) {
	if p == nil {
		return
	}
	if p.AllowBroadAccess && use.broad == 0 {
		v.d.errorf(v.key("spec.policy.allowBroadAccess"), "allowBroadAccess is set but no step opens access broadly; remove it")
	}
	if p.AllowUngated && workflow && use.ungated == 0 {
		v.d.errorf(v.key("spec.policy.allowUngated"), "allowUngated is set but every step that changes things has an approval before it; remove it")
	}
}

// kafkaAccessPolicy checks the approval, operators and policy of a KafkaAccess spec.
func (v *validator) kafkaAccessPolicy(s *KafkaAccess) {
	if a := s.Approval; a != nil {
		v.approvers("spec.approval.approvers", "approval.approvers", a.Approvers, "spec.approval.required", a.Required)
	}
	v.operators(s.Operators)
	v.policyBlock(s.Policy, false)
	var use policyUse
	allow := s.Policy != nil && s.Policy.AllowBroadAccess
	// Fields tagged grant:"cidr" become ingress rules of the plan.
	walkGrants(reflect.ValueOf(s).Elem(), "spec", func(path string, kind catalog.GrantKind, val string) {
		if _, err := netip.ParsePrefix(val); err != nil && kind == catalog.GrantCIDR {
			return // empty, or reported by the format check
		}
		msg := policy.ValueProblem(kind, val)
		if msg == "" {
			return
		}
		use.broad++
		if !allow {
			v.errorf(path, "%s: %s", lastKey(path), msg)
		}
	})
	v.unusedPolicy(s.Policy, use, false)
}

// walkGrants calls fn for every string field tagged grant:"..." under rv.
func walkGrants(rv reflect.Value, path string, fn func(path string, kind catalog.GrantKind, val string)) {
	switch rv.Kind() {
	case reflect.Pointer:
		if !rv.IsNil() {
			walkGrants(rv.Elem(), path, fn)
		}
	case reflect.Struct:
		t := rv.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			p := join(path, name)
			if g := f.Tag.Get("grant"); g != "" && f.Type.Kind() == reflect.String {
				fn(p, catalog.GrantKind(g), rv.Field(i).String())
				continue
			}
			if k := f.Type.Kind(); k == reflect.Struct || (k == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct) {
				walkGrants(rv.Field(i), p, fn)
			}
		}
	}
}

// workflowPolicy checks gates, operators and the policy of a Workflow spec:
// broad grants in step and compensation inputs, and steps that change things
// with no approval before them. deps[i] are step i's dependencies.
func (v *validator) workflowPolicy(w *Workflow, ids map[string]int, deps [][]string) {
	for i, st := range w.Steps {
		if st.Gate == nil {
			continue
		}
		p := fmt.Sprintf("spec.steps[%d].gate", i)
		requiredPath := p + ".required"
		if st.Action == plan.ActionManual && v.has(requiredPath) {
			v.d.errorf(v.key(requiredPath), "required is only used by approval steps: one person completes a manual task")
			requiredPath = "" // no count to check
		}
		v.approvers(p+".who", "gate.who", st.Gate.Who, requiredPath, st.Gate.Required)
	}
	v.operators(w.Operators)
	v.policyBlock(w.Policy, true)
	pol := w.Policy
	if pol == nil {
		pol = &Policy{}
	}
	var use policyUse
	for i, st := range w.Steps {
		p := fmt.Sprintf("spec.steps[%d]", i)
		desc, ok := catalog.Lookup(st.Action)
		if !ok {
			continue
		}
		for _, viol := range policy.GrantProblems(st.Action, v.staticInputs(st.Inputs)) {
			use.broad++
			if !pol.AllowBroadAccess {
				v.errorf(p+".inputs."+viol.Input, "%s: %s", viol.Input, viol.Message)
			}
		}
		if c := st.Compensation; c != nil && !c.None {
			for _, viol := range policy.GrantProblems(c.Action, v.staticInputs(c.Inputs)) {
				use.broad++
				if !pol.AllowBroadAccess {
					v.errorf(p+".compensation.inputs."+viol.Input, "%s: %s", viol.Input, viol.Message)
				}
			}
		} else if c == nil && desc.Inverse != nil {
			// A derived compensation reads the step's input and output: known only at run time.
			in := map[string]any{}
			for k, val := range desc.Inverse.Inputs {
				in[k] = policy.StaticValue(val)
			}
			for _, viol := range policy.GrantProblems(desc.Inverse.Action, in) {
				use.broad++
				if !pol.AllowBroadAccess {
					v.errorf(p+".action", "the compensation %s derived from %s: input %s: %s", desc.Inverse.Action, st.Action, viol.Input, viol.Message)
				}
			}
		}
	}
	gated := workflowGated(w, ids, deps)
	for i, st := range w.Steps {
		if desc, ok := catalog.Lookup(st.Action); !ok || !desc.Mutates() || gated[i] {
			continue
		}
		use.ungated++
		if !pol.AllowUngated {
			v.errorf(fmt.Sprintf("spec.steps[%d].action", i), "step %q: %s%s", st.ID, policy.UngatedMessage(st.Action), weakGate(w, ids, deps, i))
		}
	}
	v.unusedPolicy(w.Policy, use, true)
}

// weakGate explains why an approval step before step i does not count, or "".
func weakGate(w *Workflow, ids map[string]int, deps [][]string, i int) string {
	seen := map[int]bool{i: true}
	stack := []int{i}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range deps[n] {
			j, ok := ids[d]
			if !ok || seen[j] {
				continue
			}
			seen[j] = true
			stack = append(stack, j)
			st := &w.Steps[j]
			if st.Action != plan.ActionApproval || st.Gate == nil {
				continue
			}
			why := ""
			switch {
			case st.When != "":
				why = "it has a when condition and may be skipped"
			case st.ForEach != nil:
				why = "it fans out, and an empty list asks nobody"
			case st.Gate.OnExpiry == string(plan.ExpireApprove):
				why = "it approves itself when its deadline passes (onExpiry: approve)"
			}
			if why != "" {
				return fmt.Sprintf(" (approval %q does not count: %s)", st.ID, why)
			}
		}
	}
	return ""
}

// isGateStep mirrors policy.IsGate on a spec step.
func isGateStep(st *WorkflowStep) bool {
	return st.Action == plan.ActionApproval && st.Gate != nil && st.When == "" && st.ForEach == nil &&
		st.Gate.OnExpiry != string(plan.ExpireApprove)
}

// workflowGated reports, per step, whether an approval gate precedes it.
func workflowGated(w *Workflow, ids map[string]int, deps [][]string) []bool {
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(w.Steps))
	gated := make([]bool, len(w.Steps))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case done:
			return gated[i]
		case visiting:
			return false // cycles are reported elsewhere
		}
		state[i] = visiting
		g := false
		for _, d := range deps[i] {
			j, ok := ids[d]
			if !ok {
				continue
			}
			if isGateStep(&w.Steps[j]) || visit(j) {
				g = true
			}
		}
		gated[i], state[i] = g, done
		return g
	}
	for i := range w.Steps {
		visit(i)
	}
	return gated
}

// staticInputs resolves free-form spec inputs known before the run, as the
// compiler folds them: literals and expressions reading only spec. Others
// become policy.Unknown.
func (v *validator) staticInputs(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, val := range in {
		out[k] = v.staticValue(val)
	}
	return out
}

func (v *validator) staticValue(val any) any {
	switch t := val.(type) {
	case string:
		code, ok := ExprOf(t)
		if !ok {
			return t
		}
		folded, err := FoldSpec(code, v.doc.Raw)
		if err != nil {
			return policy.Unknown{Expr: code}
		}
		return policy.StaticValue(plan.Expr(folded))
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = v.staticValue(e)
		}
		return out
	}
	return val
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
