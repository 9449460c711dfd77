package huawei

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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

// AddSecurityGroupRule adds an allow rule, reusing an identical one. created
// reports whether Topoflow made the rule (only then does the inverse delete it).
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
	for _, r := range deref(resp.SecurityGroupRules) {
		if r.RemoteIpPrefix == cidr && r.Multiport == strconv.Itoa(port) && (r.Action == "" || r.Action == "allow") {
			mine := m != "" && strings.Contains(r.Description, m)
			return catalog.HuaweiAddSGRuleOut{RuleID: r.Id, Created: mine}, nil
		}
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
	return catalog.HuaweiAddSGRuleOut{RuleID: cr.SecurityGroupRule.Id, Created: true}, nil
}

// DeleteSecurityGroupRule deletes a rule Topoflow created; missing is done.
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
	if _, err := c.DeleteSecurityGroupRule(&v3m.DeleteSecurityGroupRuleRequest{SecurityGroupRuleId: id}); err != nil && !isNotFound(err) {
		return none, s.classify("delete security group rule "+id, err)
	}
	return catalog.HuaweiDeleteSGRuleOut{RuleID: id, Deleted: true}, nil
}
