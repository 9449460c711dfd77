package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The internal network load balancer (ELBv2): create, read and delete. Its
// waits are the descriptors' (catalog/aws_elbv2.go).

func init() {
	register(catalog.AWSELBCreateLoadBalancer, (*Actions).CreateLoadBalancer)
	register(catalog.AWSELBDescribeLoadBalancer, (*Actions).DescribeLoadBalancer)
	register(catalog.AWSELBDeleteLoadBalancer, (*Actions).DeleteLoadBalancer)
}

func lbOut(lb elbtypes.LoadBalancer) catalog.AWSLoadBalancerOut {
	state := ""
	if lb.State != nil {
		state = string(lb.State.Code)
	}
	return catalog.AWSLoadBalancerOut{LoadBalancerARN: awssdk.ToString(lb.LoadBalancerArn), Name: awssdk.ToString(lb.LoadBalancerName),
		DNSName: awssdk.ToString(lb.DNSName), State: state}
}

// CreateLoadBalancer creates an internal network load balancer in the given
// subnets, named from the idempotency key.
func (a *Actions) CreateLoadBalancer(ctx context.Context, call plan.Call, in catalog.AWSCreateLoadBalancerIn) (catalog.AWSLoadBalancerOut, error) {
	var none catalog.AWSLoadBalancerOut
	subnets := in.SubnetIDs
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	name := resourceName(call.IdempotencyKey)
	out, err := s.elbv2().CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: awssdk.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: subnets, Tags: []elbtypes.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(call.IdempotencyKey))}},
	})
	if err != nil {
		return none, s.classify("create network load balancer "+name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return none, activities.NotFound("create network load balancer %s as %s: empty answer", name, s.acct.Name)
	}
	return lbOut(out.LoadBalancers[0]), nil
}

// DescribeLoadBalancer reads a load balancer's state (provisioning, active, active_impaired, failed).
func (a *Actions) DescribeLoadBalancer(ctx context.Context, call plan.Call, in catalog.AWSLoadBalancerIn) (catalog.AWSLoadBalancerOut, error) {
	var none catalog.AWSLoadBalancerOut
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	lb, err := s.findLoadBalancerByARN(ctx, in.LoadBalancerARN)
	if err != nil {
		return none, err
	}
	return lbOut(*lb), nil
}

// findLoadBalancerByARN returns one load balancer, or a NotFound error
// (LoadBalancerNotFound is classified NotFound too).
func (s *session) findLoadBalancerByARN(ctx context.Context, arn string) (*elbtypes.LoadBalancer, error) {
	out, err := s.elbv2().DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil {
		return nil, s.classify("describe load balancer "+arn, err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, activities.NotFound("describe load balancer %s as %s: not found", arn, s.acct.Name)
	}
	return &out.LoadBalancers[0], nil
}

// DeleteLoadBalancer deletes a load balancer (and its listeners); a missing one counts as done.
func (a *Actions) DeleteLoadBalancer(ctx context.Context, call plan.Call, in catalog.AWSLoadBalancerIn) (catalog.AWSDeletedLoadBalancerOut, error) {
	var none catalog.AWSDeletedLoadBalancerOut
	arn := in.LoadBalancerARN
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	// "If the load balancer does not exist or has already been deleted, the call succeeds" (api_op_DeleteLoadBalancer.go).
	if _, err := s.elbv2().DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return none, s.classify("delete load balancer "+arn, err)
	}
	return catalog.AWSDeletedLoadBalancerOut{LoadBalancerARN: arn, Deleted: true}, nil
}
