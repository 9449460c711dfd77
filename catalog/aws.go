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
		Name: AWSMSKDescribeCluster, Provider: "aws", Read: true,
		Title:  "Describe the MSK cluster",
		Doc:    "DescribeClusterV2: state, current version, client subnets and security groups of the broker nodes.",
		Inputs: []Param{awsParam("clusterArn", "string", true, "MSK cluster ARN")},
		Outputs: []string{"clusterArn", "clusterName", "state", "currentVersion", "clientSubnets", "securityGroupIds",
			"securityGroupId", "numberOfBrokerNodes", "vpcConnectivity"},
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"},
			Target: []string{"ACTIVE"}, Failure: []string{"FAILED", "DELETING"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(2 * time.Hour)},
	})
	Register(Action{
		Name: AWSMSKGetBootstrapBrokers, Provider: "aws", Read: true,
		Title: "Get the MSK bootstrap brokers",
		Doc: "GetBootstrapBrokers; bootstrap is the list of host:port for the given authentication " +
			"(plaintext, tls, scram, iam) and connectivity (private, vpc for multi-VPC connections).",
		Inputs: []Param{
			awsParam("clusterArn", "string", true, "MSK cluster ARN"),
			awsParam("authentication", "string", false, "plaintext (default), tls, scram or iam"),
			awsParam("connectivity", "string", false, "private (default) or vpc (multi-VPC private connectivity)"),
		},
		Outputs: []string{"bootstrap", "bootstrapString"},
	})
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
		Name: AWSMSKDescribeClusterOperation, Provider: "aws", Read: true,
		Title:   "Describe an MSK cluster operation",
		Doc:     "DescribeClusterOperationV2; an empty operation ARN (nothing changed) reports UPDATE_COMPLETE.",
		Inputs:  []Param{awsParam("clusterOperationArn", "string", true, "operation ARN (may be empty)")},
		Outputs: []string{"status", "operationType", "error"},
		Wait: &plan.Wait{Pending: []string{"PENDING", "UPDATE_IN_PROGRESS"}, Target: []string{"UPDATE_COMPLETE"},
			Failure: []string{"UPDATE_FAILED"}, PollInterval: plan.D(30 * time.Second), Timeout: plan.D(3 * time.Hour)},
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
	Register(Action{
		Name: AWSEC2AuthorizeIngress, Provider: "aws",
		Title: "Allow ingress in a security group",
		Doc: "AuthorizeSecurityGroupIngress for one port from a CIDR or a security group (sourceGroup: sg-x in the same account, " +
			"<12-digit account>/sg-x across accounts; groups cannot be referenced across regions). An existing identical rule " +
			"(InvalidPermission.Duplicate) is reused with created=false, unless it records users (tags topoflow:user:*, another " +
			"request's rule): then this request is tagged as a user too (created=true, shared=true).",
		Inputs: []Param{
			awsParam("groupId", "string", true, "security group ID"),
			awsParam("protocol", "string", false, "tcp (default)"),
			awsParam("port", "integer", true, "port"),
			awsParam("cidr", "string", false, "source CIDR (give cidr or sourceGroup)"),
			awsParam("sourceGroup", "string", false, "source security group: sg-x, or <12-digit account>/sg-x"),
			awsParam("description", "string", false, "rule description"),
		},
		Outputs: []string{"ruleId", "created", "shared"},
		Inverse: &Inverse{
			Action: AWSEC2RevokeIngress, Title: "Revoke the ingress rule",
			Inputs: map[string]plan.Value{"groupId": plan.Expr("input.groupId"), "ruleId": plan.Expr("output.ruleId"), "created": plan.Expr("output.created")},
		},
		Grants: []Grant{{Input: "cidr", Kind: GrantCIDR}},
		// Adding a user never interleaves with the last user's revoke (activities/aws/owners.go).
		Locks: []string{`"aws:sg:" + input.groupId`},
	})
	Register(Action{
		Name: AWSEC2RevokeIngress, Provider: "aws",
		Title: "Revoke an ingress rule",
		Doc: "Drops this request from the rule's users (its topoflow:user:* tag) and revokes the rule by ID when no user is left " +
			"(usedBy lists the others); a missing rule counts as done; created=false makes it a no-op.",
		Inputs: []Param{
			awsParam("groupId", "string", true, "security group ID"),
			awsParam("ruleId", "string", true, "security group rule ID"),
			awsParam("created", "boolean", false, "false skips the revoke"),
		},
		Outputs: []string{"ruleId", "revoked", "usedBy"},
	})
	Register(Action{
		Name: AWSEC2CreateRoute, Provider: "aws",
		Title: "Add a route",
		Doc: "CreateRoute to a peering connection or a transit gateway; the request is recorded as the route's user in a tag on " +
			"the route table (topoflow:route:*). An identical route (RouteAlreadyExists) is reused: created=true when it is this " +
			"request's or records other users (shared=true, this request is added), created=false when nobody recorded it.",
		Inputs: []Param{
			awsParam("routeTableId", "string", true, "route table ID"),
			awsParam("destination", "string", true, "destination CIDR"),
			awsParam("peeringId", "string", false, "target VPC peering connection"),
			awsParam("transitGatewayId", "string", false, "target transit gateway"),
		},
		Outputs: []string{"routeTableId", "destination", "created", "shared"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteRoute, Title: "Delete the route",
			Inputs: map[string]plan.Value{"routeTableId": plan.Expr("input.routeTableId"), "destination": plan.Expr("input.destination"), "created": plan.Expr("output.created")},
		},
		// Adding a user never interleaves with the last user's delete (activities/aws/owners.go).
		Locks: []string{`"aws:rtb:" + input.routeTableId`},
	})
	Register(Action{
		Name: AWSEC2DeleteRoute, Provider: "aws",
		Title: "Delete a route",
		Doc:   "Drops this request from the route's users and deletes the route when no user is left (usedBy lists the others).",
		Inputs: []Param{
			awsParam("routeTableId", "string", true, "route table ID"),
			awsParam("destination", "string", true, "destination CIDR"),
			awsParam("created", "boolean", false, "false skips the delete"),
		},
		Outputs: []string{"deleted", "usedBy"},
	})

	// VPC peering.
	Register(Action{
		Name: AWSEC2CreateVpcPeering, Provider: "aws",
		Title: "Request a VPC peering connection",
		Doc:   "CreateVpcPeeringConnection; peerAccount (account-registry name) gives PeerOwnerId, peerRegion the accepter's region. Tagged with the idempotency key.",
		Inputs: []Param{
			awsParam("vpcId", "string", true, "requester VPC"),
			awsParam("peerVpcId", "string", true, "accepter VPC"),
			awsParam("peerAccount", "string", false, "account-registry name of the accepter (default: same account)"),
			awsParam("peerRegion", "string", false, "accepter region (default: same region)"),
			awsParam("name", "string", false, "Name tag"),
		},
		Outputs: []string{"peeringId", "status"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteVpcPeering, Title: "Delete the VPC peering connection",
			Inputs: map[string]plan.Value{"peeringId": plan.Expr("output.peeringId")},
			// AWS keeps deleted, rejected, expired and failed peerings visible; Terraform treats all four as gone
			// (terraform-provider-aws internal/service/ec2/find.go findVPCPeeringConnectionByID).
			WaitAction: AWSEC2DescribeVpcPeering, Wait: awsGoneAt("status", []string{"deleted", "rejected", "expired", "failed"},
				"active", "deleting", "pending-acceptance", "provisioning", "initiating-request"),
		},
	})
	Register(Action{
		Name: AWSEC2AcceptVpcPeering, Provider: "aws",
		Title:   "Accept a VPC peering connection (accepter account and region)",
		Inputs:  []Param{awsParam("peeringId", "string", true, "peering connection ID"), awsParam("region", "string", false, "accepter region (default: the account's)")},
		Outputs: []string{"peeringId", "status"},
	})
	Register(Action{
		Name: AWSEC2DescribeVpcPeering, Provider: "aws", Read: true,
		Title:   "Describe a VPC peering connection",
		Inputs:  []Param{awsParam("peeringId", "string", true, "peering connection ID"), awsParam("region", "string", false, "region to query")},
		Outputs: []string{"peeringId", "status", "requesterVpcId", "accepterVpcId"},
		Wait: &plan.Wait{Pending: []string{"initiating-request", "pending-acceptance", "provisioning"}, Target: []string{"active"},
			Failure: []string{"rejected", "failed", "expired", "deleted"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
	Register(Action{
		Name: AWSEC2DeleteVpcPeering, Provider: "aws",
		Title:   "Delete a VPC peering connection",
		Inputs:  []Param{awsParam("peeringId", "string", true, "peering connection ID")},
		Outputs: []string{"peeringId", "deleted"},
	})

	// PrivateLink.
	Register(Action{
		Name: AWSEC2CreateEndpointService, Provider: "aws",
		Title: "Create a VPC endpoint service (PrivateLink)",
		Doc:   "CreateVpcEndpointServiceConfiguration in front of network load balancers; ClientToken is the idempotency key.",
		Inputs: []Param{
			awsParam("loadBalancerArns", "array", true, "network load balancer ARNs"),
			awsParam("acceptanceRequired", "boolean", false, "connections need the owner's acceptance (default true)"),
		},
		Outputs: []string{"serviceId", "serviceName", "state"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteEndpointService, Title: "Delete the VPC endpoint service",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("output.serviceId")},
			// ServiceState is capitalised: Pending, Available, Deleting, Deleted, Failed (aws-sdk-go-v2 service/ec2/types/enums.go ServiceState).
			WaitAction: AWSEC2DescribeEndpointService, Wait: awsGoneAt("state", []string{"Deleted"}, "Available", "Deleting", "Pending"),
		},
	})
	Register(Action{
		Name: AWSEC2DescribeEndpointService, Provider: "aws", Read: true,
		Title:   "Describe a VPC endpoint service",
		Inputs:  []Param{awsParam("serviceId", "string", true, "endpoint service ID")},
		Outputs: []string{"serviceId", "serviceName", "state"},
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"Pending"}, Target: []string{"Available"}, Failure: []string{"Failed", "Deleting", "Deleted"},
			PollInterval: plan.D(5 * time.Second), Timeout: plan.D(15 * time.Minute)},
	})
	Register(Action{
		Name: AWSEC2DeleteEndpointService, Provider: "aws",
		Title:   "Delete a VPC endpoint service",
		Inputs:  []Param{awsParam("serviceId", "string", true, "endpoint service ID")},
		Outputs: []string{"serviceId", "deleted"},
	})
	Register(Action{
		Name: AWSEC2AddServicePermission, Provider: "aws",
		Title: "Allow a client account on a VPC endpoint service",
		Doc:   "ModifyVpcEndpointServicePermissions AddAllowedPrincipals arn:aws:iam::<account id>:root of principalAccount.",
		Inputs: []Param{
			awsParam("serviceId", "string", true, "endpoint service ID"),
			awsParam("principalAccount", "string", true, "account-registry name of the client"),
		},
		Outputs: []string{"serviceId", "principal"},
		Inverse: &Inverse{
			Action: AWSEC2RemoveServicePermission, Title: "Remove the client account from the endpoint service",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "principalAccount": plan.Expr("input.principalAccount")},
		},
		Grants: []Grant{{Input: "principalAccount", Kind: GrantPrincipal}},
	})
	Register(Action{
		Name: AWSEC2RemoveServicePermission, Provider: "aws",
		Title: "Remove a client account from a VPC endpoint service",
		Inputs: []Param{
			awsParam("serviceId", "string", true, "endpoint service ID"),
			awsParam("principalAccount", "string", true, "account-registry name of the client"),
		},
		Outputs: []string{"serviceId", "principal"},
	})
	Register(Action{
		Name: AWSEC2CreateVpcEndpoint, Provider: "aws",
		Title: "Create an interface VPC endpoint in the client VPC",
		Doc:   "CreateVpcEndpoint (Interface) as the client account; ClientToken is the idempotency key.",
		Inputs: []Param{
			awsParam("serviceName", "string", true, "endpoint service name (com.amazonaws.vpce.<region>.vpce-svc-...)"),
			awsParam("vpcId", "string", true, "client VPC"),
			awsParam("subnetIds", "array", true, "client subnets"),
			awsParam("securityGroupIds", "array", false, "client security groups"),
			awsParam("privateDns", "boolean", false, "enable private DNS"),
		},
		Outputs: []string{"endpointId", "state", "dnsNames"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteVpcEndpoint, Title: "Delete the VPC endpoint",
			Inputs: map[string]plan.Value{"endpointId": plan.Expr("output.endpointId")},
			// AWS sends lowerCamel endpoint states; deleted is gone (terraform-provider-aws internal/service/ec2/find.go findVPCEndpointByID).
			WaitAction: AWSEC2DescribeVpcEndpoint, Wait: awsGoneAt("state", []string{"deleted"}, "available", "deleting", "pending", "pendingAcceptance", "rejected", "failed"),
		},
	})
	Register(Action{
		Name: AWSEC2DescribeVpcEndpoint, Provider: "aws", Read: true,
		Title:   "Describe a VPC endpoint",
		Doc:     "DescribeVpcEndpoints; state is lowerCamel as AWS sends it (pendingAcceptance, pending, available, ...).",
		Inputs:  []Param{awsParam("endpointId", "string", true, "endpoint ID")},
		Outputs: []string{"endpointId", "state", "dnsNames", "serviceName"},
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"pendingAcceptance", "pending"}, Target: []string{"available"},
			Failure: []string{"rejected", "failed", "expired", "deleted"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
	Register(Action{
		Name: AWSEC2DeleteVpcEndpoint, Provider: "aws",
		Title:   "Delete a VPC endpoint",
		Inputs:  []Param{awsParam("endpointId", "string", true, "endpoint ID")},
		Outputs: []string{"endpointId", "deleted"},
	})
	Register(Action{
		Name: AWSEC2AcceptEndpointConnection, Provider: "aws",
		Title: "Accept a VPC endpoint connection (service owner)",
		Inputs: []Param{
			awsParam("serviceId", "string", true, "endpoint service ID"),
			awsParam("endpointId", "string", true, "endpoint ID"),
		},
		Outputs: []string{"serviceId", "endpointId"},
		Inverse: &Inverse{
			Action: AWSEC2RejectEndpointConnection, Title: "Reject the VPC endpoint connection",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "endpointId": plan.Expr("input.endpointId")},
		},
	})
	Register(Action{
		Name: AWSEC2RejectEndpointConnection, Provider: "aws",
		Title: "Reject a VPC endpoint connection (service owner)",
		Inputs: []Param{
			awsParam("serviceId", "string", true, "endpoint service ID"),
			awsParam("endpointId", "string", true, "endpoint ID"),
		},
		Outputs: []string{"serviceId", "endpointId"},
	})

	// Transit gateway.
	Register(Action{
		Name: AWSEC2CreateTGWAttachment, Provider: "aws",
		Title: "Attach a VPC to a transit gateway",
		Doc:   "CreateTransitGatewayVpcAttachment (as the VPC owner); tagged with the idempotency key.",
		Inputs: []Param{
			awsParam("transitGatewayId", "string", true, "transit gateway ID"),
			awsParam("vpcId", "string", true, "VPC to attach"),
			awsParam("subnetIds", "array", true, "one subnet per availability zone"),
		},
		Outputs: []string{"attachmentId", "state"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteTGWAttachment, Title: "Delete the transit gateway attachment",
			Inputs: map[string]plan.Value{"attachmentId": plan.Expr("output.attachmentId")},
			// Terraform waitTransitGatewayVPCAttachmentDeleted (internal/service/ec2/wait.go): pending available, deleting,
			// pendingAcceptance, rejecting → deleted; rejected and failed attachments hold nothing to delete
			// (aws-sdk-go-v2 service/ec2/types/enums.go TransitGatewayAttachmentState).
			WaitAction: AWSEC2DescribeTGWAttachment, Wait: awsGoneAt("state", []string{"deleted", "rejected", "failed"},
				"available", "deleting", "pending", "pendingAcceptance", "rejecting", "failing", "rollingBack", "modifying", "initiating", "initiatingRequest"),
		},
	})
	Register(Action{
		Name: AWSEC2AcceptTGWAttachment, Provider: "aws",
		Title:   "Accept a transit gateway attachment (transit gateway owner)",
		Inputs:  []Param{awsParam("attachmentId", "string", true, "attachment ID")},
		Outputs: []string{"attachmentId", "state"},
	})
	Register(Action{
		Name: AWSEC2DescribeTGWAttachment, Provider: "aws", Read: true,
		Title:   "Describe a transit gateway VPC attachment",
		Inputs:  []Param{awsParam("attachmentId", "string", true, "attachment ID")},
		Outputs: []string{"attachmentId", "state"},
		// TransitGatewayAttachmentState (aws-sdk-go-v2 service/ec2/types/enums.go); Terraform's create wait keeps
		// failing pending (it ends in failed) (internal/service/ec2/wait.go waitTransitGatewayVPCAttachmentCreated).
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"initiating", "initiatingRequest", "pendingAcceptance", "pending", "modifying", "failing", "rollingBack"},
			Target: []string{"available"}, Failure: []string{"rejected", "rejecting", "failed", "deleted", "deleting"}, PollInterval: plan.D(10 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
	Register(Action{
		Name: AWSEC2DeleteTGWAttachment, Provider: "aws",
		Title:   "Delete a transit gateway VPC attachment",
		Inputs:  []Param{awsParam("attachmentId", "string", true, "attachment ID")},
		Outputs: []string{"attachmentId", "deleted"},
	})
	Register(Action{
		Name: AWSEC2CreateTGWRoute, Provider: "aws",
		Title: "Add a transit gateway route",
		Inputs: []Param{
			awsParam("routeTableId", "string", true, "transit gateway route table ID"),
			awsParam("destination", "string", true, "destination CIDR"),
			awsParam("attachmentId", "string", true, "target attachment"),
		},
		Outputs: []string{"routeTableId", "destination", "created"},
		Inverse: &Inverse{
			Action: AWSEC2DeleteTGWRoute, Title: "Delete the transit gateway route",
			Inputs: map[string]plan.Value{"routeTableId": plan.Expr("input.routeTableId"), "destination": plan.Expr("input.destination"), "created": plan.Expr("output.created")},
		},
	})
	Register(Action{
		Name: AWSEC2DeleteTGWRoute, Provider: "aws",
		Title: "Delete a transit gateway route",
		Inputs: []Param{
			awsParam("routeTableId", "string", true, "transit gateway route table ID"),
			awsParam("destination", "string", true, "destination CIDR"),
			awsParam("created", "boolean", false, "false skips the delete"),
		},
		Outputs: []string{"deleted"},
	})
}
