package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
	"github.com/topoflow/topoflow/spec"
)

// openToTheWorld is issue 13's Workflow: one security-group rule from
// 0.0.0.0/0 and no approval.
const openToTheWorld = `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: open-to-the-world}
spec:
%s  steps:
    - id: open
      action: huawei.vpc.addSecurityGroupRule
      account: hw-kafka-owner
      inputs: {securityGroupId: sg-kafka, port: 9092, cidr: 0.0.0.0/0}
`

func TestUngatedBroadWorkflowIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(openToTheWorld, "%s", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := CompileFile(path, options(t))
	if p != nil || err == nil {
		t.Fatalf("compiled a plan: %v", p)
	}
	var errs spec.ErrorList
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want positioned spec errors: %v", err, err)
	}
	want := []string{
		path + `:7:15: step "open": action huawei.vpc.addSecurityGroupRule changes things but no approval precedes it; add an approval step before it (in its dependsOn, directly or through other steps), or set policy.allowUngated: true with a reason`,
		path + `:9:61: cidr: "0.0.0.0/0" opens access from any address; narrow it to the client's range, or set policy.allowBroadAccess: true with a reason to open it anyway`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestOptInIsRecordedInThePlan(t *testing.T) {
	src := strings.Replace(openToTheWorld, "%s", "  policy: {allowBroadAccess: true, allowUngated: true, reason: 'public demo broker, ticket SEC-7'}\n", 1)
	docs, err := spec.Parse("open.yaml", []byte(src), options(t))
	if err != nil {
		t.Fatalf("opted-in spec refused: %v", err)
	}
	p, err := Compile(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := plan.Policy{AllowBroadAccess: true, AllowUngated: true, Reason: "public demo broker, ticket SEC-7"}
	if p.Policy == nil || *p.Policy != want {
		t.Fatalf("plan policy = %+v, want %+v", p.Policy, want)
	}
	if !strings.Contains(p.Details, "**Gate policy opt-in** (broad access, changes without approval): public demo broker, ticket SEC-7") {
		t.Errorf("details do not show the opt-in:\n%s", p.Details)
	}
	b, _ := p.JSON()
	if !strings.Contains(string(b), `"policy": {`) || !strings.Contains(string(b), `"allowBroadAccess": true`) {
		t.Errorf("plan JSON does not record the opt-in:\n%s", b)
	}
	// The same plan without its opt-in (edited by hand) is refused by the worker's check.
	p.Policy = nil
	err = policy.Check(p)
	var vs policy.Violations
	if !errors.As(err, &vs) || len(vs) != 2 || vs[0].Rule != policy.RuleBroadAccess || vs[1].Rule != policy.RuleUngated {
		t.Errorf("policy.Check of the plan without its opt-in = %v", err)
	}
}

func TestGateFieldsAndOperatorsCompile(t *testing.T) {
	p := compileFile(t, "../specs/aws-msk-cross-account.yaml")
	g := p.Step("approve-peering").Gate
	if g == nil || g.Required != 2 || g.AllowSelfApproval || strings.Join(g.Who, ",") != "client-b-netadmin@example.com,group:kafka-owners" {
		t.Errorf("gate = %+v", g)
	}
	if strings.Join(p.Operators, ",") != "group:platform-oncall,client-b-netadmin@example.com" || p.Policy != nil {
		t.Errorf("operators = %v, policy = %+v", p.Operators, p.Policy)
	}

	src := `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: gates}
spec:
  operators: [group:sre]
  steps:
    - id: ok
      action: approval
      gate: {who: [a@example.com, b@example.com, group:kafka-owners], required: 2, allowSelfApproval: true}
    - id: cable
      action: manual
      dependsOn: [ok]
      gate: {who: [ops], allowSelfApproval: true}
`
	docs, err := spec.Parse("gates.yaml", []byte(src), options(t))
	if err != nil {
		t.Fatal(err)
	}
	wp, err := Compile(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if g := wp.Step("ok").Gate; g.Required != 2 || !g.AllowSelfApproval || len(g.Who) != 3 {
		t.Errorf("approval gate = %+v", g)
	}
	if g := wp.Step("cable").Gate; g.Required != 0 || !g.AllowSelfApproval {
		t.Errorf("manual gate = %+v", g)
	}
	if strings.Join(wp.Operators, ",") != "group:sre" {
		t.Errorf("operators = %v", wp.Operators)
	}
	// The fields survive the plan's JSON round trip.
	b, _ := wp.JSON()
	back, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if g := back.Step("ok").Gate; g.Required != 2 || !g.AllowSelfApproval || strings.Join(back.Operators, ",") != "group:sre" {
		t.Errorf("round trip lost gate fields: %+v %v", g, back.Operators)
	}
}

// TestEmptyApproversIsAUserError: approvers: [] used to reach plan.Check and
// fail as "compiled plan is inconsistent (compiler bug)" at the document start.
func TestEmptyApproversIsAUserError(t *testing.T) {
	src, err := os.ReadFile("../specs/huawei-vpcep-cross-account.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "approvers: [kafka-owner@example.com, platform-oncall@example.com]", "approvers: []", 1)
	if bad == string(src) {
		t.Fatal("example changed: approvers line not found")
	}
	path := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = CompileFile(path, options(t))
	errs := spec.Errors(err)
	if len(errs) != 1 || strings.Contains(err.Error(), "compiler bug") {
		t.Fatalf("err = %v", err)
	}
	line := 1 + strings.Count(bad[:strings.Index(bad, "approvers: []")], "\n")
	if e := errs[0]; e.Line != line || e.Column != 5 || e.Message != "approval.approvers must list at least one identity or group:<name>" {
		t.Errorf("error = %+v, want line %d column 5 at the approvers key", e, line)
	}
}

// TestExamplePlansPassThePolicy: every example compiles to a plan the
// worker's policy.Check accepts, also after the JSON round trip.
func TestExamplePlansPassThePolicy(t *testing.T) {
	for _, f := range examples(t) {
		p := compileFile(t, f)
		b, _ := p.JSON()
		back, err := plan.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := policy.Check(back); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestValidatorAndPlanCheckAgree: over combinations of gates, grant values
// and actions, the validator's policy errors for a spec are exactly the
// violations policy.Check finds in the spec's plan compiled with the opt-ins
// and then stripped of them (what a hand-edited plan would be).
func TestValidatorAndPlanCheckAgree(t *testing.T) {
	gates := map[string]string{
		"none":     "",
		"approval": "    - id: g\n      action: approval\n      gate: {who: [a@example.com]}\n",
		"when":     "    - id: g\n      action: approval\n      when: ${{ spec.inputs.n != '' }}\n      gate: {who: [a@example.com]}\n",
		"expiry":   "    - id: g\n      action: approval\n      gate: {who: [a@example.com], deadline: 1h, onExpiry: approve}\n",
		// (A gate with forEach is refused by the validator: the interpreter runs one gate for every item.)
		"manual":    "    - id: g\n      action: manual\n      gate: {who: [ops]}\n",
		"twoOfMany": "    - id: g\n      action: approval\n      gate: {who: [a@example.com, group:kafka-owners], required: 2}\n",
	}
	values := []string{"10.0.0.0/16", "0.0.0.0/0", "'::/0'", "'${{ spec.inputs.c }}'", "'${{ spec.inputs.n }}'", "'${{ meta.workflowId }}'", "'*'", "hw-client-b"}
	steps := map[string]string{
		"huawei":       "      action: huawei.vpc.addSecurityGroupRule\n      account: hw-kafka-owner\n      inputs: {securityGroupId: sg, port: 1, cidr: %s}\n",
		"huaweiEgress": "      action: huawei.vpc.addSecurityGroupRule\n      account: hw-kafka-owner\n      inputs: {securityGroupId: sg, port: 1, direction: egress, cidr: %s}\n",
		"aws":          "      action: aws.ec2.authorizeSecurityGroupIngress\n      account: aws-msk\n      inputs: {groupId: sg, port: 1, cidr: %s}\n",
		"whitelist":    "      action: huawei.vpcep.addWhitelist\n      account: hw-kafka-owner\n      inputs: {serviceId: s, clientAccount: %s}\n",
		"policyList":   "      action: aws.msk.putClusterPolicy\n      account: aws-msk\n      inputs: {clusterArn: a, clientAccounts: [aws-client-b, %s]}\n",
	}
	policies := []string{"", "  policy: {allowBroadAccess: true, reason: r}\n", "  policy: {allowUngated: true, reason: r}\n", "  policy: {allowBroadAccess: true, allowUngated: true, reason: r}\n"}
	opts := options(t)
	n := 0
	for gname, g := range gates {
		for _, val := range values {
			for sname, st := range steps {
				body := g + "    - id: x\n" + strings.Replace(st, "%s", val, 1)
				if g != "" {
					body += "      dependsOn: [g]\n"
				}
				src := func(pol string) string {
					return "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  inputs: {c: 0.0.0.0/0, n: 10.1.0.0/16}\n" + pol + "  steps:\n" + body
				}
				// The validator's policy errors without opt-ins.
				_, err := spec.Parse("w.yaml", []byte(src("")), opts)
				var specRules []string
				for _, e := range spec.Errors(err) {
					switch {
					case strings.HasPrefix(e.Message, "cidr: ") || strings.HasPrefix(e.Message, "clientAccount: ") || strings.HasPrefix(e.Message, "clientAccounts: "):
						specRules = append(specRules, policy.RuleBroadAccess)
					case strings.Contains(e.Message, "changes things but no approval precedes it"):
						specRules = append(specRules, policy.RuleUngated)
					default:
						t.Fatalf("%s/%s/%s: unexpected error %v", gname, sname, val, e)
					}
				}
				// The plan compiled with the opt-ins it needs, stripped of them.
				var p *plan.Plan
				for _, pol := range policies {
					docs, err := spec.Parse("w.yaml", []byte(src(pol)), opts)
					if err != nil {
						continue
					}
					if p, err = Compile(docs[0]); err != nil {
						t.Fatalf("%s/%s/%s: valid spec does not compile: %v", gname, sname, val, err)
					}
					break
				}
				if p == nil {
					t.Fatalf("%s/%s/%s: no opt-in makes the spec valid", gname, sname, val)
				}
				p.Policy = nil
				var planRules []string
				var vs policy.Violations
				if err := policy.Check(p); err != nil && !errors.As(err, &vs) {
					t.Fatal(err)
				}
				for _, v := range vs {
					planRules = append(planRules, v.Rule)
				}
				if strings.Join(specRules, ",") != strings.Join(planRules, ",") && !sameSet(specRules, planRules) {
					t.Errorf("%s/%s/%s: validator %v, plan check %v (%v)", gname, sname, val, specRules, planRules, vs)
				}
				n++
			}
		}
	}
	if n != len(gates)*len(values)*len(steps) {
		t.Fatalf("ran %d combinations", n)
	}
}

func sameSet(a, b []string) bool {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}
