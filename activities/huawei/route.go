package huawei

import (
	"context"
	"fmt"

	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC route resource (VPC v2, routes through a peering): add (reusing
// an identical route) and delete.

func init() {
	typed[catalog.HuaweiVPCAddRoute] = func(a *Actions) activities.Func { return activities.Typed(a.AddRoute) }
	typed[catalog.HuaweiVPCDeleteRoute] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteRoute) }
}

// AddRoute adds destination → peering to a VPC's routes, reusing an
// identical route. created is true when this request (any attempt) made it.
func (a *Actions) AddRoute(ctx context.Context, call plan.Call, in catalog.HuaweiAddRouteIn) (catalog.HuaweiAddRouteOut, error) {
	var none catalog.HuaweiAddRouteOut
	vpcID, dest, nexthop := in.VpcID, in.Destination, in.Nexthop
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("add route %s via %s to VPC %s", dest, nexthop, vpcID)
	list, err := c.ListVpcRoutes(&v2m.ListVpcRoutesRequest{VpcId: ptr(vpcID), Destination: ptr(dest)})
	if err != nil {
		return none, s.classify("look up before "+what, err)
	}
	var memo attemptMemo
	tried := priorAttempt(ctx, &memo) && memo.Creating
	for _, r := range deref(list.Routes) {
		if r.Destination == dest {
			if r.Nexthop != nexthop {
				return none, activities.Invalid("%s: VPC %s already routes %s via %s", call.Action, vpcID, dest, r.Nexthop)
			}
			return catalog.HuaweiAddRouteOut{RouteID: r.Id, Created: tried}, nil
		}
	}
	remember(ctx, attemptMemo{Creating: true})
	resp, err := c.CreateVpcRoute(&v2m.CreateVpcRouteRequest{Body: &v2m.CreateVpcRouteRequestBody{Route: &v2m.CreateVpcRouteOption{
		Destination: dest, Nexthop: nexthop, Type: v2m.GetCreateVpcRouteOptionTypeEnum().PEERING, VpcId: vpcID,
	}}})
	if err != nil {
		return none, s.classify(what, err)
	}
	if resp.Route == nil {
		return none, s.classify(what, fmt.Errorf("empty response"))
	}
	return catalog.HuaweiAddRouteOut{RouteID: resp.Route.Id, Created: true}, nil
}

// DeleteRoute deletes a route Topoflow created; missing is done.
func (a *Actions) DeleteRoute(ctx context.Context, call plan.Call, in catalog.HuaweiDeleteRouteIn) (catalog.HuaweiDeleteRouteOut, error) {
	var none catalog.HuaweiDeleteRouteOut
	id := in.RouteID
	if in.Created != nil && !*in.Created {
		return catalog.HuaweiDeleteRouteOut{RouteID: id}, nil
	}
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	if _, err := c.DeleteVpcRoute(&v2m.DeleteVpcRouteRequest{RouteId: id}); err != nil && !isNotFound(err) {
		return none, s.classify("delete route "+id, err)
	}
	return catalog.HuaweiDeleteRouteOut{RouteID: id, Deleted: true}, nil
}
