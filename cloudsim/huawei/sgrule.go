package huawei

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The security group rule resource (VPC v3): create, list, show, delete.

func init() { resources = append(resources, (*api).sgRuleRoutes) }

func (a *api) sgRuleRoutes() {
	const rules = "/v3/{project_id}/vpc/security-group-rules"
	a.handle("POST "+rules, "huawei.vpc.CreateSecurityGroupRule", a.createRule)
	a.handle("GET "+rules, "huawei.vpc.ListSecurityGroupRules", a.listRules)
	a.handle("GET "+rules+"/{id}", "huawei.vpc.ShowSecurityGroupRule", a.showRule)
	a.handle("DELETE "+rules+"/{id}", "huawei.vpc.DeleteSecurityGroupRule", a.deleteRule)
}

func (a *api) ruleJSON(g *inventory.SecurityGroup, r inventory.SGRule, c *caller) map[string]any {
	mp := ""
	if r.PortMin > 0 {
		mp = strconv.Itoa(r.PortMin)
		if r.PortMax > r.PortMin {
			mp += "-" + strconv.Itoa(r.PortMax)
		}
	}
	return map[string]any{
		"id": r.ID, "description": r.Description, "security_group_id": g.ID, "direction": r.Direction,
		"protocol": r.Protocol, "ethertype": orDefault(r.Ethertype, "IPv4"), "multiport": mp, "action": "allow",
		"priority": 1, "remote_group_id": r.RemoteGroupID, "remote_ip_prefix": r.RemoteCIDR, "remote_address_group_id": "",
		"created_at": ts(g.CreatedAt), "updated_at": ts(g.UpdatedAt), "project_id": c.acct.ProjectID, "enabled": true,
	}
}

func parseMultiport(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	lo, hi, rng := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return 0, 0, fmt.Errorf("invalid multiport %q", s)
	}
	if !rng {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 {
		return 0, 0, fmt.Errorf("invalid multiport %q", s)
	}
	return a, b, nil
}

func (a *api) createRule(w http.ResponseWriter, c *caller) {
	var req struct {
		Rule *struct {
			SecurityGroupID string `json:"security_group_id"`
			Description     string `json:"description"`
			Direction       string `json:"direction"`
			Ethertype       string `json:"ethertype"`
			Protocol        string `json:"protocol"`
			Multiport       string `json:"multiport"`
			RemoteIPPrefix  string `json:"remote_ip_prefix"`
			RemoteGroupID   string `json:"remote_group_id"`
			Action          string `json:"action"`
		} `json:"security_group_rule"`
	}
	if err := c.decode(&req); err != nil || req.Rule == nil {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "invalid request body")
		return
	}
	in := req.Rule
	if in.Direction != "ingress" && in.Direction != "egress" {
		writeErr(w, http.StatusBadRequest, "VPC.0602", "direction must be ingress or egress")
		return
	}
	lo, hi, err := parseMultiport(in.Multiport)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "VPC.0602", err.Error())
		return
	}
	if in.RemoteIPPrefix != "" {
		if _, err := netip.ParsePrefix(in.RemoteIPPrefix); err != nil {
			writeErr(w, http.StatusBadRequest, "VPC.0602", "invalid remote_ip_prefix "+in.RemoteIPPrefix)
			return
		}
	}
	if in.Action != "" && in.Action != "allow" {
		writeErr(w, http.StatusBadRequest, "VPC.0602", "only allow rules are supported by the simulator")
		return
	}
	g, err := inventory.Get[*inventory.SecurityGroup](a.inv, in.SecurityGroupID)
	if err != nil || !c.owned(g) {
		writeErr(w, http.StatusNotFound, "VPC.0601", "Security group "+in.SecurityGroupID+" does not exist")
		return
	}
	rule := inventory.SGRule{ID: inventory.NewID(inventory.KindSecurityGroup), Direction: in.Direction, Ethertype: orDefault(in.Ethertype, "IPv4"),
		Protocol: strings.ToLower(in.Protocol), PortMin: lo, PortMax: hi, RemoteCIDR: in.RemoteIPPrefix, RemoteGroupID: in.RemoteGroupID, Description: in.Description}
	var dup bool
	updated, err := inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		for _, r := range g.Rules {
			if r.Direction == rule.Direction && r.Protocol == rule.Protocol && r.PortMin == rule.PortMin && r.PortMax == rule.PortMax &&
				r.RemoteCIDR == rule.RemoteCIDR && r.RemoteGroupID == rule.RemoteGroupID {
				dup = true
				return nil
			}
		}
		g.Rules = append(g.Rules, rule)
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, "VPC.0601", "Security group "+g.ID+" does not exist")
		return
	}
	if dup {
		writeErr(w, http.StatusConflict, "VPC.0604", "Security group rule already exists")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"request_id": "", "security_group_rule": a.ruleJSON(updated, rule, c)})
}

func (a *api) listRules(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	in := func(key, v string) bool {
		vals := q[key]
		if len(vals) == 0 {
			return true
		}
		for _, x := range vals {
			if x == v {
				return true
			}
		}
		return false
	}
	out := []map[string]any{}
	for _, g := range inventory.List[*inventory.SecurityGroup](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if !in("security_group_id", g.ID) {
			continue
		}
		for _, r := range g.Rules {
			if !in("id", r.ID) || !in("protocol", r.Protocol) || !in("description", r.Description) {
				continue
			}
			if v := q.Get("direction"); v != "" && r.Direction != v {
				continue
			}
			if v := q.Get("remote_ip_prefix"); v != "" && r.RemoteCIDR != v {
				continue
			}
			out = append(out, a.ruleJSON(g, r, c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": "", "security_group_rules": out, "page_info": map[string]any{"current_count": len(out)}})
}

func (a *api) findRule(c *caller, id string) (*inventory.SecurityGroup, inventory.SGRule, bool) {
	for _, g := range inventory.List[*inventory.SecurityGroup](a.inv, inventory.Filter{Account: c.acct.ID}) {
		for _, r := range g.Rules {
			if r.ID == id {
				return g, r, true
			}
		}
	}
	return nil, inventory.SGRule{}, false
}

func (a *api) showRule(w http.ResponseWriter, c *caller) {
	g, r, ok := a.findRule(c, c.r.PathValue("id"))
	if !ok {
		writeErr(w, http.StatusNotFound, "VPC.0603", "Security group rule "+c.r.PathValue("id")+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": "", "security_group_rule": a.ruleJSON(g, r, c)})
}

func (a *api) deleteRule(w http.ResponseWriter, c *caller) {
	id := c.r.PathValue("id")
	g, _, ok := a.findRule(c, id)
	if !ok {
		writeErr(w, http.StatusNotFound, "VPC.0603", "Security group rule "+id+" does not exist")
		return
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		for i, r := range g.Rules {
			if r.ID == id {
				g.Rules = append(g.Rules[:i], g.Rules[i+1:]...)
				break
			}
		}
		return nil
	})
	w.WriteHeader(http.StatusNoContent)
}
