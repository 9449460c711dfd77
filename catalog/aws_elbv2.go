package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS Elastic Load Balancing v2 for the MSK PrivateLink pattern (one
// internal network load balancer, target group and listener per broker):
// the contracts and descriptors of aws.elbv2.*.
const (
	AWSELBCreateLoadBalancer   = "aws.elbv2.createLoadBalancer"
	AWSELBDescribeLoadBalancer = "aws.elbv2.describeLoadBalancer"
	AWSELBDeleteLoadBalancer   = "aws.elbv2.deleteLoadBalancer"
	AWSELBCreateTargetGroup    = "aws.elbv2.createTargetGroup"
	AWSELBDeleteTargetGroup    = "aws.elbv2.deleteTargetGroup"
	AWSELBCreateListener       = "aws.elbv2.createListener"
	AWSELBDeleteListener       = "aws.elbv2.deleteListener"
)

// AWSCreateLoadBalancerIn are the inputs of aws.elbv2.createLoadBalancer.
type AWSCreateLoadBalancerIn struct {
	SubnetIDs []string `json:"subnetIds" required:"true" doc:"subnets of the load balancer (the brokers' client subnets)"`
}

// AWSLoadBalancerIn names a load balancer.
type AWSLoadBalancerIn struct {
	LoadBalancerARN string `json:"loadBalancerArn" required:"true" doc:"load balancer ARN"`
}

// AWSLoadBalancerOut is a load balancer as the create and describe actions return it.
type AWSLoadBalancerOut struct {
	LoadBalancerARN string `json:"loadBalancerArn" doc:"load balancer ARN"`
	Name            string `json:"name" doc:"load balancer name (tf-<hash of the idempotency key>)"`
	DNSName         string `json:"dnsName" doc:"the load balancer's DNS name"`
	State           string `json:"state" doc:"provisioning, active, active_impaired or failed"`
}

// AWSDeletedLoadBalancerOut is the result of aws.elbv2.deleteLoadBalancer.
type AWSDeletedLoadBalancerOut struct {
	LoadBalancerARN string `json:"loadBalancerArn" doc:"load balancer ARN"`
	Deleted         bool   `json:"deleted" doc:"true once the load balancer is gone"`
}

// AWSCreateTargetGroupIn are the inputs of aws.elbv2.createTargetGroup.
type AWSCreateTargetGroupIn struct {
	VpcID   string   `json:"vpcId" required:"true" doc:"VPC of the targets"`
	Port    int      `json:"port" required:"true" doc:"target port"`
	Targets []string `json:"targets" required:"true" doc:"target IP addresses"`
}

// AWSCreateTargetGroupOut is the result of aws.elbv2.createTargetGroup.
type AWSCreateTargetGroupOut struct {
	TargetGroupARN string `json:"targetGroupArn" doc:"target group ARN"`
	Name           string `json:"name" doc:"target group name (tf-<hash of the idempotency key>)"`
}

// AWSTargetGroupIn names a target group.
type AWSTargetGroupIn struct {
	TargetGroupARN string `json:"targetGroupArn" required:"true" doc:"target group ARN"`
}

// AWSDeletedTargetGroupOut is the result of aws.elbv2.deleteTargetGroup.
type AWSDeletedTargetGroupOut struct {
	TargetGroupARN string `json:"targetGroupArn" doc:"target group ARN"`
	Deleted        bool   `json:"deleted" doc:"true once the target group is gone"`
}

// AWSCreateListenerIn are the inputs of aws.elbv2.createListener.
type AWSCreateListenerIn struct {
	LoadBalancerARN string `json:"loadBalancerArn" required:"true" doc:"load balancer ARN"`
	Port            int    `json:"port" required:"true" doc:"listener port"`
	TargetGroupARN  string `json:"targetGroupArn" required:"true" doc:"target group to forward to"`
}

// AWSCreateListenerOut is the result of aws.elbv2.createListener.
type AWSCreateListenerOut struct {
	ListenerARN string `json:"listenerArn" doc:"listener ARN"`
}

// AWSListenerIn names a listener.
type AWSListenerIn struct {
	ListenerARN string `json:"listenerArn" required:"true" doc:"listener ARN"`
}

// AWSDeletedListenerOut is the result of aws.elbv2.deleteListener.
type AWSDeletedListenerOut struct {
	ListenerARN string `json:"listenerArn" doc:"listener ARN"`
	Deleted     bool   `json:"deleted" doc:"true once the listener is gone"`
}

func init() {
	Register(Typed[AWSCreateLoadBalancerIn, AWSLoadBalancerOut](Action{
		Name: AWSELBCreateLoadBalancer, Provider: "aws",
		Title: "Create an internal network load balancer",
		Doc: "CreateLoadBalancer (Type network, Scheme internal) named tf-<hash of the idempotency key>; ELBv2 creates are " +
			"idempotent on identical settings, so a retry returns the same load balancer.",
		Inverse: &Inverse{
			Action: AWSELBDeleteLoadBalancer, Title: "Delete the network load balancer",
			Inputs: map[string]plan.Value{"loadBalancerArn": plan.Expr("output.loadBalancerArn")},
			// The SDK's LoadBalancersDeletedWaiter waits for LoadBalancerNotFound (elasticloadbalancingv2/api_op_DescribeLoadBalancers.go).
			WaitAction: AWSELBDescribeLoadBalancer, Wait: awsGone("active", "provisioning", "active_impaired", "failed"),
		},
	}))
	Register(Typed[AWSLoadBalancerIn, AWSLoadBalancerOut](Action{
		Name: AWSELBDescribeLoadBalancer, Provider: "aws", Read: true,
		Title: "Describe a network load balancer",
		// State provisioning → active (elasticloadbalancingv2/types/enums.go LoadBalancerStateEnum;
		// LoadBalancerAvailableWaiter in api_op_DescribeLoadBalancers.go retries on provisioning).
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"provisioning"}, Target: []string{"active"}, Failure: []string{"failed"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(20 * time.Minute)},
	}))
	Register(Typed[AWSLoadBalancerIn, AWSDeletedLoadBalancerOut](Action{
		Name: AWSELBDeleteLoadBalancer, Provider: "aws",
		Title: "Delete a network load balancer",
		Doc:   "DeleteLoadBalancer (its listeners go with it); a missing load balancer counts as done.",
	}))
	Register(Typed[AWSCreateTargetGroupIn, AWSCreateTargetGroupOut](Action{
		Name: AWSELBCreateTargetGroup, Provider: "aws",
		Title: "Create a TCP target group with IP targets",
		Doc: "CreateTargetGroup (TCP, TargetType ip) named tf-<hash of the idempotency key>, then RegisterTargets of the given " +
			"IPs on its port. The targets' security group must admit the load balancer's addresses (its VPC's CIDR).",
		Inverse: &Inverse{
			Action: AWSELBDeleteTargetGroup, Title: "Delete the target group",
			Inputs: map[string]plan.Value{"targetGroupArn": plan.Expr("output.targetGroupArn")},
		},
	}))
	Register(Typed[AWSTargetGroupIn, AWSDeletedTargetGroupOut](Action{
		Name: AWSELBDeleteTargetGroup, Provider: "aws",
		Title: "Delete a target group",
		Doc:   "DeleteTargetGroup; a missing target group counts as done; one still behind a listener is a retryable conflict.",
	}))
	Register(Typed[AWSCreateListenerIn, AWSCreateListenerOut](Action{
		Name: AWSELBCreateListener, Provider: "aws",
		Title: "Add a TCP listener to a network load balancer",
		Doc:   "CreateListener (TCP) forwarding the port to a target group; idempotent on identical settings.",
		Inverse: &Inverse{
			Action: AWSELBDeleteListener, Title: "Delete the listener",
			Inputs: map[string]plan.Value{"listenerArn": plan.Expr("output.listenerArn")},
		},
	}))
	Register(Typed[AWSListenerIn, AWSDeletedListenerOut](Action{
		Name: AWSELBDeleteListener, Provider: "aws",
		Title: "Delete a listener",
		Doc:   "DeleteListener; a missing listener counts as done.",
	}))
}
