package contract_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

func options(t *testing.T) spec.Options {
	t.Helper()
	reg, err := accounts.Load("../../specs/accounts.yaml")
	if err != nil {
		t.Fatalf("load account registry: %v", err)
	}
	return spec.Options{
		Accounts: func(n string) (string, bool) {
			a, ok := reg.Get(n)
			if !ok {
				return "", false
			}
			return a.Provider, true
		},
		AccountNames: reg.Names,
	}
}

// TestCatalogIsConsistent: every inverse and wait of every descriptor names
// actions, inputs and outputs that exist.
func TestCatalogIsConsistent(t *testing.T) {
	for _, e := range contract.CheckCatalog() {
		t.Error(e)
	}
}

// TestCompiledPlansKeepTheContracts compiles every example spec and checks
// each step, compensation and plan output against the catalog: only declared
// input keys with the declared types, every required input, and only
// declared outputs read (steps.<id>.<key>, a compensation's output.<key>).
func TestCompiledPlansKeepTheContracts(t *testing.T) {
	files, _ := filepath.Glob("../../specs/*.yaml")
	var n, steps int
	for _, f := range files {
		if strings.HasSuffix(f, "accounts.yaml") {
			continue
		}
		p, err := compiler.CompileFile(f, options(t))
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		n++
		steps += len(p.Steps)
		for _, e := range contract.CheckPlan(p) {
			t.Errorf("%s: %s", filepath.Base(f), e)
		}
	}
	if n < 13 || steps < 100 {
		t.Fatalf("checked %d plans with %d steps, want at least 13 plans and 100 steps", n, steps)
	}
}

// TestCheckPlanCatchesDisagreements: the checks fail on a renamed input,
// a read of an undeclared output, a wrong literal type and a missing
// required input.
func TestCheckPlanCatchesDisagreements(t *testing.T) {
	verify := func(in map[string]plan.Value) plan.Step {
		return plan.Step{ID: "verify", Action: catalog.KafkaVerify, Inputs: in}
	}
	tests := []struct {
		name string
		p    plan.Plan
		want string
	}{
		{"renamed input", plan.Plan{Steps: []plan.Step{verify(map[string]plan.Value{"bootstrap": plan.Lit([]any{"a:1"}), "topik": plan.Lit("t")})}}, `has no input "topik"`},
		{"missing required", plan.Plan{Steps: []plan.Step{verify(map[string]plan.Value{"topic": plan.Lit("t")})}}, `required input "bootstrap"`},
		{"wrong type", plan.Plan{Steps: []plan.Step{verify(map[string]plan.Value{"bootstrap": plan.Lit("a:1"), "topic": plan.Lit(3)})}}, `input "bootstrap": want array`},
		{"undeclared output", plan.Plan{Steps: []plan.Step{verify(map[string]plan.Value{"bootstrap": plan.Lit([]any{"a:1"})})},
			Outputs: map[string]plan.Value{"x": plan.Expr(`steps.verify.broker`)}}, `reads output "broker" of step verify`},
		{"fan-out output", plan.Plan{Steps: []plan.Step{
			{ID: "list", Action: catalog.AWSMSKListBrokers, Inputs: map[string]plan.Value{"clusterArn": plan.Lit("arn")}},
			{ID: "nlb", Action: catalog.AWSELBDescribeLoadBalancer, ForEach: &plan.ForEach{Items: "steps.list.brokers"},
				Inputs: map[string]plan.Value{"loadBalancerArn": plan.Lit("arn")}},
			verify(map[string]plan.Value{"bootstrap": plan.Expr(`[steps.nlb[0].dnsname]`)}),
		}}, `reads output "dnsname" of step nlb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := contract.CheckPlan(&tt.p)
			if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Fatalf("CheckPlan = %q, want an error containing %q", errs, tt.want)
			}
		})
	}
}

// TestCheckOutputs: an implementation output the descriptor does not
// declare is reported.
func TestCheckOutputs(t *testing.T) {
	if err := contract.CheckOutputs(catalog.KafkaVerify, plan.Outputs{"topic": "t", "brokers": nil}); err != nil {
		t.Fatalf("declared outputs: %v", err)
	}
	err := contract.CheckOutputs(catalog.KafkaVerify, plan.Outputs{"topic": "t", "broker": nil})
	if err == nil || !strings.Contains(err.Error(), "broker") {
		t.Fatalf("undeclared output: %v, want an error naming broker", err)
	}
}
