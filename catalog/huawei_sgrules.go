package catalog

import "github.com/topoflow/topoflow/plan"

// Huawei security group rules: the contracts and descriptors of
// huawei.vpc.{add,delete}SecurityGroupRule.

// HuaweiAddSGRuleIn are the inputs of huawei.vpc.addSecurityGroupRule.
type HuaweiAddSGRuleIn struct {
	SecurityGroupID string `json:"securityGroupId" required:"true" doc:"security group ID"`
	Direction       string `json:"direction" doc:"ingress (default) or egress"`
	Protocol        string `json:"protocol" doc:"tcp (default), udp, icmp"`
	Port            int    `json:"port" required:"true" doc:"port"`
	CIDR            string `json:"cidr" required:"true" doc:"remote IP prefix"`
	Description     string `json:"description" doc:"free text"`
}

// HuaweiAddSGRuleOut is the result of huawei.vpc.addSecurityGroupRule.
type HuaweiAddSGRuleOut struct {
	RuleID  string `json:"ruleId" doc:"rule ID"`
	Created bool   `json:"created" doc:"false when an identical rule existed before (the inverse then keeps it)"`
}

// HuaweiDeleteSGRuleIn are the inputs of huawei.vpc.deleteSecurityGroupRule.
type HuaweiDeleteSGRuleIn struct {
	RuleID  string `json:"ruleId" required:"true" doc:"rule ID"`
	Created *bool  `json:"created" doc:"false skips the delete (the rule was not created by Topoflow)"`
}

// HuaweiDeleteSGRuleOut is the result of huawei.vpc.deleteSecurityGroupRule.
type HuaweiDeleteSGRuleOut struct {
	RuleID  string `json:"ruleId" doc:"rule ID"`
	Deleted bool   `json:"deleted" doc:"whether the rule was deleted (or already gone)"`
}

func init() {
	Register(Typed[HuaweiAddSGRuleIn, HuaweiAddSGRuleOut](Action{
		Name: HuaweiVPCAddSecurityGroupRule, Provider: "huawei",
		Title: "Add a security group rule",
		Doc:   "Adds an allow rule (e.g. ingress TCP 9011 from 198.19.128.0/17, the VPCEP range). An identical rule is reused.",
		Inverse: &Inverse{
			Action: HuaweiVPCDeleteSecurityGroupRule, Title: "Delete the security group rule",
			Inputs: map[string]plan.Value{"ruleId": plan.Expr("output.ruleId"), "created": plan.Expr("output.created")},
		},
		Grants: []Grant{{Input: "cidr", Kind: GrantCIDR, UnlessInput: "direction", UnlessValue: "egress"}},
	}))
	Register(Typed[HuaweiDeleteSGRuleIn, HuaweiDeleteSGRuleOut](Action{
		Name: HuaweiVPCDeleteSecurityGroupRule, Provider: "huawei",
		Title: "Delete a security group rule",
		Doc:   "Deletes a rule; a missing rule counts as done. created=false (the rule pre-existed) makes it a no-op.",
	}))
}
