package catalog

import "github.com/topoflow/topoflow/plan"

// Huawei VPC routes: the contracts and descriptors of huawei.vpc.{add,delete}Route.

// HuaweiAddRouteIn are the inputs of huawei.vpc.addRoute.
type HuaweiAddRouteIn struct {
	VpcID       string `json:"vpcId" required:"true" doc:"VPC whose route table gets the route"`
	Destination string `json:"destination" required:"true" doc:"destination CIDR"`
	Nexthop     string `json:"nexthop" required:"true" doc:"peering ID"`
}

// HuaweiAddRouteOut is the result of huawei.vpc.addRoute.
type HuaweiAddRouteOut struct {
	RouteID string `json:"routeId" doc:"route ID"`
	Created bool   `json:"created" doc:"true when this request (any attempt) made the route (only then does the inverse delete it)"`
}

// HuaweiDeleteRouteIn are the inputs of huawei.vpc.deleteRoute.
type HuaweiDeleteRouteIn struct {
	RouteID string `json:"routeId" required:"true" doc:"route ID"`
	Created *bool  `json:"created" doc:"false skips the delete (the route was not created by Topoflow)"`
}

// HuaweiDeleteRouteOut is the result of huawei.vpc.deleteRoute.
type HuaweiDeleteRouteOut struct {
	RouteID string `json:"routeId" doc:"route ID"`
	Deleted bool   `json:"deleted" doc:"whether the route was deleted (or already gone)"`
}

func init() {
	Register(Typed[HuaweiAddRouteIn, HuaweiAddRouteOut](Action{
		Name: HuaweiVPCAddRoute, Provider: "huawei",
		Title: "Add a route through a peering",
		Doc:   "Adds destination → nexthop (a peering ID, type peering) to vpcId's route table. An identical route is reused.",
		Inverse: &Inverse{
			Action: HuaweiVPCDeleteRoute, Title: "Delete the route",
			Inputs: map[string]plan.Value{"routeId": plan.Expr("output.routeId"), "created": plan.Expr("output.created")},
		},
	}))
	Register(Typed[HuaweiDeleteRouteIn, HuaweiDeleteRouteOut](Action{
		Name: HuaweiVPCDeleteRoute, Provider: "huawei",
		Title: "Delete a route",
	}))
}
