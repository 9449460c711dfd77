package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The MSK VPC connection (multi-VPC private connectivity, the client's
// side): create, read and delete. Its waits are the descriptors'
// (catalog/aws_msk_vpcconnection.go).

func init() {
	register(catalog.AWSMSKCreateVpcConnection, (*Actions).CreateVpcConnection)
	register(catalog.AWSMSKDescribeVpcConnection, (*Actions).DescribeVpcConnection)
	register(catalog.AWSMSKDeleteVpcConnection, (*Actions).DeleteVpcConnection)
}

// vpcConnectionGone are states in which a VPC connection is not reused.
var vpcConnectionGone = map[kafkatypes.VpcConnectionState]bool{
	kafkatypes.VpcConnectionStateDeleting: true, kafkatypes.VpcConnectionStateFailed: true,
	kafkatypes.VpcConnectionStateRejected: true, kafkatypes.VpcConnectionStateRejecting: true,
}

// CreateVpcConnection creates a VPC connection from the client VPC (as the
// client account), tagged with the idempotency key; a connection an earlier
// attempt created is reused.
func (a *Actions) CreateVpcConnection(ctx context.Context, call plan.Call, in catalog.AWSCreateVpcConnectionIn) (catalog.AWSVpcConnectionStateOut, error) {
	var none catalog.AWSVpcConnectionStateOut
	arn, auth, vpc, subnets, groups := in.ClusterARN, in.Authentication, in.VpcID, in.SubnetIDs, in.SecurityGroupIDs
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.kafka()
	what := fmt.Sprintf("create VPC connection from %s to %s", vpc, arn)
	tag := shortHash(call.IdempotencyKey)
	p := kafka.NewListVpcConnectionsPaginator(c, &kafka.ListVpcConnectionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return none, s.classify(what+": look up an earlier attempt", err)
		}
		for _, vc := range page.VpcConnections {
			if awssdk.ToString(vc.TargetClusterArn) != arn || awssdk.ToString(vc.VpcId) != vpc || vpcConnectionGone[vc.State] {
				continue
			}
			d, err := c.DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: vc.VpcConnectionArn})
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return none, s.classify(what+": look up an earlier attempt", err)
			}
			if d.Tags[TagKey] == tag {
				return catalog.AWSVpcConnectionStateOut{VpcConnectionARN: awssdk.ToString(d.VpcConnectionArn), State: string(d.State)}, nil
			}
		}
	}
	out, err := c.CreateVpcConnection(ctx, &kafka.CreateVpcConnectionInput{TargetClusterArn: awssdk.String(arn), Authentication: awssdk.String(auth),
		VpcId: awssdk.String(vpc), ClientSubnets: subnets, SecurityGroups: groups, Tags: map[string]string{TagKey: tag}})
	if err != nil {
		return none, s.classify(what, err)
	}
	return catalog.AWSVpcConnectionStateOut{VpcConnectionARN: awssdk.ToString(out.VpcConnectionArn), State: string(out.State)}, nil
}

// DescribeVpcConnection reads a VPC connection's state.
func (a *Actions) DescribeVpcConnection(ctx context.Context, call plan.Call, in catalog.AWSVpcConnectionIn) (catalog.AWSDescribeVpcConnectionOut, error) {
	var none catalog.AWSDescribeVpcConnectionOut
	arn := in.VpcConnectionARN
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.kafka().DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: awssdk.String(arn)})
	if err != nil {
		return none, s.classify("describe VPC connection "+arn, err)
	}
	return catalog.AWSDescribeVpcConnectionOut{VpcConnectionARN: arn, State: string(out.State), VpcID: awssdk.ToString(out.VpcId), Subnets: append([]string{}, out.Subnets...)}, nil
}

// DeleteVpcConnection deletes a VPC connection; a missing one counts as deleted.
func (a *Actions) DeleteVpcConnection(ctx context.Context, call plan.Call, in catalog.AWSVpcConnectionIn) (catalog.AWSVpcConnectionStateOut, error) {
	var none catalog.AWSVpcConnectionStateOut
	arn := in.VpcConnectionARN
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	// A connection still CREATING (or REJECTING, DEACTIVATING) cannot be
	// deleted yet: MSK answers BadRequestException (the states:
	// aws-sdk-go-v2 service/kafka types/enums.go VpcConnectionState). An undo
	// that catches the forward create mid-way waits for it (a retryable
	// Conflict) instead of failing and leaving the connection behind (found
	// by make chaos: msk-multi-vpc-c1 rolled back while its connection was CREATING).
	if d, err := s.kafka().DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: awssdk.String(arn)}); isNotFound(err) {
		return catalog.AWSVpcConnectionStateOut{VpcConnectionARN: arn, State: "DELETED"}, nil
	} else if err == nil {
		switch d.State {
		case kafkatypes.VpcConnectionStateCreating, kafkatypes.VpcConnectionStateRejecting, kafkatypes.VpcConnectionStateDeactivating:
			return none, activities.Conflict("delete VPC connection %s as %s: it is %s; deleted once that ends", arn, call.Account, d.State)
		}
	}
	out, err := s.kafka().DeleteVpcConnection(ctx, &kafka.DeleteVpcConnectionInput{Arn: awssdk.String(arn)})
	if isNotFound(err) {
		return catalog.AWSVpcConnectionStateOut{VpcConnectionARN: arn, State: "DELETED"}, nil
	}
	if err != nil {
		return none, s.classify("delete VPC connection "+arn, err)
	}
	return catalog.AWSVpcConnectionStateOut{VpcConnectionARN: arn, State: string(out.State)}, nil
}
