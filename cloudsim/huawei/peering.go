package huawei

import (
	"net/http"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VPC peering resource (VPC v2.0, Neutron style; the project comes from
// X-Project-Id): create, list, show, accept, reject, delete.

func init() { resources = append(resources, (*api).peeringRoutes) }

func (a *api) peeringRoutes() {
	a.handle("POST /v2.0/vpc/peerings", "huawei.vpc.CreateVpcPeering", a.createPeering)
	a.handle("GET /v2.0/vpc/peerings", "huawei.vpc.ListVpcPeerings", a.listPeerings)
	a.handle("GET /v2.0/vpc/peerings/{id}", "huawei.vpc.ShowVpcPeering", a.showPeering)
	a.handle("PUT /v2.0/vpc/peerings/{id}/accept", "huawei.vpc.AcceptVpcPeering", a.acceptPeering)
	a.handle("PUT /v2.0/vpc/peerings/{id}/reject", "huawei.vpc.RejectVpcPeering", a.rejectPeering)
	a.handle("DELETE /v2.0/vpc/peerings/{id}", "huawei.vpc.DeleteVpcPeering", a.deletePeering)
}

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
