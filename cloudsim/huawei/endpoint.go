package huawei

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VPC endpoint resource (VPCEP v1): create, list, show, delete.

func init() { resources = append(resources, (*api).endpointRoutes) }

func (a *api) endpointRoutes() {
	const ep = "/v1/{project_id}/vpc-endpoints"
	a.handle("POST "+ep, "huawei.vpcep.CreateEndpoint", a.createEndpoint)
	a.handle("GET "+ep, "huawei.vpcep.ListEndpoints", a.listEndpoints)
	a.handle("GET "+ep+"/{id}", "huawei.vpcep.ListEndpointInfoDetails", a.getEndpoint)
	a.handle("DELETE "+ep+"/{id}", "huawei.vpcep.DeleteEndpoint", a.deleteEndpoint)
}

func (a *api) endpointJSON(e *inventory.Endpoint) map[string]any {
	m, _ := strconv.Atoi(e.Attrs["markerId"])
	out := map[string]any{
		"id": e.ID, "service_type": "interface", "status": e.Status, "active_status": []string{"active"},
		"endpoint_service_name": e.ServiceName, "marker_id": m, "endpoint_service_id": e.ServiceID,
		"enable_dns": false, "vpc_id": e.VPCID, "subnet_id": e.SubnetID,
		"created_at": ts(e.CreatedAt), "updated_at": ts(e.UpdatedAt), "project_id": e.Attrs["projectId"],
		"tags": []any{}, "whitelist": []string{}, "enable_whitelist": false, "description": e.Description,
		"enable_status": "enable", "specification_name": "default",
	}
	// The IP is reported once the connection was accepted (also after a later rejection).
	if e.Status == stAccepted || e.Attrs["wasAccepted"] == "true" {
		out["ip"] = e.IP
	}
	if e.Status == stFailed || e.Status == stRejected {
		out["error"] = []map[string]string{{"error_code": "EndPoint.0101", "error_message": "The connection was " + e.Status}}
	}
	return out
}

func (a *api) createEndpoint(w http.ResponseWriter, c *caller) {
	var req struct {
		SubnetID          *string `json:"subnet_id"`
		EndpointServiceID string  `json:"endpoint_service_id"`
		VPCID             string  `json:"vpc_id"`
		EnableDNS         *bool   `json:"enable_dns"`
		PortIP            *string `json:"port_ip"`
		Description       string  `json:"description"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if req.EndpointServiceID == "" || req.VPCID == "" {
		writeErr(w, http.StatusBadRequest, codeInvalid, "endpoint_service_id and vpc_id are required")
		return
	}
	if len(req.Description) > 512 {
		writeErr(w, http.StatusBadRequest, codeInvalid, "description is longer than 512 characters")
		return
	}
	s, err := inventory.Get[*inventory.EndpointService](a.inv, req.EndpointServiceID)
	if err != nil || s.Region != c.acct.Region {
		writeErr(w, http.StatusNotFound, codeServiceNotFound, "The VPC endpoint service "+req.EndpointServiceID+" does not exist")
		return
	}
	if !whitelisted(s, c.acct) {
		writeErr(w, http.StatusForbidden, "EndPoint.0044", "The VPC endpoint service "+s.ID+" does not allow domain "+c.acct.DomainID+" (not in its whitelist)")
		return
	}
	if s.Status != stAvailable {
		writeErr(w, http.StatusBadRequest, "EndPoint.0023", "The VPC endpoint service "+s.ID+" is "+s.Status+", not available")
		return
	}
	vpc, err := inventory.Get[*inventory.VPC](a.inv, req.VPCID)
	if err != nil || !c.owned(vpc) {
		writeErr(w, http.StatusBadRequest, "EndPoint.0002", "The VPC "+req.VPCID+" does not exist")
		return
	}
	if s.ServiceType == "interface" && (req.SubnetID == nil || *req.SubnetID == "") {
		writeErr(w, http.StatusBadRequest, codeInvalid, "subnet_id is required for interface endpoint services")
		return
	}
	sn, err := inventory.Get[*inventory.Subnet](a.inv, *req.SubnetID)
	if err != nil || sn.VPCID != req.VPCID {
		writeErr(w, http.StatusBadRequest, "EndPoint.0004", "The subnet "+*req.SubnetID+" does not exist in VPC "+req.VPCID)
		return
	}
	ip, err := a.inv.AllocateIP(sn.ID)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "EndPoint.0045", "No free IP address in subnet "+sn.ID)
		return
	}
	a.mu.Lock()
	a.marker++
	marker := a.marker
	a.mu.Unlock()
	e := &inventory.Endpoint{
		Meta:      inventory.Meta{Account: c.acct.ID, Region: c.acct.Region, Status: stCreating},
		ServiceID: s.ID, ServiceName: s.ServiceName, VPCID: req.VPCID, SubnetID: sn.ID, IP: ip, Description: req.Description,
		Attrs: map[string]string{"projectId": c.acct.ProjectID, "domainId": c.acct.DomainID, "markerId": strconv.Itoa(int(marker))},
	}
	created, err := inventory.Create(a.inv, e)
	if err != nil {
		a.inv.ReleaseIP(ip)
		writeErr(w, http.StatusInternalServerError, "EndPoint.0500", "create endpoint: "+err.Error())
		return
	}
	approval := s.ApprovalEnabled
	id := created.ID
	a.endpointCreated(a.timing.EndpointCreate, endpointCreate{ID: id, Approval: approval})
	writeJSON(w, http.StatusOK, a.endpointJSON(created))
}

// endpointCreate is an endpoint's creation ending; Approval: its service needs approval.
type endpointCreate struct {
	ID       string `json:"id"`
	Approval bool   `json:"approval"`
}

// endpointReady is an endpoint's creation ending.
func (a *api) endpointReady(ec endpointCreate) {
	id, approval := ec.ID, ec.Approval
	kind, st := a.faults.Outcome("huawei.vpcep.endpoint.create")
	if kind == faults.Stuck {
		return
	}
	next := stAccepted
	switch {
	case kind == faults.Reject:
		next = st
	case approval:
		next = stPendingAcceptance
	}
	_, _ = inventory.Update(a.inv, id, func(e *inventory.Endpoint) error {
		if e.Status == stCreating {
			setEndpointStatus(e, next)
		}
		return nil
	})
}

func (a *api) listEndpoints(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	vpc, id, name := q.Get("vpc_id"), q.Get("id"), q.Get("endpoint_service_name")
	list := inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Account: c.acct.ID, Match: func(o inventory.Object) bool {
		e := o.(*inventory.Endpoint)
		return (vpc == "" || e.VPCID == vpc) && (id == "" || e.ID == id) && (name == "" || strings.Contains(e.ServiceName, name))
	}})
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	limit, offset := pageParams(c.r)
	out := []map[string]any{}
	for _, e := range page(list, limit, offset) {
		out = append(out, a.endpointJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": out, "total_count": len(list)})
}

func (a *api) ownEndpoint(w http.ResponseWriter, c *caller) (*inventory.Endpoint, bool) {
	id := c.r.PathValue("id")
	e, err := inventory.Get[*inventory.Endpoint](a.inv, id)
	if err != nil || !c.owned(e) {
		writeErr(w, http.StatusNotFound, codeEndpointNotFound, "The VPC endpoint "+id+" does not exist")
		return nil, false
	}
	return e, true
}

func (a *api) getEndpoint(w http.ResponseWriter, c *caller) {
	e, ok := a.ownEndpoint(w, c)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, a.endpointJSON(e))
}

func (a *api) deleteEndpoint(w http.ResponseWriter, c *caller) {
	e, ok := a.ownEndpoint(w, c)
	if !ok {
		return
	}
	if e.Status != stDeleting {
		_, _ = inventory.Update(a.inv, e.ID, func(e *inventory.Endpoint) error { e.Status = stDeleting; return nil })
		id := e.ID
		a.deleteLater(a.timing.Delete, objectRef{Kind: inventory.KindEndpoint, ID: id})
	}
	w.WriteHeader(http.StatusNoContent)
}

func setEndpointStatus(e *inventory.Endpoint, st string) {
	e.Status = st
	if st == stAccepted {
		if e.Attrs == nil {
			e.Attrs = map[string]string{}
		}
		e.Attrs["wasAccepted"] = "true"
	}
}
