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

// The TCP target group of IP targets (ELBv2): created with its targets
// registered, and deleted (catalog/aws_elbv2.go).

func init() {
	register(catalog.AWSELBCreateTargetGroup, (*Actions).CreateTargetGroup)
	register(catalog.AWSELBDeleteTargetGroup, (*Actions).DeleteTargetGroup)
}

// CreateTargetGroup creates a TCP target group of IP targets, named from the
// idempotency key, and registers the targets (ip on the group's port).
func (a *Actions) CreateTargetGroup(ctx context.Context, call plan.Call, in catalog.AWSCreateTargetGroupIn) (catalog.AWSCreateTargetGroupOut, error) {
	var none catalog.AWSCreateTargetGroupOut
	vpc, port, targets := in.VpcID, in.Port, in.Targets
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	name := resourceName(call.IdempotencyKey)
	c := s.elbv2()
	out, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: awssdk.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: awssdk.Int32(int32(port)), VpcId: awssdk.String(vpc),
		TargetType: elbtypes.TargetTypeEnumIp, Tags: []elbtypes.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(call.IdempotencyKey))}},
	})
	if err != nil {
		return none, s.classify("create target group "+name, err)
	}
	if len(out.TargetGroups) == 0 {
		return none, activities.NotFound("create target group %s as %s: empty answer", name, s.acct.Name)
	}
	arn := awssdk.ToString(out.TargetGroups[0].TargetGroupArn)
	var ts []elbtypes.TargetDescription
	for _, t := range targets {
		ts = append(ts, elbtypes.TargetDescription{Id: awssdk.String(t), Port: awssdk.Int32(int32(port))})
	}
	// Registering a registered target again changes nothing, so a retry is safe (api_op_RegisterTargets.go).
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: awssdk.String(arn), Targets: ts}); err != nil {
		return none, s.classify(fmt.Sprintf("register %v in target group %s", targets, arn), err)
	}
	return catalog.AWSCreateTargetGroupOut{TargetGroupARN: arn, Name: name}, nil
}

// DeleteTargetGroup deletes a target group; a missing one counts as done.
func (a *Actions) DeleteTargetGroup(ctx context.Context, call plan.Call, in catalog.AWSTargetGroupIn) (catalog.AWSDeletedTargetGroupOut, error) {
	var none catalog.AWSDeletedTargetGroupOut
	arn := in.TargetGroupARN
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	if _, err := s.elbv2().DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
		return none, s.classify("delete target group "+arn, err)
	}
	return catalog.AWSDeletedTargetGroupOut{TargetGroupARN: arn, Deleted: true}, nil
}
