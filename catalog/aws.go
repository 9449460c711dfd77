package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS actions: EC2 (VPC peering, routes, security groups, PrivateLink,
// transit gateway) and MSK (cluster, multi-VPC connectivity, bootstrap
// brokers). Each resource's contracts and descriptors are in its own file
// (aws_peering.go, aws_sg.go, aws_sgrules.go, aws_endpointservice.go,
// aws_vpcendpoint.go, aws_tgw.go, aws_msk.go, aws_msk_connectivity.go,
// aws_msk_policy.go, aws_msk_vpcconnection.go, aws_elbv2.go, aws_route53.go).
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
