package catalog

import "github.com/topoflow/topoflow/plan"

// Tencent Cloud security-group policies (VPC API 2017-03-12): the contracts
// and descriptors of tencent.vpc.{create,delete}SecurityGroupPolicy.
const (
	TencentVpcCreateSGPolicy = "tencent.vpc.createSecurityGroupPolicy"
	TencentVpcDeleteSGPolicy = "tencent.vpc.deleteSecurityGroupPolicy"
)

// TencentSGPolicyIn is one inbound ACCEPT policy: the inputs of both actions.
type TencentSGPolicyIn struct {
	SecurityGroupID string `json:"securityGroupId" required:"true" doc:"security group (sg-...)"`
	SourceCidr      string `json:"sourceCidr" required:"true" format:"cidr" doc:"IPv4 range allowed in (the EMQX deployment's CIDR)"`
	Protocol        string `json:"protocol" doc:"TCP (default), UDP, ICMP or ALL"`
	Port            string `json:"port" required:"true" doc:"a port, a range 80-90, or ALL"`
	Created         *bool  `json:"created" doc:"delete only: false skips the delete (the policy existed before)"`
}

// TencentSGPolicyOut is the result of both actions.
type TencentSGPolicyOut struct {
	SecurityGroupID string `json:"securityGroupId" doc:"security group"`
	Created         bool   `json:"created" doc:"create: false when an identical policy this request did not create existed; delete: whether one was removed"`
}

func init() {
	Register(Typed[TencentSGPolicyIn, TencentSGPolicyOut](Action{
		Name: TencentVpcCreateSGPolicy, Provider: "tencent",
		Title: "Allow a CIDR into a security group",
		Doc: "CreateSecurityGroupPolicies (Ingress, ACCEPT) after DescribeSecurityGroupPolicies: the policy description carries " +
			"the idempotency tag, so an earlier attempt's policy is this request's and an identical policy that was there before " +
			"is kept on rollback (created=false).",
		Inverse: &Inverse{
			Action: TencentVpcDeleteSGPolicy, Title: "Delete the security-group policy",
			Inputs: map[string]plan.Value{"securityGroupId": plan.Expr("input.securityGroupId"), "sourceCidr": plan.Expr("input.sourceCidr"),
				"protocol": plan.Expr("input.protocol"), "port": plan.Expr("input.port"), "created": plan.Expr("output.created")},
		},
		Locks:  []string{`"tencent:sg:" + input.securityGroupId`},
		Grants: []Grant{{Input: "sourceCidr", Kind: GrantCIDR}},
	}))
	Register(Typed[TencentSGPolicyIn, TencentSGPolicyOut](Action{
		Name: TencentVpcDeleteSGPolicy, Provider: "tencent",
		Title: "Delete a security-group ingress policy",
		Doc:   "DeleteSecurityGroupPolicies of the policy when DescribeSecurityGroupPolicies lists it; a missing one is done.",
	}))
}
