package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The TCP listener of a network load balancer (ELBv2): create and delete
// (catalog/aws_elbv2.go).

func init() {
	register(catalog.AWSELBCreateListener, (*Actions).CreateListener)
	register(catalog.AWSELBDeleteListener, (*Actions).DeleteListener)
}

// CreateListener adds a TCP listener forwarding a port to a target group.
func (a *Actions) CreateListener(ctx context.Context, call plan.Call, in catalog.AWSCreateListenerIn) (catalog.AWSCreateListenerOut, error) {
	var none catalog.AWSCreateListenerOut
	lb, tg, port := in.LoadBalancerARN, in.TargetGroupARN, in.Port
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.elbv2().CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: awssdk.String(lb), Protocol: elbtypes.ProtocolEnumTcp, Port: awssdk.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: awssdk.String(tg)}},
	})
	if err != nil {
		return none, s.classify(fmt.Sprintf("create listener %d on %s", port, lb), err)
	}
	if len(out.Listeners) == 0 {
		return none, activities.NotFound("create listener %d on %s as %s: empty answer", port, lb, s.acct.Name)
	}
	return catalog.AWSCreateListenerOut{ListenerARN: awssdk.ToString(out.Listeners[0].ListenerArn)}, nil
}

// DeleteListener deletes a listener; a missing one counts as done.
func (a *Actions) DeleteListener(ctx context.Context, call plan.Call, in catalog.AWSListenerIn) (catalog.AWSDeletedListenerOut, error) {
	var none catalog.AWSDeletedListenerOut
	arn := in.ListenerARN
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	if _, err := s.elbv2().DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return none, s.classify("delete listener "+arn, err)
	}
	return catalog.AWSDeletedListenerOut{ListenerARN: arn, Deleted: true}, nil
}
