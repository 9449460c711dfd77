package compiler

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// dependsOn reports whether step from depends on step to, transitively.
func dependsOn(p *plan.Plan, from, to string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		s := p.Step(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		if s == nil {
			continue
		}
		for _, d := range s.DependsOn {
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

// compileVariant compiles an example with textual replacements (old, new pairs).
func compileVariant(t *testing.T, file string, replace ...string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile("../specs/" + file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(text, replace[i]) {
			t.Fatalf("%s has no %q", file, replace[i])
		}
		text = strings.Replace(text, replace[i], replace[i+1], 1)
	}
	docs, err := spec.Parse(file, []byte(text), options(t))
	if err != nil {
		t.Fatalf("parse %s variant: %v\n%s", file, err, text)
	}
	p, err := Compile(docs[0])
	if err != nil {
		t.Fatalf("compile %s variant: %v", file, err)
	}
	return p
}

const approvalBlock = "  approval:\n    approvers: [kafka-owner@example.com]\n"

// TestGivenApprovalAlwaysGates: an explicit approval yields a gate before
// the first change for every method, in one account too (it used to be
// compiled only across accounts: the Azure same-subscription spec restarted
// every broker without asking).
func TestGivenApprovalAlwaysGates(t *testing.T) {
	tests := []struct {
		name, file   string
		replace      []string
		gate, before string
		noStep       string
	}{
		{"azure one subscription", "azure-aks-hdinsight.yaml", []string{"  onFailure: park\n", "  onFailure: park\n" + approvalBlock},
			"approve-peering", "peer-kafka-to-client", ""},
		{"aws same VPC", "aws-msk-same-vpc.yaml", []string{"  method: sameVpc\n", "  method: sameVpc\n" + approvalBlock},
			"approve-access", "open-security-group", ""},
		{"aws peering in one account", "aws-msk-cross-vpc.yaml", []string{"  method: vpcPeering\n", "  method: vpcPeering\n" + approvalBlock},
			"approve-peering", "accept-peering", ""},
		{"huawei endpoints in one account", "huawei-vpcep-same-account.yaml", []string{"  onFailure: park\n", "  onFailure: park\n" + approvalBlock},
			"approve-connection", "create-endpoint", "whitelist-client"},
		{"huawei peering in one account", "huawei-vpc-peering.yaml", []string{"account: hw-client-b", "account: hw-kafka-owner"},
			"approve-peering", "route-to-kafka", "accept-peering"},
		{"msk multi-VPC in one account", "aws-msk-multi-vpc.yaml", []string{"account: aws-client-b\n    vpcId", "account: aws-msk\n    vpcId", "account: aws-client-b", "account: aws-msk"},
			"approve-access", "enable-multi-vpc", "allow-client"},
		{"transit gateway in one account", "aws-msk-onprem.yaml", []string{"account: aws-transit", "account: aws-msk"},
			"approve-attachment", "route-to-onprem", "accept-attachment"},
		{"privatelink without acceptance", "aws-msk-privatelink.yaml", []string{"acceptanceRequired: true", "acceptanceRequired: false"},
			"approve-connection", "create-endpoint", "accept-connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compileVariant(t, tt.file, tt.replace...)
			g := p.Step(tt.gate)
			if g == nil || g.Action != plan.ActionApproval || g.Gate == nil || len(g.Gate.Who) == 0 {
				t.Fatalf("no approval step %s; steps: %v", tt.gate, stepIDs(p))
			}
			if !dependsOn(p, tt.before, tt.gate) {
				t.Errorf("%s does not wait for %s", tt.before, tt.gate)
			}
			if tt.noStep != "" && p.Step(tt.noStep) != nil {
				t.Errorf("one-account plan has step %s", tt.noStep)
			}
		})
	}
}

// TestClientSecurityGroupIsReferenced: client.securityGroupId on an MSK spec
// is the source of the brokers' ingress rule (runbook 002 §4.2 and §4.4), in
// the form given (<account ID>/sg-x across accounts), after the peering is active.
func TestClientSecurityGroupIsReferenced(t *testing.T) {
	tests := []struct {
		name, file string
		replace    []string
		source     string
	}{
		{"same VPC", "aws-msk-same-vpc.yaml", []string{"    cidr: 10.20.1.0/24\n", "    securityGroupId: sg-0a5c0000000app01\n"}, "sg-0a5c0000000app01"},
		{"peering in one account", "aws-msk-cross-vpc.yaml", []string{"    cidr: 10.22.0.0/16\n", "    cidr: 10.22.0.0/16\n    securityGroupId: sg-0a5c000000clia01\n"}, "sg-0a5c000000clia01"},
		{"peering across accounts", "aws-msk-cross-account.yaml", []string{"    cidr: 10.21.0.0/16\n", "    cidr: 10.21.0.0/16\n    securityGroupId: 222222222222/sg-0a5c000000clib01\n"}, "222222222222/sg-0a5c000000clib01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compileVariant(t, tt.file, tt.replace...)
			s := p.Step("open-security-group")
			if s == nil {
				t.Fatalf("no open-security-group step: %v", stepIDs(p))
			}
			if got := s.Inputs["sourceGroup"]; got.Literal != tt.source {
				t.Errorf("sourceGroup = %#v, want %q", got, tt.source)
			}
			if _, ok := s.Inputs["cidr"]; ok {
				t.Errorf("the rule also opens a CIDR: %#v", s.Inputs["cidr"])
			}
			if p.Step("wait-peering-active") != nil && !dependsOn(p, "open-security-group", "wait-peering-active") {
				t.Error("the group is referenced before the peering is active")
			}
		})
	}
}

// TestPlanProblemsOfWorkflowStepsArePositioned: a plan.Check problem of a
// Workflow step is the user's, reported at the step's key, not as a
// "compiler bug" at the document's start; other problems stay compiler bugs.
func TestPlanProblemsOfWorkflowStepsArePositioned(t *testing.T) {
	src := "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n" +
		"  - id: a\n    action: manual\n    gate: {who: [ops@example.com]}\n" +
		"  - id: b\n    action: huawei.dms.showInstance\n    account: hw-kafka-owner\n    dependsOn: [a]\n    inputs: {instanceId: i}\n" +
		"    wait: {target: [RUNNING]}\n"
	docs, err := spec.Parse("w.yaml", []byte(src), options(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"wait of step b", errors.Join(errors.New(`step "b": wait: timeout must be positive`)), `w.yaml:14:5: step "b": wait: timeout must be positive`},
		{"step a", errors.Join(errors.New(`step "a": gate lists nobody who may act`)), `w.yaml:8:5: step "a": gate lists nobody who may act`},
		{"step of no spec step", errors.Join(errors.New(`step "zz": no action`)), ""},
		{"plan-level", errors.Join(errors.New(`plan onFailure is "x"`)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stepErrors(docs[0], tt.err)
			if tt.want == "" {
				if got != nil {
					t.Errorf("got %v, want a compiler bug (nil)", got)
				}
				return
			}
			if len(got) != 1 || got[0].Error() != tt.want {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
}
