package huawei

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func (a *api) vpcRoutes() {
	const rules = "/v3/{project_id}/vpc/security-group-rules"
	a.handle("POST "+rules, "huawei.vpc.CreateSecurityGroupRule", a.createRule)
	a.handle("GET "+rules, "huawei.vpc.ListSecurityGroupRules", a.listRules)
	a.handle("GET "+rules+"/{id}", "huawei.vpc.ShowSecurityGroupRule", a.showRule)
	a.handle("DELETE "+rules+"/{id}", "huawei.vpc.DeleteSecurityGroupRule", a.deleteRule)
	a.handle("POST /v2.0/vpc/peerings", "huawei.vpc.CreateVpcPeering", a.createPeering)
	a.handle("GET /v2.0/vpc/peerings", "huawei.vpc.ListVpcPeerings", a.listPeerings)
	a.handle("GET /v2.0/vpc/peerings/{id}", "huawei.vpc.ShowVpcPeering", a.showPeering)
	a.handle("PUT /v2.0/vpc/peerings/{id}/accept", "huawei.vpc.AcceptVpcPeering", a.acceptPeering)
	a.handle("PUT /v2.0/vpc/peerings/{id}/reject", "huawei.vpc.RejectVpcPeering", a.rejectPeering)
	a.handle("DELETE /v2.0/vpc/peerings/{id}", "huawei.vpc.DeleteVpcPeering", a.deletePeering)
	a.handle("POST /v2.0/vpc/routes", "huawei.vpc.CreateVpcRoute", a.createRoute)
	a.handle("GET /v2.0/vpc/routes", "huawei.vpc.ListVpcRoutes", a.listRoutes)
	a.handle("GET /v2.0/vpc/routes/{id}", "huawei.vpc.ShowVpcRoute", a.showRoute)
	a.handle("DELETE /v2.0/vpc/routes/{id}", "huawei.vpc.DeleteVpcRoute", a.deleteRoute)
	a.firewallRoutes()
}

// --- security group rules (VPC v3) ---

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

// --- VPC peerings (v2.0, Neutron style; the project comes from X-Project-Id) ---

// peeringStatus maps the inventory status to the API's upper-case status.
func peeringStatus(st string) string {
	switch st {
	case inventory.PeeringActive:
		return "ACTIVE"
	case "", "pending_acceptance":
		return "PENDING_ACCEPTANCE"
	}
	return strings.ToUpper(st)
}

func (a *api) peeringJSON(p *inventory.Peering) map[string]any {
	return map[string]any{
		"id": p.ID, "name": p.Name, "status": peeringStatus(p.Status), "description": p.Attrs["description"],
		"request_vpc_info": map[string]any{"vpc_id": p.VPCID, "tenant_id": p.Attrs["requestProject"]},
		"accept_vpc_info":  map[string]any{"vpc_id": p.PeerVPCID, "tenant_id": p.Attrs["acceptProject"]},
		"created_at":       ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt),
	}
}

// visiblePeering reports whether the caller is the requester or the accepter.
func visiblePeering(p *inventory.Peering, c *caller) bool {
	return p.Account == c.acct.ID || p.PeerAccount == c.acct.ID
}

func (a *api) createPeering(w http.ResponseWriter, c *caller) {
	var req struct {
		Peering *struct {
			Name           string `json:"name"`
			Description    string `json:"description"`
			RequestVpcInfo *struct {
				VpcID    string `json:"vpc_id"`
				TenantID string `json:"tenant_id"`
			} `json:"request_vpc_info"`
			AcceptVpcInfo *struct {
				VpcID    string `json:"vpc_id"`
				TenantID string `json:"tenant_id"`
			} `json:"accept_vpc_info"`
		} `json:"peering"`
	}
	if err := c.decode(&req); err != nil || req.Peering == nil || req.Peering.RequestVpcInfo == nil || req.Peering.AcceptVpcInfo == nil {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "peering, request_vpc_info and accept_vpc_info are required")
		return
	}
	in := req.Peering
	if in.Name == "" || len(in.Name) > 64 {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "name must be 1 to 64 characters")
		return
	}
	reqVPC, err := inventory.Get[*inventory.VPC](a.inv, in.RequestVpcInfo.VpcID)
	if err != nil || !c.owned(reqVPC) {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "The request VPC "+in.RequestVpcInfo.VpcID+" does not exist")
		return
	}
	acceptProject := in.AcceptVpcInfo.TenantID
	if acceptProject == "" {
		acceptProject = c.acct.ProjectID
	}
	peer, err := a.inv.AccountBy(acceptProject)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "The accept tenant "+acceptProject+" does not exist")
		return
	}
	accVPC, err := inventory.Get[*inventory.VPC](a.inv, in.AcceptVpcInfo.VpcID)
	if err != nil || accVPC.Account != peer.ID {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "The accept VPC "+in.AcceptVpcInfo.VpcID+" does not exist in tenant "+acceptProject)
		return
	}
	if accVPC.ID == reqVPC.ID {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "A VPC cannot peer with itself")
		return
	}
	status := "pending_acceptance"
	if peer.ID == c.acct.ID {
		status = inventory.PeeringActive // same account: active at once
	}
	p := &inventory.Peering{
		Meta:  inventory.Meta{Account: c.acct.ID, Region: c.acct.Region, Name: in.Name, Status: status},
		VPCID: reqVPC.ID, PeerVPCID: accVPC.ID, PeerAccount: peer.ID,
		Attrs: map[string]string{"requestProject": c.acct.ProjectID, "acceptProject": peer.ProjectID, "description": in.Description},
	}
	created, err := inventory.Create(a.inv, p)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "VPC.0500", "create peering: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"peering": a.peeringJSON(created)})
}

func (a *api) listPeerings(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	out := []map[string]any{}
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if !visiblePeering(p, c) {
			continue
		}
		if v := q.Get("id"); v != "" && p.ID != v {
			continue
		}
		if v := q.Get("name"); v != "" && p.Name != v {
			continue
		}
		if v := q.Get("status"); v != "" && peeringStatus(p.Status) != v {
			continue
		}
		if v := q.Get("vpc_id"); v != "" && p.VPCID != v && p.PeerVPCID != v {
			continue
		}
		out = append(out, a.peeringJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"peerings": out})
}

func (a *api) getPeering(w http.ResponseWriter, c *caller) (*inventory.Peering, bool) {
	id := c.r.PathValue("id")
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	if err != nil || !visiblePeering(p, c) {
		writeErr(w, http.StatusNotFound, "VPC.0701", "The VPC peering "+id+" does not exist")
		return nil, false
	}
	return p, true
}

func (a *api) showPeering(w http.ResponseWriter, c *caller) {
	p, ok := a.getPeering(w, c)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"peering": a.peeringJSON(p)})
}

func (a *api) decidePeering(w http.ResponseWriter, c *caller, accept bool) {
	p, ok := a.getPeering(w, c)
	if !ok {
		return
	}
	if p.PeerAccount != c.acct.ID {
		writeErr(w, http.StatusForbidden, "VPC.0703", "Only the accepter tenant may accept or reject the peering")
		return
	}
	next := "rejected"
	if accept {
		next = inventory.PeeringActive
	}
	if p.Status != "pending_acceptance" && p.Status != next {
		writeErr(w, http.StatusConflict, "VPC.0702", "The VPC peering is "+peeringStatus(p.Status))
		return
	}
	updated, err := inventory.Update(a.inv, p.ID, func(p *inventory.Peering) error { p.Status = next; return nil })
	if err != nil {
		writeErr(w, http.StatusNotFound, "VPC.0701", "The VPC peering "+p.ID+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, a.peeringJSON(updated))
}

func (a *api) acceptPeering(w http.ResponseWriter, c *caller) { a.decidePeering(w, c, true) }
func (a *api) rejectPeering(w http.ResponseWriter, c *caller) { a.decidePeering(w, c, false) }

func (a *api) deletePeering(w http.ResponseWriter, c *caller) {
	p, ok := a.getPeering(w, c)
	if !ok {
		return
	}
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{}) {
		for _, r := range rt.Routes {
			if r.NextHop == p.ID {
				writeErr(w, http.StatusConflict, "VPC.0704", "The VPC peering "+p.ID+" is still used by a route in VPC "+rt.VPCID)
				return
			}
		}
	}
	if err := a.inv.Delete(inventory.KindPeering, p.ID); err != nil && !isNotFound(err) {
		writeErr(w, http.StatusInternalServerError, "VPC.0500", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- VPC routes (v2.0) ---

// routeID is a stable ID for a route of a VPC.
func routeID(vpcID, dest string) string {
	h := sha256.Sum256([]byte(vpcID + "|" + dest))
	b := h[:16]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (a *api) routeJSON(vpcID string, r inventory.Route, c *caller) map[string]any {
	return map[string]any{"id": routeID(vpcID, r.Destination), "destination": r.Destination, "nexthop": r.NextHop,
		"type": r.NextHopType, "vpc_id": vpcID, "tenant_id": c.acct.ProjectID}
}

func (a *api) routeTable(vpcID string) *inventory.RouteTable {
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{}) {
		if rt.VPCID == vpcID {
			return rt
		}
	}
	return nil
}

func (a *api) createRoute(w http.ResponseWriter, c *caller) {
	var req struct {
		Route *struct {
			Destination string `json:"destination"`
			Nexthop     string `json:"nexthop"`
			Type        string `json:"type"`
			VpcID       string `json:"vpc_id"`
		} `json:"route"`
	}
	if err := c.decode(&req); err != nil || req.Route == nil {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "route is required")
		return
	}
	in := req.Route
	if in.Type != "peering" {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "type must be peering")
		return
	}
	if _, err := netip.ParsePrefix(in.Destination); err != nil {
		writeErr(w, http.StatusBadRequest, "VPC.0002", "invalid destination "+in.Destination)
		return
	}
	vpc, err := inventory.Get[*inventory.VPC](a.inv, in.VpcID)
	if err != nil || !c.owned(vpc) {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "The VPC "+in.VpcID+" does not exist")
		return
	}
	p, err := inventory.Get[*inventory.Peering](a.inv, in.Nexthop)
	if err != nil || (p.VPCID != vpc.ID && p.PeerVPCID != vpc.ID) {
		writeErr(w, http.StatusBadRequest, "VPC.0012", "The next hop "+in.Nexthop+" is not a peering of VPC "+vpc.ID)
		return
	}
	route := inventory.Route{Destination: in.Destination, NextHopType: "peering", NextHop: in.Nexthop}
	a.mu.Lock()
	defer a.mu.Unlock()
	rt := a.routeTable(vpc.ID)
	if rt == nil {
		if _, err := inventory.Create(a.inv, &inventory.RouteTable{Meta: inventory.Meta{Account: c.acct.ID, Region: vpc.Region, Name: "rtb-" + vpc.Name, Status: "ACTIVE"}, VPCID: vpc.ID, Routes: []inventory.Route{route}}); err != nil {
			writeErr(w, http.StatusInternalServerError, "VPC.0500", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"route": a.routeJSON(vpc.ID, route, c)})
		return
	}
	for _, r := range rt.Routes {
		if r.Destination == route.Destination {
			writeErr(w, http.StatusConflict, "VPC.1004", "A route to "+r.Destination+" already exists in VPC "+vpc.ID)
			return
		}
	}
	if _, err := inventory.Update(a.inv, rt.ID, func(rt *inventory.RouteTable) error { rt.Routes = append(rt.Routes, route); return nil }); err != nil {
		writeErr(w, http.StatusInternalServerError, "VPC.0500", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"route": a.routeJSON(vpc.ID, route, c)})
}

func (a *api) listRoutes(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	out := []map[string]any{}
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if v := q.Get("vpc_id"); v != "" && rt.VPCID != v {
			continue
		}
		for _, r := range rt.Routes {
			if r.NextHopType != "peering" {
				continue
			}
			if v := q.Get("destination"); v != "" && r.Destination != v {
				continue
			}
			if v := q.Get("id"); v != "" && routeID(rt.VPCID, r.Destination) != v {
				continue
			}
			out = append(out, a.routeJSON(rt.VPCID, r, c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": out})
}

func (a *api) findRoute(c *caller, id string) (*inventory.RouteTable, inventory.Route, bool) {
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{Account: c.acct.ID}) {
		for _, r := range rt.Routes {
			if routeID(rt.VPCID, r.Destination) == id {
				return rt, r, true
			}
		}
	}
	return nil, inventory.Route{}, false
}

func (a *api) showRoute(w http.ResponseWriter, c *caller) {
	rt, r, ok := a.findRoute(c, c.r.PathValue("id"))
	if !ok {
		writeErr(w, http.StatusNotFound, "VPC.1001", "The route "+c.r.PathValue("id")+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"route": a.routeJSON(rt.VPCID, r, c)})
}

func (a *api) deleteRoute(w http.ResponseWriter, c *caller) {
	id := c.r.PathValue("id")
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, _, ok := a.findRoute(c, id)
	if !ok {
		writeErr(w, http.StatusNotFound, "VPC.1001", "The route "+id+" does not exist")
		return
	}
	_, _ = inventory.Update(a.inv, rt.ID, func(rt *inventory.RouteTable) error {
		for i, r := range rt.Routes {
			if routeID(rt.VPCID, r.Destination) == id {
				rt.Routes = append(rt.Routes[:i], rt.Routes[i+1:]...)
				break
			}
		}
		return nil
	})
	w.WriteHeader(http.StatusNoContent)
}
