package aws

import (
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Transit gateway route tables' static routes (see tgwattachment.go):
// create, delete, search.

// ownTGWRouteTable returns a transit gateway route table of the caller.
func (a *api) ownTGWRouteTable(c *caller, id string) (*inventory.RouteTable, *ec2Error) {
	rt, err := inventory.Get[*inventory.RouteTable](a.inv, id)
	if err != nil || !isTGWRouteTable(rt) || rt.Account != c.acct.ID || rt.Region != c.region {
		return nil, errf("InvalidRouteTableID.NotFound", "Transit Gateway Route Table %s was deleted or does not exist.", id)
	}
	return rt, nil
}

func (a *api) tgwRouteNode(name string, r inventory.Route, state string) node {
	var atts []node
	if r.NextHop != "" {
		vpc := ""
		if p, err := inventory.Get[*inventory.Peering](a.inv, r.NextHop); err == nil {
			vpc = p.VPCID
		}
		atts = append(atts, el("item", tx("resourceId", vpc), tx("transitGatewayAttachmentId", r.NextHop), tx("resourceType", "vpc")))
	}
	return el(name, tx("destinationCidrBlock", r.Destination), set("transitGatewayAttachments", atts...), tx("type", "static"), tx("state", state))
}

func (a *api) createTGWRoute(c *caller, f form) ([]node, *ec2Error) {
	dest, att := f.str("DestinationCidrBlock"), f.str("TransitGatewayAttachmentId")
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownTGWRouteTable(c, f.str("TransitGatewayRouteTableId"))
	if e != nil {
		return nil, e
	}
	p, err := inventory.Get[*inventory.Peering](a.inv, att)
	if err != nil || !isAttachment(p) || p.PeerVPCID != rt.VPCID {
		return nil, errf("InvalidTransitGatewayAttachmentID.NotFound", "Transit Gateway Attachment %s was deleted or does not exist.", att)
	}
	if p.Status != "available" {
		return nil, errf("IncorrectState", "tgw-attachment %s is in invalid state %s", att, p.Status)
	}
	for _, r := range rt.Routes {
		if r.Destination == dest {
			return nil, errf("RouteAlreadyExists", "Route %s already exists in Transit Gateway Route Table %s.", dest, rt.ID)
		}
	}
	route := inventory.Route{Destination: dest, NextHopType: "transit-gateway-attachment", NextHop: att}
	if _, err := inventory.Update(a.inv, rt.ID, func(x *inventory.RouteTable) error {
		x.Routes = append(x.Routes, route)
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return []node{a.tgwRouteNode("route", route, "active")}, nil
}

func (a *api) deleteTGWRoute(c *caller, f form) ([]node, *ec2Error) {
	dest := f.str("DestinationCidrBlock")
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownTGWRouteTable(c, f.str("TransitGatewayRouteTableId"))
	if e != nil {
		return nil, e
	}
	var gone *inventory.Route
	for _, r := range rt.Routes {
		if r.Destination == dest {
			r := r
			gone = &r
		}
	}
	if gone == nil {
		return nil, errf("InvalidRoute.NotFound", "No route with destination-cidr-block %s in Transit Gateway Route Table %s.", dest, rt.ID)
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
	return []node{a.tgwRouteNode("route", *gone, "deleted")}, nil
}

func (a *api) searchTGWRoutes(c *caller, f form) ([]node, *ec2Error) {
	rt, e := a.ownTGWRouteTable(c, f.str("TransitGatewayRouteTableId"))
	if e != nil {
		return nil, e
	}
	var items []node
	for _, r := range rt.Routes {
		items = append(items, a.tgwRouteNode("item", r, "active"))
	}
	return []node{set("routeSet", items...), boolx("additionalRoutesAvailable", false)}, nil
}
