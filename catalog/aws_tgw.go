package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS transit gateway: the contracts and descriptors of
// aws.ec2.{create,accept,describe,delete}TransitGatewayVpcAttachment and
// aws.ec2.{create,delete}TransitGatewayRoute.

// AWSCreateTGWAttachmentIn are the inputs of aws.ec2.createTransitGatewayVpcAttachment.
type AWSCreateTGWAttachmentIn struct {
	TransitGatewayID string   `json:"transitGatewayId" required:"true" doc:"transit gateway ID"`
	VpcID            string   `json:"vpcId" required:"true" doc:"VPC to attach"`
	SubnetIDs        []string `json:"subnetIds" required:"true" doc:"one subnet per availability zone"`
}

// AWSTGWAttachmentIn names a transit gateway VPC attachment.
type AWSTGWAttachmentIn struct {
	AttachmentID string `json:"attachmentId" required:"true" doc:"attachment ID"`
}

// AWSTGWAttachmentOut is an attachment as the create, accept and describe actions return it.
type AWSTGWAttachmentOut struct {
	AttachmentID string `json:"attachmentId" doc:"attachment ID"`
	State        string `json:"state" doc:"pendingAcceptance, pending, available, deleting, deleted, rejected, failed, ..."`
}

// AWSDeletedTGWAttachmentOut is the result of aws.ec2.deleteTransitGatewayVpcAttachment.
type AWSDeletedTGWAttachmentOut struct {
	AttachmentID string `json:"attachmentId" doc:"attachment ID"`
	Deleted      bool   `json:"deleted" doc:"true once the attachment is gone or going"`
}

// AWSCreateTGWRouteIn are the inputs of aws.ec2.createTransitGatewayRoute.
type AWSCreateTGWRouteIn struct {
	RouteTableID string `json:"routeTableId" required:"true" doc:"transit gateway route table ID"`
	Destination  string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR"`
	AttachmentID string `json:"attachmentId" required:"true" doc:"target attachment"`
}

// AWSCreateTGWRouteOut is the result of aws.ec2.createTransitGatewayRoute.
type AWSCreateTGWRouteOut struct {
	RouteTableID string `json:"routeTableId" doc:"transit gateway route table ID"`
	Destination  string `json:"destination" doc:"destination CIDR"`
	Created      bool   `json:"created" doc:"false when an identical route existed before this step (a rollback then keeps it)"`
}

// AWSDeleteTGWRouteIn are the inputs of aws.ec2.deleteTransitGatewayRoute.
type AWSDeleteTGWRouteIn struct {
	RouteTableID string `json:"routeTableId" required:"true" doc:"transit gateway route table ID"`
	Destination  string `json:"destination" required:"true" format:"cidr" doc:"destination CIDR"`
	Created      *bool  `json:"created" doc:"false skips the delete"`
}

// AWSDeleteTGWRouteOut is the result of aws.ec2.deleteTransitGatewayRoute.
type AWSDeleteTGWRouteOut struct {
	Deleted bool `json:"deleted" doc:"whether a route was deleted"`
}

func init() {
	Register(Typed[AWSCreateTGWAttachmentIn, AWSTGWAttachmentOut](Action{
		Name: AWSEC2CreateTGWAttachment, Provider: "aws",
		Title: "Attach a VPC to a transit gateway",
		Doc:   "CreateTransitGatewayVpcAttachment (as the VPC owner); tagged with the idempotency key.",
		Inverse: &Inverse{
			Action: AWSEC2DeleteTGWAttachment, Title: "Delete the transit gateway attachment",
			Inputs: map[string]plan.Value{"attachmentId": plan.Expr("output.attachmentId")},
			// Terraform waitTransitGatewayVPCAttachmentDeleted (internal/service/ec2/wait.go): pending available, deleting,
			// pendingAcceptance, rejecting → deleted; rejected and failed attachments hold nothing to delete
			// (aws-sdk-go-v2 service/ec2/types/enums.go TransitGatewayAttachmentState).
			WaitAction: AWSEC2DescribeTGWAttachment, Wait: awsGoneAt("state", []string{"deleted", "rejected", "failed"},
				"available", "deleting", "pending", "pendingAcceptance", "rejecting", "failing", "rollingBack", "modifying", "initiating", "initiatingRequest"),
		},
	}))
	Register(Typed[AWSTGWAttachmentIn, AWSTGWAttachmentOut](Action{
		Name: AWSEC2AcceptTGWAttachment, Provider: "aws",
		Title: "Accept a transit gateway attachment (transit gateway owner)",
	}))
	Register(Typed[AWSTGWAttachmentIn, AWSTGWAttachmentOut](Action{
		Name: AWSEC2DescribeTGWAttachment, Provider: "aws", Read: true,
		Title: "Describe a transit gateway VPC attachment",
		// TransitGatewayAttachmentState (aws-sdk-go-v2 service/ec2/types/enums.go); Terraform's create wait keeps
		// failing pending (it ends in failed) (internal/service/ec2/wait.go waitTransitGatewayVPCAttachmentCreated).
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"initiating", "initiatingRequest", "pendingAcceptance", "pending", "modifying", "failing", "rollingBack"},
			Target: []string{"available"}, Failure: []string{"rejected", "rejecting", "failed", "deleted", "deleting"}, PollInterval: plan.D(10 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
	Register(Typed[AWSTGWAttachmentIn, AWSDeletedTGWAttachmentOut](Action{
		Name: AWSEC2DeleteTGWAttachment, Provider: "aws",
		Title: "Delete a transit gateway VPC attachment",
	}))
	Register(Typed[AWSCreateTGWRouteIn, AWSCreateTGWRouteOut](Action{
		Name: AWSEC2CreateTGWRoute, Provider: "aws",
		Title: "Add a transit gateway route",
		Inverse: &Inverse{
			Action: AWSEC2DeleteTGWRoute, Title: "Delete the transit gateway route",
			Inputs: map[string]plan.Value{"routeTableId": plan.Expr("input.routeTableId"), "destination": plan.Expr("input.destination"), "created": plan.Expr("output.created")},
		},
	}))
	Register(Typed[AWSDeleteTGWRouteIn, AWSDeleteTGWRouteOut](Action{
		Name: AWSEC2DeleteTGWRoute, Provider: "aws",
		Title: "Delete a transit gateway route",
	}))
}
