package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// elbv2 returns an Elastic Load Balancing v2 client of the session.
func (s *session) elbv2() *elb.Client {
	return elb.NewFromConfig(s.cfg, func(o *elb.Options) {
		if ep, err := s.acct.Endpoint("elasticloadbalancing"); err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
}

// resourceName is the name of a load balancer or target group created for an
// idempotency key: "tf-" and 16 hex digits (names are at most 32
// alphanumerics or hyphens: api_op_CreateLoadBalancer.go Name). ELBv2
// creates are idempotent on identical settings, so a retry with the same
// name returns the same resource (api_op_CreateLoadBalancer.go,
// api_op_CreateTargetGroup.go, api_op_CreateListener.go).
func resourceName(key string) string { return "tf-" + shortHash(key) }

func lbOut(lb elbtypes.LoadBalancer) plan.Outputs {
	state := ""
	if lb.State != nil {
		state = string(lb.State.Code)
	}
	return plan.Outputs{"loadBalancerArn": awssdk.ToString(lb.LoadBalancerArn), "name": awssdk.ToString(lb.LoadBalancerName),
		"dnsName": awssdk.ToString(lb.DNSName), "state": state}
}

// CreateLoadBalancer creates an internal network load balancer in the given
// subnets, named from the idempotency key.
func (a *Actions) CreateLoadBalancer(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	subnets, err := activities.Strings(call, "subnetIds", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	name := resourceName(call.IdempotencyKey)
	out, err := s.elbv2().CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: awssdk.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: subnets, Tags: []elbtypes.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(call.IdempotencyKey))}},
	})
	if err != nil {
		return nil, s.classify("create network load balancer "+name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, activities.NotFound("create network load balancer %s as %s: empty answer", name, s.acct.Name)
	}
	return lbOut(out.LoadBalancers[0]), nil
}

// DescribeLoadBalancer reads a load balancer's state (provisioning, active, active_impaired, failed).
func (a *Actions) DescribeLoadBalancer(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "loadBalancerArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	out, err := s.elbv2().DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil {
		return nil, s.classify("describe load balancer "+arn, err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, activities.NotFound("describe load balancer %s as %s: not found", arn, s.acct.Name)
	}
	return lbOut(out.LoadBalancers[0]), nil
}

// DeleteLoadBalancer deletes a load balancer (and its listeners); a missing one counts as done.
func (a *Actions) DeleteLoadBalancer(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "loadBalancerArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	// "If the load balancer does not exist or has already been deleted, the call succeeds" (api_op_DeleteLoadBalancer.go).
	if _, err := s.elbv2().DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete load balancer "+arn, err)
	}
	return plan.Outputs{"loadBalancerArn": arn, "deleted": true}, nil
}

// CreateTargetGroup creates a TCP target group of IP targets, named from the
// idempotency key, and registers the targets (ip on the group's port).
func (a *Actions) CreateTargetGroup(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	vpc, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	port, err := activities.Int(call, "port", 0, true)
	if err != nil {
		return nil, err
	}
	targets, err := activities.Strings(call, "targets", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	name := resourceName(call.IdempotencyKey)
	c := s.elbv2()
	out, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: awssdk.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: awssdk.Int32(int32(port)), VpcId: awssdk.String(vpc),
		TargetType: elbtypes.TargetTypeEnumIp, Tags: []elbtypes.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(call.IdempotencyKey))}},
	})
	if err != nil {
		return nil, s.classify("create target group "+name, err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, activities.NotFound("create target group %s as %s: empty answer", name, s.acct.Name)
	}
	arn := awssdk.ToString(out.TargetGroups[0].TargetGroupArn)
	var ts []elbtypes.TargetDescription
	for _, t := range targets {
		ts = append(ts, elbtypes.TargetDescription{Id: awssdk.String(t), Port: awssdk.Int32(int32(port))})
	}
	// Registering a registered target again changes nothing, so a retry is safe (api_op_RegisterTargets.go).
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: awssdk.String(arn), Targets: ts}); err != nil {
		return nil, s.classify(fmt.Sprintf("register %v in target group %s", targets, arn), err)
	}
	return plan.Outputs{"targetGroupArn": arn, "name": name}, nil
}

// DeleteTargetGroup deletes a target group; a missing one counts as done.
func (a *Actions) DeleteTargetGroup(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "targetGroupArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	if _, err := s.elbv2().DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete target group "+arn, err)
	}
	return plan.Outputs{"targetGroupArn": arn, "deleted": true}, nil
}

// CreateListener adds a TCP listener forwarding a port to a target group.
func (a *Actions) CreateListener(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	lb, err := activities.String(call, "loadBalancerArn", true)
	if err != nil {
		return nil, err
	}
	tg, err := activities.String(call, "targetGroupArn", true)
	if err != nil {
		return nil, err
	}
	port, err := activities.Int(call, "port", 0, true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	out, err := s.elbv2().CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: awssdk.String(lb), Protocol: elbtypes.ProtocolEnumTcp, Port: awssdk.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: awssdk.String(tg)}},
	})
	if err != nil {
		return nil, s.classify(fmt.Sprintf("create listener %d on %s", port, lb), err)
	}
	if len(out.Listeners) == 0 {
		return nil, activities.NotFound("create listener %d on %s as %s: empty answer", port, lb, s.acct.Name)
	}
	return plan.Outputs{"listenerArn": awssdk.ToString(out.Listeners[0].ListenerArn)}, nil
}

// DeleteListener deletes a listener; a missing one counts as done.
func (a *Actions) DeleteListener(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "listenerArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	if _, err := s.elbv2().DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete listener "+arn, err)
	}
	return plan.Outputs{"listenerArn": arn, "deleted": true}, nil
}
