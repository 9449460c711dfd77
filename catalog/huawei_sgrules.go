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
	Created bool   `json:"created" doc:"false when an identical rule nobody recorded existed before (the inverse then keeps it)"`
	Shared  bool   `json:"shared" doc:"the rule records other requests as users (tags topoflow-* on its security group): this request was added as one"`
}

// HuaweiDeleteSGRuleIn are the inputs of huawei.vpc.deleteSecurityGroupRule.
type HuaweiDeleteSGRuleIn struct {
	RuleID  string `json:"ruleId" required:"true" doc:"rule ID"`
	Created *bool  `json:"created" doc:"false skips the delete (the rule was not created by Topoflow)"`
	// SecurityGroupID is optional: plans compiled before users were recorded lack it (the rule names its group).
	SecurityGroupID string `json:"securityGroupId" doc:"the rule's security group (where its users are recorded as tags)"`
}

// HuaweiDeleteSGRuleOut is the result of huawei.vpc.deleteSecurityGroupRule.
type HuaweiDeleteSGRuleOut struct {
	RuleID  string   `json:"ruleId" doc:"rule ID"`
	Deleted bool     `json:"deleted" doc:"whether the rule was deleted (or already gone)"`
	UsedBy  []string `json:"usedBy" doc:"the other requests still using the rule (it is kept for them)"`
}

func init() {
	Register(Typed[HuaweiAddSGRuleIn, HuaweiAddSGRuleOut](Action{
		Name: HuaweiVPCAddSecurityGroupRule, Provider: "huawei",
		Title: "Add a security group rule",
		Doc: "Adds an allow rule (e.g. ingress TCP 9011 from 198.19.128.0/17, the VPCEP range) and records this request as its " +
			"user (a tag topoflow-* on the security group: rules have no tags). An identical rule that records users (another " +
			"request's) is shared: this request becomes a user too (created=true, shared=true); an identical rule nobody recorded " +
			"is reused with created=false. A group with 20 tags has no room for a user: refused before anything is created.",
		Inverse: &Inverse{
			Action: HuaweiVPCDeleteSecurityGroupRule, Title: "Delete the security group rule",
			Inputs: map[string]plan.Value{"ruleId": plan.Expr("output.ruleId"), "created": plan.Expr("output.created"),
				"securityGroupId": plan.Expr("input.securityGroupId")},
		},
		Grants: []Grant{{Input: "cidr", Kind: GrantCIDR, UnlessInput: "direction", UnlessValue: "egress"}},
		// Adding a user never interleaves with the last user's delete (activities/huawei/owners.go).
		Locks: []string{`"huawei:sg:" + input.securityGroupId`},
	}))
	Register(Typed[HuaweiDeleteSGRuleIn, HuaweiDeleteSGRuleOut](Action{
		Name: HuaweiVPCDeleteSecurityGroupRule, Provider: "huawei",
		Title: "Delete a security group rule",
		Doc: "Drops this request from the rule's users (its topoflow-* tag on the security group) and deletes the rule when no " +
			"user is left (usedBy lists the others); a missing rule counts as done. created=false (the rule pre-existed) makes it a no-op.",
	}))
}
