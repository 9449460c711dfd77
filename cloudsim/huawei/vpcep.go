package huawei

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// VPCEP statuses.
const (
	stCreating          = "creating"
	stAvailable         = "available"
	stFailed            = "failed"
	stDeleting          = "deleting"
	stPendingAcceptance = "pendingAcceptance"
	stAccepted          = "accepted"
	stRejected          = "rejected"
)

const (
	codeServiceNotFound  = "EndPoint.0005"
	codeEndpointNotFound = "EndPoint.0005"
	codeInvalid          = "EndPoint.0001"
)

func (a *api) routes() {
	const svc = "/v1/{project_id}/vpc-endpoint-services"
	const ep = "/v1/{project_id}/vpc-endpoints"
	a.handle("POST "+svc, "huawei.vpcep.CreateEndpointService", a.createService)
	a.handle("GET "+svc, "huawei.vpcep.ListEndpointService", a.listServices)
	a.handle("GET "+svc+"/{id}", "huawei.vpcep.ListServiceDetails", a.getService)
	a.handle("DELETE "+svc+"/{id}", "huawei.vpcep.DeleteEndpointService", a.deleteService)
	a.handle("POST "+svc+"/{id}/permissions/action", "huawei.vpcep.AddOrRemoveServicePermissions", a.permissionsAction)
	a.handle("GET "+svc+"/{id}/permissions", "huawei.vpcep.ListServicePermissionsDetails", a.listPermissions)
	a.handle("GET "+svc+"/{id}/connections", "huawei.vpcep.ListServiceConnections", a.listConnections)
	a.handle("POST "+svc+"/{id}/connections/action", "huawei.vpcep.AcceptOrRejectEndpoint", a.connectionsAction)
	a.handle("POST "+ep, "huawei.vpcep.CreateEndpoint", a.createEndpoint)
	a.handle("GET "+ep, "huawei.vpcep.ListEndpoints", a.listEndpoints)
	a.handle("GET "+ep+"/{id}", "huawei.vpcep.ListEndpointInfoDetails", a.getEndpoint)
	a.handle("DELETE "+ep+"/{id}", "huawei.vpcep.DeleteEndpoint", a.deleteEndpoint)
	a.dmsRoutes()
	a.vpcRoutes()
}

type portJSON struct {
	ClientPort *int   `json:"client_port"`
	ServerPort *int   `json:"server_port"`
	Protocol   string `json:"protocol"`
}

func (a *api) serviceJSON(s *inventory.EndpointService, withDomain bool) map[string]any {
	ports := make([]map[string]any, 0, len(s.Ports))
	for _, p := range s.Ports {
		ports = append(ports, map[string]any{"client_port": p.ClientPort, "server_port": p.ServerPort, "protocol": p.Protocol})
	}
	out := map[string]any{
		"id": s.ID, "port_id": s.PortID, "service_name": s.ServiceName, "server_type": s.ServerType, "vpc_id": s.VPCID,
		"approval_enabled": s.ApprovalEnabled, "status": s.Status, "service_type": s.ServiceType,
		"created_at": ts(s.CreatedAt), "updated_at": ts(s.UpdatedAt), "project_id": s.Attrs["projectId"],
		"ports": ports, "tcp_proxy": orDefault(s.TCPProxy, "close"), "tags": []any{}, "description": s.Description,
		"enable_policy": false, "ip_version": "ipv4",
	}
	if s.Status == stFailed {
		out["error"] = []map[string]string{{"code": "EndPoint.0100", "message": "The endpoint service failed to be created"}}
	}
	if withDomain {
		out["domain_id"] = s.Attrs["domainId"]
		n := 0
		for _, e := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
			if e.ServiceID == s.ID {
				n++
			}
		}
		out["connection_count"] = n
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (a *api) createService(w http.ResponseWriter, c *caller) {
	var req struct {
		PortID          string     `json:"port_id"`
		ServiceName     *string    `json:"service_name"`
		VPCID           string     `json:"vpc_id"`
		ApprovalEnabled *bool      `json:"approval_enabled"`
		ServiceType     string     `json:"service_type"`
		ServerType      string     `json:"server_type"`
		Ports           []portJSON `json:"ports"`
		TCPProxy        string     `json:"tcp_proxy"`
		Description     string     `json:"description"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	switch {
	case req.PortID == "" || req.VPCID == "":
		writeErr(w, http.StatusBadRequest, codeInvalid, "port_id and vpc_id are required")
		return
	case req.ServerType != "VM" && req.ServerType != "LB" && req.ServerType != "VIP":
		writeErr(w, http.StatusBadRequest, codeInvalid, "server_type must be VM, LB or VIP")
		return
	case len(req.Ports) == 0 || len(req.Ports) > 200:
		writeErr(w, http.StatusBadRequest, codeInvalid, "ports must hold 1 to 200 mappings")
		return
	case req.ServiceName != nil && len(*req.ServiceName) > 16:
		writeErr(w, http.StatusBadRequest, codeInvalid, "service_name is longer than 16 characters")
		return
	case len(req.Description) > 512:
		writeErr(w, http.StatusBadRequest, codeInvalid, "description is longer than 512 characters")
		return
	}
	if req.ServiceType == "" {
		req.ServiceType = "interface"
	}
	vpc, err := inventory.Get[*inventory.VPC](a.inv, req.VPCID)
	if err != nil || !c.owned(vpc) {
		writeErr(w, http.StatusBadRequest, "EndPoint.0002", "The VPC "+req.VPCID+" does not exist")
		return
	}
	if !a.portInVPC(req.PortID, req.VPCID) {
		writeErr(w, http.StatusBadRequest, "EndPoint.0003", "The port "+req.PortID+" does not exist in VPC "+req.VPCID)
		return
	}
	var ports []inventory.PortMapping
	for _, p := range req.Ports {
		if p.ClientPort == nil || p.ServerPort == nil || *p.ClientPort < 1 || *p.ClientPort > 65535 || *p.ServerPort < 1 || *p.ServerPort > 65535 {
			writeErr(w, http.StatusBadRequest, codeInvalid, "client_port and server_port must be 1..65535")
			return
		}
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		ports = append(ports, inventory.PortMapping{ClientPort: *p.ClientPort, ServerPort: *p.ServerPort, Protocol: proto})
	}
	approval := true
	if req.ApprovalEnabled != nil {
		approval = *req.ApprovalEnabled
	}
	id := inventory.NewID(inventory.KindEndpointService)
	name := c.acct.Region + "." + id
	if req.ServiceName != nil && *req.ServiceName != "" {
		name = c.acct.Region + "." + *req.ServiceName + "." + id
	}
	s := &inventory.EndpointService{
		Meta:  inventory.Meta{ID: id, Account: c.acct.ID, Region: c.acct.Region, Status: stCreating},
		VPCID: req.VPCID, PortID: req.PortID, ServiceName: name, ServerType: req.ServerType, ServiceType: req.ServiceType,
		ApprovalEnabled: approval, Ports: ports, TCPProxy: req.TCPProxy, Description: req.Description,
		Attrs: map[string]string{"projectId": c.acct.ProjectID, "domainId": c.acct.DomainID},
	}
	// "同一个终端节点服务下，不允许重复的端口映射。若多个终端节点服务共用一个port_id，则终端节点服务之间的所有端口映射的
	// server_port和protocol的组合不能重复" (huaweicloud-sdk-go-v3 services/vpcep/v1/model/model_create_endpoint_service_request_body.go,
	// Ports). The error code the cloud sends is UNVERIFIED (not in the SDK, Terraform or the API doc); cloudsim uses its generic 400.
	seen := map[string]bool{}
	for _, p := range ports {
		k := strconv.Itoa(p.ServerPort) + "/" + p.Protocol
		if seen[k] {
			writeErr(w, http.StatusBadRequest, codeInvalid, "ports repeats the mapping of server_port "+k)
			return
		}
		seen[k] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, other := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{}) {
		if other.PortID != req.PortID {
			continue
		}
		for _, p := range other.Ports {
			if k := strconv.Itoa(p.ServerPort) + "/" + p.Protocol; seen[k] {
				writeErr(w, http.StatusBadRequest, codeInvalid, "endpoint service "+other.ID+" already maps server_port "+k+" of port "+req.PortID)
				return
			}
		}
	}
	created, err := inventory.Create(a.inv, s)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "EndPoint.0500", "create endpoint service: "+err.Error())
		return
	}
	a.serviceCreated(a.timing.ServiceCreate, id)
	writeJSON(w, http.StatusOK, a.serviceJSON(created, false))
}

// serviceReady is an endpoint service's creation ending.
func (a *api) serviceReady(id string) {
	kind, st := a.faults.Outcome("huawei.vpcep.service.create")
	if kind == faults.Stuck {
		return
	}
	if kind == "" {
		st = stAvailable
	}
	_, _ = inventory.Update(a.inv, id, func(s *inventory.EndpointService) error {
		if s.Status == stCreating {
			s.Status = st
		}
		return nil
	})
}

// portInVPC reports whether a port ID (a port, or a Kafka broker's port) lies in the VPC.
func (a *api) portInVPC(portID, vpcID string) bool {
	if p, err := inventory.Get[*inventory.Port](a.inv, portID); err == nil {
		return p.VPCID == vpcID
	}
	for _, k := range inventory.List[*inventory.KafkaInstance](a.inv, inventory.Filter{}) {
		for _, b := range k.Brokers {
			if b.PortID == portID {
				return k.VPCID == vpcID
			}
		}
	}
	return false
}

func pageParams(r *http.Request) (limit, offset int) {
	limit, offset = 10, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = v
	}
	if limit > 1000 {
		limit = 1000
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v >= 0 {
		offset = v
	}
	return limit, offset
}

func page[T any](list []T, limit, offset int) []T {
	if offset >= len(list) {
		return []T{}
	}
	end := offset + limit
	if end > len(list) {
		end = len(list)
	}
	return list[offset:end]
}

func (a *api) listServices(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	var out []map[string]any
	for _, s := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if v := q.Get("id"); v != "" && s.ID != v {
			continue
		}
		if v := q.Get("endpoint_service_name"); v != "" && !strings.Contains(s.ServiceName, v) {
			continue
		}
		if v := q.Get("status"); v != "" && s.Status != v {
			continue
		}
		out = append(out, a.serviceJSON(s, true))
	}
	limit, offset := pageParams(c.r)
	writeJSON(w, http.StatusOK, map[string]any{"endpoint_services": page(nonNil(out), limit, offset), "total_count": len(out)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ownService returns the caller's endpoint service named in the path, or writes a 404.
func (a *api) ownService(w http.ResponseWriter, c *caller) (*inventory.EndpointService, bool) {
	id := c.r.PathValue("id")
	s, err := inventory.Get[*inventory.EndpointService](a.inv, id)
	if err != nil || !c.owned(s) {
		writeErr(w, http.StatusNotFound, codeServiceNotFound, "The VPC endpoint service "+id+" does not exist")
		return nil, false
	}
	return s, true
}

func (a *api) getService(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, a.serviceJSON(s, false))
}

func (a *api) deleteService(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	for _, e := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if e.ServiceID == s.ID {
			writeErr(w, http.StatusConflict, "EndPoint.0037", "The VPC endpoint service "+s.ID+" still has endpoint "+e.ID+" connected")
			return
		}
	}
	if s.Status != stDeleting {
		_, _ = inventory.Update(a.inv, s.ID, func(s *inventory.EndpointService) error { s.Status = stDeleting; return nil })
		id := s.ID
		a.deleteLater(a.timing.Delete, objectRef{Kind: inventory.KindEndpointService, ID: id})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) permissionsAction(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	var req struct {
		Permissions    []string `json:"permissions"`
		PermissionType string   `json:"permission_type"`
		Action         string   `json:"action"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if req.Action != "add" && req.Action != "remove" {
		writeErr(w, http.StatusBadRequest, codeInvalid, "action must be add or remove")
		return
	}
	for _, p := range req.Permissions {
		if !validPermission(p) {
			writeErr(w, http.StatusBadRequest, codeInvalid, "invalid permission "+p+" (expected iam:domain::<domain_id> or *)")
			return
		}
	}
	if req.PermissionType == "" {
		req.PermissionType = "domainId"
	}
	updated, err := inventory.Update(a.inv, s.ID, func(s *inventory.EndpointService) error {
		for _, p := range req.Permissions {
			idx := -1
			for i, have := range s.Permissions {
				if have.Permission == p {
					idx = i
				}
			}
			switch {
			case req.Action == "add" && idx < 0:
				s.Permissions = append(s.Permissions, inventory.Permission{ID: inventory.NewID(inventory.KindEndpointService), Permission: p, Type: req.PermissionType, CreatedAt: a.now()})
			case req.Action == "remove" && idx >= 0:
				s.Permissions = append(s.Permissions[:idx], s.Permissions[idx+1:]...)
			}
		}
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, codeServiceNotFound, "The VPC endpoint service "+s.ID+" does not exist")
		return
	}
	perms := []string{}
	for _, p := range updated.Permissions {
		perms = append(perms, p.Permission)
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": perms, "permission_type": req.PermissionType})
}

func validPermission(p string) bool {
	if p == "*" {
		return true
	}
	if d, ok := strings.CutPrefix(p, "iam:domain::"); ok {
		if d == "" || len(d) > 64 {
			return false
		}
		for _, r := range d {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '*') {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(p, "organizations:orgPath::")
}

func (a *api) listPermissions(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	want := c.r.URL.Query().Get("permission")
	var out []map[string]any
	for _, p := range s.Permissions {
		if want != "" && !strings.Contains(p.Permission, want) {
			continue
		}
		out = append(out, map[string]any{"id": p.ID, "permission": p.Permission, "permission_type": p.Type, "created_at": ts(p.CreatedAt)})
	}
	limit, offset := pageParams(c.r)
	writeJSON(w, http.StatusOK, map[string]any{"permissions": page(nonNil(out), limit, offset), "total_count": len(out)})
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

// whitelisted reports whether the caller's domain may connect to the service.
func whitelisted(s *inventory.EndpointService, acct *inventory.Account) bool {
	if s.Account == acct.ID || s.Attrs["domainId"] == acct.DomainID {
		return true
	}
	for _, p := range s.Permissions {
		if p.Permission == "*" || p.Permission == "iam:domain::"+acct.DomainID || p.Permission == "iam:domain::*" {
			return true
		}
	}
	return false
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
	var list []*inventory.Endpoint
	for _, e := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if v := q.Get("vpc_id"); v != "" && e.VPCID != v {
			continue
		}
		if v := q.Get("id"); v != "" && e.ID != v {
			continue
		}
		if v := q.Get("endpoint_service_name"); v != "" && !strings.Contains(e.ServiceName, v) {
			continue
		}
		list = append(list, e)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	var out []map[string]any
	for _, e := range list {
		out = append(out, a.endpointJSON(e))
	}
	limit, offset := pageParams(c.r)
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": page(nonNil(out), limit, offset), "total_count": len(out)})
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
