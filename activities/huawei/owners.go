package huawei

import (
	"context"
	"fmt"
	"sort"
	"strings"

	vpc2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"
	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/plan"
)

// Users of a shared security group rule. Several requests may need the same
// rule (TCP 9011 from the VPC endpoint range into one instance's security
// group: two requests on two DMS instances of one group, or a request and a
// later one); the first creates it, and every request records itself as a
// user. A rollback drops its own user and deletes the rule only when no user
// is left, so one request's rollback never cuts another.
//
// A VPC v3 rule has no tags and cannot be updated
// (huaweicloud-sdk-go-v3 services/vpc/v3/model/model_security_group_rule.go
// has no tags; services/vpc/v3/vpc_client.go has no UpdateSecurityGroupRule),
// so the users are tags on the security group (VPC v2.0
// BatchCreateSecurityGroupTags / BatchDeleteSecurityGroupTags /
// ShowSecurityGroupTags, services/vpc/v2/model/model_resource_tag.go):
// "topoflow-<8 hex of sha256(rule ID)>-<16 hex of sha256(request)>" = the
// request's workflow ID (letters, digits, "_", "." and "-" kept, the rest
// "_", cut to 43 characters). Keys stay within 36 characters and values
// within 43, the strictest documented limits; at most 20 tags per security
// group bound the users of all its rules together (the group's own tags
// included). The steps that add a rule hold the lock "huawei:sg:<group>"
// (catalog), so an add never interleaves with the last user's delete.

const sgUserTagPrefix = "topoflow-"

// maxSGUserTags is the most tags a security group can have (20 per resource:
// cloudsim/huawei/sgtags.go).
const maxSGUserTags = 20

// ruleUser is the requesting workflow of a call (as activities/aws/owners.go
// ruleUser): the activity's workflow ID without a grant workflow's "/grant";
// outside an activity, the idempotency key up to its first "/".
func ruleUser(ctx context.Context, call plan.Call) string {
	if activity.IsActivity(ctx) {
		return strings.TrimSuffix(activity.GetInfo(ctx).WorkflowExecution.ID, "/grant")
	}
	user, _, _ := strings.Cut(call.IdempotencyKey, "/")
	return user
}

// ruleTagPrefix is the key prefix of the users of rule.
func ruleTagPrefix(rule string) string { return sgUserTagPrefix + shortHash(rule)[:8] + "-" }

// sgUserTag is the tag recording user as a user of rule.
func sgUserTag(rule, user string) v2m.ResourceTag {
	v := []rune(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, user))
	if len(v) > 43 {
		v = v[:43]
	}
	return v2m.ResourceTag{Key: ruleTagPrefix(rule) + shortHash(user), Value: string(v)}
}

// sgRuleUsers lists the recorded users of rule among a group's tags and
// whether user is one of them.
func sgRuleUsers(tags []v2m.ResourceTag, rule, user string) (users []string, mine bool) {
	prefix, own := ruleTagPrefix(rule), sgUserTag(rule, user).Key
	for _, t := range tags {
		if strings.HasPrefix(t.Key, prefix) {
			if t.Key == own {
				mine = true
				continue
			}
			users = append(users, t.Value)
		}
	}
	sort.Strings(users)
	return users, mine
}

// sgTags reads a security group's tags.
func (s *session) sgTags(c *vpc2.VpcClient, sg string) ([]v2m.ResourceTag, error) {
	out, err := c.ShowSecurityGroupTags(&v2m.ShowSecurityGroupTagsRequest{SecurityGroupId: sg})
	if isNotFound(err) {
		return nil, errGroupGone
	}
	if err != nil {
		return nil, s.classify("read the tags of security group "+sg, err)
	}
	return deref(out.Tags), nil
}

// addRuleUser records user as a user of rule in sg.
func (s *session) addRuleUser(c *vpc2.VpcClient, sg, rule, user string) error {
	_, err := c.BatchCreateSecurityGroupTags(&v2m.BatchCreateSecurityGroupTagsRequest{SecurityGroupId: sg,
		Body: &v2m.BatchCreateSecurityGroupTagsRequestBody{
			Action: v2m.GetBatchCreateSecurityGroupTagsRequestBodyActionEnum().CREATE,
			Tags:   []v2m.ResourceTag{sgUserTag(rule, user)},
		}})
	return s.classify(fmt.Sprintf("record %s as a user of rule %s (a tag on security group %s)", user, rule, sg), err)
}

// errGroupGone: the security group does not exist (nor do its rules).
var errGroupGone = fmt.Errorf("the security group does not exist")

// dropRuleUser removes user's tag for rule (a missing tag is success:
// BatchCreateDeleteSecurityGroupTags) and returns the users left.
func (s *session) dropRuleUser(c *vpc2.VpcClient, sg, rule, user string) ([]string, error) {
	_, err := c.BatchDeleteSecurityGroupTags(&v2m.BatchDeleteSecurityGroupTagsRequest{SecurityGroupId: sg,
		Body: &v2m.BatchDeleteSecurityGroupTagsRequestBody{
			Action: v2m.GetBatchDeleteSecurityGroupTagsRequestBodyActionEnum().DELETE,
			Tags:   []v2m.ResourceTag{{Key: sgUserTag(rule, user).Key}},
		}})
	if isNotFound(err) {
		return nil, errGroupGone
	}
	if err != nil {
		return nil, s.classify(fmt.Sprintf("drop %s from the users of rule %s (security group %s)", user, rule, sg), err)
	}
	tags, err := s.sgTags(c, sg)
	if err != nil {
		return nil, err
	}
	left, _ := sgRuleUsers(tags, rule, user)
	return left, nil
}
