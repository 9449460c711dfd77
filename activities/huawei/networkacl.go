package huawei

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v3m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v3/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The network ACL rule resource (VPC v3 firewall rules of a subnet's
// network ACL): allow (insert) and remove.

func init() {
	typed[catalog.HuaweiVPCAllowNetworkACL] = func(a *Actions) activities.Func { return activities.Typed(a.AllowNetworkACL) }
	typed[catalog.HuaweiVPCRemoveNetworkACLRules] = func(a *Actions) activities.Func { return activities.Typed(a.RemoveNetworkACLRules) }
}

// AllowNetworkACL opens a port to source CIDRs in the network ACL of a
// subnet, if the subnet has one (runbook 001: "If a network access control
// list (ACL) has been configured for the subnet of this instance, configure
// inbound rules for the network ACL to allow access from 198.19.128.0/17").
// A subnet without a network ACL is left alone (aclId ""). CIDRs an enabled
// allow rule already covers are skipped; the others get one TCP allow rule
// each, inserted at the front of the inbound rules (AddFirewallRules without
// insert_after_rule inserts first: model_firewall_insert_rule_option.go),
// so that no later deny rule shadows them. ruleIds lists the rules Topoflow
// inserted (only those are removed by the inverse).
func (a *Actions) AllowNetworkACL(ctx context.Context, call plan.Call, in catalog.HuaweiAllowNetworkACLIn) (catalog.HuaweiAllowNetworkACLOut, error) {
	var none catalog.HuaweiAllowNetworkACLOut
	subnet, cidrs, port, desc := in.SubnetID, in.CIDRs, in.Port, in.Description
	if port < 1 || port > 65535 {
		return none, activities.Invalid("%s: port must be 1..65535", call.Action)
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("allow tcp/%d from %s in the network ACL of subnet %s", port, strings.Join(cidrs, ", "), subnet)
	lr, err := c.ListFirewall(&v3m.ListFirewallRequest{})
	if err != nil {
		return none, s.classify("list network ACLs to "+what, err)
	}
	aclID := ""
	for _, f := range deref(lr.Firewalls) {
		for _, as := range f.Associations {
			if as.VirsubnetId == subnet {
				aclID = f.Id
			}
		}
	}
	if aclID == "" {
		return catalog.HuaweiAllowNetworkACLOut{RuleIDs: []string{}}, nil
	}
	sr, err := c.ShowFirewall(&v3m.ShowFirewallRequest{FirewallId: aclID})
	if err != nil {
		return none, s.classify("read network ACL "+aclID+" to "+what, err)
	}
	var existing []v3m.FirewallRuleDetail
	if sr.Firewall != nil {
		existing = sr.Firewall.IngressRules
	}
	m := ""
	if call.IdempotencyKey != "" {
		m = marker(call.IdempotencyKey)
	}
	mine := []string{}
	var add []v3m.FirewallInsertRuleItemOption
	for _, cidr := range cidrs {
		covered := false
		for _, r := range existing {
			if !r.Enabled || r.Action != "allow" || r.SourceIpAddress != cidr || (r.Protocol != "tcp" && r.Protocol != "any") {
				continue
			}
			if r.DestinationPort != "" && !portListHas(r.DestinationPort, port) {
				continue
			}
			covered = true
			if m != "" && strings.Contains(r.Description, m) {
				mine = append(mine, r.Id) // inserted by an earlier attempt of this step
			}
			break
		}
		if !covered {
			add = append(add, v3m.FirewallInsertRuleItemOption{
				Action: "allow", Protocol: "tcp", IpVersion: 4, SourceIpAddress: ptr(cidr),
				DestinationPort: ptr(strconv.Itoa(port)), Description: ptr(describe(desc, call.IdempotencyKey)),
			})
		}
	}
	if len(add) > 0 {
		before := map[string]bool{}
		for _, r := range existing {
			before[r.Id] = true
		}
		ar, err := c.AddFirewallRules(&v3m.AddFirewallRulesRequest{FirewallId: aclID, Body: &v3m.AddFirewallRulesRequestBody{
			Firewall: &v3m.FirewallInsertRuleOption{IngressRules: &add},
		}})
		if err != nil {
			return none, s.classify(what, err)
		}
		if ar.Firewall == nil {
			return none, s.classify(what, fmt.Errorf("empty response"))
		}
		for _, r := range ar.Firewall.IngressRules {
			if !before[r.Id] {
				mine = append(mine, r.Id)
			}
		}
	}
	return catalog.HuaweiAllowNetworkACLOut{ACLID: aclID, RuleIDs: mine, Created: len(mine) > 0}, nil
}

// RemoveNetworkACLRules removes the inbound rules AllowNetworkACL inserted;
// rules or an ACL already gone count as done, no ACL (aclId "") is a no-op.
func (a *Actions) RemoveNetworkACLRules(ctx context.Context, call plan.Call, in catalog.HuaweiRemoveNetworkACLRulesIn) (catalog.HuaweiRemoveNetworkACLRulesOut, error) {
	var none catalog.HuaweiRemoveNetworkACLRulesOut
	aclID, ids := in.ACLID, in.RuleIDs
	nothing := catalog.HuaweiRemoveNetworkACLRulesOut{ACLID: aclID, Removed: []string{}}
	if aclID == "" || len(ids) == 0 {
		return nothing, nil
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return none, err
	}
	sr, err := c.ShowFirewall(&v3m.ShowFirewallRequest{FirewallId: aclID})
	if err != nil {
		if isNotFound(err) {
			return nothing, nil
		}
		return none, s.classify("read network ACL "+aclID, err)
	}
	var gone []v3m.FirewallRemoveRuleItemOption
	removed := []string{}
	if sr.Firewall != nil {
		for _, r := range sr.Firewall.IngressRules {
			if slices.Contains(ids, r.Id) {
				gone = append(gone, v3m.FirewallRemoveRuleItemOption{Id: r.Id})
				removed = append(removed, r.Id)
			}
		}
	}
	out := catalog.HuaweiRemoveNetworkACLRulesOut{ACLID: aclID, Removed: removed}
	if len(gone) == 0 {
		return out, nil
	}
	if _, err := c.RemoveFirewallRules(&v3m.RemoveFirewallRulesRequest{FirewallId: aclID, Body: &v3m.RemoveFirewallRulesRequestBody{
		Firewall: &v3m.FirewallRemoveRuleOption{IngressRules: &gone},
	}}); err != nil && !isNotFound(err) {
		return none, s.classify("remove rules from network ACL "+aclID, err)
	}
	return out, nil
}

// portListHas matches a port against a rule's "80", "80-90" or "80,443" list.
func portListHas(spec string, port int) bool {
	for _, part := range strings.Split(spec, ",") {
		lo, hi, rng := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if rng {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if port >= a && port <= b {
			return true
		}
	}
	return false
}
