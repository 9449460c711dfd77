package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The security-group ingress rule, shared by requests through its user
// tags (owners.go): authorize and revoke (catalog/aws_sg.go).

func init() {
	register(catalog.AWSEC2AuthorizeIngress, (*Actions).AuthorizeIngress)
	register(catalog.AWSEC2RevokeIngress, (*Actions).RevokeIngress)
}

// AuthorizeIngress allows one TCP port from a CIDR or from a security group
// (sourceGroup "sg-x", or "<12-digit account>/sg-x" across accounts). The
// rule's description carries the idempotency marker; a duplicate rule with
// our marker is ours (created=true), a duplicate that records users
// (another request's) is shared: this request is added as a user
// (created=true, shared=true); any other duplicate is reused with
// created=false.
func (a *Actions) AuthorizeIngress(ctx context.Context, call plan.Call, in catalog.AWSAuthorizeIngressIn) (catalog.AWSAuthorizeIngressOut, error) {
	var none catalog.AWSAuthorizeIngressOut
	group, proto, port, cidr, source, desc := in.GroupID, in.Protocol, in.Port, in.CIDR, in.SourceGroup, in.Description
	if proto == "" {
		proto = "tcp"
	}
	if (cidr == "") == (source == "") {
		return none, activities.Invalid("%s: give exactly one of cidr and sourceGroup", call.Action)
	}
	desc = describe(desc, call.IdempotencyKey)
	perm := ec2types.IpPermission{IpProtocol: awssdk.String(proto), FromPort: awssdk.Int32(int32(port)), ToPort: awssdk.Int32(int32(port))}
	from := cidr
	if cidr != "" {
		perm.IpRanges = []ec2types.IpRange{{CidrIp: awssdk.String(cidr), Description: awssdk.String(desc)}}
	} else {
		pair := ec2types.UserIdGroupPair{Description: awssdk.String(desc)}
		if acct, id, ok := strings.Cut(source, "/"); ok {
			pair.UserId, pair.GroupId = awssdk.String(acct), awssdk.String(id)
		} else {
			pair.GroupId = awssdk.String(source)
		}
		perm.UserIdGroupPairs = []ec2types.UserIdGroupPair{pair}
		from = source
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.ec2()
	what := fmt.Sprintf("allow %s/%d from %s in %s", proto, port, from, group)
	user := ruleUser(ctx, call)
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(group), IpPermissions: []ec2types.IpPermission{perm},
		TagSpecifications: userTagSpec(user)})
	if err == nil {
		if len(out.SecurityGroupRules) == 0 {
			return none, s.classify(what, fmt.Errorf("the response names no security group rule"))
		}
		return catalog.AWSAuthorizeIngressOut{RuleID: awssdk.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId), Created: true}, nil
	}
	if errorCode(err) != "InvalidPermission.Duplicate" {
		return none, s.classify(what, err)
	}
	rules, derr := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{{Name: awssdk.String("group-id"), Values: []string{group}}}})
	if derr != nil {
		return none, s.classify(what+": read the existing rule", derr)
	}
	for _, r := range rules.SecurityGroupRules {
		if awssdk.ToBool(r.IsEgress) || awssdk.ToInt32(r.FromPort) != int32(port) || awssdk.ToInt32(r.ToPort) != int32(port) || !strings.EqualFold(awssdk.ToString(r.IpProtocol), proto) {
			continue
		}
		same := cidr != "" && awssdk.ToString(r.CidrIpv4) == cidr
		if source != "" && r.ReferencedGroupInfo != nil {
			id := source[strings.LastIndex(source, "/")+1:]
			same = awssdk.ToString(r.ReferencedGroupInfo.GroupId) == id
		}
		if same {
			id := awssdk.ToString(r.SecurityGroupRuleId)
			ours := strings.Contains(awssdk.ToString(r.Description), marker(call.IdempotencyKey))
			// A rule another request made (it has users) is shared: this
			// request becomes a user too (owners.go). A rule nobody
			// recorded is someone else's and stays theirs.
			mine, others := splitUsers(ruleUsers(r.Tags), user)
			if !ours && !mine && !others {
				return catalog.AWSAuthorizeIngressOut{RuleID: id, Created: false}, nil
			}
			if err := s.addRuleUser(ctx, id, user); err != nil {
				return none, err
			}
			return catalog.AWSAuthorizeIngressOut{RuleID: id, Created: true, Shared: others}, nil
		}
	}
	return none, s.classify(what, err)
}

// RevokeIngress drops this request from the rule's users and revokes the
// rule when it was the last; created=false skips it, a missing rule counts as done.
func (a *Actions) RevokeIngress(ctx context.Context, call plan.Call, in catalog.AWSRevokeIngressIn) (catalog.AWSRevokeIngressOut, error) {
	var none catalog.AWSRevokeIngressOut
	group, rule := in.GroupID, in.RuleID
	if in.Created != nil && !*in.Created {
		return catalog.AWSRevokeIngressOut{RuleID: rule, Revoked: false}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	// Only the last user revokes the rule (owners.go).
	revoked, left, err := s.releaseRule(ctx, group, rule, ruleUser(ctx, call))
	if err != nil {
		return none, err
	}
	return catalog.AWSRevokeIngressOut{RuleID: rule, Revoked: revoked, UsedBy: left}, nil
}
