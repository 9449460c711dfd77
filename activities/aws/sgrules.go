package aws

import (
	"context"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func init() {
	register(catalog.AWSEC2DescribeSecurityGroupRules, (*Actions).DescribeSecurityGroupRules)
}

// DescribeSecurityGroupRules lists a security group's rules (every page),
// ordered by rule ID.
func (a *Actions) DescribeSecurityGroupRules(ctx context.Context, call plan.Call, in catalog.AWSDescribeSGRulesIn) (catalog.AWSDescribeSGRulesOut, error) {
	out := catalog.AWSDescribeSGRulesOut{GroupID: in.GroupID, Rules: []catalog.AWSSGRule{}}
	s, err := a.session(ctx, call, "", in.Region)
	if err != nil {
		return out, err
	}
	p := ec2.NewDescribeSecurityGroupRulesPaginator(s.ec2(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("group-id"), Values: []string{in.GroupID}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, s.classify("describe the rules of security group "+in.GroupID, err)
		}
		for _, r := range page.SecurityGroupRules {
			rule := catalog.AWSSGRule{RuleID: awssdk.ToString(r.SecurityGroupRuleId), Egress: awssdk.ToBool(r.IsEgress),
				Protocol: awssdk.ToString(r.IpProtocol), FromPort: int(awssdk.ToInt32(r.FromPort)), ToPort: int(awssdk.ToInt32(r.ToPort)),
				CIDR: awssdk.ToString(r.CidrIpv4), Description: awssdk.ToString(r.Description)}
			if g := r.ReferencedGroupInfo; g != nil {
				rule.SourceGroup = awssdk.ToString(g.UserId) + "/" + awssdk.ToString(g.GroupId)
			}
			out.Rules = append(out.Rules, rule)
		}
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].RuleID < out.Rules[j].RuleID })
	out.Count = len(out.Rules)
	return out, nil
}
