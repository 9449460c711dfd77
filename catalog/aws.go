package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS actions: EC2 (VPC peering, routes, security groups, PrivateLink,
// transit gateway) and MSK (cluster, multi-VPC connectivity, bootstrap brokers).
const (
	AWSMSKDescribeCluster          = "aws.msk.describeCluster"
	AWSMSKGetBootstrapBrokers      = "aws.msk.getBootstrapBrokers"
	AWSMSKUpdateConnectivity       = "aws.msk.updateConnectivity"
	AWSMSKDescribeClusterOperation = "aws.msk.describeClusterOperation"
	AWSMSKPutClusterPolicy         = "aws.msk.putClusterPolicy"
	AWSMSKRestoreClusterPolicy     = "aws.msk.restoreClusterPolicy"
	AWSMSKCreateVpcConnection      = "aws.msk.createVpcConnection"
	AWSMSKDescribeVpcConnection    = "aws.msk.describeVpcConnection"
	AWSMSKDeleteVpcConnection      = "aws.msk.deleteVpcConnection"
	AWSEC2AuthorizeIngress         = "aws.ec2.authorizeSecurityGroupIngress"
	AWSEC2RevokeIngress            = "aws.ec2.revokeSecurityGroupIngress"
	AWSEC2CreateVpcPeering         = "aws.ec2.createVpcPeering"
	AWSEC2AcceptVpcPeering         = "aws.ec2.acceptVpcPeering"
	AWSEC2DescribeVpcPeering       = "aws.ec2.describeVpcPeering"
	AWSEC2DeleteVpcPeering         = "aws.ec2.deleteVpcPeering"
	AWSEC2CreateRoute              = "aws.ec2.createRoute"
	AWSEC2DeleteRoute              = "aws.ec2.deleteRoute"
	AWSEC2CreateEndpointService    = "aws.ec2.createVpcEndpointService"
	AWSEC2DescribeEndpointService  = "aws.ec2.describeVpcEndpointService"
	AWSEC2DeleteEndpointService    = "aws.ec2.deleteVpcEndpointService"
	AWSEC2AddServicePermission     = "aws.ec2.addEndpointServicePermission"
	AWSEC2RemoveServicePermission  = "aws.ec2.removeEndpointServicePermission"
	AWSEC2CreateVpcEndpoint        = "aws.ec2.createVpcEndpoint"
	AWSEC2DescribeVpcEndpoint      = "aws.ec2.describeVpcEndpoint"
	AWSEC2DeleteVpcEndpoint        = "aws.ec2.deleteVpcEndpoint"
	AWSEC2AcceptEndpointConnection = "aws.ec2.acceptVpcEndpointConnection"
	AWSEC2RejectEndpointConnection = "aws.ec2.rejectVpcEndpointConnection"
	AWSEC2CreateTGWAttachment      = "aws.ec2.createTransitGatewayVpcAttachment"
	AWSEC2AcceptTGWAttachment      = "aws.ec2.acceptTransitGatewayVpcAttachment"
	AWSEC2DescribeTGWAttachment    = "aws.ec2.describeTransitGatewayVpcAttachment"
	AWSEC2DeleteTGWAttachment      = "aws.ec2.deleteTransitGatewayVpcAttachment"
	AWSEC2CreateTGWRoute           = "aws.ec2.createTransitGatewayRoute"
	AWSEC2DeleteTGWRoute           = "aws.ec2.deleteTransitGatewayRoute"
)

func awsParam(name, typ string, required bool, doc string) Param {
	return Param{Name: name, Type: typ, Required: required, Doc: doc}
}

// awsGone polls a describe action until the resource is gone.
func awsGone(pending ...string) *plan.Wait {
	return &plan.Wait{Target: []string{"deleted"}, Pending: pending, Gone: true,
		PollInterval: plan.D(5 * time.Second), Timeout: plan.D(15 * time.Minute)}
}

// awsGoneAt is awsGone reading the status at path, done at any of targets
// (states AWS keeps visible once nothing is left to delete).
func awsGoneAt(path string, targets []string, pending ...string) *plan.Wait {
	w := awsGone(pending...)
	w.StatusPath, w.Target = path, targets
	return w
}

func init() {
	// MSK.
	Register(Action{
		Name: AWSMSKUpdateConnectivity, Provider: "aws",
		Title: "Turn on MSK multi-VPC private connectivity",
		Doc: "UpdateConnectivity with the cluster's current version: sets connectivityInfo.vpcConnectivity client " +
			"authentication ({iam, scram, tls} booleans). Starts a rolling broker restart (30 minutes or more). " +
			"Returns the previous setting so a rollback restores it; an unchanged setting starts no operation.",
		Inputs: []Param{
			awsParam("clusterArn", "string", true, "MSK cluster ARN"),
			awsParam("vpcConnectivity", "object", true, "{iam, scram, tls}: schemes enabled for multi-VPC connections"),
		},
		Outputs: []string{"clusterArn", "clusterOperationArn", "previous", "current", "changed"},
		Inverse: &Inverse{
			Action: AWSMSKUpdateConnectivity, Title: "Restore the previous multi-VPC connectivity",
			Inputs: map[string]plan.Value{"clusterArn": plan.Expr("input.clusterArn"), "vpcConnectivity": plan.Expr("output.previous")},
			// The restore is another rolling update: the rollback is not done
			// until the cluster is ACTIVE again (DescribeClusterV2 State; an
			// unchanged setting starts no operation and the cluster stays ACTIVE).
			WaitAction: AWSMSKDescribeCluster,
			Wait: &plan.Wait{StatusPath: "state", Pending: []string{"UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"},
				Target: []string{"ACTIVE"}, Failure: []string{"FAILED", "DELETING"},
				PollInterval: plan.D(15 * time.Second), Timeout: plan.D(3 * time.Hour)},
		},
		Locks: []string{`"kafka:aws:" + input.clusterArn`},
	})
	Register(Action{
		Name: AWSMSKPutClusterPolicy, Provider: "aws",
		Title: "Allow client accounts in the MSK cluster policy",
		Doc: "Merges a statement allowing the client accounts (resolved from the account registry) kafka:CreateVpcConnection, " +
			"kafka:GetBootstrapBrokers, kafka:DescribeCluster and kafka:DescribeClusterV2 on the cluster into its policy.",
		Inputs: []Param{
			awsParam("clusterArn", "string", true, "MSK cluster ARN"),
			awsParam("clientAccounts", "array", true, "account-registry names of the client accounts"),
		},
		Outputs: []string{"currentVersion", "previous"},
		Grants:  []Grant{{Input: "clientAccounts", Kind: GrantPrincipal}},
		Inverse: &Inverse{
			Action: AWSMSKRestoreClusterPolicy, Title: "Restore the previous cluster policy",
			Inputs: map[string]plan.Value{"clusterArn": plan.Expr("input.clusterArn"), "policy": plan.Expr("output.previous")},
		},
		Locks: []string{`"kafka:aws:" + input.clusterArn`},
	})
	Register(Action{
		Name: AWSMSKRestoreClusterPolicy, Provider: "aws",
		Title:   "Restore an MSK cluster policy",
		Doc:     "Puts the given policy document back, or deletes the policy when it is empty.",
		Inputs:  []Param{awsParam("clusterArn", "string", true, "MSK cluster ARN"), awsParam("policy", "string", false, "policy JSON; empty deletes")},
		Outputs: []string{"currentVersion"},
	})
	Register(Action{
		Name: AWSMSKCreateVpcConnection, Provider: "aws",
		Title: "Create an MSK VPC connection in the client VPC",
		Doc:   "CreateVpcConnection (as the client account). Idempotent through a tag carrying the idempotency key.",
		Inputs: []Param{
			awsParam("clusterArn", "string", true, "target MSK cluster ARN"),
			awsParam("authentication", "string", true, "SASL_IAM, SASL_SCRAM or TLS"),
			awsParam("vpcId", "string", true, "client VPC"),
			awsParam("subnetIds", "array", true, "client subnets"),
			awsParam("securityGroupIds", "array", true, "client security groups"),
		},
		Outputs: []string{"vpcConnectionArn", "state"},
		Inverse: &Inverse{
			Action: AWSMSKDeleteVpcConnection, Title: "Delete the MSK VPC connection",
			Inputs:     map[string]plan.Value{"vpcConnectionArn": plan.Expr("output.vpcConnectionArn")},
			WaitAction: AWSMSKDescribeVpcConnection, Wait: awsGone("AVAILABLE", "DELETING", "INACTIVE", "DEACTIVATING", "REJECTED"),
		},
	})
	Register(Action{
		Name: AWSMSKDescribeVpcConnection, Provider: "aws", Read: true,
		Title:   "Describe an MSK VPC connection",
		Inputs:  []Param{awsParam("vpcConnectionArn", "string", true, "VPC connection ARN")},
		Outputs: []string{"vpcConnectionArn", "state", "vpcId", "subnets"},
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"CREATING"}, Target: []string{"AVAILABLE"}, Occurrences: 2,
			Failure:      []string{"FAILED", "REJECTED", "REJECTING", "INACTIVE", "DEACTIVATING"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(time.Hour)},
	})
	Register(Action{
		Name: AWSMSKDeleteVpcConnection, Provider: "aws",
		Title:   "Delete an MSK VPC connection",
		Inputs:  []Param{awsParam("vpcConnectionArn", "string", true, "VPC connection ARN")},
		Outputs: []string{"vpcConnectionArn", "state"},
	})

	// EC2 security groups and routes.

	// VPC peering.

}
