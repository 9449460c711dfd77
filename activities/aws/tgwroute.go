package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The transit gateway route: a static route in a transit gateway route
// table, created and deleted (catalog/aws_tgw.go).

func init() {
	register(catalog.AWSEC2CreateTGWRoute, (*Actions).CreateTGWRoute)
	register(catalog.AWSEC2DeleteTGWRoute, (*Actions).DeleteTGWRoute)
}

// CreateTGWRoute adds a static route to a transit gateway route table; an
// existing route to the same attachment is reused (created only when an
// earlier attempt of this step made it).
func (a *Actions) CreateTGWRoute(ctx context.Context, call plan.Call, in catalog.AWSCreateTGWRouteIn) (catalog.AWSCreateTGWRouteOut, error) {
	var none catalog.AWSCreateTGWRouteOut
	rtb, dest, att := in.RouteTableID, in.Destination, in.AttachmentID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.ec2()
	prior, tried := priorAttempt(ctx)
	remember(ctx, prior)
	what := fmt.Sprintf("route %s → %s in %s", dest, att, rtb)
	out := catalog.AWSCreateTGWRouteOut{RouteTableID: rtb, Destination: dest, Created: true}
	_, err = c.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{TransitGatewayRouteTableId: awssdk.String(rtb),
		DestinationCidrBlock: awssdk.String(dest), TransitGatewayAttachmentId: awssdk.String(att)})
	if err == nil {
		return out, nil
	}
	if errorCode(err) != "RouteAlreadyExists" {
		return none, s.classify(what, err)
	}
	routes, serr := c.SearchTransitGatewayRoutes(ctx, &ec2.SearchTransitGatewayRoutesInput{TransitGatewayRouteTableId: awssdk.String(rtb),
		Filters: []ec2types.Filter{{Name: awssdk.String("route-search.exact-match"), Values: []string{dest}}}})
	if serr != nil {
		return none, s.classify(what+": read the existing route", serr)
	}
	for _, r := range routes.Routes {
		if awssdk.ToString(r.DestinationCidrBlock) != dest {
			continue
		}
		for _, ra := range r.TransitGatewayAttachments {
			if awssdk.ToString(ra.TransitGatewayAttachmentId) == att {
				out.Created = tried
				return out, nil
			}
		}
		return none, activities.Invalid("%s as %s: the route table already routes %s elsewhere", what, s.acct.Name, dest)
	}
	return none, s.classify(what, err)
}

// DeleteTGWRoute deletes a transit gateway route; created=false skips it, a missing route counts as deleted.
func (a *Actions) DeleteTGWRoute(ctx context.Context, call plan.Call, in catalog.AWSDeleteTGWRouteIn) (catalog.AWSDeleteTGWRouteOut, error) {
	rtb, dest := in.RouteTableID, in.Destination
	if in.Created != nil && !*in.Created {
		return catalog.AWSDeleteTGWRouteOut{Deleted: false}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return catalog.AWSDeleteTGWRouteOut{}, err
	}
	_, err = s.ec2().DeleteTransitGatewayRoute(ctx, &ec2.DeleteTransitGatewayRouteInput{TransitGatewayRouteTableId: awssdk.String(rtb), DestinationCidrBlock: awssdk.String(dest)})
	if err != nil && !isNotFound(err) {
		return catalog.AWSDeleteTGWRouteOut{}, s.classify(fmt.Sprintf("delete transit gateway route %s in %s", dest, rtb), err)
	}
	return catalog.AWSDeleteTGWRouteOut{Deleted: true}, nil
}
