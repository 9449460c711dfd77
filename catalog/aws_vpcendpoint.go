package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS PrivateLink, the client's side: the contracts and descriptors of
// aws.ec2.{create,describe,delete}VpcEndpoint (interface endpoints).

// AWSCreateVpcEndpointIn are the inputs of aws.ec2.createVpcEndpoint.
type AWSCreateVpcEndpointIn struct {
	ServiceName      string   `json:"serviceName" required:"true" doc:"endpoint service name (com.amazonaws.vpce.<region>.vpce-svc-...)"`
	VpcID            string   `json:"vpcId" required:"true" doc:"client VPC"`
	SubnetIDs        []string `json:"subnetIds" required:"true" doc:"client subnets"`
	SecurityGroupIDs []string `json:"securityGroupIds" doc:"client security groups"`
	PrivateDNS       bool     `json:"privateDns" doc:"enable private DNS"`
}

// AWSVpcEndpointIn names a VPC endpoint.
type AWSVpcEndpointIn struct {
	EndpointID string `json:"endpointId" required:"true" doc:"endpoint ID"`
}

// AWSVpcEndpointOut is an endpoint as the create and describe actions return it.
type AWSVpcEndpointOut struct {
	EndpointID  string   `json:"endpointId" doc:"endpoint ID"`
	State       string   `json:"state" doc:"lowerCamel as AWS sends it: pendingAcceptance, pending, available, rejected, ..."`
	DNSNames    []string `json:"dnsNames" doc:"the endpoint's DNS names"`
	ServiceName string   `json:"serviceName" doc:"endpoint service name"`
}

// AWSDeletedVpcEndpointOut is the result of aws.ec2.deleteVpcEndpoint.
type AWSDeletedVpcEndpointOut struct {
	EndpointID string `json:"endpointId" doc:"endpoint ID"`
	Deleted    bool   `json:"deleted" doc:"true once the endpoint is gone or going"`
}

func init() {
	Register(Typed[AWSCreateVpcEndpointIn, AWSVpcEndpointOut](Action{
		Name: AWSEC2CreateVpcEndpoint, Provider: "aws",
		Title: "Create an interface VPC endpoint in the client VPC",
		Doc:   "CreateVpcEndpoint (Interface) as the client account; ClientToken is the idempotency key.",
		Inverse: &Inverse{
			Action: AWSEC2DeleteVpcEndpoint, Title: "Delete the VPC endpoint",
			Inputs: map[string]plan.Value{"endpointId": plan.Expr("output.endpointId")},
			// AWS sends lowerCamel endpoint states; deleted is gone (terraform-provider-aws internal/service/ec2/find.go findVPCEndpointByID).
			WaitAction: AWSEC2DescribeVpcEndpoint, Wait: awsGoneAt("state", []string{"deleted"}, "available", "deleting", "pending", "pendingAcceptance", "rejected", "failed"),
		},
	}))
	Register(Typed[AWSVpcEndpointIn, AWSVpcEndpointOut](Action{
		Name: AWSEC2DescribeVpcEndpoint, Provider: "aws", Read: true,
		Title: "Describe a VPC endpoint",
		Doc:   "DescribeVpcEndpoints; state is lowerCamel as AWS sends it (pendingAcceptance, pending, available, ...).",
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"pendingAcceptance", "pending"}, Target: []string{"available"},
			Failure: []string{"rejected", "failed", "expired", "deleted"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
	Register(Typed[AWSVpcEndpointIn, AWSDeletedVpcEndpointOut](Action{
		Name: AWSEC2DeleteVpcEndpoint, Provider: "aws",
		Title: "Delete a VPC endpoint",
	}))
}
