package catalog

import "github.com/topoflow/topoflow/plan"

// Alibaba Cloud custom route entries (Vpc 2016-04-28): the contracts and
// descriptors of alibaba.vpc.{create,delete}RouteEntry.
const (
	AlibabaVpcCreateRouteEntry = "alibaba.vpc.createRouteEntry"
	AlibabaVpcDeleteRouteEntry = "alibaba.vpc.deleteRouteEntry"
)

// AlibabaCreateRouteEntryIn are the inputs of alibaba.vpc.createRouteEntry.
type AlibabaCreateRouteEntryIn struct {
	RouteTableID string `json:"routeTableId" required:"true" doc:"route table (vtb-...)"`
	Destination  string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR (the EMQX deployment's)"`
	PeeringID    string `json:"peeringId" required:"true" doc:"next hop: the VPC peering connection"`
}

// AlibabaCreateRouteEntryOut is the result of alibaba.vpc.createRouteEntry.
type AlibabaCreateRouteEntryOut struct {
	RouteTableID string `json:"routeTableId" doc:"route table"`
	Destination  string `json:"destination" doc:"destination CIDR"`
	RouteEntryID string `json:"routeEntryId" doc:"route entry ID (rte-...)"`
	Created      bool   `json:"created" doc:"false when an identical entry this request did not create existed before (a rollback then keeps it)"`
}

// AlibabaDeleteRouteEntryIn are the inputs of alibaba.vpc.deleteRouteEntry.
type AlibabaDeleteRouteEntryIn struct {
	RouteTableID string `json:"routeTableId" required:"true" doc:"route table"`
	Destination  string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR"`
	Created      *bool  `json:"created" doc:"false skips the delete"`
}

// AlibabaDeleteRouteEntryOut is the result of alibaba.vpc.deleteRouteEntry.
type AlibabaDeleteRouteEntryOut struct {
	Deleted bool `json:"deleted" doc:"whether an entry was deleted"`
}

func init() {
	Register(Typed[AlibabaCreateRouteEntryIn, AlibabaCreateRouteEntryOut](Action{
		Name: AlibabaVpcCreateRouteEntry, Provider: "alibaba",
		Title: "Add a custom route entry to a VPC peering",
		Doc: "CreateRouteEntry with NextHopType VpcPeer (vpc-20160428 create_route_entry_request_model.go). The entry's name " +
			"carries the idempotency key: an entry found with it is this request's (created=true); an identical entry without " +
			"it is kept (created=false); the destination routed elsewhere is refused.",
		Inverse: &Inverse{
			Action: AlibabaVpcDeleteRouteEntry, Title: "Delete the route entry",
			Inputs: map[string]plan.Value{"routeTableId": plan.Expr("input.routeTableId"), "destination": plan.Expr("input.destination"), "created": plan.Expr("output.created")},
		},
		Locks: []string{`"alibaba:vtb:" + input.routeTableId`},
	}))
	Register(Typed[AlibabaDeleteRouteEntryIn, AlibabaDeleteRouteEntryOut](Action{
		Name: AlibabaVpcDeleteRouteEntry, Provider: "alibaba",
		Title: "Delete a custom route entry",
		Doc:   "DeleteRouteEntry by route table and destination; a missing entry counts as done.",
	}))
}
