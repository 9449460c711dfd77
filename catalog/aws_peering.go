package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS VPC peering and routes: the contracts (input and output types) and
// descriptors of aws.ec2.{create,accept,describe,delete}VpcPeering and
// aws.ec2.{create,delete}Route. This file is the example to copy for a new
// action (docs/adding-an-action.md).

// AWSCreateVpcPeeringIn are the inputs of aws.ec2.createVpcPeering.
type AWSCreateVpcPeeringIn struct {
	VpcID       string `json:"vpcId" required:"true" doc:"requester VPC"`
	PeerVpcID   string `json:"peerVpcId" required:"true" doc:"accepter VPC"`
	PeerAccount string `json:"peerAccount" doc:"account-registry name of the accepter (default: same account)"`
	// A SaaS provider's account is in no registry of ours (runbook 003 AWS step 2: EMQX Platform 账户 ID).
	PeerOwnerID string `json:"peerOwnerId" doc:"accepter's 12-digit account ID outside the registry (e.g. the EMQX Platform account); instead of peerAccount"`
	PeerRegion  string `json:"peerRegion" doc:"accepter region (default: same region)"`
	Name        string `json:"name" doc:"Name tag"`
}

// AWSPeeringIn names a peering connection (accept and describe).
type AWSPeeringIn struct {
	PeeringID string `json:"peeringId" required:"true" doc:"peering connection ID"`
	Region    string `json:"region" doc:"region to query (default: the account's; the accepter's region to accept)"`
}

// AWSPeeringOut is a peering connection as the peering actions return it.
type AWSPeeringOut struct {
	PeeringID      string  `json:"peeringId" doc:"peering connection ID"`
	Status         *string `json:"status,omitempty" doc:"status code (pending-acceptance, active, deleted, ...)"`
	StatusMessage  *string `json:"statusMessage,omitempty" doc:"status message"`
	RequesterVpcID *string `json:"requesterVpcId,omitempty" doc:"requester VPC"`
	// VpcPeeringConnectionVpcInfo.OwnerId (aws-sdk-go-v2 service/ec2/types/types.go): runbook 003 AWS step 3's 请求方拥有者 ID.
	RequesterOwnerID *string `json:"requesterOwnerId,omitempty" doc:"requester's AWS account ID"`
	AccepterVpcID    *string `json:"accepterVpcId,omitempty" doc:"accepter VPC"`
}

// AWSDeleteVpcPeeringIn are the inputs of aws.ec2.deleteVpcPeering.
type AWSDeleteVpcPeeringIn struct {
	PeeringID string `json:"peeringId" required:"true" doc:"peering connection ID"`
}

// AWSDeletedPeeringOut is the result of aws.ec2.deleteVpcPeering.
type AWSDeletedPeeringOut struct {
	PeeringID string `json:"peeringId" doc:"peering connection ID"`
	Deleted   bool   `json:"deleted" doc:"true once the peering is gone or going"`
}

// AWSCreateRouteIn are the inputs of aws.ec2.createRoute.
type AWSCreateRouteIn struct {
	RouteTableID     string `json:"routeTableId" required:"true" doc:"route table ID"`
	Destination      string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR"`
	PeeringID        string `json:"peeringId" doc:"target VPC peering connection"`
	TransitGatewayID string `json:"transitGatewayId" doc:"target transit gateway"`
}

// AWSCreateRouteOut is the result of aws.ec2.createRoute.
type AWSCreateRouteOut struct {
	RouteTableID string `json:"routeTableId" doc:"route table ID"`
	Destination  string `json:"destination" doc:"destination CIDR"`
	Created      bool   `json:"created" doc:"false when an identical route nobody recorded existed before (a rollback then keeps it)"`
	Shared       bool   `json:"shared" doc:"the route records other requests as users (route-table tags topoflow:route:*): this request was added as one"`
}

// AWSDeleteRouteIn are the inputs of aws.ec2.deleteRoute.
type AWSDeleteRouteIn struct {
	RouteTableID string `json:"routeTableId" required:"true" doc:"route table ID"`
	Destination  string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR"`
	Created      *bool  `json:"created" doc:"false skips the delete"`
}

// AWSDeleteRouteOut is the result of aws.ec2.deleteRoute.
type AWSDeleteRouteOut struct {
	Deleted bool     `json:"deleted" doc:"whether a route was deleted"`
	UsedBy  []string `json:"usedBy" doc:"the other requests still using the route (it is kept for them)"`
}

func init() {
	Register(Typed[AWSCreateVpcPeeringIn, AWSPeeringOut](Action{
		Name: AWSEC2CreateVpcPeering, Provider: "aws",
		Title: "Request a VPC peering connection",
		Doc:   "CreateVpcPeeringConnection; peerAccount (account-registry name) gives PeerOwnerId, peerRegion the accepter's region. Tagged with the idempotency key.",
		Inverse: &Inverse{
			Action: AWSEC2DeleteVpcPeering, Title: "Delete the VPC peering connection",
			Inputs: map[string]plan.Value{"peeringId": plan.Expr("output.peeringId")},
			// AWS keeps deleted, rejected, expired and failed peerings visible; Terraform treats all four as gone
			// (terraform-provider-aws internal/service/ec2/find.go findVPCPeeringConnectionByID).
			WaitAction: AWSEC2DescribeVpcPeering, Wait: awsGoneAt("status", []string{"deleted", "rejected", "expired", "failed"},
				"active", "deleting", "pending-acceptance", "provisioning", "initiating-request"),
		},
	}))
	Register(Typed[AWSPeeringIn, AWSPeeringOut](Action{
		Name: AWSEC2AcceptVpcPeering, Provider: "aws",
		Title: "Accept a VPC peering connection (accepter account and region)",
	}))
	Register(Typed[AWSPeeringIn, AWSPeeringOut](Action{
		Name: AWSEC2DescribeVpcPeering, Provider: "aws", Read: true,
		Title: "Describe a VPC peering connection",
		Wait: &plan.Wait{Pending: []string{"initiating-request", "pending-acceptance", "provisioning"}, Target: []string{"active"},
			Failure: []string{"rejected", "failed", "expired", "deleted"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
	Register(Typed[AWSDeleteVpcPeeringIn, AWSDeletedPeeringOut](Action{
		Name: AWSEC2DeleteVpcPeering, Provider: "aws",
		Title: "Delete a VPC peering connection",
	}))
	Register(Typed[AWSCreateRouteIn, AWSCreateRouteOut](Action{
		Name: AWSEC2CreateRoute, Provider: "aws",
		Title: "Add a route",
		Doc: "CreateRoute to a peering connection or a transit gateway; the request is recorded as the route's user in a tag on " +
			"the route table (topoflow:route:*). An identical route (RouteAlreadyExists) is reused: created=true when it is this " +
			"request's or records other users (shared=true, this request is added), created=false when nobody recorded it.",
		Inverse: &Inverse{
			Action: AWSEC2DeleteRoute, Title: "Delete the route",
			Inputs: map[string]plan.Value{"routeTableId": plan.Expr("input.routeTableId"), "destination": plan.Expr("input.destination"), "created": plan.Expr("output.created")},
		},
		// Adding a user never interleaves with the last user's delete (activities/aws/owners.go).
		Locks: []string{`"aws:rtb:" + input.routeTableId`},
	}))
	Register(Typed[AWSDeleteRouteIn, AWSDeleteRouteOut](Action{
		Name: AWSEC2DeleteRoute, Provider: "aws",
		Title: "Delete a route",
		Doc:   "Drops this request from the route's users and deletes the route when no user is left (usedBy lists the others).",
	}))
}
