package huawei

import (
	"net/http"
	"strconv"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The endpoint connection resource (the owner's view of endpoints, VPCEP v1): list, accept or reject.

func init() { resources = append(resources, (*api).connectionRoutes) }

func (a *api) connectionRoutes() {
	const svc = "/v1/{project_id}/vpc-endpoint-services"
	a.handle("GET "+svc+"/{id}/connections", "huawei.vpcep.ListServiceConnections", a.listConnections)
	a.handle("POST "+svc+"/{id}/connections/action", "huawei.vpcep.AcceptOrRejectEndpoint", a.connectionsAction)
}

func (a *api) connectionJSON(e *inventory.Endpoint) map[string]any {
	m, _ := strconv.Atoi(e.Attrs["markerId"])
	return map[string]any{"id": e.ID, "marker_id": m, "created_at": ts(e.CreatedAt), "updated_at": ts(e.UpdatedAt),
		"domain_id": e.Attrs["domainId"], "status": e.Status, "description": e.Description}
}

func (a *api) listConnections(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	q := c.r.URL.Query()
	var out []map[string]any
	for _, e := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if e.ServiceID != s.ID || e.Status == stCreating {
			continue
		}
		if v := q.Get("id"); v != "" && e.ID != v {
			continue
		}
		if v := q.Get("status"); v != "" && e.Status != v {
			continue
		}
		if v := q.Get("marker_id"); v != "" && e.Attrs["markerId"] != v {
			continue
		}
		out = append(out, a.connectionJSON(e))
	}
	limit, offset := pageParams(c.r)
	writeJSON(w, http.StatusOK, map[string]any{"connections": page(nonNil(out), limit, offset), "total_count": len(out)})
}

func (a *api) connectionsAction(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	var req struct {
		Action    string   `json:"action"`
		Endpoints []string `json:"endpoints"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if req.Action != "receive" && req.Action != "reject" {
		writeErr(w, http.StatusBadRequest, codeInvalid, "action must be receive or reject")
		return
	}
	if len(req.Endpoints) == 0 {
		writeErr(w, http.StatusBadRequest, codeInvalid, "endpoints is empty")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var eps []*inventory.Endpoint
	for _, id := range req.Endpoints {
		e, err := inventory.Get[*inventory.Endpoint](a.inv, id)
		if err != nil || e.ServiceID != s.ID || e.Status == stCreating || e.Status == stDeleting {
			writeErr(w, http.StatusNotFound, codeEndpointNotFound, "The VPC endpoint "+id+" has no connection to service "+s.ID)
			return
		}
		eps = append(eps, e)
	}
	var out []map[string]any
	for _, e := range eps {
		next := stRejected
		if req.Action == "receive" {
			next = stAccepted
			kind, st := a.faults.Outcome("huawei.vpcep.endpoint.accept")
			switch kind {
			case faults.Stuck:
				next = e.Status
			case faults.Reject:
				next = st
			}
		}
		updated, err := inventory.Update(a.inv, e.ID, func(e *inventory.Endpoint) error { setEndpointStatus(e, next); return nil })
		if err != nil {
			continue
		}
		out = append(out, a.connectionJSON(updated))
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": nonNil(out)})
}
