package aws

import (
	"net/netip"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// EC2 route tables: describe, and routes created and deleted in them
// (targets: a VPC peering connection or a transit gateway).

// isTGWRouteTable reports whether a route table belongs to a transit gateway.
func isTGWRouteTable(rt *inventory.RouteTable) bool {
	return strings.HasPrefix(rt.ID, "tgw-rtb-") || strings.HasPrefix(rt.VPCID, "tgw-")
}

func (a *api) describeRouteTables(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("RouteTableId"), f.filters()
	var items []node
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if isTGWRouteTable(rt) || (len(ids) > 0 && !contains(ids, rt.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"route-table-id": rt.ID, "vpc-id": rt.VPCID}, rt.Tags) {
			continue
		}
		var routes []node
		if v, err := inventory.Get[*inventory.VPC](a.inv, rt.VPCID); err == nil {
			routes = append(routes, el("item", tx("destinationCidrBlock", v.CIDR), tx("gatewayId", "local"), tx("state", "active"), tx("origin", "CreateRouteTable")))
		}
		for _, r := range rt.Routes {
			routes = append(routes, a.routeNode(r))
		}
		items = append(items, el("item", tx("routeTableId", rt.ID), tx("vpcId", rt.VPCID), tx("ownerId", c.acct.AccountID), set("routeSet", routes...), set("associationSet"), tagSet(nameTags(rt.Meta))))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("routeTableSet", items...)}, nil
}

// routeNode renders a route with its target and state (blackhole when the target is gone or not active).
func (a *api) routeNode(r inventory.Route) node {
	state := "active"
	target := node{}
	switch r.NextHopType {
	case "vpc-peering-connection":
		target = tx("vpcPeeringConnectionId", r.NextHop)
		if p, err := inventory.Get[*inventory.Peering](a.inv, r.NextHop); err != nil || p.Status != inventory.PeeringActive {
			state = "blackhole"
		}
	case "transit-gateway":
		target = tx("transitGatewayId", r.NextHop)
	default:
		target = tx("gatewayId", r.NextHop)
	}
	return el("item", tx("destinationCidrBlock", r.Destination), target, tx("state", state), tx("origin", "CreateRoute"))
}

func (a *api) createRoute(c *caller, f form) ([]node, *ec2Error) {
	dest := f.str("DestinationCidrBlock")
	if _, err := netip.ParsePrefix(dest); err != nil {
		return nil, errf("InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dest)
	}
	route := inventory.Route{Destination: dest}
	switch {
	case f.str("VpcPeeringConnectionId") != "":
		route.NextHopType, route.NextHop = "vpc-peering-connection", f.str("VpcPeeringConnectionId")
		if _, e := a.visiblePeering(c, route.NextHop); e != nil {
			return nil, e
		}
	case f.str("TransitGatewayId") != "":
		route.NextHopType, route.NextHop = "transit-gateway", f.str("TransitGatewayId")
		if !a.tgwExists(route.NextHop) {
			return nil, errf("InvalidTransitGatewayID.NotFound", "The transitGateway ID '%s' does not exist.", route.NextHop)
		}
	case f.str("GatewayId") != "":
		route.NextHopType, route.NextHop = "gateway", f.str("GatewayId")
	default:
		return nil, errf("MissingParameter", "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, transitGatewayId or instanceId")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownRouteTable(c, f.str("RouteTableId"))
	if e != nil {
		return nil, e
	}
	for _, r := range rt.Routes {
		if r.Destination == dest {
			return nil, errf("RouteAlreadyExists", "The route identified by %s already exists.", dest)
		}
	}
	if v, err := inventory.Get[*inventory.VPC](a.inv, rt.VPCID); err == nil && v.CIDR == dest {
		return nil, errf("InvalidParameterValue", "The destination CIDR block %s is equal to or more specific than one of this VPC's CIDR blocks.", dest)
	}
	if _, err := inventory.Update(a.inv, rt.ID, func(x *inventory.RouteTable) error {
		x.Routes = append(x.Routes, route)
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return []node{boolx("return", true)}, nil
}

func (a *api) deleteRoute(c *caller, f form) ([]node, *ec2Error) {
	dest := f.str("DestinationCidrBlock")
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownRouteTable(c, f.str("RouteTableId"))
	if e != nil {
		return nil, e
	}
	found := false
	for _, r := range rt.Routes {
		found = found || r.Destination == dest
	}
	if !found {
		return nil, errf("InvalidRoute.NotFound", "no route with destination-cidr-block %s in route table %s", dest, rt.ID)
	}
	if _, err := inventory.Update(a.inv, rt.ID, func(x *inventory.RouteTable) error {
		kept := x.Routes[:0]
		for _, r := range x.Routes {
			if r.Destination != dest {
				kept = append(kept, r)
			}
		}
		x.Routes = kept
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return nil, nil
}
