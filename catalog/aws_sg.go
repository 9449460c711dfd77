package catalog

import "github.com/topoflow/topoflow/plan"

// AWS security-group ingress: the contracts and descriptors of
// aws.ec2.authorizeSecurityGroupIngress and aws.ec2.revokeSecurityGroupIngress.

// AWSAuthorizeIngressIn are the inputs of aws.ec2.authorizeSecurityGroupIngress.
type AWSAuthorizeIngressIn struct {
	GroupID     string `json:"groupId" required:"true" doc:"security group ID"`
	Protocol    string `json:"protocol" doc:"tcp (default)"`
	Port        int    `json:"port" required:"true" doc:"port"`
	CIDR        string `json:"cidr" doc:"source CIDR (give cidr or sourceGroup); a grant: package policy checks it"`
	SourceGroup string `json:"sourceGroup" doc:"source security group: sg-x, or <12-digit account>/sg-x"`
	Description string `json:"description" doc:"rule description"`
}

// AWSAuthorizeIngressOut is the result of aws.ec2.authorizeSecurityGroupIngress.
type AWSAuthorizeIngressOut struct {
	RuleID  string `json:"ruleId" doc:"security group rule ID"`
	Created bool   `json:"created" doc:"false when an identical rule nobody recorded was reused (a rollback keeps it)"`
	Shared  bool   `json:"shared" doc:"the rule records other requests as users (tags topoflow:user:*): this request was added as one"`
}

// AWSRevokeIngressIn are the inputs of aws.ec2.revokeSecurityGroupIngress.
type AWSRevokeIngressIn struct {
	GroupID string `json:"groupId" required:"true" doc:"security group ID"`
	RuleID  string `json:"ruleId" required:"true" doc:"security group rule ID"`
	Created *bool  `json:"created" doc:"false skips the revoke"`
}

// AWSRevokeIngressOut is the result of aws.ec2.revokeSecurityGroupIngress.
type AWSRevokeIngressOut struct {
	RuleID  string   `json:"ruleId" doc:"security group rule ID"`
	Revoked bool     `json:"revoked" doc:"whether this call revoked it"`
	UsedBy  []string `json:"usedBy" doc:"the other requests still using the rule (it is kept for them)"`
}

func init() {
	Register(Typed[AWSAuthorizeIngressIn, AWSAuthorizeIngressOut](Action{
		Name: AWSEC2AuthorizeIngress, Provider: "aws",
		Title: "Allow ingress in a security group",
		Doc: "AuthorizeSecurityGroupIngress for one port from a CIDR or a security group (sourceGroup: sg-x in the same account, " +
			"<12-digit account>/sg-x across accounts; groups cannot be referenced across regions). An existing identical rule " +
			"(InvalidPermission.Duplicate) is reused with created=false, unless it records users (tags topoflow:user:*, another " +
			"request's rule): then this request is tagged as a user too (created=true, shared=true).",
		Inverse: &Inverse{
			Action: AWSEC2RevokeIngress, Title: "Revoke the ingress rule",
			Inputs: map[string]plan.Value{"groupId": plan.Expr("input.groupId"), "ruleId": plan.Expr("output.ruleId"), "created": plan.Expr("output.created")},
		},
		Grants: []Grant{{Input: "cidr", Kind: GrantCIDR}},
		// Adding a user never interleaves with the last user's revoke (activities/aws/owners.go).
		Locks: []string{`"aws:sg:" + input.groupId`},
	}))
	Register(Typed[AWSRevokeIngressIn, AWSRevokeIngressOut](Action{
		Name: AWSEC2RevokeIngress, Provider: "aws",
		Title: "Revoke an ingress rule",
		Doc: "Drops this request from the rule's users (its topoflow:user:* tag) and revokes the rule by ID when no user is left " +
			"(usedBy lists the others); a missing rule counts as done; created=false makes it a no-op.",
	}))
}
