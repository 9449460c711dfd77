package catalog

// AWSEC2DescribeSecurityGroupRules is the catalog name of the security-group rules read.
const AWSEC2DescribeSecurityGroupRules = "aws.ec2.describeSecurityGroupRules"

// AWSDescribeSGRulesIn are the inputs of aws.ec2.describeSecurityGroupRules.
type AWSDescribeSGRulesIn struct {
	GroupID string `json:"groupId" required:"true" doc:"security group ID"`
	Region  string `json:"region" doc:"region to query (default: the account's)"`
}

// AWSDescribeSGRulesOut is the result of aws.ec2.describeSecurityGroupRules.
type AWSDescribeSGRulesOut struct {
	GroupID string      `json:"groupId" doc:"security group ID"`
	Rules   []AWSSGRule `json:"rules" doc:"the group's rules, ingress and egress, ordered by rule ID"`
	Count   int         `json:"count" doc:"number of rules"`
}

// AWSSGRule is one security-group rule.
type AWSSGRule struct {
	RuleID      string `json:"ruleId" doc:"rule ID (sgr-...)"`
	Egress      bool   `json:"egress" doc:"true for an outbound rule"`
	Protocol    string `json:"protocol" doc:"tcp, udp, icmp or -1 (all)"`
	FromPort    int    `json:"fromPort" doc:"first port (-1: all)"`
	ToPort      int    `json:"toPort" doc:"last port (-1: all)"`
	CIDR        string `json:"cidr,omitempty" doc:"IPv4 range the rule allows"`
	SourceGroup string `json:"sourceGroup,omitempty" doc:"referenced group: <account>/sg-x"`
	Description string `json:"description,omitempty" doc:"rule description"`
}

func init() {
	Register(Typed[AWSDescribeSGRulesIn, AWSDescribeSGRulesOut](Action{
		Name: AWSEC2DescribeSecurityGroupRules, Provider: "aws", Read: true,
		Title: "List a security group's rules",
		Doc: "DescribeSecurityGroupRules filtered on group-id (all pages): every ingress and egress rule with its " +
			"protocol, port range and source (CIDR or referenced group), so a Workflow can check or show what a group lets in.",
	}))
}
