package huawei

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VPC route resource (VPC v2.0): create, list, show, delete.

func init() { resources = append(resources, (*api).routeRoutes) }

func (a *api) routeRoutes() {
	a.handle("POST /v2.0/vpc/routes", "huawei.vpc.CreateVpcRoute", a.createRoute)
	a.handle("GET /v2.0/vpc/routes", "huawei.vpc.ListVpcRoutes", a.listRoutes)
	a.handle("GET /v2.0/vpc/routes/{id}", "huawei.vpc.ShowVpcRoute", a.showRoute)
	a.handle("DELETE /v2.0/vpc/routes/{id}", "huawei.vpc.DeleteVpcRoute", a.deleteRoute)
}

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
