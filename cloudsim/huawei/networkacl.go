package huawei

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Network ACLs (VPC v3 "firewalls"): list, show, insert rules, remove
// rules, as huaweicloud-sdk-go-v3 services/vpc/v3 (vpc_meta.go
// GenReqDefForListFirewall, GenReqDefForShowFirewall,
// GenReqDefForAddFirewallRules, GenReqDefForRemoveFirewallRules) and
// terraform-provider-huaweicloud resource_huaweicloud_vpc_network_acl.go
// call them. The network model (cloudsim/netmodel) enforces the rules.
func init() { resources = append(resources, (*api).firewallRoutes) }

func (a *api) firewallRoutes() {
	const base = "/v3/{project_id}/vpc/firewalls"
	a.handle("GET "+base, "huawei.vpc.ListFirewall", a.listFirewalls)
	a.handle("GET "+base+"/{id}", "huawei.vpc.ShowFirewall", a.showFirewall)
	a.handle("PUT "+base+"/{id}/insert-rules", "huawei.vpc.AddFirewallRules", a.insertFirewallRules)
	a.handle("PUT "+base+"/{id}/remove-rules", "huawei.vpc.RemoveFirewallRules", a.removeFirewallRules)
}

// firewallRuleJSON renders a rule as FirewallRuleDetail (model_firewall_rule_detail.go).
func firewallRuleJSON(r inventory.ACLRule, c *caller) map[string]any {
	v := r.IPVersion
	if v == 0 {
		v = 4
	}
	return map[string]any{
		"id": r.ID, "name": r.Name, "description": r.Description, "action": r.Action, "project_id": c.acct.ProjectID,
		"protocol": r.Protocol, "ip_version": v, "source_ip_address": r.SourceIPAddress, "destination_ip_address": r.DestinationIPAddress,
		"source_port": r.SourcePort, "destination_port": r.DestinationPort, "source_address_group_id": "",
		"destination_address_group_id": "", "enabled": !r.Disabled,
	}
}

// firewallJSON renders FirewallDetail (model_firewall_detail.go); brief
// leaves the rules out, as ListFirewallDetail does.
func firewallJSON(acl *inventory.NetworkACL, c *caller, brief bool) map[string]any {
	assoc := []map[string]any{}
	for _, s := range acl.Subnets {
		assoc = append(assoc, map[string]any{"virsubnet_id": s})
	}
	status := acl.Status
	if status == "" {
		status = "ACTIVE"
	}
	out := map[string]any{
		"id": acl.ID, "name": acl.Name, "description": acl.Description, "project_id": c.acct.ProjectID,
		"created_at": ts(acl.CreatedAt), "updated_at": ts(acl.UpdatedAt), "admin_state_up": strings.EqualFold(status, "ACTIVE"),
		"status": status, "enterprise_project_id": "0", "tags": []any{}, "associations": assoc, "type": "normal",
	}
	if !brief {
		in, eg := []map[string]any{}, []map[string]any{}
		for _, r := range acl.IngressRules {
			in = append(in, firewallRuleJSON(r, c))
		}
		for _, r := range acl.EgressRules {
			eg = append(eg, firewallRuleJSON(r, c))
		}
		out["ingress_rules"], out["egress_rules"] = in, eg
	}
	return out
}

func (a *api) ownFirewall(w http.ResponseWriter, c *caller) (*inventory.NetworkACL, bool) {
	id := c.r.PathValue("id")
	acl, err := inventory.Get[*inventory.NetworkACL](a.inv, id)
	if err != nil || !c.owned(acl) {
		// 404 for a missing ACL: Terraform's resourceNetworkAclRead treats it as
		// deleted (common.CheckDeletedDiag acts on the status); the code is the twin's own.
		writeErr(w, http.StatusNotFound, "VPC.1801", "Firewall "+id+" does not exist")
		return nil, false
	}
	return acl, true
}

func (a *api) listFirewalls(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	ids, names := q["id"], q["name"]
	out := []map[string]any{}
	for _, acl := range inventory.List[*inventory.NetworkACL](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if len(ids) > 0 && !slices.Contains(ids, acl.ID) || len(names) > 0 && !slices.Contains(names, acl.Name) {
			continue
		}
		if st := q.Get("status"); st != "" && !strings.EqualFold(orDefault(acl.Status, "ACTIVE"), st) {
			continue
		}
		out = append(out, firewallJSON(acl, c, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": uuid.NewString(), "firewalls": out, "page_info": map[string]any{"current_count": len(out)}})
}

func (a *api) showFirewall(w http.ResponseWriter, c *caller) {
	acl, ok := a.ownFirewall(w, c)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": uuid.NewString(), "firewall": firewallJSON(acl, c, false)})
}

type firewallRuleIn struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	Description          string `json:"description"`
	Action               string `json:"action"`
	Protocol             string `json:"protocol"`
	IPVersion            int    `json:"ip_version"`
	SourceIPAddress      string `json:"source_ip_address"`
	DestinationIPAddress string `json:"destination_ip_address"`
	SourcePort           string `json:"source_port"`
	DestinationPort      string `json:"destination_port"`
	Enabled              *bool  `json:"enabled"`
}

// validRule checks an inserted rule as model_firewall_insert_rule_item_option.go
// documents it: action allow|deny, protocol tcp|udp|icmp|icmpv6|any or a
// number, ip_version 4|6, prefixes and port lists well formed.
func validRule(r firewallRuleIn) string {
	if r.Action != "allow" && r.Action != "deny" {
		return "action must be allow or deny"
	}
	switch r.Protocol {
	case "tcp", "udp", "icmp", "icmpv6", "any":
	default:
		if n, err := strconv.Atoi(r.Protocol); err != nil || n < 0 || n > 255 {
			return "invalid protocol " + r.Protocol
		}
	}
	if r.IPVersion != 4 && r.IPVersion != 6 {
		return "ip_version must be 4 or 6"
	}
	for _, p := range []string{r.SourceIPAddress, r.DestinationIPAddress} {
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return "invalid IP address " + p
			}
		}
	}
	for _, p := range []string{r.SourcePort, r.DestinationPort} {
		if p == "" {
			continue
		}
		if r.Protocol != "tcp" && r.Protocol != "udp" {
			return "ports apply to tcp and udp only"
		}
		for _, part := range strings.Split(p, ",") {
			lo, hi, rng := strings.Cut(part, "-")
			a, err := strconv.Atoi(lo)
			if err != nil || a < 1 || a > 65535 {
				return "invalid port " + p
			}
			if rng {
				if b, err := strconv.Atoi(hi); err != nil || b < a || b > 65535 {
					return "invalid port range " + p
				}
			}
		}
	}
	return ""
}

func (a *api) insertFirewallRules(w http.ResponseWriter, c *caller) {
	var req struct {
		Firewall *struct {
			IngressRules    []firewallRuleIn `json:"ingress_rules"`
			EgressRules     []firewallRuleIn `json:"egress_rules"`
			InsertAfterRule string           `json:"insert_after_rule"`
		} `json:"firewall"`
		DryRun bool `json:"dry_run"`
	}
	if err := c.decode(&req); err != nil || req.Firewall == nil || len(req.Firewall.IngressRules)+len(req.Firewall.EgressRules) == 0 {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "firewall with ingress_rules or egress_rules is required")
		return
	}
	in := req.Firewall
	// insert_after_rule: "ingress_rules and egress_rules can only set one"
	// (model_firewall_insert_rule_option.go).
	if in.InsertAfterRule != "" && len(in.IngressRules) > 0 && len(in.EgressRules) > 0 {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "with insert_after_rule, set only one of ingress_rules and egress_rules")
		return
	}
	for _, r := range append(append([]firewallRuleIn{}, in.IngressRules...), in.EgressRules...) {
		if msg := validRule(r); msg != "" {
			writeErr(w, http.StatusBadRequest, "VPC.0002", msg)
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acl, ok := a.ownFirewall(w, c)
	if !ok {
		return
	}
	conv := func(rs []firewallRuleIn) []inventory.ACLRule {
		var out []inventory.ACLRule
		for _, r := range rs {
			out = append(out, inventory.ACLRule{ID: inventory.NewID(inventory.KindNetworkACL), Name: r.Name, Description: r.Description,
				Action: r.Action, Protocol: r.Protocol, IPVersion: r.IPVersion, SourceIPAddress: r.SourceIPAddress,
				DestinationIPAddress: r.DestinationIPAddress, SourcePort: r.SourcePort, DestinationPort: r.DestinationPort,
				Disabled: r.Enabled != nil && !*r.Enabled})
		}
		return out
	}
	// Without insert_after_rule the rules go to the front of the list; with
	// it, after that rule, which must exist (model_firewall_insert_rule_option.go).
	insert := func(list, add []inventory.ACLRule) ([]inventory.ACLRule, bool) {
		if len(add) == 0 {
			return list, true
		}
		pos := 0
		if in.InsertAfterRule != "" {
			pos = -1
			for i, r := range list {
				if r.ID == in.InsertAfterRule {
					pos = i + 1
				}
			}
			if pos < 0 {
				return nil, false
			}
		}
		return append(append(append([]inventory.ACLRule{}, list[:pos]...), add...), list[pos:]...), true
	}
	ing, ok1 := insert(acl.IngressRules, conv(in.IngressRules))
	eg, ok2 := insert(acl.EgressRules, conv(in.EgressRules))
	if !ok1 || !ok2 {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "insert_after_rule "+in.InsertAfterRule+" is not a rule of firewall "+acl.ID)
		return
	}
	if req.DryRun {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	updated, err := inventory.Update(a.inv, acl.ID, func(x *inventory.NetworkACL) error {
		x.IngressRules, x.EgressRules = ing, eg
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, "VPC.1801", "Firewall "+acl.ID+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": uuid.NewString(), "firewall": firewallJSON(updated, c, false)})
}

func (a *api) removeFirewallRules(w http.ResponseWriter, c *caller) {
	var req struct {
		Firewall *struct {
			IngressRules []firewallRuleIn `json:"ingress_rules"`
			EgressRules  []firewallRuleIn `json:"egress_rules"`
		} `json:"firewall"`
	}
	if err := c.decode(&req); err != nil || req.Firewall == nil || len(req.Firewall.IngressRules)+len(req.Firewall.EgressRules) == 0 {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "firewall with ingress_rules or egress_rules is required")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acl, ok := a.ownFirewall(w, c)
	if !ok {
		return
	}
	remove := func(list []inventory.ACLRule, gone []firewallRuleIn) ([]inventory.ACLRule, string) {
		out := append([]inventory.ACLRule{}, list...)
		for _, g := range gone {
			found := false
			for i, r := range out {
				if r.ID == g.ID {
					out = append(out[:i], out[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				return nil, g.ID
			}
		}
		return out, ""
	}
	ing, miss1 := remove(acl.IngressRules, req.Firewall.IngressRules)
	eg, miss2 := remove(acl.EgressRules, req.Firewall.EgressRules)
	if miss := miss1 + miss2; miss != "" {
		// Removing a rule that is not in the ACL is refused.
		writeErr(w, http.StatusBadRequest, "VPC.0002", "rule "+miss+" is not a rule of firewall "+acl.ID)
		return
	}
	updated, err := inventory.Update(a.inv, acl.ID, func(x *inventory.NetworkACL) error {
		x.IngressRules, x.EgressRules = ing, eg
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, "VPC.1801", "Firewall "+acl.ID+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": uuid.NewString(), "firewall": firewallJSON(updated, c, false)})
}
