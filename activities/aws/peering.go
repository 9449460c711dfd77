package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC peering connection: request (as the requester), accept (as the
// accepter, in its region), read and delete. Its waits are the descriptors'
// (catalog/aws_peering.go).

func init() {
	register(catalog.AWSEC2CreateVpcPeering, (*Actions).CreateVpcPeering)
	register(catalog.AWSEC2AcceptVpcPeering, (*Actions).AcceptVpcPeering)
	register(catalog.AWSEC2DescribeVpcPeering, (*Actions).DescribeVpcPeering)
	register(catalog.AWSEC2DeleteVpcPeering, (*Actions).DeleteVpcPeering)
}

// peeringGone are the terminal peering states in which nothing is left to undo.
var peeringGone = map[string]bool{"deleted": true, "deleting": true, "rejected": true, "failed": true, "expired": true}

func peeringOut(p ec2types.VpcPeeringConnection) catalog.AWSPeeringOut {
	out := catalog.AWSPeeringOut{PeeringID: awssdk.ToString(p.VpcPeeringConnectionId)}
	if p.Status != nil {
		out.Status = awssdk.String(string(p.Status.Code))
		out.StatusMessage = awssdk.String(awssdk.ToString(p.Status.Message))
	}
	if p.RequesterVpcInfo != nil {
		out.RequesterVpcID = awssdk.String(awssdk.ToString(p.RequesterVpcInfo.VpcId))
		if p.RequesterVpcInfo.OwnerId != nil {
			out.RequesterOwnerID = awssdk.String(*p.RequesterVpcInfo.OwnerId)
		}
	}
	if p.AccepterVpcInfo != nil {
		out.AccepterVpcID = awssdk.String(awssdk.ToString(p.AccepterVpcInfo.VpcId))
	}
	return out
}

// noPeering is the zero result of the peering actions' errors.
var noPeering catalog.AWSPeeringOut

// CreateVpcPeering requests a VPC peering (PeerOwnerId, PeerRegion), tagged
// with the idempotency key; a peering an earlier attempt created is reused.
func (a *Actions) CreateVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSCreateVpcPeeringIn) (catalog.AWSPeeringOut, error) {
	vpc, peerVpc, peerAccount, peerRegion, name := in.VpcID, in.PeerVpcID, in.PeerAccount, in.PeerRegion, in.Name
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return noPeering, err
	}
	c := s.ec2()
	what := fmt.Sprintf("create VPC peering %s → %s", vpc, peerVpc)
	found, err := c.DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{Filters: []ec2types.Filter{
		idemFilter(call.IdempotencyKey), {Name: awssdk.String("requester-vpc-info.vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return noPeering, s.classify(what+": look up an earlier attempt", err)
	}
	for _, p := range found.VpcPeeringConnections {
		if p.Status != nil && !peeringGone[string(p.Status.Code)] {
			return peeringOut(p), nil
		}
	}
	req := &ec2.CreateVpcPeeringConnectionInput{VpcId: awssdk.String(vpc), PeerVpcId: awssdk.String(peerVpc),
		TagSpecifications: idemTags(ec2types.ResourceTypeVpcPeeringConnection, call.IdempotencyKey, name)}
	if peerAccount != "" && peerAccount != s.acct.Name {
		id, err := a.accountID(call, peerAccount)
		if err != nil {
			return noPeering, err
		}
		req.PeerOwnerId = awssdk.String(id)
	}
	if in.PeerOwnerID != "" {
		if peerAccount != "" {
			return noPeering, activities.Invalid("%s: give peerAccount or peerOwnerId, not both", call.Action)
		}
		// PeerOwnerId: the accepter's AWS account ID (aws-sdk-go-v2 service/ec2 api_op_CreateVpcPeeringConnection.go).
		req.PeerOwnerId = awssdk.String(in.PeerOwnerID)
	}
	if peerRegion != "" {
		req.PeerRegion = awssdk.String(peerRegion)
	}
	out, err := c.CreateVpcPeeringConnection(ctx, req)
	if err != nil {
		return noPeering, s.classify(what, err)
	}
	return peeringOut(*out.VpcPeeringConnection), nil
}

// findPeeringByID returns one peering, or a NotFound error.
func (s *session) findPeeringByID(ctx context.Context, id string) (*ec2types.VpcPeeringConnection, error) {
	out, err := s.ec2().DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{id}})
	if err != nil {
		return nil, s.classify("describe VPC peering "+id, err)
	}
	if len(out.VpcPeeringConnections) == 0 {
		return nil, activities.NotFound("describe VPC peering %s as %s: not found", id, s.acct.Name)
	}
	return &out.VpcPeeringConnections[0], nil
}

// AcceptVpcPeering accepts a peering as the accepter account in its region;
// an already accepted peering counts as done.
func (a *Actions) AcceptVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSPeeringIn) (catalog.AWSPeeringOut, error) {
	id, region := in.PeeringID, in.Region
	s, err := a.session(ctx, call, "", region)
	if err != nil {
		return noPeering, err
	}
	p, err := s.findPeeringByID(ctx, id)
	if err != nil {
		return noPeering, err
	}
	switch st := string(p.Status.Code); st {
	case "active", "provisioning":
		return peeringOut(*p), nil
	case "initiating-request":
		return noPeering, activities.Conflict("accept VPC peering %s as %s: it is still %s", id, s.acct.Name, st)
	case "pending-acceptance":
	default:
		return noPeering, activities.Invalid("accept VPC peering %s as %s: it is %s (%s)", id, s.acct.Name, st, awssdk.ToString(p.Status.Message))
	}
	out, err := s.ec2().AcceptVpcPeeringConnection(ctx, &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: awssdk.String(id)})
	if err != nil {
		return noPeering, s.classify("accept VPC peering "+id, err)
	}
	return peeringOut(*out.VpcPeeringConnection), nil
}

// DescribeVpcPeering reads a peering's status.
func (a *Actions) DescribeVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSPeeringIn) (catalog.AWSPeeringOut, error) {
	id, region := in.PeeringID, in.Region
	s, err := a.session(ctx, call, "", region)
	if err != nil {
		return noPeering, err
	}
	p, err := s.findPeeringByID(ctx, id)
	if err != nil {
		return noPeering, err
	}
	return peeringOut(*p), nil
}

// DeleteVpcPeering deletes a peering; a missing or finished one counts as deleted.
func (a *Actions) DeleteVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSDeleteVpcPeeringIn) (catalog.AWSDeletedPeeringOut, error) {
	id := in.PeeringID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return catalog.AWSDeletedPeeringOut{}, err
	}
	done := catalog.AWSDeletedPeeringOut{PeeringID: id, Deleted: true}
	p, err := s.findPeeringByID(ctx, id)
	if isTyped(err, plan.ErrNotFound) {
		return done, nil
	}
	if err != nil {
		return catalog.AWSDeletedPeeringOut{}, err
	}
	if peeringGone[string(p.Status.Code)] {
		return done, nil
	}
	if _, err := s.ec2().DeleteVpcPeeringConnection(ctx, &ec2.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: awssdk.String(id)}); err != nil && !isNotFound(err) {
		return catalog.AWSDeletedPeeringOut{}, s.classify("delete VPC peering "+id, err)
	}
	return done, nil
}
