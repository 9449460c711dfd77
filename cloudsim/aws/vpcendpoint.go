package aws

import (
	"net"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The interface VPC endpoint (the client's side of PrivateLink, see
// privatelink.go): create, its state machine and forwarding, describe and
// delete.

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
	if nodes, e, ok := a.tokens.replay(c, "CreateVpcEndpoint", f); ok {
		return nodes, e // the token of a create whose resource is gone: its original result
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
	nodes := []node{a.endpointNode("vpcEndpoint", ep), opt("clientToken", token)}
	a.tokens.record(c, "CreateVpcEndpoint", f, nodes)
	return nodes, nil
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

// EndpointAddress returns the address (IP) an available interface endpoint
// forwards on, for tests and tools that dial through it.
func EndpointAddress(inv *inventory.Store, endpointID string, port int) (string, error) {
	ep, err := inventory.Get[*inventory.Endpoint](inv, endpointID)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ep.Attrs["ip"], strconv.Itoa(port)), nil
}
