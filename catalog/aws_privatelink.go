package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS actions of the MSK PrivateLink pattern (one network load balancer and
// endpoint service per broker, a Route 53 private hosted zone in the client
// VPC mapping each broker name to its interface endpoint): MSK ListNodes,
// Elastic Load Balancing v2 and Route 53.
const (
	AWSMSKListBrokers          = "aws.msk.listBrokers"
	AWSELBCreateLoadBalancer   = "aws.elbv2.createLoadBalancer"
	AWSELBDescribeLoadBalancer = "aws.elbv2.describeLoadBalancer"
	AWSELBDeleteLoadBalancer   = "aws.elbv2.deleteLoadBalancer"
	AWSELBCreateTargetGroup    = "aws.elbv2.createTargetGroup"
	AWSELBDeleteTargetGroup    = "aws.elbv2.deleteTargetGroup"
	AWSELBCreateListener       = "aws.elbv2.createListener"
	AWSELBDeleteListener       = "aws.elbv2.deleteListener"
	AWSR53CreateHostedZone     = "aws.route53.createHostedZone"
	AWSR53DeleteHostedZone     = "aws.route53.deleteHostedZone"
	AWSR53UpsertRecord         = "aws.route53.upsertRecord"
	AWSR53DeleteRecord         = "aws.route53.deleteRecord"
	AWSR53GetChange            = "aws.route53.getChange"
)

func init() {
	Register(Action{
		Name: AWSELBCreateLoadBalancer, Provider: "aws",
		Title: "Create an internal network load balancer",
		Doc: "CreateLoadBalancer (Type network, Scheme internal) named tf-<hash of the idempotency key>; ELBv2 creates are " +
			"idempotent on identical settings, so a retry returns the same load balancer.",
		Inputs:  []Param{awsParam("subnetIds", "array", true, "subnets of the load balancer (the brokers' client subnets)")},
		Outputs: []string{"loadBalancerArn", "name", "dnsName", "state"},
		Inverse: &Inverse{
			Action: AWSELBDeleteLoadBalancer, Title: "Delete the network load balancer",
			Inputs: map[string]plan.Value{"loadBalancerArn": plan.Expr("output.loadBalancerArn")},
			// The SDK's LoadBalancersDeletedWaiter waits for LoadBalancerNotFound (elasticloadbalancingv2/api_op_DescribeLoadBalancers.go).
			WaitAction: AWSELBDescribeLoadBalancer, Wait: awsGone("active", "provisioning", "active_impaired", "failed"),
		},
	})
	Register(Action{
		Name: AWSELBDescribeLoadBalancer, Provider: "aws", Read: true,
		Title:   "Describe a network load balancer",
		Inputs:  []Param{awsParam("loadBalancerArn", "string", true, "load balancer ARN")},
		Outputs: []string{"loadBalancerArn", "name", "dnsName", "state"},
		// State provisioning → active (elasticloadbalancingv2/types/enums.go LoadBalancerStateEnum;
		// LoadBalancerAvailableWaiter in api_op_DescribeLoadBalancers.go retries on provisioning).
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"provisioning"}, Target: []string{"active"}, Failure: []string{"failed"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(20 * time.Minute)},
	})
	Register(Action{
		Name: AWSELBDeleteLoadBalancer, Provider: "aws",
		Title:   "Delete a network load balancer",
		Doc:     "DeleteLoadBalancer (its listeners go with it); a missing load balancer counts as done.",
		Inputs:  []Param{awsParam("loadBalancerArn", "string", true, "load balancer ARN")},
		Outputs: []string{"loadBalancerArn", "deleted"},
	})
	Register(Action{
		Name: AWSELBCreateTargetGroup, Provider: "aws",
		Title: "Create a TCP target group with IP targets",
		Doc: "CreateTargetGroup (TCP, TargetType ip) named tf-<hash of the idempotency key>, then RegisterTargets of the given " +
			"IPs on its port. The targets' security group must admit the load balancer's addresses (its VPC's CIDR).",
		Inputs: []Param{
			awsParam("vpcId", "string", true, "VPC of the targets"),
			awsParam("port", "integer", true, "target port"),
			awsParam("targets", "array", true, "target IP addresses"),
		},
		Outputs: []string{"targetGroupArn", "name"},
		Inverse: &Inverse{
			Action: AWSELBDeleteTargetGroup, Title: "Delete the target group",
			Inputs: map[string]plan.Value{"targetGroupArn": plan.Expr("output.targetGroupArn")},
		},
	})
	Register(Action{
		Name: AWSELBDeleteTargetGroup, Provider: "aws",
		Title:   "Delete a target group",
		Doc:     "DeleteTargetGroup; a missing target group counts as done; one still behind a listener is a retryable conflict.",
		Inputs:  []Param{awsParam("targetGroupArn", "string", true, "target group ARN")},
		Outputs: []string{"targetGroupArn", "deleted"},
	})
	Register(Action{
		Name: AWSELBCreateListener, Provider: "aws",
		Title: "Add a TCP listener to a network load balancer",
		Doc:   "CreateListener (TCP) forwarding the port to a target group; idempotent on identical settings.",
		Inputs: []Param{
			awsParam("loadBalancerArn", "string", true, "load balancer ARN"),
			awsParam("port", "integer", true, "listener port"),
			awsParam("targetGroupArn", "string", true, "target group to forward to"),
		},
		Outputs: []string{"listenerArn"},
		Inverse: &Inverse{
			Action: AWSELBDeleteListener, Title: "Delete the listener",
			Inputs: map[string]plan.Value{"listenerArn": plan.Expr("output.listenerArn")},
		},
	})
	Register(Action{
		Name: AWSELBDeleteListener, Provider: "aws",
		Title:   "Delete a listener",
		Doc:     "DeleteListener; a missing listener counts as done.",
		Inputs:  []Param{awsParam("listenerArn", "string", true, "listener ARN")},
		Outputs: []string{"listenerArn", "deleted"},
	})

	Register(Action{
		Name: AWSR53CreateHostedZone, Provider: "aws",
		Title: "Create a Route 53 private hosted zone for a VPC",
		Doc: "CreateHostedZone (private, associated with the VPC at creation) with a CallerReference derived from the idempotency " +
			"key; a retry finds the zone by name and caller reference. Inside the VPC the zone answers for its whole namespace.",
		Inputs: []Param{
			awsParam("name", "string", true, "zone domain"),
			awsParam("vpcId", "string", true, "VPC to associate"),
			awsParam("vpcRegion", "string", false, "the VPC's region (default: the account's)"),
		},
		Outputs: []string{"hostedZoneId", "name", "changeId", "status"},
		Inverse: &Inverse{
			Action: AWSR53DeleteHostedZone, Title: "Delete the private hosted zone",
			Inputs: map[string]plan.Value{"hostedZoneId": plan.Expr("output.hostedZoneId")},
		},
	})
	Register(Action{
		Name: AWSR53DeleteHostedZone, Provider: "aws",
		Title:   "Delete a Route 53 hosted zone",
		Doc:     "DeleteHostedZone (which also ends its VPC associations); a missing zone counts as done; HostedZoneNotEmpty is a retryable conflict.",
		Inputs:  []Param{awsParam("hostedZoneId", "string", true, "hosted zone ID")},
		Outputs: []string{"hostedZoneId", "deleted"},
	})
	recordParams := []Param{
		awsParam("hostedZoneId", "string", true, "hosted zone ID"),
		awsParam("name", "string", true, "record name"),
		awsParam("type", "string", true, "A or CNAME"),
		awsParam("value", "string", true, "record value"),
		awsParam("ttl", "integer", false, "TTL in seconds (default 60)"),
	}
	Register(Action{
		Name: AWSR53UpsertRecord, Provider: "aws",
		Title:   "Create or replace a Route 53 record",
		Doc:     "ChangeResourceRecordSets UPSERT of one record (idempotent); returns the change to wait for.",
		Inputs:  recordParams,
		Outputs: []string{"changeId", "status"},
		Inverse: &Inverse{
			Action: AWSR53DeleteRecord, Title: "Delete the record",
			Inputs: map[string]plan.Value{"hostedZoneId": plan.Expr("input.hostedZoneId"), "name": plan.Expr("input.name"),
				"type": plan.Expr("input.type"), "value": plan.Expr("input.value"), "ttl": plan.Expr("input.ttl")},
		},
	})
	Register(Action{
		Name: AWSR53DeleteRecord, Provider: "aws",
		Title:   "Delete a Route 53 record",
		Doc:     "ChangeResourceRecordSets DELETE of one record with its current values; a record already gone counts as done.",
		Inputs:  recordParams,
		Outputs: []string{"deleted"},
	})
	Register(Action{
		Name: AWSR53GetChange, Provider: "aws", Read: true,
		Title:   "Read a Route 53 change",
		Doc:     "GetChange; PENDING until the change has propagated to the Route 53 DNS servers, then INSYNC. An empty ID reads INSYNC.",
		Inputs:  []Param{awsParam("changeId", "string", false, "change ID")},
		Outputs: []string{"changeId", "status"},
		// ChangeStatus PENDING | INSYNC (route53/types/enums.go; ResourceRecordSetsChangedWaiter in api_op_GetChange.go).
		Wait: &plan.Wait{StatusPath: "status", Pending: []string{"PENDING"}, Target: []string{"INSYNC"},
			PollInterval: plan.D(10 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
}
