package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/plan"
)

// Users of a shared security-group rule. Several requests may need the same
// rule (one port from one CIDR into the MSK security group); the rule is
// created by the first, and every request records itself as a user in a tag
// on the rule (security-group-rule resources take tags: aws-sdk-go-v2
// service/ec2/types ResourceTypeSecurityGroupRule, CreateTags/DeleteTags).
// A rollback removes its own user tag and revokes the rule only when no
// user tag is left, so one request's rollback never cuts another.
//
// A user tag is "topoflow:user:<16 hex of sha256(request)>" = the request's
// workflow ID (keys ≤ 127 characters, values ≤ 256; at most 50 tags per
// resource, so at most 50 requests share one rule). The steps that add and
// revoke a rule hold the lock "aws:sg:<group>" (catalog), so an add never
// interleaves with a last user's revoke.

const userTagPrefix = "topoflow:user:"

// ruleUser is the requesting workflow (the user) of a call: the activity's
// workflow ID (an action and its compensation share it; a Done request's
// revoke runs in its grant workflow "<request ID>/grant", issue 16, and is
// the same user). Called outside an activity (direct calls in unit tests),
// the user is the idempotency key up to its first "/" ("wf/sg" and
// "wf/undo-sg" are one request).
func ruleUser(ctx context.Context, call plan.Call) string {
	if activity.IsActivity(ctx) {
		return strings.TrimSuffix(activity.GetInfo(ctx).WorkflowExecution.ID, "/grant")
	}
	user, _, _ := strings.Cut(call.IdempotencyKey, "/")
	return user
}

func userTag(user string) ec2types.Tag {
	v := user
	if len(v) > 256 {
		v = v[:256]
	}
	return ec2types.Tag{Key: awssdk.String(userTagPrefix + shortHash(user)), Value: awssdk.String(v)}
}

// userTagSpec tags a new rule with its first user.
func userTagSpec(user string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroupRule, Tags: []ec2types.Tag{userTag(user)}}}
}

// ruleUsers lists the user tags' values of a rule.
func ruleUsers(tags []ec2types.Tag) []string {
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(awssdk.ToString(t.Key), userTagPrefix) {
			out = append(out, awssdk.ToString(t.Value))
		}
	}
	sort.Strings(out)
	return out
}

// addRuleUser records user on an existing rule.
func (s *session) addRuleUser(ctx context.Context, rule, user string) error {
	_, err := s.ec2().CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{rule}, Tags: []ec2types.Tag{userTag(user)}})
	return s.classify(fmt.Sprintf("record %s as a user of rule %s", user, rule), err)
}

// releaseRule drops user from the rule's users and revokes the rule when
// no user is left. It returns the users still holding it.
func (s *session) releaseRule(ctx context.Context, group, rule, user string) (revoked bool, left []string, err error) {
	c := s.ec2()
	// DeleteTags without a Tag would delete every tag: always name the key
	// (service/ec2/api_op_DeleteTags.go, DeleteTagsInput.Tags).
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{rule}, Tags: []ec2types.Tag{{Key: userTag(user).Key}}})
	if isNotFound(err) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, s.classify(fmt.Sprintf("drop %s from the users of rule %s", user, rule), err)
	}
	out, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{rule}})
	if isNotFound(err) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, s.classify("read the users of rule "+rule, err)
	}
	if len(out.SecurityGroupRules) == 0 {
		return false, nil, nil
	}
	if left = ruleUsers(out.SecurityGroupRules[0].Tags); len(left) > 0 {
		return false, left, nil
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(group), SecurityGroupRuleIds: []string{rule}})
	if err != nil && !isNotFound(err) {
		return false, nil, s.classify(fmt.Sprintf("revoke rule %s of %s", rule, group), err)
	}
	return err == nil, nil, nil
}

// Users of a shared route. A route carries no tags (aws-sdk-go-v2
// service/ec2/types Route), so its users are tags on its route table:
// "topoflow:route:<8 hex of sha256(destination)>:<16 hex of sha256(request)>"
// = the request's workflow ID. The steps that add a route hold the lock
// "aws:rtb:<route table>" (catalog), so an add never interleaves with the
// last user's delete. At most 50 tags per route table bound the users.

const routeTagPrefix = "topoflow:route:"

func routeUserTag(dest, user string) ec2types.Tag {
	h := shortHash(dest)
	v := user
	if len(v) > 256 {
		v = v[:256]
	}
	return ec2types.Tag{Key: awssdk.String(routeTagPrefix + h[:8] + ":" + shortHash(user)), Value: awssdk.String(v)}
}

// routeUsers lists the users recorded for dest in a route table's tags.
func routeUsers(tags []ec2types.Tag, dest string) []string {
	prefix := routeTagPrefix + shortHash(dest)[:8] + ":"
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(awssdk.ToString(t.Key), prefix) {
			out = append(out, awssdk.ToString(t.Value))
		}
	}
	sort.Strings(out)
	return out
}

// addRouteUser records user as a user of the route to dest in rtb.
func (s *session) addRouteUser(ctx context.Context, rtb, dest, user string) error {
	_, err := s.ec2().CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{rtb}, Tags: []ec2types.Tag{routeUserTag(dest, user)}})
	return s.classify(fmt.Sprintf("record %s as a user of the route %s in %s", user, dest, rtb), err)
}

// releaseRoute drops user from the users of the route to dest and deletes
// the route when no user is left. It returns the users still holding it.
func (s *session) releaseRoute(ctx context.Context, rtb, dest, user string) (deleted bool, left []string, err error) {
	c := s.ec2()
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{rtb}, Tags: []ec2types.Tag{{Key: routeUserTag(dest, user).Key}}})
	if isNotFound(err) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, s.classify(fmt.Sprintf("drop %s from the users of the route %s in %s", user, dest, rtb), err)
	}
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
	if isNotFound(err) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, s.classify("read the route users of "+rtb, err)
	}
	for _, rt := range out.RouteTables {
		if left = routeUsers(rt.Tags, dest); len(left) > 0 {
			return false, left, nil
		}
	}
	_, err = c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: awssdk.String(rtb), DestinationCidrBlock: awssdk.String(dest)})
	if err != nil && !isNotFound(err) {
		return false, nil, s.classify(fmt.Sprintf("delete route %s in %s", dest, rtb), err)
	}
	return true, nil, nil
}

// splitUsers reports whether user is among users and whether others are.
func splitUsers(users []string, user string) (mine, others bool) {
	for _, u := range users {
		if u == user {
			mine = true
		} else {
			others = true
		}
	}
	return mine, others
}
