package alibaba

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// NextHopVpcPeer is the next-hop type of a route to a VPC peering
// connection (vpc-20160428 create_route_entry_request_model.go NextHopType:
// "VpcPeer: a VPC peering connection").
const NextHopVpcPeer = "VpcPeer"

// tagEntryName keeps a custom entry's RouteEntryName on its route table
// (inventory routes have no name of their own).
const tagEntryName = "alibaba:rteName:"

func newID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// routeEntryID is the stable ID of a custom route entry (rte-…).
func routeEntryID(table, dest string) string {
	s := sha256.Sum256([]byte(table + "|" + dest))
	return "rte-" + hex.EncodeToString(s[:])[:20]
}

func (a *api) vpcRoutes() {
	a.op(VersionVpc, "CreateRouteEntry", a.createRouteEntry)
	a.op(VersionVpc, "DeleteRouteEntry", a.deleteRouteEntry)
	a.op(VersionVpc, "DescribeRouteEntryList", a.describeRouteEntries)
}

// table returns a route table of the caller: InvalidRouteTableId.NotFound
// otherwise (https://help.aliyun.com/zh/vpc/developer-reference/api-vpc-2016-04-28-createrouteentry error codes).
func (a *api) table(c *caller, id string) (*inventory.RouteTable, *apiError) {
	rt, err := inventory.Get[*inventory.RouteTable](a.inv, id)
	if err != nil || !c.owned(rt) {
		return nil, errf(http.StatusBadRequest, "InvalidRouteTableId.NotFound", "The specified route table does not exist.")
	}
	return rt, nil
}

// createRouteEntry: CreateRouteEntry of a custom route. Only the VpcPeer
// next hop is modelled (others answer IllegalParam.NextHopType); the peering
// must join the table's VPC and be Activated; an existing destination
// answers RouterEntryConflict.Duplicated (createrouteentry error codes).
func (a *api) createRouteEntry(c *caller) (any, *apiError) {
	if _, e := c.region(); e != nil {
		return nil, e
	}
	rtID, e := c.str("RouteTableId", true)
	if e != nil {
		return nil, e
	}
	dest, e := c.str("DestinationCidrBlock", true)
	if e != nil {
		return nil, e
	}
	typ, _ := c.str("NextHopType", false)
	hop, _ := c.str("NextHopId", false)
	name, _ := c.str("RouteEntryName", false)
	rt, e := a.table(c, rtID)
	if e != nil {
		return nil, e
	}
	pfx, err := netip.ParsePrefix(dest)
	if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
		return nil, errf(http.StatusBadRequest, "InvalidDestinationCidrBlock.Malformed", "The specified DestinationCidrBlock is malformed.")
	}
	if typ != NextHopVpcPeer {
		// Default NextHopType is Instance (create_route_entry_request_model.go); the twin has no ECS instances.
		return nil, errf(http.StatusBadRequest, "IllegalParam.NextHopType", "The param of NextHopType is illegal.")
	}
	p, err := inventory.Get[*inventory.Peering](a.inv, hop)
	if err != nil || p.Attrs[attrType] != typeVpcPeer || (p.VPCID != rt.VPCID && p.PeerVPCID != rt.VPCID) {
		return nil, errf(http.StatusBadRequest, "InvalidNextHopId.NotFound", "The specified NextHopId does not exist.")
	}
	if p.Status != inventory.PeeringActive {
		return nil, errf(http.StatusBadRequest, "IncorrectStatus.VpcPeer", "The status of %s [%s] is incorrect.", p.ID, apiStatus(p.Status))
	}
	for _, r := range rt.Routes {
		if r.Destination == pfx.String() {
			return nil, errf(http.StatusBadRequest, "RouterEntryConflict.Duplicated", "Specified CIDR block is already exists.")
		}
	}
	if e := settling(rt); e != nil {
		return nil, e
	}
	// The entry is Pending (not forwarding) until the route is applied
	// (terraform-provider-alicloud resource_alicloud_route_entry.go waits
	// for Available after CreateRouteEntry).
	_, _ = inventory.Update(a.inv, rt.ID, func(rt *inventory.RouteTable) error {
		rt.Routes = append(rt.Routes, inventory.Route{Destination: pfx.String(), NextHopType: NextHopVpcPeer, NextHop: p.ID, Status: inventory.RoutePending})
		if name != "" {
			if rt.Tags == nil {
				rt.Tags = map[string]string{}
			}
			rt.Tags[tagEntryName+pfx.String()] = name
		}
		return nil
	})
	a.routeSet(a.timing.Route, routeStep{Table: rt.ID, Destination: pfx.String(), From: inventory.RoutePending, To: inventory.RouteAvailable})
	return map[string]any{"RouteEntryId": routeEntryID(rt.ID, pfx.String())}, nil
}

// settling refuses a change to a route table while one of its entries is
// being applied or removed: IncorrectRouteEntryStatus, which Terraform
// retries ("It must ensure all the route entries ... status must be
// available before creating or deleting route entry":
// terraform-provider-alicloud resource_alicloud_route_entry.go).
func settling(rt *inventory.RouteTable) *apiError {
	for _, r := range rt.Routes {
		if r.Status == inventory.RoutePending || r.Status == inventory.RouteDeleting {
			return errf(http.StatusBadRequest, "IncorrectRouteEntryStatus", "The current status of route entry %s does not support this operation.", routeEntryID(rt.ID, r.Destination))
		}
	}
	return nil
}

// deleteRouteEntry: DeleteRouteEntry by RouteEntryId, or RouteTableId +
// DestinationCidrBlock (vpc-20160428 delete_route_entry_request_model.go);
// a missing entry answers InvalidRouteEntry.NotFound.
func (a *api) deleteRouteEntry(c *caller) (any, *apiError) {
	if _, e := c.region(); e != nil {
		return nil, e
	}
	entry, _ := c.str("RouteEntryId", false)
	rtID, _ := c.str("RouteTableId", false)
	dest, _ := c.str("DestinationCidrBlock", false)
	if entry == "" && (rtID == "" || dest == "") {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The input parameter \"RouteEntryId\" that is mandatory for processing this request is not supplied.")
	}
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{}) {
		if !c.owned(rt) || rtID != "" && rt.ID != rtID {
			continue
		}
		for _, r := range rt.Routes {
			if entry != "" && routeEntryID(rt.ID, r.Destination) != entry || entry == "" && r.Destination != dest {
				continue
			}
			if e := settling(rt); e != nil {
				return nil, e
			}
			// The entry lingers as Deleting until removed (Terraform waits for
			// Deleted after DeleteRouteEntry: resource_alicloud_route_entry.go);
			// meanwhile it still names its peering (OperationDenied.RouteEntryExist).
			d := r.Destination
			_, _ = inventory.Update(a.inv, rt.ID, func(rt *inventory.RouteTable) error {
				for i := range rt.Routes {
					if rt.Routes[i].Destination == d {
						rt.Routes[i].Status = inventory.RouteDeleting
					}
				}
				return nil
			})
			a.routeSet(a.timing.Route, routeStep{Table: rt.ID, Destination: d, From: inventory.RouteDeleting, To: ""})
			return nil, nil
		}
	}
	return nil, errf(http.StatusBadRequest, "InvalidRouteEntry.NotFound", "The specified route entry does not exist.")
}

// describeRouteEntries: DescribeRouteEntryList of a route table (fields of
// vpc-20160428 describe_route_entry_list_response_body_model.go).
func (a *api) describeRouteEntries(c *caller) (any, *apiError) {
	if _, e := c.region(); e != nil {
		return nil, e
	}
	rtID, e := c.str("RouteTableId", true)
	if e != nil {
		return nil, e
	}
	rt, e := a.table(c, rtID)
	if e != nil {
		return nil, e
	}
	dest, _ := c.str("DestinationCidrBlock", false)
	entries := []map[string]any{}
	for _, r := range rt.Routes {
		if dest != "" && r.Destination != dest {
			continue
		}
		entries = append(entries, map[string]any{
			"RouteEntryId": routeEntryID(rt.ID, r.Destination), "RouteTableId": rt.ID, "RouteEntryName": rt.Tags[tagEntryName+r.Destination],
			"DestinationCidrBlock": r.Destination, "Type": "Custom", "Status": routeStatus(r), "IpVersion": "ipv4",
			"NextHops": map[string]any{"NextHop": []map[string]any{{"NextHopType": r.NextHopType, "NextHopId": r.NextHop, "Enabled": 1}}},
		})
	}
	return map[string]any{"RouteEntrys": map[string]any{"RouteEntry": entries}}, nil
}

// routeStatus is an entry's DescribeRouteEntryList Status (entries the twin
// did not create through the API are in effect: Available).
func routeStatus(r inventory.Route) string {
	if r.Status == "" {
		return inventory.RouteAvailable
	}
	return r.Status
}
