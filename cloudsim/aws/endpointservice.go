package aws

import (
	"fmt"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VPC endpoint service (the service owner's side of PrivateLink, see
// privatelink.go): create, describe and delete, its allowed principals and
// its endpoint connections.

func (a *api) serviceNode(name string, s *inventory.EndpointService) node {
	nlbs := strings.Split(s.Attrs["nlbs"], ",")
	return el(name, set("serviceType", el("item", tx("serviceType", "Interface"))), tx("serviceId", s.ID), tx("serviceName", s.ServiceName),
		tx("serviceState", s.Status), strSet("availabilityZoneSet", []string{s.Region + "a"}), boolx("acceptanceRequired", s.ApprovalEnabled),
		boolx("managesVpcEndpoints", false), strSet("networkLoadBalancerArnSet", nlbs),
		strSet("baseEndpointDnsNameSet", []string{s.ID + "." + s.Region + ".vpce.amazonaws.com"}), tagSet(s.Tags))
}

// ownService returns an endpoint service of the caller.
func (a *api) ownService(c *caller, id string) (*inventory.EndpointService, *ec2Error) {
	s, err := inventory.Get[*inventory.EndpointService](a.inv, id)
	if err != nil || !isType(s.Attrs, typeService) || s.Account != c.acct.ID || s.Region != c.region {
		return nil, errf("InvalidVpcEndpointServiceId.NotFound", "The Vpc Endpoint Service Id '%s' does not exist", id)
	}
	return s, nil
}

func (a *api) createEndpointService(c *caller, f form) ([]node, *ec2Error) {
	token := f.str("ClientToken")
	if token != "" {
		for _, s := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{Account: c.acct.ID}) {
			if isType(s.Attrs, typeService) && s.Attrs["clientToken"] == token {
				return []node{a.serviceNode("serviceConfiguration", s), tx("clientToken", token)}, nil
			}
		}
	}
	if nodes, e, ok := a.tokens.replay(c, "CreateVpcEndpointServiceConfiguration", f); ok {
		return nodes, e // the token of a create whose resource is gone: its original result
	}
	arns := f.list("NetworkLoadBalancerArn")
	if len(arns) == 0 {
		return nil, errf("InvalidParameter", "NetworkLoadBalancerArns or GatewayLoadBalancerArns must be given")
	}
	var ls []listener
	var vpc string
	for _, arn := range arns {
		l, e := a.nlbListeners(c, arn)
		if e != nil {
			return nil, e
		}
		ls = append(ls, l...)
		p, _ := inventory.Get[*inventory.Port](a.inv, arn)
		vpc = p.VPCID
	}
	id := newID("vpce-svc-")
	var pm []inventory.PortMapping
	for _, l := range ls {
		pm = append(pm, inventory.PortMapping{ClientPort: l.port, ServerPort: l.targetTCP, Protocol: "TCP"})
	}
	tags := f.tagSpecs("vpc-endpoint-service")
	s, err := inventory.Create(a.inv, &inventory.EndpointService{
		Meta:  inventory.Meta{ID: id, Account: c.acct.ID, Region: c.region, Name: tags["Name"], Status: "Pending", Tags: tags},
		VPCID: vpc, ServiceName: "com.amazonaws.vpce." + c.region + "." + id, ServiceType: "Interface", ServerType: "LB",
		ApprovalEnabled: f.boolean("AcceptanceRequired", true), Ports: pm,
		Attrs: map[string]string{attrType: typeService, "nlbs": strings.Join(arns, ","), "clientToken": token},
	})
	if err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	for _, l := range ls {
		if _, err := inventory.Create(a.inv, &inventory.EndpointService{
			Meta:  inventory.Meta{ID: fmt.Sprintf("%s:%d", id, l.port), Account: c.acct.ID, Region: c.region, Status: "available"},
			VPCID: vpc, PortID: l.targetPort, ServiceName: s.ServiceName,
			Ports: []inventory.PortMapping{{ClientPort: l.port, ServerPort: l.targetTCP, Protocol: "TCP"}},
			Attrs: map[string]string{attrType: typeListener, "parent": id},
		}); err != nil {
			return nil, errf("InternalError", "%v", err)
		}
	}
	a.serviceAvailable(a.timing.ServiceCreate, id)
	nodes := []node{a.serviceNode("serviceConfiguration", s), opt("clientToken", token)}
	a.tokens.record(c, "CreateVpcEndpointServiceConfiguration", f, nodes)
	return nodes, nil
}

func (a *api) describeEndpointServices(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("ServiceId"), f.filters()
	var items []node
	for _, s := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if !isType(s.Attrs, typeService) || (len(ids) > 0 && !contains(ids, s.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"service-id": s.ID, "service-name": s.ServiceName, "service-state": s.Status}, s.Tags) {
			continue
		}
		items = append(items, a.serviceNode("item", s))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidVpcEndpointServiceId.NotFound", "The Vpc Endpoint Service Id '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("serviceConfigurationSet", items...)}, nil
}

func unsuccessful(id, code, msg string) node {
	return el("item", el("error", tx("code", code), tx("message", msg)), tx("resourceId", id))
}

func (a *api) deleteEndpointServices(c *caller, f form) ([]node, *ec2Error) {
	var bad []node
	for _, id := range f.list("ServiceId") {
		s, e := a.ownService(c, id)
		if e != nil {
			bad = append(bad, unsuccessful(id, e.code, e.message))
			continue
		}
		busy := false
		for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
			if isType(ep.Attrs, typeEndpoint) && ep.ServiceID == s.ID && ep.Status != "rejected" && ep.Status != "deleting" {
				busy = true
			}
		}
		if busy {
			bad = append(bad, unsuccessful(id, "ExistingVpcEndpointConnections", "Service has existing active VPC Endpoint connections!"))
			continue
		}
		_, _ = inventory.Update(a.inv, id, func(x *inventory.EndpointService) error { x.Status = "Deleting"; return nil })
		a.serviceDeleted(a.timing.Delete, id)
	}
	return []node{set("unsuccessful", bad...)}, nil
}

func (a *api) modifyServicePermissions(c *caller, f form) ([]node, *ec2Error) {
	s, e := a.ownService(c, f.str("ServiceId"))
	if e != nil {
		return nil, e
	}
	add, remove := f.list("AddAllowedPrincipals"), f.list("RemoveAllowedPrincipals")
	for _, p := range append(append([]string(nil), add...), remove...) {
		if p != "*" && !strings.HasPrefix(p, "arn:aws:iam::") {
			return nil, errf("InvalidPrincipal", "Invalid principal %s", p)
		}
	}
	var added []node
	if _, err := inventory.Update(a.inv, s.ID, func(x *inventory.EndpointService) error {
		kept := x.Permissions[:0]
		for _, p := range x.Permissions {
			if !contains(remove, p.Permission) {
				kept = append(kept, p)
			}
		}
		x.Permissions = kept
		for _, p := range add {
			var have *inventory.Permission
			for i := range x.Permissions {
				if x.Permissions[i].Permission == p {
					have = &x.Permissions[i]
				}
			}
			if have == nil {
				x.Permissions = append(x.Permissions, inventory.Permission{ID: newID("vpce-svc-perm-"), Permission: p, Type: principalType(p)})
				have = &x.Permissions[len(x.Permissions)-1]
			}
			added = append(added, el("item", tx("principalType", have.Type), tx("principal", p), tx("servicePermissionId", have.ID), tx("serviceId", s.ID)))
		}
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return []node{boolx("return", true), set("addedPrincipalSet", added...)}, nil
}

func principalType(p string) string {
	switch {
	case p == "*":
		return "All"
	case strings.HasSuffix(p, ":root"):
		return "Account"
	case strings.Contains(p, ":role/"):
		return "Role"
	}
	return "User"
}

func (a *api) describeServicePermissions(c *caller, f form) ([]node, *ec2Error) {
	s, e := a.ownService(c, f.str("ServiceId"))
	if e != nil {
		return nil, e
	}
	var items []node
	for _, p := range s.Permissions {
		items = append(items, el("item", tx("principalType", p.Type), tx("principal", p.Permission), tx("servicePermissionId", p.ID), tx("serviceId", s.ID), set("tagSet")))
	}
	return []node{set("allowedPrincipals", items...)}, nil
}

// serviceByName returns the endpoint service a caller may connect to.
func (a *api) serviceByName(c *caller, name string) (*inventory.EndpointService, bool) {
	for _, s := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{Region: c.region}) {
		if !isType(s.Attrs, typeService) || s.ServiceName != name || s.Status != "Available" {
			continue
		}
		if s.Account == c.acct.ID {
			return s, true
		}
		for _, p := range s.Permissions {
			if p.Permission == "*" || p.Permission == "arn:aws:iam::"+c.acct.AccountID+":root" || strings.HasPrefix(c.principal, strings.Replace(p.Permission, ":iam::", ":sts::", 1)) {
				return s, true
			}
		}
	}
	return nil, false
}

// connectionEndpoints returns the endpoints of a service named in VpcEndpointId.N.
func (a *api) connectionEndpoints(c *caller, f form) (*inventory.EndpointService, []string, *ec2Error) {
	s, e := a.ownService(c, f.str("ServiceId"))
	if e != nil {
		return nil, nil, e
	}
	ids := f.list("VpcEndpointId")
	if len(ids) == 0 {
		return nil, nil, errf("MissingParameter", "The request must contain the parameter VpcEndpointId")
	}
	return s, ids, nil
}

func (a *api) acceptEndpointConnections(c *caller, f form) ([]node, *ec2Error) {
	s, ids, e := a.connectionEndpoints(c, f)
	if e != nil {
		return nil, e
	}
	var bad []node
	for _, id := range ids {
		ep, err := inventory.Get[*inventory.Endpoint](a.inv, id)
		switch {
		case err != nil || !isType(ep.Attrs, typeEndpoint) || ep.ServiceID != s.ID:
			bad = append(bad, unsuccessful(id, "InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '"+id+"' does not exist"))
		case ep.Status == "pending" || ep.Status == "available":
			// already accepted
		case !a.setEndpoint(id, "pending", "pendingAcceptance"):
			bad = append(bad, unsuccessful(id, "InvalidState", "Endpoint "+id+" is in state "+ep.Status))
		default:
			a.endpointAvailable(id)
		}
	}
	return []node{set("unsuccessful", bad...)}, nil
}

func (a *api) rejectEndpointConnections(c *caller, f form) ([]node, *ec2Error) {
	s, ids, e := a.connectionEndpoints(c, f)
	if e != nil {
		return nil, e
	}
	var bad []node
	for _, id := range ids {
		ep, err := inventory.Get[*inventory.Endpoint](a.inv, id)
		if err != nil || !isType(ep.Attrs, typeEndpoint) || ep.ServiceID != s.ID {
			bad = append(bad, unsuccessful(id, "InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '"+id+"' does not exist"))
			continue
		}
		if ep.Status == "deleting" || ep.Status == "rejected" {
			continue
		}
		a.setEndpoint(id, "rejected")
		a.stopForwarding(ep)
	}
	return []node{set("unsuccessful", bad...)}, nil
}

func (a *api) describeEndpointConnections(c *caller, f form) ([]node, *ec2Error) {
	fs := f.filters()
	var items []node
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Region: c.region}) {
		if !isType(ep.Attrs, typeEndpoint) {
			continue
		}
		s, err := inventory.Get[*inventory.EndpointService](a.inv, ep.ServiceID)
		if err != nil || s.Account != c.acct.ID {
			continue
		}
		if !matchFilters(fs, map[string]string{"service-id": s.ID, "vpc-endpoint-id": ep.ID, "vpc-endpoint-state": ep.Status, "vpc-endpoint-owner": a.awsID(ep.Account)}, nil) {
			continue
		}
		items = append(items, el("item", tx("serviceId", s.ID), tx("vpcEndpointId", ep.ID), tx("vpcEndpointOwner", a.awsID(ep.Account)),
			tx("vpcEndpointState", ep.Status), tx("creationTimestamp", ts(ep.CreatedAt)), strSet("networkLoadBalancerArnSet", strings.Split(s.Attrs["nlbs"], ","))))
	}
	return []node{set("vpcEndpointConnectionSet", items...)}, nil
}
