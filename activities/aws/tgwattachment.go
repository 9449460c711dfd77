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

// The transit gateway VPC attachment: create (as the VPC owner), accept (as
// the transit gateway owner), read and delete. Its waits are the
// descriptors' (catalog/aws_tgw.go).

func init() {
	register(catalog.AWSEC2CreateTGWAttachment, (*Actions).CreateTGWAttachment)
	register(catalog.AWSEC2AcceptTGWAttachment, (*Actions).AcceptTGWAttachment)
	register(catalog.AWSEC2DescribeTGWAttachment, (*Actions).DescribeTGWAttachment)
	register(catalog.AWSEC2DeleteTGWAttachment, (*Actions).DeleteTGWAttachment)
}

func attachmentOut(t ec2types.TransitGatewayVpcAttachment) catalog.AWSTGWAttachmentOut {
	return catalog.AWSTGWAttachmentOut{AttachmentID: awssdk.ToString(t.TransitGatewayAttachmentId), State: string(t.State)}
}

var attachmentGone = map[string]bool{"deleted": true, "deleting": true, "rejected": true, "failed": true}

// CreateTGWAttachment attaches a VPC to a transit gateway, tagged with the
// idempotency key; an attachment an earlier attempt created is reused.
func (a *Actions) CreateTGWAttachment(ctx context.Context, call plan.Call, in catalog.AWSCreateTGWAttachmentIn) (catalog.AWSTGWAttachmentOut, error) {
	var none catalog.AWSTGWAttachmentOut
	tgw, vpc := in.TransitGatewayID, in.VpcID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.ec2()
	what := fmt.Sprintf("attach %s to %s", vpc, tgw)
	found, err := c.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{Filters: []ec2types.Filter{idemFilter(call.IdempotencyKey)}})
	if err != nil {
		return none, s.classify(what+": look up an earlier attempt", err)
	}
	for _, t := range found.TransitGatewayVpcAttachments {
		if !attachmentGone[string(t.State)] {
			return attachmentOut(t), nil
		}
	}
	out, err := c.CreateTransitGatewayVpcAttachment(ctx, &ec2.CreateTransitGatewayVpcAttachmentInput{
		TransitGatewayId: awssdk.String(tgw), VpcId: awssdk.String(vpc), SubnetIds: in.SubnetIDs,
		TagSpecifications: idemTags(ec2types.ResourceTypeTransitGatewayAttachment, call.IdempotencyKey, ""),
	})
	if err != nil {
		return none, s.classify(what, err)
	}
	return attachmentOut(*out.TransitGatewayVpcAttachment), nil
}

// findTGWAttachmentByID returns one attachment, or a NotFound error.
func (s *session) findTGWAttachmentByID(ctx context.Context, id string) (*ec2types.TransitGatewayVpcAttachment, error) {
	out, err := s.ec2().DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{TransitGatewayAttachmentIds: []string{id}})
	if err != nil {
		return nil, s.classify("describe transit gateway attachment "+id, err)
	}
	if len(out.TransitGatewayVpcAttachments) == 0 {
		return nil, activities.NotFound("describe transit gateway attachment %s as %s: not found", id, s.acct.Name)
	}
	return &out.TransitGatewayVpcAttachments[0], nil
}

// AcceptTGWAttachment accepts an attachment as the transit gateway owner; an accepted one counts as done.
func (a *Actions) AcceptTGWAttachment(ctx context.Context, call plan.Call, in catalog.AWSTGWAttachmentIn) (catalog.AWSTGWAttachmentOut, error) {
	var none catalog.AWSTGWAttachmentOut
	id := in.AttachmentID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	t, err := s.findTGWAttachmentByID(ctx, id)
	if err != nil {
		return none, err
	}
	if st := string(t.State); st != "pendingAcceptance" {
		if st == "pending" || st == "available" || st == "modifying" {
			return attachmentOut(*t), nil
		}
		return none, activities.Conflict("accept transit gateway attachment %s as %s: it is %s", id, s.acct.Name, st)
	}
	out, err := s.ec2().AcceptTransitGatewayVpcAttachment(ctx, &ec2.AcceptTransitGatewayVpcAttachmentInput{TransitGatewayAttachmentId: awssdk.String(id)})
	if err != nil {
		return none, s.classify("accept transit gateway attachment "+id, err)
	}
	return attachmentOut(*out.TransitGatewayVpcAttachment), nil
}

// DescribeTGWAttachment reads an attachment's state.
func (a *Actions) DescribeTGWAttachment(ctx context.Context, call plan.Call, in catalog.AWSTGWAttachmentIn) (catalog.AWSTGWAttachmentOut, error) {
	var none catalog.AWSTGWAttachmentOut
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	t, err := s.findTGWAttachmentByID(ctx, in.AttachmentID)
	if err != nil {
		return none, err
	}
	return attachmentOut(*t), nil
}

// DeleteTGWAttachment deletes an attachment; a missing one counts as deleted.
func (a *Actions) DeleteTGWAttachment(ctx context.Context, call plan.Call, in catalog.AWSTGWAttachmentIn) (catalog.AWSDeletedTGWAttachmentOut, error) {
	var none catalog.AWSDeletedTGWAttachmentOut
	id := in.AttachmentID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	_, err = s.ec2().DeleteTransitGatewayVpcAttachment(ctx, &ec2.DeleteTransitGatewayVpcAttachmentInput{TransitGatewayAttachmentId: awssdk.String(id)})
	if err != nil && !isNotFound(err) {
		return none, s.classify("delete transit gateway attachment "+id, err)
	}
	return catalog.AWSDeletedTGWAttachmentOut{AttachmentID: id, Deleted: true}, nil
}
