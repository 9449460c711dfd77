package huawei

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	vpc2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"
	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"
	v3m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v3/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The security group rule resource (VPC v3): add (reusing an identical
// rule) and delete.

func init() {
	typed[catalog.HuaweiVPCAddSecurityGroupRule] = func(a *Actions) activities.Func { return activities.Typed(a.AddSecurityGroupRule) }
	typed[catalog.HuaweiVPCDeleteSecurityGroupRule] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteSecurityGroupRule) }
}

// AddSecurityGroupRule adds an allow rule and records this request as its
// user (owners.go). An identical rule another request uses is shared (this
// request becomes a user too: created=true, shared=true); an identical rule
// nobody recorded is reused with created=false (the inverse keeps it).
func (a *Actions) AddSecurityGroupRule(ctx context.Context, call plan.Call, in catalog.HuaweiAddSGRuleIn) (catalog.HuaweiAddSGRuleOut, error) {
	var none catalog.HuaweiAddSGRuleOut
	sg, direction, protocol, port, cidr := in.SecurityGroupID, in.Direction, in.Protocol, in.Port, in.CIDR
	if direction == "" {
		direction = "ingress"
	}
	if direction != "ingress" && direction != "egress" {
		return none, activities.Invalid("%s: direction must be ingress or egress, not %q", call.Action, direction)
	}
	if protocol == "" {
		protocol = "tcp"
	}
	protocol = strings.ToLower(protocol)
	if port < 1 || port > 65535 {
		return none, activities.Invalid("%s: port must be 1..65535", call.Action)
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("add %s %s/%d rule from %s to security group %s", direction, protocol, port, cidr, sg)
	resp, err := c.ListSecurityGroupRules(&v3m.ListSecurityGroupRulesRequest{
		SecurityGroupId: &[]string{sg}, Direction: ptr(direction), Protocol: &[]string{protocol},
	})
	if err != nil {
		return none, s.classify("look up before "+what, err)
	}
	m := ""
	if call.IdempotencyKey != "" {
		m = marker(call.IdempotencyKey)
	}
	// The rule's users are tags on its security group (owners.go).
	c2 := vpc2.NewVpcClient(c.HcClient)
	tags, err := s.sgTags(c2, sg)
	if err != nil {
		return none, err
	}
	user := ruleUser(ctx, call)
	for _, r := range deref(resp.SecurityGroupRules) {
		if r.RemoteIpPrefix == cidr && r.Multiport == strconv.Itoa(port) && (r.Action == "" || r.Action == "allow") {
			ours := m != "" && strings.Contains(r.Description, m)
			others, mine := sgRuleUsers(tags, r.Id, user)
			// A rule nobody recorded is someone else's and stays theirs; a
			// rule we made or others use is shared: this request becomes a user.
			if !ours && !mine && len(others) == 0 {
				return catalog.HuaweiAddSGRuleOut{RuleID: r.Id, Created: false}, nil
			}
			if !mine {
				if err := roomForUser(call, sg, tags); err != nil {
					return none, err
				}
				if err := s.addRuleUser(c2, sg, r.Id, user); err != nil {
					return none, err
				}
			}
			return catalog.HuaweiAddSGRuleOut{RuleID: r.Id, Created: true, Shared: len(others) > 0}, nil
		}
	}
	// Refused before the rule exists: a rule we could not record a user on
	// would be deleted by nobody.
	if err := roomForUser(call, sg, tags); err != nil {
		return none, err
	}
	body := &v3m.CreateSecurityGroupRuleOption{
		SecurityGroupId: sg, Direction: direction, Protocol: ptr(protocol), Multiport: ptr(strconv.Itoa(port)),
		RemoteIpPrefix: ptr(cidr), Ethertype: ptr("IPv4"), Action: ptr("allow"), Description: ptr(describe(in.Description, call.IdempotencyKey)),
	}
	cr, err := c.CreateSecurityGroupRule(&v3m.CreateSecurityGroupRuleRequest{Body: &v3m.CreateSecurityGroupRuleRequestBody{SecurityGroupRule: body}})
	if err != nil {
		return none, s.classify(what, err)
	}
	if cr.SecurityGroupRule == nil {
		return none, s.classify(what, fmt.Errorf("empty response"))
	}
	// A crash here leaves a rule with our marker: the retry finds it (ours) and records the user.
	if err := s.addRuleUser(c2, sg, cr.SecurityGroupRule.Id, user); err != nil {
		return none, err
	}
	return catalog.HuaweiAddSGRuleOut{RuleID: cr.SecurityGroupRule.Id, Created: true}, nil
}

// roomForUser refuses when the security group has no room for one more tag
// (20 per resource, the group's own tags included: cloudsim/huawei/sgtags.go).
func roomForUser(call plan.Call, sg string, tags []v2m.ResourceTag) error {
	if len(tags) >= maxSGUserTags {
		return activities.Invalid("%s: security group %s already has %d tags (the most a resource can have), so this request "+
			"cannot be recorded as a user of the rule; remove an unused tag from the group", call.Action, sg, len(tags))
	}
	return nil
}

// DeleteSecurityGroupRule drops this request from the rule's users and
// deletes the rule when it was the last (owners.go); created=false skips it,
// a missing rule counts as done.
func (a *Actions) DeleteSecurityGroupRule(ctx context.Context, call plan.Call, in catalog.HuaweiDeleteSGRuleIn) (catalog.HuaweiDeleteSGRuleOut, error) {
	var none catalog.HuaweiDeleteSGRuleOut
	id := in.RuleID
	if in.Created != nil && !*in.Created {
		return catalog.HuaweiDeleteSGRuleOut{RuleID: id}, nil
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return none, err
	}
	// Plans compiled before the users were recorded do not pass the group:
	// the rule names it.
	sg := in.SecurityGroupID
	if sg == "" {
		shown, err := c.ShowSecurityGroupRule(&v3m.ShowSecurityGroupRuleRequest{SecurityGroupRuleId: id})
		if isNotFound(err) {
			return catalog.HuaweiDeleteSGRuleOut{RuleID: id, Deleted: true}, nil
		}
		if err != nil {
			return none, s.classify("read security group rule "+id, err)
		}
		if shown.SecurityGroupRule != nil {
			sg = shown.SecurityGroupRule.SecurityGroupId
		}
	}
	if sg != "" {
		left, err := s.dropRuleUser(vpc2.NewVpcClient(c.HcClient), sg, id, ruleUser(ctx, call))
		if errors.Is(err, errGroupGone) {
			return catalog.HuaweiDeleteSGRuleOut{RuleID: id, Deleted: true}, nil
		}
		if err != nil {
			return none, err
		}
		if len(left) > 0 {
			return catalog.HuaweiDeleteSGRuleOut{RuleID: id, UsedBy: left}, nil
		}
	}
	if _, err := c.DeleteSecurityGroupRule(&v3m.DeleteSecurityGroupRuleRequest{SecurityGroupRuleId: id}); err != nil && !isNotFound(err) {
		return none, s.classify("delete security group rule "+id, err)
	}
	return catalog.HuaweiDeleteSGRuleOut{RuleID: id, Deleted: true}, nil
}
