package huawei

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VPC endpoint service resource (VPCEP v1): create, list, show, delete.

func init() { resources = append(resources, (*api).endpointServiceRoutes) }

func (a *api) endpointServiceRoutes() {
	const svc = "/v1/{project_id}/vpc-endpoint-services"
	a.handle("POST "+svc, "huawei.vpcep.CreateEndpointService", a.createService)
	a.handle("GET "+svc, "huawei.vpcep.ListEndpointService", a.listServices)
	a.handle("GET "+svc+"/{id}", "huawei.vpcep.ListServiceDetails", a.getService)
	a.handle("DELETE "+svc+"/{id}", "huawei.vpcep.DeleteEndpointService", a.deleteService)
}

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
		out["connection_count"] = len(inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Match: func(o inventory.Object) bool {
			return o.(*inventory.Endpoint).ServiceID == s.ID
		}}))
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
	// "长度不大于16，允许传入大小写字母、数字、下划线、中划线" (huaweicloud-sdk-go-v3
	// services/vpcep/v1/model/model_create_endpoint_service_request_body.go, ServiceName);
	// the error code the cloud sends is UNVERIFIED: cloudsim uses its generic 400.
	if req.ServiceName != nil && !validServiceName(*req.ServiceName) {
		writeErr(w, http.StatusBadRequest, codeInvalid, "service_name must be at most 16 letters, digits, underscores or hyphens")
		return
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

func (a *api) listServices(w http.ResponseWriter, c *caller) {
	q := c.r.URL.Query()
	id, name, status := q.Get("id"), q.Get("endpoint_service_name"), q.Get("status")
	// Filtered before anything is copied or rendered, and only the page
	// rendered: the same answer in O(services) per call, not O(services ×
	// endpoints) (make scale: thousands of services, one list per create).
	list := inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{Account: c.acct.ID, Match: func(o inventory.Object) bool {
		s := o.(*inventory.EndpointService)
		return (id == "" || s.ID == id) && (name == "" || strings.Contains(s.ServiceName, name)) && (status == "" || s.Status == status)
	}})
	limit, offset := pageParams(c.r)
	out := []map[string]any{}
	for _, s := range page(list, limit, offset) {
		out = append(out, a.serviceJSON(s, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoint_services": out, "total_count": len(list)})
}

// validServiceName reports whether name is a valid service_name of a create
// (model_create_endpoint_service_request_body.go ServiceName).
func validServiceName(name string) bool {
	if len(name) > 16 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
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
