package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS MSK VPC connection (multi-VPC private connectivity, the client's
// side): the contracts and descriptors of
// aws.msk.{create,describe,delete}VpcConnection.

// AWSCreateVpcConnectionIn are the inputs of aws.msk.createVpcConnection.
type AWSCreateVpcConnectionIn struct {
	ClusterARN       string   `json:"clusterArn" required:"true" doc:"target MSK cluster ARN"`
	Authentication   string   `json:"authentication" required:"true" doc:"SASL_IAM, SASL_SCRAM or TLS"`
	VpcID            string   `json:"vpcId" required:"true" doc:"client VPC"`
	SubnetIDs        []string `json:"subnetIds" required:"true" doc:"client subnets"`
	SecurityGroupIDs []string `json:"securityGroupIds" required:"true" doc:"client security groups"`
}

// AWSVpcConnectionIn names an MSK VPC connection.
type AWSVpcConnectionIn struct {
	VpcConnectionARN string `json:"vpcConnectionArn" required:"true" doc:"VPC connection ARN"`
}

// AWSVpcConnectionStateOut is the result of aws.msk.createVpcConnection and aws.msk.deleteVpcConnection.
type AWSVpcConnectionStateOut struct {
	VpcConnectionARN string `json:"vpcConnectionArn" doc:"VPC connection ARN"`
	State            string `json:"state" doc:"CREATING, AVAILABLE, DELETING, DELETED (gone), FAILED, REJECTED, ..."`
}

// AWSDescribeVpcConnectionOut is the result of aws.msk.describeVpcConnection.
type AWSDescribeVpcConnectionOut struct {
	VpcConnectionARN string   `json:"vpcConnectionArn" doc:"VPC connection ARN"`
	State            string   `json:"state" doc:"CREATING, AVAILABLE, INACTIVE, DEACTIVATING, DELETING, FAILED, REJECTED, REJECTING"`
	VpcID            string   `json:"vpcId" doc:"client VPC"`
	Subnets          []string `json:"subnets" doc:"client subnets"`
}

func init() {
	Register(Typed[AWSCreateVpcConnectionIn, AWSVpcConnectionStateOut](Action{
		Name: AWSMSKCreateVpcConnection, Provider: "aws",
		Title: "Create an MSK VPC connection in the client VPC",
		Doc:   "CreateVpcConnection (as the client account). Idempotent through a tag carrying the idempotency key.",
		Inverse: &Inverse{
			Action: AWSMSKDeleteVpcConnection, Title: "Delete the MSK VPC connection",
			Inputs:     map[string]plan.Value{"vpcConnectionArn": plan.Expr("output.vpcConnectionArn")},
			WaitAction: AWSMSKDescribeVpcConnection, Wait: awsGone("AVAILABLE", "DELETING", "INACTIVE", "DEACTIVATING", "REJECTED"),
		},
	}))
	Register(Typed[AWSVpcConnectionIn, AWSDescribeVpcConnectionOut](Action{
		Name: AWSMSKDescribeVpcConnection, Provider: "aws", Read: true,
		Title: "Describe an MSK VPC connection",
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"CREATING"}, Target: []string{"AVAILABLE"}, Occurrences: 2,
			Failure:      []string{"FAILED", "REJECTED", "REJECTING", "INACTIVE", "DEACTIVATING"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(time.Hour)},
	}))
	Register(Typed[AWSVpcConnectionIn, AWSVpcConnectionStateOut](Action{
		Name: AWSMSKDeleteVpcConnection, Provider: "aws",
		Title: "Delete an MSK VPC connection",
	}))
}
