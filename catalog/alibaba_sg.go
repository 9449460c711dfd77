package catalog

import "github.com/topoflow/topoflow/plan"

// Alibaba Cloud ECS security-group ingress (Ecs 2014-05-26): the contracts
// and descriptors of alibaba.ecs.{authorize,revoke}SecurityGroup.
const (
	AlibabaEcsAuthorizeSecurityGroup = "alibaba.ecs.authorizeSecurityGroup"
	AlibabaEcsRevokeSecurityGroup    = "alibaba.ecs.revokeSecurityGroup"
)

// AlibabaSGRuleIn is an inbound rule: the inputs of both actions.
type AlibabaSGRuleIn struct {
	SecurityGroupID string `json:"securityGroupId" required:"true" doc:"security group (sg-...)"`
	SourceCidr      string `json:"sourceCidr" required:"true" format:"cidr" doc:"IPv4 range allowed in (the EMQX deployment's CIDR)"`
	Protocol        string `json:"protocol" doc:"TCP (default), UDP, ICMP or ALL"`
	PortRange       string `json:"portRange" required:"true" doc:"destination ports as from/to, e.g. 9092/9092 (-1/-1 for ICMP and ALL)"`
	Created         *bool  `json:"created" doc:"revoke only: false skips the revoke (the rule existed before)"`
}

// AlibabaSGRuleOut is the result of both actions.
type AlibabaSGRuleOut struct {
	SecurityGroupID string `json:"securityGroupId" doc:"security group"`
	RuleID          string `json:"ruleId,omitempty" doc:"the rule's SecurityGroupRuleId"`
	Created         bool   `json:"created" doc:"authorize: false when an identical rule this request did not create existed before; revoke: whether a rule was removed"`
}

func init() {
	Register(Typed[AlibabaSGRuleIn, AlibabaSGRuleOut](Action{
		Name: AlibabaEcsAuthorizeSecurityGroup, Provider: "alibaba",
		Title: "Allow a CIDR into an ECS security group",
		Doc: "AuthorizeSecurityGroup (Permissions.1, Policy Accept) after DescribeSecurityGroupAttribute: the rule's description " +
			"carries the idempotency key, so an earlier attempt's rule is recognised (created=true) and an identical rule that was " +
			"there before is kept on rollback (created=false). An existing rule makes AuthorizeSecurityGroup succeed without a new " +
			"one (ecs-20140526 client.go).",
		Inverse: &Inverse{
			Action: AlibabaEcsRevokeSecurityGroup, Title: "Revoke the security-group rule",
			Inputs: map[string]plan.Value{"securityGroupId": plan.Expr("input.securityGroupId"), "sourceCidr": plan.Expr("input.sourceCidr"),
				"protocol": plan.Expr("input.protocol"), "portRange": plan.Expr("input.portRange"), "created": plan.Expr("output.created")},
		},
		Locks:  []string{`"alibaba:sg:" + input.securityGroupId`},
		Grants: []Grant{{Input: "sourceCidr", Kind: GrantCIDR}},
	}))
	Register(Typed[AlibabaSGRuleIn, AlibabaSGRuleOut](Action{
		Name: AlibabaEcsRevokeSecurityGroup, Provider: "alibaba",
		Title: "Revoke an ECS security-group ingress rule",
		Doc:   "RevokeSecurityGroup of the rule when DescribeSecurityGroupAttribute lists it; a missing rule counts as done.",
	}))
}
