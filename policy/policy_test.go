package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func TestCheckPrincipal(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // substring; "" means valid
	}{
		{"kafka-owner@example.com", ""},
		{"alice", ""},
		{"first.last+kafka@corp.example.co.uk", ""},
		{"group:kafka-owners", ""},
		{"group:platform-oncall", ""},
		{"group:Kafka-Owners", "is not a valid group"},
		{"group:", "is not a valid group"},
		{"group:-x", "is not a valid group"},
		{"group:" + strings.Repeat("a", 64), "is not a valid group"},
		{"team:kafka-owners", `did you mean "group:kafka-owners"?`},
		{"Kafka Owner", "is not a valid identity"},
		{"", "is not a valid identity"},
		{"a@b@c", "is not a valid identity"},
		{"bob@", "is not a valid identity"},
		{"@example.com", "is not a valid identity"},
		{strings.Repeat("a", 250) + "@b.cd", "is not a valid identity"},
		{"eve\n@example.com", "is not a valid identity"},
	}
	for _, tt := range tests {
		err := CheckPrincipal(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckPrincipal(%q) = %v, want valid", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckPrincipal(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestValueProblem(t *testing.T) {
	tests := []struct {
		kind catalog.GrantKind
		in   any
		want string // substring; "" means narrow
	}{
		{catalog.GrantCIDR, "198.19.128.0/17", ""},
		{catalog.GrantCIDR, "10.0.0.0/8", ""},
		{catalog.GrantCIDR, "10.1.2.3", ""},
		{catalog.GrantCIDR, "2001:db8::/32", ""},
		{catalog.GrantCIDR, "2001:db8:1::/48", ""},
		{catalog.GrantCIDR, "", ""},
		{catalog.GrantCIDR, "0.0.0.0/0", "opens access from any address"},
		{catalog.GrantCIDR, "::/0", "opens access from any address"},
		{catalog.GrantCIDR, "10.20.30.40/0", "opens access from any address"},
		{catalog.GrantCIDR, "0.0.0.0/1", "wider than /8"},
		{catalog.GrantCIDR, "8.0.0.0/7", "wider than /8"},
		{catalog.GrantCIDR, "2000::/3", "wider than /32"},
		{catalog.GrantCIDR, "::ffff:0.0.0.0/96", "opens access from any address"},
		{catalog.GrantCIDR, "any", "is not a CIDR"},
		{catalog.GrantCIDR, int64(0), "cannot be checked"},
		{catalog.GrantCIDR, Unknown{Expr: "steps.x.cidr"}, "computed at run time (steps.x.cidr)"},
		{catalog.GrantPrincipal, "hw-client-b", ""},
		{catalog.GrantPrincipal, []any{"aws-client-b", "aws-client-c"}, ""},
		{catalog.GrantPrincipal, "*", "is a wildcard"},
		{catalog.GrantPrincipal, "iam:domain::*", "is a wildcard"},
		{catalog.GrantPrincipal, []any{"aws-client-b", "arn:aws:iam::*:root"}, "is a wildcard"},
		{catalog.GrantPrincipal, []string{"a", "*"}, "is a wildcard"},
		{catalog.GrantPrincipal, []any{"a", Unknown{Expr: "item"}}, "computed at run time"},
	}
	for _, tt := range tests {
		got := ValueProblem(tt.kind, tt.in)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("ValueProblem(%s, %#v) = %q, want %q", tt.kind, tt.in, got, tt.want)
		}
		if got != "" && tt.kind == catalog.GrantCIDR && !strings.Contains(got, "allowBroadAccess") && !strings.Contains(got, "range such as") && !strings.Contains(got, "give a string") {
			t.Errorf("ValueProblem(%#v) = %q does not say how to fix it", tt.in, got)
		}
	}
}

// TestCheckStepInputs is the check of inputs replaced on retry.
func TestCheckStepInputs(t *testing.T) {
	tests := []struct {
		name   string
		action string
		inputs map[string]any
		want   string // substring of the error; "" means allowed
	}{
		{"narrow huawei rule", catalog.HuaweiVPCAddSecurityGroupRule, map[string]any{"securityGroupId": "sg", "port": 9011, "cidr": "198.19.128.0/17"}, ""},
		{"huawei rule from anywhere", catalog.HuaweiVPCAddSecurityGroupRule, map[string]any{"securityGroupId": "sg", "port": 9011, "cidr": "0.0.0.0/0"}, `input cidr: "0.0.0.0/0" opens access from any address`},
		{"explicit ingress", catalog.HuaweiVPCAddSecurityGroupRule, map[string]any{"direction": "ingress", "cidr": "::/0"}, "opens access from any address"},
		{"egress to anywhere", catalog.HuaweiVPCAddSecurityGroupRule, map[string]any{"direction": "egress", "cidr": "0.0.0.0/0"}, ""},
		{"aws ingress from anywhere", catalog.AWSEC2AuthorizeIngress, map[string]any{"groupId": "sg", "port": 9092, "cidr": "0.0.0.0/0"}, "input cidr"},
		{"aws ingress from a group", catalog.AWSEC2AuthorizeIngress, map[string]any{"groupId": "sg", "port": 9092, "sourceGroup": "sg-1"}, ""},
		{"vpcep whitelist wildcard", catalog.HuaweiVPCEPAddWhitelist, map[string]any{"serviceId": "s", "clientAccount": "*"}, "input clientAccount"},
		{"vpcep whitelist domain wildcard", catalog.HuaweiVPCEPAddWhitelist, map[string]any{"serviceId": "s", "clientAccount": "iam:domain::*"}, "is a wildcard"},
		{"privatelink principal wildcard", catalog.AWSEC2AddServicePermission, map[string]any{"serviceId": "s", "principalAccount": "*"}, "input principalAccount"},
		{"msk policy wildcard", catalog.AWSMSKPutClusterPolicy, map[string]any{"clusterArn": "a", "clientAccounts": []any{"*"}}, "input clientAccounts"},
		{"read action", catalog.HuaweiDMSShowInstance, map[string]any{"instanceId": "*"}, ""},
		{"unknown action", "no.such.action", map[string]any{"cidr": "0.0.0.0/0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStepInputs(tt.action, tt.inputs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var vs Violations
			if !errors.As(err, &vs) || vs[0].Rule != RuleBroadAccess {
				t.Errorf("err is not a broad-access Violations: %#v", err)
			}
		})
	}
}

// gate returns an approval step.
func gateStep(id string, deps ...string) plan.Step {
	return plan.Step{ID: id, Action: plan.ActionApproval, DependsOn: deps, Gate: &plan.Gate{Who: []string{"kafka-owner@example.com"}}}
}

func rule(id, cidr string, deps ...string) plan.Step {
	return plan.Step{ID: id, Action: catalog.HuaweiVPCAddSecurityGroupRule, Account: "hw-kafka-owner", DependsOn: deps,
		Inputs: map[string]plan.Value{"securityGroupId": plan.Lit("sg-1"), "port": plan.Lit(9011), "cidr": plan.Lit(cidr)}}
}

func wf(steps ...plan.Step) *plan.Plan {
	return &plan.Plan{APIVersion: plan.APIVersion, Source: plan.Source{Kind: "Workflow", Name: "w"}, OnFailure: plan.FailRollback, Steps: steps}
}

func TestCheckPlans(t *testing.T) {
	conditional := gateStep("ok")
	conditional.When = "true"
	selfApproving := gateStep("ok")
	selfApproving.Gate.OnExpiry, selfApproving.Gate.Deadline = plan.ExpireApprove, plan.D(3600e9)
	fanned := gateStep("ok")
	fanned.ForEach = &plan.ForEach{Items: "[1]"}
	kafka := wf(rule("open", "0.0.0.0/0"))
	kafka.Source.Kind = "KafkaAccess"
	kafkaNarrow := wf(rule("open", "10.0.0.0/16"))
	kafkaNarrow.Source.Kind = "KafkaAccess"
	noKind := wf(rule("open", "10.0.0.0/16"))
	noKind.Source.Kind = ""
	optedIn := wf(rule("open", "0.0.0.0/0"))
	optedIn.Policy = &plan.Policy{AllowBroadAccess: true, AllowUngated: true, Reason: "public demo"}
	onlyUngated := wf(rule("open", "0.0.0.0/0"))
	onlyUngated.Policy = &plan.Policy{AllowUngated: true, Reason: "r"}
	runtime := wf(gateStep("ok"), plan.Step{ID: "open", Action: catalog.AWSEC2AuthorizeIngress, DependsOn: []string{"ok"},
		Inputs: map[string]plan.Value{"groupId": plan.Lit("sg"), "port": plan.Lit(9092), "cidr": plan.Expr(`steps.ok.comment`)}})
	folded := wf(gateStep("ok"), plan.Step{ID: "open", Action: catalog.AWSEC2AuthorizeIngress, DependsOn: []string{"ok"},
		Inputs: map[string]plan.Value{"groupId": plan.Lit("sg"), "port": plan.Lit(9092), "cidr": plan.Expr(`"0.0.0.0" + "/0"`)}})
	compensation := wf(gateStep("ok"), plan.Step{ID: "peer", Action: catalog.HuaweiVPCCreatePeering, DependsOn: []string{"ok"},
		Compensation: &plan.Compensation{Title: "re-open", Action: catalog.HuaweiVPCAddSecurityGroupRule,
			Inputs: map[string]plan.Value{"securityGroupId": plan.Lit("sg"), "port": plan.Lit(1), "cidr": plan.Lit("0.0.0.0/0")}}})
	mOfN := wf(plan.Step{ID: "ok", Action: plan.ActionApproval, Gate: &plan.Gate{Who: []string{"a@example.com", "b@example.com"}, Required: 3}})
	mOfGroup := wf(plan.Step{ID: "ok", Action: plan.ActionApproval, Gate: &plan.Gate{Who: []string{"a@example.com", "group:kafka-owners"}, Required: 3}})
	badWho := wf(plan.Step{ID: "ok", Action: plan.ActionManual, Gate: &plan.Gate{Who: []string{"a@example.com", "a@example.com", "x y"}}})
	badOperators := wf(gateStep("ok"))
	badOperators.Operators = []string{"group:Ops"}

	tests := []struct {
		name string
		p    *plan.Plan
		want []string // one substring per violation, in order; none means allowed
	}{
		{"gated narrow rule", wf(gateStep("ok"), rule("open", "10.0.0.0/16", "ok")), nil},
		{"gated transitively", wf(gateStep("ok"), rule("a", "10.0.0.0/16", "ok"), rule("b", "10.1.0.0/16", "a")), nil},
		{"ungated rule from anywhere", wf(rule("open", "0.0.0.0/0")), []string{`step "open": input cidr: "0.0.0.0/0" opens access`, `step "open": action huawei.vpc.addSecurityGroupRule changes things but no approval precedes it`}},
		{"gate after the step", wf(rule("open", "10.0.0.0/16"), gateStep("ok", "open")), []string{"no approval precedes it"}},
		{"conditional gate", wf(conditional, rule("open", "10.0.0.0/16", "ok")), []string{"no approval precedes it"}},
		{"gate approving on expiry", wf(selfApproving, rule("open", "10.0.0.0/16", "ok")), []string{"no approval precedes it"}},
		{"fanned-out gate", wf(fanned, rule("open", "10.0.0.0/16", "ok")), []string{"no approval precedes it"}},
		{"reads and manual steps need no gate", wf(plan.Step{ID: "m", Action: plan.ActionManual, Gate: &plan.Gate{Who: []string{"ops"}}},
			plan.Step{ID: "r", Action: catalog.HuaweiDMSShowInstance, Inputs: map[string]plan.Value{"instanceId": plan.Lit("i")}}), nil},
		{"unknown actions mutate", wf(plan.Step{ID: "x", Action: "custom.thing"}), []string{"action custom.thing changes things"}},
		{"kafka access: no ungated rule, broad refused", kafka, []string{`input cidr: "0.0.0.0/0"`}},
		{"kafka access narrow", kafkaNarrow, nil},
		{"kind missing counts as workflow", noKind, []string{"no approval precedes it"}},
		{"opted in", optedIn, nil},
		{"opt-in covers only its rule", onlyUngated, []string{"opens access from any address"}},
		{"run-time cidr", runtime, []string{"computed at run time (steps.ok.comment)"}},
		{"constant expression is evaluated", folded, []string{`"0.0.0.0/0" opens access`}},
		{"compensation grants are checked", compensation, []string{`step "peer": compensation input cidr`}},
		{"required above identities", mOfN, []string{"required is 3 but only 2 distinct approvers are listed"}},
		{"required with a group", mOfGroup, nil},
		{"bad who", badWho, []string{`"a@example.com" is listed twice`, `"x y" is not a valid identity`}},
		{"bad operators", badOperators, []string{`operators: "group:Ops" is not a valid group`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.p)
			var vs Violations
			if err != nil && !errors.As(err, &vs) {
				t.Fatalf("err is %T, want Violations", err)
			}
			if len(vs) != len(tt.want) {
				t.Fatalf("violations = %v, want %d: %q", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(vs[i].Error(), w) {
					t.Errorf("violation %d = %q, want %q", i, vs[i].Error(), w)
				}
			}
		})
	}
}

func TestOperators(t *testing.T) {
	p := wf(gateStep("a"), plan.Step{ID: "b", Action: plan.ActionApproval, Gate: &plan.Gate{Who: []string{"group:kafka-owners", "kafka-owner@example.com"}}},
		plan.Step{ID: "m", Action: plan.ActionManual, Gate: &plan.Gate{Who: []string{"cabler"}}})
	if got := strings.Join(Operators(p), ","); got != "group:kafka-owners,group:platform-oncall,kafka-owner@example.com" {
		t.Errorf("default operators = %s", got)
	}
	p.Operators = []string{"group:sre"}
	if got := strings.Join(Operators(p), ","); got != "group:sre" {
		t.Errorf("explicit operators = %s", got)
	}
}

func TestCheckReplacedInputs(t *testing.T) {
	p := wf(gateStep("ok"), rule("open", "10.0.0.0/16", "ok"))
	p.Policy = &plan.Policy{AllowBroadAccess: true, Reason: "the opt-in does not cover replaced inputs"}
	tests := []struct {
		step   string
		inputs map[string]any
		want   string
	}{
		{"open", map[string]any{"securityGroupId": "sg-1", "port": 9011, "cidr": "10.2.0.0/16"}, ""},
		{"open", map[string]any{"securityGroupId": "sg-1", "port": 9011, "cidr": "0.0.0.0/0"}, `policy: step "open": input cidr: "0.0.0.0/0" opens access from any address`},
		{"open", map[string]any{"cidr": "0.0.0.0/0", "direction": "egress"}, ""},
		{"ok", map[string]any{"comment": "x"}, "approval steps take no inputs to replace"},
		{"nope", nil, `plan has no step "nope"`},
	}
	for _, tt := range tests {
		err := CheckReplacedInputs(p, tt.step, tt.inputs)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckReplacedInputs(%s, %v) = %v, want %q", tt.step, tt.inputs, err, tt.want)
		}
	}
}
