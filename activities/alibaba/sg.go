package alibaba

import (
	"context"
	"strings"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func init() {
	typed[catalog.AlibabaEcsAuthorizeSecurityGroup] = func(a *Actions) activities.Func { return activities.Typed(a.AuthorizeSecurityGroup) }
	typed[catalog.AlibabaEcsRevokeSecurityGroup] = func(a *Actions) activities.Func { return activities.Typed(a.RevokeSecurityGroup) }
}

func protocol(p string) string {
	if p == "" {
		return "TCP"
	}
	return strings.ToUpper(p)
}

// findRule returns the group's inbound Accept rule matching in, if any.
func findRule(s *session, c *ecs.Client, in catalog.AlibabaSGRuleIn, cidr string) (*ecs.DescribeSecurityGroupAttributeResponseBodyPermissionsPermission, error) {
	r, err := c.DescribeSecurityGroupAttribute(&ecs.DescribeSecurityGroupAttributeRequest{RegionId: tea.String(s.acct.Region),
		SecurityGroupId: tea.String(in.SecurityGroupID), Direction: tea.String("ingress")})
	if err != nil {
		return nil, s.classify("read security group "+in.SecurityGroupID, err)
	}
	if r.Body.Permissions == nil {
		return nil, nil
	}
	for _, p := range r.Body.Permissions.Permission {
		if tea.StringValue(p.Direction) == "ingress" && strings.EqualFold(tea.StringValue(p.IpProtocol), protocol(in.Protocol)) &&
			tea.StringValue(p.PortRange) == in.PortRange && tea.StringValue(p.SourceCidrIp) == cidr &&
			strings.EqualFold(tea.StringValue(p.Policy), "accept") {
			return p, nil
		}
	}
	return nil, nil
}

// AuthorizeSecurityGroup allows sourceCidr in on portRange. The rule's
// description carries the idempotency key, so an earlier attempt's rule is
// this request's (created=true) and a rule that was there before is kept on
// rollback (created=false).
func (a *Actions) AuthorizeSecurityGroup(ctx context.Context, call plan.Call, in catalog.AlibabaSGRuleIn) (catalog.AlibabaSGRuleOut, error) {
	var none catalog.AlibabaSGRuleOut
	cidr, err := canonical(in.SourceCidr)
	if err != nil {
		return none, activities.Invalid("%s: sourceCidr %q is not a CIDR", call.Action, in.SourceCidr)
	}
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.ecs()
	if err != nil {
		return none, err
	}
	desc := tag(call.IdempotencyKey)
	out := catalog.AlibabaSGRuleOut{SecurityGroupID: in.SecurityGroupID}
	if p, err := findRule(s, c, in, cidr); err != nil {
		return none, err
	} else if p != nil {
		out.RuleID = tea.StringValue(p.SecurityGroupRuleId)
		out.Created = call.IdempotencyKey != "" && tea.StringValue(p.Description) == desc
		return out, nil
	}
	perm := &ecs.AuthorizeSecurityGroupRequestPermissions{IpProtocol: tea.String(protocol(in.Protocol)), PortRange: tea.String(in.PortRange),
		SourceCidrIp: tea.String(cidr), Policy: tea.String("Accept")}
	if call.IdempotencyKey != "" {
		perm.Description = tea.String(desc)
	}
	if _, err := c.AuthorizeSecurityGroup(&ecs.AuthorizeSecurityGroupRequest{RegionId: tea.String(s.acct.Region), SecurityGroupId: tea.String(in.SecurityGroupID),
		Permissions: []*ecs.AuthorizeSecurityGroupRequestPermissions{perm}, ClientToken: tokenPtr(call)}); err != nil {
		return none, s.classify("allow "+cidr+" into "+in.SecurityGroupID, err)
	}
	p, err := findRule(s, c, in, cidr)
	if err != nil {
		return none, err
	}
	if p == nil {
		return none, activities.Fail(plan.ErrUnavailable, "%s: the rule for %s is not listed in %s after AuthorizeSecurityGroup", call.Action, cidr, in.SecurityGroupID)
	}
	out.RuleID, out.Created = tea.StringValue(p.SecurityGroupRuleId), true
	return out, nil
}

// RevokeSecurityGroup removes the rule when the group lists it.
func (a *Actions) RevokeSecurityGroup(ctx context.Context, call plan.Call, in catalog.AlibabaSGRuleIn) (catalog.AlibabaSGRuleOut, error) {
	var none catalog.AlibabaSGRuleOut
	out := catalog.AlibabaSGRuleOut{SecurityGroupID: in.SecurityGroupID}
	if in.Created != nil && !*in.Created {
		return out, nil
	}
	cidr, err := canonical(in.SourceCidr)
	if err != nil {
		return none, activities.Invalid("%s: sourceCidr %q is not a CIDR", call.Action, in.SourceCidr)
	}
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.ecs()
	if err != nil {
		return none, err
	}
	p, err := findRule(s, c, in, cidr)
	if err != nil || p == nil {
		if isNotFound(err) {
			return out, nil
		}
		return none, err
	}
	if _, err := c.RevokeSecurityGroup(&ecs.RevokeSecurityGroupRequest{RegionId: tea.String(s.acct.Region), SecurityGroupId: tea.String(in.SecurityGroupID),
		Permissions: []*ecs.RevokeSecurityGroupRequestPermissions{{IpProtocol: tea.String(protocol(in.Protocol)), PortRange: tea.String(in.PortRange),
			SourceCidrIp: tea.String(cidr), Policy: tea.String("Accept")}}}); err != nil {
		return none, s.classify("revoke "+cidr+" from "+in.SecurityGroupID, err)
	}
	out.RuleID, out.Created = tea.StringValue(p.SecurityGroupRuleId), true
	return out, nil
}
