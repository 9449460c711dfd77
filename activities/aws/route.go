package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC route (to a peering connection or a transit gateway), shared by
// requests through the route table's user tags (owners.go): create and
// delete (catalog/aws_peering.go).

func init() {
	register(catalog.AWSEC2CreateRoute, (*Actions).CreateRoute)
	register(catalog.AWSEC2DeleteRoute, (*Actions).DeleteRoute)
}

// routeTableSession returns a session in the region of a route table: the
// account's region, or (a route table of a VPC in another region, e.g. the
// far side of an inter-region peering) the region DescribeRegions and
// DescribeRouteTables find it in.
func (a *Actions) routeTableSession(ctx context.Context, call plan.Call, rtb string) (*session, error) {
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	find := func(s *session) (bool, error) {
		_, err := s.ec2().DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, s.classify("find route table "+rtb, err)
	}
	if ok, err := find(s); ok || err != nil {
		return s, err
	}
	regions, err := s.ec2().DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, s.classify("list regions to find route table "+rtb, err)
	}
	for _, r := range regions.Regions {
		name := awssdk.ToString(r.RegionName)
		if name == s.cfg.Region {
			continue
		}
		o, err := a.session(ctx, call, "", name)
		if err != nil {
			return nil, err
		}
		if ok, err := find(o); ok || err != nil {
			return o, err
		}
	}
	return nil, activities.NotFound("route table %s of %s is in none of its regions", rtb, s.acct.Name)
}

// CreateRoute adds a route to a peering or a transit gateway and records
// this request as its user (a route-table tag, owners.go). An existing route
// to the same target is reused: created=true if an earlier attempt of this
// step made it or it records users (shared=true, this request is added);
// otherwise created=false. One to another target is a conflict.
func (a *Actions) CreateRoute(ctx context.Context, call plan.Call, rin catalog.AWSCreateRouteIn) (catalog.AWSCreateRouteOut, error) {
	rtb, dest, pcx, tgw := rin.RouteTableID, rin.Destination, rin.PeeringID, rin.TransitGatewayID
	if (pcx == "") == (tgw == "") {
		return catalog.AWSCreateRouteOut{}, activities.Invalid("%s: give exactly one of peeringId and transitGatewayId", call.Action)
	}
	s, err := a.routeTableSession(ctx, call, rtb)
	if err != nil {
		return catalog.AWSCreateRouteOut{}, err
	}
	c := s.ec2()
	out := catalog.AWSCreateRouteOut{RouteTableID: rtb, Destination: dest, Created: true}
	prior, tried := priorAttempt(ctx)
	remember(ctx, prior)
	in := &ec2.CreateRouteInput{RouteTableId: awssdk.String(rtb), DestinationCidrBlock: awssdk.String(dest)}
	target := pcx
	if pcx != "" {
		in.VpcPeeringConnectionId = awssdk.String(pcx)
	} else {
		in.TransitGatewayId, target = awssdk.String(tgw), tgw
	}
	what := fmt.Sprintf("create route %s → %s in %s", dest, target, rtb)
	user := ruleUser(ctx, call)
	_, err = c.CreateRoute(ctx, in)
	if err == nil {
		// This request is the route's first user (owners.go).
		if err := s.addRouteUser(ctx, rtb, dest, user); err != nil {
			return catalog.AWSCreateRouteOut{}, err
		}
		return out, nil
	}
	if errorCode(err) != "RouteAlreadyExists" {
		return catalog.AWSCreateRouteOut{}, s.classify(what, err)
	}
	rts, derr := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
	if derr != nil {
		return catalog.AWSCreateRouteOut{}, s.classify(what+": read the existing route", derr)
	}
	for _, rt := range rts.RouteTables {
		for _, r := range rt.Routes {
			if awssdk.ToString(r.DestinationCidrBlock) != dest {
				continue
			}
			if awssdk.ToString(r.VpcPeeringConnectionId) == target || awssdk.ToString(r.TransitGatewayId) == target {
				// Ours (an earlier attempt made it), or another request's
				// (it records users): this request is a user too. A route
				// nobody recorded is someone else's and stays theirs.
				mine, others := splitUsers(routeUsers(rt.Tags, dest), user)
				if !tried && !mine && !others {
					out.Created = false
					return out, nil
				}
				if err := s.addRouteUser(ctx, rtb, dest, user); err != nil {
					return catalog.AWSCreateRouteOut{}, err
				}
				out.Created, out.Shared = true, others
				return out, nil
			}
			have := awssdk.ToString(r.VpcPeeringConnectionId) + awssdk.ToString(r.TransitGatewayId) + awssdk.ToString(r.GatewayId)
			return catalog.AWSCreateRouteOut{}, activities.Invalid("%s as %s: route table %s already routes %s to %s", what, s.acct.Name, rtb, dest, have)
		}
	}
	return catalog.AWSCreateRouteOut{}, s.classify(what, err)
}

// DeleteRoute drops this request from the route's users and deletes the
// route when it was the last; created=false skips it, a missing route counts as deleted.
func (a *Actions) DeleteRoute(ctx context.Context, call plan.Call, in catalog.AWSDeleteRouteIn) (catalog.AWSDeleteRouteOut, error) {
	rtb, dest := in.RouteTableID, in.Destination
	if in.Created != nil && !*in.Created {
		return catalog.AWSDeleteRouteOut{Deleted: false}, nil
	}
	s, err := a.routeTableSession(ctx, call, rtb)
	if isTyped(err, plan.ErrNotFound) {
		return catalog.AWSDeleteRouteOut{Deleted: true}, nil
	}
	if err != nil {
		return catalog.AWSDeleteRouteOut{}, err
	}
	// Only the last user deletes the route (owners.go).
	deleted, left, err := s.releaseRoute(ctx, rtb, dest, ruleUser(ctx, call))
	if err != nil {
		return catalog.AWSDeleteRouteOut{}, err
	}
	return catalog.AWSDeleteRouteOut{Deleted: deleted, UsedBy: left}, nil
}
