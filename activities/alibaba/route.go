package alibaba

import (
	"context"
	"net/netip"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// nextHopVpcPeer is the next-hop type of a route to a VPC peering
// (vpc-20160428 create_route_entry_request_model.go NextHopType "VpcPeer").
const nextHopVpcPeer = "VpcPeer"

func init() {
	typed[catalog.AlibabaVpcCreateRouteEntry] = func(a *Actions) activities.Func { return activities.Typed(a.CreateRouteEntry) }
	typed[catalog.AlibabaVpcDeleteRouteEntry] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteRouteEntry) }
}

// entry returns the custom entry of a route table for a destination, if any.
func entry(s *session, c *vpc.Client, table, dest string) (*vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry, error) {
	r, err := c.DescribeRouteEntryList(&vpc.DescribeRouteEntryListRequest{RegionId: tea.String(s.acct.Region), RouteTableId: tea.String(table),
		DestinationCidrBlock: tea.String(dest)})
	if err != nil {
		return nil, s.classify("list the entries of route table "+table, err)
	}
	if r.Body.RouteEntrys == nil {
		return nil, nil
	}
	for _, e := range r.Body.RouteEntrys.RouteEntry {
		if tea.StringValue(e.DestinationCidrBlock) == dest {
			return e, nil
		}
	}
	return nil, nil
}

func nextHop(e *vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry) (string, string) {
	if e.NextHops == nil || len(e.NextHops.NextHop) == 0 {
		return "", ""
	}
	h := e.NextHops.NextHop[0]
	return tea.StringValue(h.NextHopType), tea.StringValue(h.NextHopId)
}

func canonical(cidr string) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", err
	}
	return p.Masked().String(), nil
}

// CreateRouteEntry adds a custom route entry to a VPC peering. The entry's
// name carries the idempotency key; an identical entry found without it was
// there before (created=false); the destination routed elsewhere is refused.
func (a *Actions) CreateRouteEntry(ctx context.Context, call plan.Call, in catalog.AlibabaCreateRouteEntryIn) (catalog.AlibabaCreateRouteEntryOut, error) {
	var none catalog.AlibabaCreateRouteEntryOut
	dest, err := canonical(in.Destination)
	if err != nil {
		return none, activities.Invalid("%s: destination %q is not a CIDR", call.Action, in.Destination)
	}
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.vpc()
	if err != nil {
		return none, err
	}
	out := catalog.AlibabaCreateRouteEntryOut{RouteTableID: in.RouteTableID, Destination: dest}
	name := tag(call.IdempotencyKey)
	found := func(e *vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry) (catalog.AlibabaCreateRouteEntryOut, error) {
		typ, hop := nextHop(e)
		if typ != nextHopVpcPeer || hop != in.PeeringID {
			return none, activities.Invalid("%s: route table %s already sends %s to %s %s, not to peering %s", call.Action, in.RouteTableID, dest, typ, hop, in.PeeringID)
		}
		out.RouteEntryID = tea.StringValue(e.RouteEntryId)
		out.Created = call.IdempotencyKey != "" && tea.StringValue(e.RouteEntryName) == name
		return out, nil
	}
	if e, err := entry(s, c, in.RouteTableID, dest); err != nil {
		return none, err
	} else if e != nil {
		out, err := found(e)
		if err != nil {
			return none, err
		}
		return out, settle(ctx, s, c, in.RouteTableID, dest, true)
	}
	req := &vpc.CreateRouteEntryRequest{RegionId: tea.String(s.acct.Region), RouteTableId: tea.String(in.RouteTableID),
		DestinationCidrBlock: tea.String(dest), NextHopType: tea.String(nextHopVpcPeer), NextHopId: tea.String(in.PeeringID),
		ClientToken: tokenPtr(call)}
	if call.IdempotencyKey != "" {
		req.RouteEntryName = tea.String(name)
	}
	resp, err := c.CreateRouteEntry(req)
	if err != nil {
		if cd, _ := code(err); cd == "RouterEntryConflict.Duplicated" {
			// Created meanwhile (a lost response of an earlier attempt, or someone else): look again.
			if e, err2 := entry(s, c, in.RouteTableID, dest); err2 == nil && e != nil {
				out, err := found(e)
				if err == nil {
					err = settle(ctx, s, c, in.RouteTableID, dest, true)
				}
				return out, err
			}
		}
		return none, s.classify("add route "+dest+" via "+in.PeeringID+" to "+in.RouteTableID, err)
	}
	out.RouteEntryID, out.Created = tea.StringValue(resp.Body.RouteEntryId), true
	return out, settle(ctx, s, c, in.RouteTableID, dest, true)
}

// routeSettle bounds how long one attempt waits for an entry to be applied
// or removed (Alibaba applies route entries asynchronously: Pending, then
// Available; a deleted one lingers until removed). A longer wait fails the
// attempt as a Conflict, and the next attempt finds the entry and waits again.
var routeSettle = 2 * time.Minute

// settle waits until the entry for dest is Available (present) or gone
// (!present), as terraform-provider-alicloud resource_alicloud_route_entry.go
// does after CreateRouteEntry (WaitForRouteEntry Available) and
// DeleteRouteEntry (WaitForRouteEntry Deleted).
func settle(ctx context.Context, s *session, c *vpc.Client, table, dest string, present bool) error {
	deadline := time.Now().Add(routeSettle)
	status := ""
	for {
		e, err := entry(s, c, table, dest)
		if err != nil {
			return err
		}
		if !present && e == nil {
			return nil
		}
		if e != nil {
			if status = tea.StringValue(e.Status); present && (status == "Available" || status == "") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return activities.Conflict("%s: route %s of %s still %s after %s", s.action, dest, table, orGone(status, e == nil), routeSettle)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func orGone(status string, gone bool) string {
	if gone {
		return "absent"
	}
	return status
}

// DeleteRouteEntry deletes a custom route entry; a missing one is done.
func (a *Actions) DeleteRouteEntry(ctx context.Context, call plan.Call, in catalog.AlibabaDeleteRouteEntryIn) (catalog.AlibabaDeleteRouteEntryOut, error) {
	var none catalog.AlibabaDeleteRouteEntryOut
	if in.Created != nil && !*in.Created {
		return catalog.AlibabaDeleteRouteEntryOut{}, nil
	}
	dest, err := canonical(in.Destination)
	if err != nil {
		return none, activities.Invalid("%s: destination %q is not a CIDR", call.Action, in.Destination)
	}
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.vpc()
	if err != nil {
		return none, err
	}
	e, err := entry(s, c, in.RouteTableID, dest)
	if err != nil || e == nil {
		return none, err
	}
	if tea.StringValue(e.Status) != "Deleting" { // an earlier attempt's delete is under way otherwise
		if _, err := c.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String(s.acct.Region), RouteEntryId: e.RouteEntryId}); err != nil {
			if e := s.classify("delete route "+dest+" of "+in.RouteTableID, err); !isNotFound(e) {
				return none, e
			}
			return none, nil
		}
	}
	// Gone before the peering it names can be deleted (OperationDenied.RouteEntryExist otherwise).
	if err := settle(ctx, s, c, in.RouteTableID, dest, false); err != nil {
		return none, err
	}
	return catalog.AlibabaDeleteRouteEntryOut{Deleted: true}, nil
}
