package aws

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// PrivateLink model. A network load balancer is an inventory port with
// deviceOwner "network-load-balancer" whose ID is the load balancer ARN and
// whose tags "listener:<port>" = "<target port ID>:<target port>" say where
// each listener forwards (e.g. one listener per MSK broker). An endpoint
// service is an inventory endpoint service (awsType vpc-endpoint-service);
// an interface endpoint an inventory endpoint (awsType vpc-endpoint) whose
// state is the AWS one. When an endpoint is available, one hidden listener
// endpoint per load-balancer listener (awsType listener, status accepted)
// makes the network model forward the endpoint's address and listener port
// to the listener's target, byte for byte (an NLB is layer 4 and never
// rewrites Kafka metadata), so a client in the endpoint's VPC reaches the
// brokers' listeners; the endpoint's DNS name resolves in its VPC. The
// brokers' metadata still names their own b-N...amazonaws.com addresses:
// a client needs a private hosted zone mapping those names to endpoints
// (see route53.go) to follow it.

const (
	typeService  = "vpc-endpoint-service"
	typeEndpoint = "vpc-endpoint"
	typeListener = "listener"
	nlbOwner     = "network-load-balancer"
)

// listener is one load-balancer listener.
type listener struct {
	port       int
	targetPort string // port (ENI) ID
	targetTCP  int
}

// nlbListeners returns the listeners of a load balancer of the caller.
func (a *api) nlbListeners(c *caller, arn string) ([]listener, *ec2Error) {
	p, err := inventory.Get[*inventory.Port](a.inv, arn)
	if err != nil || p.DeviceOwner != nlbOwner || p.Account != c.acct.ID || p.Region != c.region {
		return nil, errf("InvalidParameter", "Load balancer %s does not exist or is not a network load balancer of this account", arn)
	}
	var out []listener
	for k, v := range p.Tags {
		ps, ok := strings.CutPrefix(k, "listener:")
		if !ok {
			continue
		}
		port, err1 := strconv.Atoi(ps)
		target, tport, ok2 := strings.Cut(v, ":")
		tp, err2 := strconv.Atoi(tport)
		if err1 != nil || !ok2 || err2 != nil {
			return nil, errf("InvalidParameter", "load balancer %s: malformed listener %s=%s", arn, k, v)
		}
		out = append(out, listener{port: port, targetPort: target, targetTCP: tp})
	}
	out = append(out, a.createdListeners(arn)...)
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out, nil
}

func isType(attrs map[string]string, t string) bool { return attrs[attrType] == t }

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
	return []node{a.serviceNode("serviceConfiguration", s), opt("clientToken", token)}, nil
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

func (a *api) endpointNode(name string, ep *inventory.Endpoint) node {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	var groups []node
	for _, g := range split(ep.Attrs["groups"]) {
		groups = append(groups, el("item", tx("groupId", g), tx("groupName", g)))
	}
	var dns []node
	if d := ep.Attrs["dnsName"]; d != "" {
		dns = append(dns, el("item", tx("dnsName", d), tx("hostedZoneId", "Z38GZ743OKFT7T")))
	}
	return el(name, tx("vpcEndpointId", ep.ID), tx("vpcEndpointType", "Interface"), tx("vpcId", ep.VPCID), tx("serviceName", ep.ServiceName),
		tx("state", ep.Status), strSet("subnetIdSet", split(ep.Attrs["subnets"])), set("groupSet", groups...),
		strSet("networkInterfaceIdSet", split(ep.Attrs["enis"])), set("dnsEntrySet", dns...),
		boolx("privateDnsEnabled", ep.Attrs["privateDns"] == "true"), boolx("requesterManaged", false),
		tx("creationTimestamp", ts(ep.CreatedAt)), tx("ownerId", a.awsID(ep.Account)), tagSet(ep.Tags))
}

// ownEndpoint returns an interface endpoint of the caller.
func (a *api) ownEndpoint(c *caller, id string) (*inventory.Endpoint, *ec2Error) {
	ep, err := inventory.Get[*inventory.Endpoint](a.inv, id)
	if err != nil || !isType(ep.Attrs, typeEndpoint) || ep.Account != c.acct.ID || ep.Region != c.region {
		return nil, errf("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '%s' does not exist", id)
	}
	return ep, nil
}

func (a *api) createEndpoint(c *caller, f form) ([]node, *ec2Error) {
	token := f.str("ClientToken")
	if token != "" {
		for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Account: c.acct.ID}) {
			if isType(ep.Attrs, typeEndpoint) && ep.Attrs["clientToken"] == token {
				return []node{a.endpointNode("vpcEndpoint", ep), tx("clientToken", token)}, nil
			}
		}
	}
	if t := f.str("VpcEndpointType"); t != "" && t != "Interface" {
		return nil, errf("InvalidParameter", "only Interface endpoints are simulated, got %s", t)
	}
	vpc, e := a.ownVPC(c, f.str("VpcId"))
	if e != nil {
		return nil, e
	}
	name := f.str("ServiceName")
	svc, ok := a.serviceByName(c, name)
	if !ok {
		return nil, errf("InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", name)
	}
	subnets := f.list("SubnetId")
	if len(subnets) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter SubnetId")
	}
	for _, s := range subnets {
		sn, err := inventory.Get[*inventory.Subnet](a.inv, s)
		if err != nil || sn.VPCID != vpc.ID {
			return nil, errf("InvalidSubnetId.NotFound", "The subnet ID '%s' does not exist in %s", s, vpc.ID)
		}
	}
	ip, err := a.inv.AllocateIP(subnets[0])
	if err != nil {
		return nil, errf("InsufficientFreeAddressesInSubnet", "%v", err)
	}
	id := newID("vpce-")
	state := "pending"
	if svc.ApprovalEnabled && svc.Account != c.acct.ID {
		state = "pendingAcceptance"
	}
	tags := f.tagSpecs("vpc-endpoint")
	ep, err := inventory.Create(a.inv, &inventory.Endpoint{
		Meta:      inventory.Meta{ID: id, Account: c.acct.ID, Region: c.region, Name: tags["Name"], Status: state, Tags: tags},
		ServiceID: svc.ID, ServiceName: svc.ServiceName, VPCID: vpc.ID, SubnetID: subnets[0],
		Attrs: map[string]string{attrType: typeEndpoint, "clientToken": token, "ip": ip, "subnets": strings.Join(subnets, ","),
			"groups": strings.Join(f.list("SecurityGroupId"), ","), "enis": newID("eni-"), "privateDns": strconv.FormatBool(f.boolean("PrivateDnsEnabled", false)),
			"dnsName": id + "-" + randHex(4) + "." + svc.ID + "." + c.region + ".vpce.amazonaws.com"},
	})
	if err != nil {
		a.inv.ReleaseIP(ip)
		return nil, errf("InternalError", "%v", err)
	}
	if state == "pending" {
		a.endpointAvailable(id)
	}
	return []node{a.endpointNode("vpcEndpoint", ep), opt("clientToken", token)}, nil
}

// endpointAvailable moves a pending endpoint to available after the
// endpoint delay and starts forwarding its listener ports.
func (a *api) endpointAvailable(id string) { a.endpointCreated(a.timing.EndpointCreate, id) }

// endpointReady is an endpoint's creation ending (endpointAvailable's transition).
func (a *api) endpointReady(id string) {
	if kind, state := a.faults.Outcome("aws.ec2.endpoint.create"); kind == faults.Stuck {
		return
	} else if kind == faults.Reject {
		a.setEndpoint(id, state, "pending")
		return
	}
	ep, err := inventory.Get[*inventory.Endpoint](a.inv, id)
	if err != nil || ep.Status != "pending" {
		return
	}
	dns := ep.Attrs["dnsName"]
	for _, sub := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{}) {
		if !isType(sub.Attrs, typeListener) || sub.Attrs["parent"] != ep.ServiceID {
			continue
		}
		var names []string
		if dns != "" {
			names = []string{dns}
		}
		_, _ = inventory.Create(a.inv, &inventory.Endpoint{
			Meta:      inventory.Meta{ID: id + ":" + strings.TrimPrefix(sub.ID, ep.ServiceID+":"), Account: ep.Account, Region: ep.Region, Status: inventory.EndpointAccepted},
			ServiceID: sub.ID, ServiceName: ep.ServiceName, VPCID: ep.VPCID, SubnetID: ep.SubnetID, IP: ep.Attrs["ip"],
			// An NLB is a layer-4 load balancer: it forwards the bytes
			// unchanged and never rewrites Kafka metadata
			// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/introduction.html).
			DNSNames: names,
			Attrs:    map[string]string{attrType: typeListener, "parent": id},
		})
	}
	a.setEndpoint(id, "available", "pending")
}

func (a *api) setEndpoint(id, state string, only ...string) bool {
	ok := true
	_, err := inventory.Update(a.inv, id, func(ep *inventory.Endpoint) error {
		if len(only) > 0 && !contains(only, ep.Status) {
			ok = false
			return nil
		}
		ep.Status = state
		return nil
	})
	return err == nil && ok
}

// stopForwarding removes an endpoint's listener endpoints and frees its address.
func (a *api) stopForwarding(ep *inventory.Endpoint) {
	for _, sub := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if isType(sub.Attrs, typeListener) && sub.Attrs["parent"] == ep.ID {
			_ = a.inv.Delete(inventory.KindEndpoint, sub.ID)
		}
	}
	if ip := ep.Attrs["ip"]; ip != "" && a.inv.Owner(ip) == "reserved" {
		a.inv.ReleaseIP(ip)
	}
}

func (a *api) describeEndpoints(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("VpcEndpointId"), f.filters()
	var items []node
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if !isType(ep.Attrs, typeEndpoint) || (len(ids) > 0 && !contains(ids, ep.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"vpc-endpoint-id": ep.ID, "vpc-endpoint-state": ep.Status, "vpc-id": ep.VPCID, "service-name": ep.ServiceName, "vpc-endpoint-type": "Interface"}, ep.Tags) {
			continue
		}
		items = append(items, a.endpointNode("item", ep))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("vpcEndpointSet", items...)}, nil
}

func (a *api) deleteEndpoints(c *caller, f form) ([]node, *ec2Error) {
	var bad []node
	for _, id := range f.list("VpcEndpointId") {
		ep, e := a.ownEndpoint(c, id)
		if e != nil {
			bad = append(bad, unsuccessful(id, e.code, e.message))
			continue
		}
		if ep.Status == "deleting" {
			continue
		}
		a.setEndpoint(id, "deleting")
		a.stopForwarding(ep)
		a.deleteLater(a.timing.Delete, objectRef{Kind: inventory.KindEndpoint, ID: id})
	}
	return []node{set("unsuccessful", bad...)}, nil
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

// EndpointAddress returns the address (IP) an available interface endpoint
// forwards on, for tests and tools that dial through it.
func EndpointAddress(inv *inventory.Store, endpointID string, port int) (string, error) {
	ep, err := inventory.Get[*inventory.Endpoint](inv, endpointID)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ep.Attrs["ip"], strconv.Itoa(port)), nil
}
