// Package policy is Topoflow's gate policy: which plans may run without
// someone's approval, and which grants are too broad to run unless the spec
// opts in. It reads the action descriptors of package catalog (an action
// mutates unless it is a read; its Grants name the inputs that carry an
// ingress range or an allowed principal), so the rules stay data-driven.
//
// The spec validator applies the same rules with positions (FILE:LINE:COL);
// [Check] applies them to a compiled plan, so that a worker can refuse a
// hand-built plan that skipped validation, and [CheckStepInputs] applies the
// broad-access rule to inputs an operator replaces on retry.
//
// The rules:
//   - Broad access: a grant input of a step (or of its compensation) must be
//     narrow: a CIDR no wider than /8 (IPv4) or /32 (IPv6), a principal
//     without a wildcard, and known before the run (a literal or a spec value,
//     not a value computed from other steps). A plan may opt in with
//     Policy.AllowBroadAccess.
//   - Ungated: in a Workflow plan (any plan whose source kind is not
//     KafkaAccess), every mutating step must depend, directly or
//     transitively, on an unconditional approval step (no when, no forEach,
//     onExpiry not approve). A plan may opt in with Policy.AllowUngated.
//     KafkaAccess plans place their gates where the runbooks do, and the spec
//     validator requires an approval wherever the other side must accept.
//   - Gates and operators: every entry is an identity (a user name or an
//     e-mail address) or group:<name>, without duplicates; a gate's Required
//     is at most the number of listed identities when no group is listed.
package policy

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// GroupPrefix starts an approver or operator entry naming a group of the
// worker's trust configuration.
const GroupPrefix = "group:"

// DefaultOperatorGroup may act as operator on every plan that lists no operators.
const DefaultOperatorGroup = GroupPrefix + "platform-oncall"

// Limits of a narrow CIDR grant: ranges wider than these are broad.
const (
	MinIPv4PrefixBits = 8
	MinIPv6PrefixBits = 32
)

// Limits of principal entries.
const (
	maxIdentityLength = 254 // RFC 5321 path limit for an e-mail address
)

var (
	identityPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._%+-]*(@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)?$`)
	groupPattern    = regexp.MustCompile(`^group:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// IsGroup reports whether an approver or operator entry names a group.
func IsGroup(entry string) bool { return strings.HasPrefix(entry, GroupPrefix) }

// CheckPrincipal checks the syntax of an approver or operator entry: an
// identity (a user name or an e-mail address, at most 254 characters) or
// group:<name> (lowercase letters, digits and '-', at most 63 characters).
func CheckPrincipal(entry string) error {
	if IsGroup(entry) {
		if !groupPattern.MatchString(entry) {
			return fmt.Errorf("%q is not a valid group: write group:<name> with lowercase letters, digits and '-' (at most 63), e.g. group:kafka-owners", entry)
		}
		return nil
	}
	if len(entry) > maxIdentityLength || !identityPattern.MatchString(entry) {
		if i := strings.IndexByte(entry, ':'); i > 0 && i < len(entry)-1 && !strings.Contains(entry, "@") {
			return fmt.Errorf("%q is not a valid identity (did you mean %q?)", entry, GroupPrefix+entry[i+1:])
		}
		return fmt.Errorf("%q is not a valid identity: give a user name or an e-mail address (at most %d characters), or group:<name>", entry, maxIdentityLength)
	}
	return nil
}

// Violation is one breach of the policy.
type Violation struct {
	// Step is the ID of the step concerned ("" for plan-level problems).
	Step string
	// Input is the input concerned, if any.
	Input string
	// Compensation is true when the input belongs to the step's compensation.
	Compensation bool
	// Rule is what was breached: RuleBroadAccess, RuleUngated or RuleGate.
	Rule string
	// Message says what is wrong and how to fix it.
	Message string
}

// Rules a [Violation] may name.
const (
	RuleBroadAccess = "broadAccess"
	RuleUngated     = "ungated"
	RuleGate        = "gate"
)

// Error formats the violation with its step and input.
func (v Violation) Error() string {
	var b strings.Builder
	if v.Step != "" {
		fmt.Fprintf(&b, "step %q: ", v.Step)
	}
	if v.Input != "" {
		if v.Compensation {
			b.WriteString("compensation ")
		}
		fmt.Fprintf(&b, "input %s: ", v.Input)
	}
	b.WriteString(v.Message)
	return b.String()
}

// Violations is every breach found; it implements error.
type Violations []Violation

// Error joins the violations, one per line.
func (vs Violations) Error() string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = v.Error()
	}
	return "policy: " + strings.Join(lines, "\npolicy: ")
}

func (vs Violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// Unknown stands for an input value that is only known at run time (an
// expression over other steps' outputs, the fan-out item or meta).
type Unknown struct {
	// Expr is the expression, for messages.
	Expr string
}

// Fix texts of the rules, shared with the spec validator.
const (
	FixBroadAccess = "set policy.allowBroadAccess: true with a reason to open it anyway"
	FixUngated     = "add an approval step before it (in its dependsOn, directly or through other steps), or set policy.allowUngated: true with a reason"
)

// GrantProblems checks the grant inputs of one action against the
// broad-access rule. inputs hold resolved values, or [Unknown] for values
// known only at run time. Each violation names its input; Step is empty.
func GrantProblems(action string, inputs map[string]any) []Violation {
	desc, ok := catalog.Lookup(action)
	if !ok {
		return nil
	}
	var out []Violation
	for _, g := range desc.Grants {
		v, present := inputs[g.Input]
		if !present || v == nil {
			continue
		}
		// An exemption computed at run time cannot be shown before the run: the grant applies.
		if u, ok := inputs[g.UnlessInput].(string); ok && g.UnlessInput != "" && u == g.UnlessValue {
			continue
		}
		if msg := ValueProblem(g.Kind, v); msg != "" {
			out = append(out, Violation{Input: g.Input, Rule: RuleBroadAccess, Message: msg})
		}
	}
	return out
}

// ValueProblem returns what makes v a broad grant of the kind (a CIDR or a
// principal, a list of them, or [Unknown]), or "" when it is narrow.
func ValueProblem(kind catalog.GrantKind, v any) string {
	switch t := v.(type) {
	case Unknown:
		return fmt.Sprintf("the %s is computed at run time (%s), so it cannot be checked before the run; give a literal or a spec value, or %s",
			grantNoun(kind), t.Expr, FixBroadAccess)
	case []any:
		for _, e := range t {
			if msg := ValueProblem(kind, e); msg != "" {
				return msg
			}
		}
		return ""
	case []string:
		for _, e := range t {
			if msg := ValueProblem(kind, e); msg != "" {
				return msg
			}
		}
		return ""
	case string:
		switch kind {
		case catalog.GrantCIDR:
			return cidrProblem(t)
		case catalog.GrantPrincipal:
			if strings.Contains(t, "*") {
				return fmt.Sprintf("%q is a wildcard: it would let any account in; name the one client account, or %s", t, FixBroadAccess)
			}
		}
		return ""
	default:
		return fmt.Sprintf("a %T cannot be checked as a %s; give a string", v, grantNoun(kind))
	}
}

func grantNoun(k catalog.GrantKind) string {
	if k == catalog.GrantCIDR {
		return "address range"
	}
	return "principal"
}

// cidrProblem returns why an ingress range is broad, or "".
func cidrProblem(s string) string {
	if s == "" {
		return ""
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		a, aerr := netip.ParseAddr(strings.TrimSpace(s))
		if aerr != nil {
			return fmt.Sprintf("%q is not a CIDR, so it cannot be checked; give a range such as 10.0.0.0/16", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	bits, limit := p.Bits(), MinIPv4PrefixBits
	switch {
	case p.Addr().Is4In6():
		bits -= 96
	case p.Addr().Is6():
		limit = MinIPv6PrefixBits
	}
	if bits >= limit {
		return ""
	}
	what := fmt.Sprintf("%q opens access from a range wider than /%d", s, limit)
	if bits <= 0 {
		what = fmt.Sprintf("%q opens access from any address", s)
	}
	return what + "; narrow it to the client's range, or " + FixBroadAccess
}

// CheckStepInputs checks the inputs of one step of the named action (e.g.
// the inputs an operator replaces on retry, or inputs resolved at run time)
// against the broad-access rule. It does not honour a plan's opt-in: values
// that nobody reviewed may not open access broadly. It returns [Violations]
// or nil.
func CheckStepInputs(action string, inputs map[string]any) error {
	return Violations(GrantProblems(action, inputs)).err()
}

// CheckReplacedInputs checks a retry of step stepID of p with inputs: the
// step's resolved inputs overlaid with the replacements (with only the
// replacements the check is stricter: a missing exemption input, such as a
// rule's direction, counts as not exempt). Like [CheckStepInputs] it ignores
// the plan's opt-in. Gate steps take no inputs to replace.
func CheckReplacedInputs(p *plan.Plan, stepID string, inputs map[string]any) error {
	s := p.Step(stepID)
	if s == nil {
		return fmt.Errorf("policy: plan has no step %q", stepID)
	}
	if s.Action == plan.ActionApproval || s.Action == plan.ActionManual {
		return Violations{{Step: stepID, Rule: RuleBroadAccess, Message: s.Action + " steps take no inputs to replace"}}
	}
	vs := GrantProblems(s.Action, inputs)
	for i := range vs {
		vs[i].Step = stepID
	}
	return Violations(vs).err()
}

// IsGate reports whether a step is an approval gate that always waits for a
// decision: an approval without when or forEach whose expiry does not approve.
func IsGate(s *plan.Step) bool {
	return s.Action == plan.ActionApproval && s.Gate != nil && s.When == "" && s.ForEach == nil &&
		s.Gate.OnExpiry != plan.ExpireApprove
}

// Mutates reports whether a step of the action changes things: a catalog
// action that is not a read, or an action the catalog does not know (a
// plan may name actions only a worker registers). Approval and manual steps
// do not.
func Mutates(action string) bool {
	if action == plan.ActionApproval || action == plan.ActionManual {
		return false
	}
	if d, ok := catalog.Lookup(action); ok {
		return d.Mutates()
	}
	return true
}

// GateProblems checks one gate's approver list and Required.
func GateProblems(g *plan.Gate) []string {
	var out []string
	out = append(out, ListProblems(g.Who)...)
	if len(g.Who) == 0 {
		out = append(out, "the gate lists nobody who may act")
	}
	switch {
	case g.Required < 0:
		out = append(out, fmt.Sprintf("required is %d; it must be at least 1", g.Required))
	case g.Required > 1:
		ids, groups := 0, 0
		seen := map[string]bool{}
		for _, w := range g.Who {
			switch {
			case seen[w]:
			case IsGroup(w):
				groups++
			default:
				ids++
			}
			seen[w] = true
		}
		if groups == 0 && g.Required > ids {
			out = append(out, fmt.Sprintf("required is %d but only %d distinct approvers are listed; list more approvers, a group, or lower required", g.Required, ids))
		}
	}
	return out
}

// ListProblems checks an approver or operator list: syntax and duplicates.
func ListProblems(entries []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if err := CheckPrincipal(e); err != nil {
			out = append(out, err.Error())
			continue
		}
		if seen[e] {
			out = append(out, fmt.Sprintf("%q is listed twice", e))
		}
		seen[e] = true
	}
	return out
}

// Operators returns who may act as operator on the plan (retry, skip, roll
// back, abort): the plan's Operators, or, when it lists none, every gate's
// approvers plus [DefaultOperatorGroup], sorted and without duplicates.
func Operators(p *plan.Plan) []string {
	if len(p.Operators) > 0 {
		return append([]string(nil), p.Operators...)
	}
	seen := map[string]bool{DefaultOperatorGroup: true}
	for i := range p.Steps {
		if g := p.Steps[i].Gate; g != nil && p.Steps[i].Action == plan.ActionApproval {
			for _, w := range g.Who {
				seen[w] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Check applies the policy to a compiled plan: the gate and operator lists,
// the broad-access rule on every step and compensation (unless
// Policy.AllowBroadAccess), and, for plans that are not KafkaAccess, the
// ungated rule (unless Policy.AllowUngated). A worker runs it on every plan it
// is asked to start, so a hand-built plan cannot skip it. It returns
// [Violations] or nil.
func Check(p *plan.Plan) error {
	var out Violations
	pol := p.Policy
	if pol == nil {
		pol = &plan.Policy{}
	}
	for _, msg := range ListProblems(p.Operators) {
		out = append(out, Violation{Rule: RuleGate, Message: "operators: " + msg})
	}
	index := make(map[string]int, len(p.Steps))
	for i := range p.Steps {
		index[p.Steps[i].ID] = i
	}
	ungated := p.Source.Kind != "KafkaAccess"
	gated := gatedSteps(p, index)
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Gate != nil {
			for _, msg := range GateProblems(s.Gate) {
				out = append(out, Violation{Step: s.ID, Rule: RuleGate, Message: msg})
			}
		}
		if !pol.AllowBroadAccess {
			for _, v := range GrantProblems(s.Action, staticInputs(s.Inputs)) {
				v.Step = s.ID
				out = append(out, v)
			}
			if c := s.Compensation; c != nil {
				for _, v := range GrantProblems(c.Action, staticInputs(c.Inputs)) {
					v.Step, v.Compensation = s.ID, true
					out = append(out, v)
				}
			}
		}
		if ungated && !pol.AllowUngated && Mutates(s.Action) && !gated[i] {
			out = append(out, Violation{Step: s.ID, Rule: RuleUngated,
				Message: UngatedMessage(s.Action)})
		}
	}
	return out.err()
}

// UngatedMessage is the message of the ungated rule for a step of action.
func UngatedMessage(action string) string {
	return fmt.Sprintf("action %s changes things but no approval precedes it; %s", action, FixUngated)
}

// gatedSteps reports, per step, whether an approval gate precedes it.
func gatedSteps(p *plan.Plan, index map[string]int) []bool {
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(p.Steps))
	gated := make([]bool, len(p.Steps))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case done:
			return gated[i]
		case visiting:
			return false // a cycle (plan.Check refuses it) gates nothing
		}
		state[i] = visiting
		g := false
		for _, d := range p.Steps[i].DependsOn {
			j, ok := index[d]
			if !ok {
				continue
			}
			if IsGate(&p.Steps[j]) || visit(j) {
				g = true
			}
		}
		gated[i], state[i] = g, done
		return g
	}
	// Visit in order so that the recursion depth stays small on ordered plans.
	for i := range p.Steps {
		visit(i)
	}
	return gated
}

// staticInputs resolves the inputs known before the run: literals, and
// expressions that read nothing (folded spec values). Others become [Unknown].
func staticInputs(in map[string]plan.Value) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = StaticValue(v)
	}
	return out
}

// StaticValue returns a plan value if it is known before the run, or [Unknown].
func StaticValue(v plan.Value) any {
	if !v.IsExpr() {
		return v.Literal
	}
	refs, err := plan.ParseRefs(v.Expr)
	if err != nil || len(refs.Roots) > 0 {
		return Unknown{Expr: v.Expr}
	}
	x, err := plan.Eval(v.Expr, map[string]any{})
	if err != nil {
		return Unknown{Expr: v.Expr}
	}
	return x
}
