package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS PrivateLink, the service owner's side: the contracts and descriptors
// of aws.ec2.{create,describe,delete}VpcEndpointService, its permissions
// (aws.ec2.{add,remove}EndpointServicePermission) and its connections
// (aws.ec2.{accept,reject}VpcEndpointConnection).

// AWSCreateEndpointServiceIn are the inputs of aws.ec2.createVpcEndpointService.
type AWSCreateEndpointServiceIn struct {
	LoadBalancerARNs   []string `json:"loadBalancerArns" required:"true" doc:"network load balancer ARNs"`
	AcceptanceRequired *bool    `json:"acceptanceRequired" doc:"connections need the owner's acceptance (default true)"`
}

// AWSEndpointServiceIn names an endpoint service.
type AWSEndpointServiceIn struct {
	ServiceID string `json:"serviceId" required:"true" doc:"endpoint service ID"`
}

// AWSEndpointServiceOut is an endpoint service as the create and describe actions return it.
type AWSEndpointServiceOut struct {
	ServiceID   string `json:"serviceId" doc:"endpoint service ID"`
	ServiceName string `json:"serviceName" doc:"service name clients connect to (com.amazonaws.vpce.<region>.vpce-svc-...)"`
	State       string `json:"state" doc:"Pending, Available, Deleting, Deleted or Failed"`
}

// AWSDeletedEndpointServiceOut is the result of aws.ec2.deleteVpcEndpointService.
type AWSDeletedEndpointServiceOut struct {
	ServiceID string `json:"serviceId" doc:"endpoint service ID"`
	Deleted   bool   `json:"deleted" doc:"true once the service is gone or going"`
}

// AWSServicePermissionIn are the inputs of aws.ec2.{add,remove}EndpointServicePermission.
type AWSServicePermissionIn struct {
	ServiceID        string `json:"serviceId" required:"true" doc:"endpoint service ID"`
	PrincipalAccount string `json:"principalAccount" required:"true" doc:"account-registry name of the client"`
}

// AWSServicePermissionOut is the result of aws.ec2.{add,remove}EndpointServicePermission.
type AWSServicePermissionOut struct {
	ServiceID string `json:"serviceId" doc:"endpoint service ID"`
	Principal string `json:"principal" doc:"the IAM principal allowed or removed (arn:aws:iam::<account id>:root)"`
}

// AWSEndpointConnectionIn are the inputs of aws.ec2.{accept,reject}VpcEndpointConnection.
type AWSEndpointConnectionIn struct {
	ServiceID  string `json:"serviceId" required:"true" doc:"endpoint service ID"`
	EndpointID string `json:"endpointId" required:"true" doc:"endpoint ID"`
}

// AWSEndpointConnectionOut is the result of aws.ec2.{accept,reject}VpcEndpointConnection.
type AWSEndpointConnectionOut struct {
	ServiceID  string `json:"serviceId" doc:"endpoint service ID"`
	EndpointID string `json:"endpointId" doc:"endpoint ID"`
}

func init() {
	Register(Typed[AWSCreateEndpointServiceIn, AWSEndpointServiceOut](Action{
		Name: AWSEC2CreateEndpointService, Provider: "aws",
		Title: "Create a VPC endpoint service (PrivateLink)",
		Doc:   "CreateVpcEndpointServiceConfiguration in front of network load balancers; ClientToken is the idempotency key.",
		Inverse: &Inverse{
			Action: AWSEC2DeleteEndpointService, Title: "Delete the VPC endpoint service",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("output.serviceId")},
			// ServiceState is capitalised: Pending, Available, Deleting, Deleted, Failed (aws-sdk-go-v2 service/ec2/types/enums.go ServiceState).
			WaitAction: AWSEC2DescribeEndpointService, Wait: awsGoneAt("state", []string{"Deleted"}, "Available", "Deleting", "Pending"),
		},
	}))
	Register(Typed[AWSEndpointServiceIn, AWSEndpointServiceOut](Action{
		Name: AWSEC2DescribeEndpointService, Provider: "aws", Read: true,
		Title: "Describe a VPC endpoint service",
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"Pending"}, Target: []string{"Available"}, Failure: []string{"Failed", "Deleting", "Deleted"},
			PollInterval: plan.D(5 * time.Second), Timeout: plan.D(15 * time.Minute)},
	}))
	Register(Typed[AWSEndpointServiceIn, AWSDeletedEndpointServiceOut](Action{
		Name: AWSEC2DeleteEndpointService, Provider: "aws",
		Title: "Delete a VPC endpoint service",
	}))
	Register(Typed[AWSServicePermissionIn, AWSServicePermissionOut](Action{
		Name: AWSEC2AddServicePermission, Provider: "aws",
		Title: "Allow a client account on a VPC endpoint service",
		Doc:   "ModifyVpcEndpointServicePermissions AddAllowedPrincipals arn:aws:iam::<account id>:root of principalAccount.",
		Inverse: &Inverse{
			Action: AWSEC2RemoveServicePermission, Title: "Remove the client account from the endpoint service",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "principalAccount": plan.Expr("input.principalAccount")},
		},
		Grants: []Grant{{Input: "principalAccount", Kind: GrantPrincipal}},
	}))
	Register(Typed[AWSServicePermissionIn, AWSServicePermissionOut](Action{
		Name: AWSEC2RemoveServicePermission, Provider: "aws",
		Title: "Remove a client account from a VPC endpoint service",
	}))
	Register(Typed[AWSEndpointConnectionIn, AWSEndpointConnectionOut](Action{
		Name: AWSEC2AcceptEndpointConnection, Provider: "aws",
		Title: "Accept a VPC endpoint connection (service owner)",
		Inverse: &Inverse{
			Action: AWSEC2RejectEndpointConnection, Title: "Reject the VPC endpoint connection",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "endpointId": plan.Expr("input.endpointId")},
		},
	}))
	Register(Typed[AWSEndpointConnectionIn, AWSEndpointConnectionOut](Action{
		Name: AWSEC2RejectEndpointConnection, Provider: "aws",
		Title: "Reject a VPC endpoint connection (service owner)",
	}))
}
