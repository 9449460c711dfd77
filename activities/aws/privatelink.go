package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// unsuccessful turns the first failed item of a batch EC2 call into an
// error; items whose resource does not exist are ignored when okMissing.
func (s *session) unsuccessful(what string, items []ec2types.UnsuccessfulItem, okMissing bool) error {
	for _, it := range items {
		if it.Error == nil {
			continue
		}
		code := awssdk.ToString(it.Error.Code)
		if okMissing && (len(code) > 9 && code[len(code)-9:] == ".NotFound") {
			continue
		}
		return s.classify(what, &itemError{code: code, msg: awssdk.ToString(it.Error.Message), id: awssdk.ToString(it.ResourceId)})
	}
	return nil
}

// itemError is a failed item of a batch call, as a smithy.APIError.
type itemError struct{ code, msg, id string }

func (e *itemError) Error() string { return fmt.Sprintf("%s: %s: %s", e.id, e.code, e.msg) }

// ErrorCode implements smithy.APIError.
func (e *itemError) ErrorCode() string { return e.code }

// ErrorMessage implements smithy.APIError.
func (e *itemError) ErrorMessage() string { return e.msg }

// ErrorFault implements smithy.APIError.
func (e *itemError) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

// --- transit gateway ---

func attachmentOut(t ec2types.TransitGatewayVpcAttachment) plan.Outputs {
	return plan.Outputs{"attachmentId": awssdk.ToString(t.TransitGatewayAttachmentId), "state": string(t.State)}
}

var attachmentGone = map[string]bool{"deleted": true, "deleting": true, "rejected": true, "failed": true}

// CreateTGWAttachment attaches a VPC to a transit gateway, tagged with the
// idempotency key; an attachment an earlier attempt created is reused.
func (a *Actions) CreateTGWAttachment(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	tgw, err := activities.String(call, "transitGatewayId", true)
	if err != nil {
		return nil, err
	}
	vpc, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	subnets, err := activities.Strings(call, "subnetIds", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c := s.ec2()
	what := fmt.Sprintf("attach %s to %s", vpc, tgw)
	found, err := c.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{Filters: []ec2types.Filter{idemFilter(call.IdempotencyKey)}})
	if err != nil {
		return nil, s.classify(what+": look up an earlier attempt", err)
	}
	for _, t := range found.TransitGatewayVpcAttachments {
		if !attachmentGone[string(t.State)] {
			return attachmentOut(t), nil
		}
	}
	out, err := c.CreateTransitGatewayVpcAttachment(ctx, &ec2.CreateTransitGatewayVpcAttachmentInput{
		TransitGatewayId: awssdk.String(tgw), VpcId: awssdk.String(vpc), SubnetIds: subnets,
		TagSpecifications: idemTags(ec2types.ResourceTypeTransitGatewayAttachment, call.IdempotencyKey, ""),
	})
	if err != nil {
		return nil, s.classify(what, err)
	}
	return attachmentOut(*out.TransitGatewayVpcAttachment), nil
}

func (s *session) describeAttachment(ctx context.Context, id string) (*ec2types.TransitGatewayVpcAttachment, error) {
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
func (a *Actions) AcceptTGWAttachment(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "attachmentId", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	t, err := s.describeAttachment(ctx, id)
	if err != nil {
		return nil, err
	}
	if st := string(t.State); st != "pendingAcceptance" {
		if st == "pending" || st == "available" || st == "modifying" {
			return attachmentOut(*t), nil
		}
		return nil, activities.Conflict("accept transit gateway attachment %s as %s: it is %s", id, s.acct.Name, st)
	}
	out, err := s.ec2().AcceptTransitGatewayVpcAttachment(ctx, &ec2.AcceptTransitGatewayVpcAttachmentInput{TransitGatewayAttachmentId: awssdk.String(id)})
	if err != nil {
		return nil, s.classify("accept transit gateway attachment "+id, err)
	}
	return attachmentOut(*out.TransitGatewayVpcAttachment), nil
}

// DescribeTGWAttachment reads an attachment's state.
func (a *Actions) DescribeTGWAttachment(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "attachmentId", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	t, err := s.describeAttachment(ctx, id)
	if err != nil {
		return nil, err
	}
	return attachmentOut(*t), nil
}

// DeleteTGWAttachment deletes an attachment; a missing one counts as deleted.
func (a *Actions) DeleteTGWAttachment(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "attachmentId", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	_, err = s.ec2().DeleteTransitGatewayVpcAttachment(ctx, &ec2.DeleteTransitGatewayVpcAttachmentInput{TransitGatewayAttachmentId: awssdk.String(id)})
	if err != nil && !isNotFound(err) {
		return nil, s.classify("delete transit gateway attachment "+id, err)
	}
	return plan.Outputs{"attachmentId": id, "deleted": true}, nil
}

// CreateTGWRoute adds a static route to a transit gateway route table; an
// existing route to the same attachment is reused (created only when an
// earlier attempt of this step made it).
func (a *Actions) CreateTGWRoute(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	rtb, err := activities.String(call, "routeTableId", true)
	if err != nil {
		return nil, err
	}
	dest, err := activities.String(call, "destination", true)
	if err != nil {
		return nil, err
	}
	att, err := activities.String(call, "attachmentId", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c := s.ec2()
	prior, tried := priorAttempt(ctx)
	remember(ctx, prior)
	what := fmt.Sprintf("route %s → %s in %s", dest, att, rtb)
	out := plan.Outputs{"routeTableId": rtb, "destination": dest, "created": true}
	_, err = c.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{TransitGatewayRouteTableId: awssdk.String(rtb),
		DestinationCidrBlock: awssdk.String(dest), TransitGatewayAttachmentId: awssdk.String(att)})
	if err == nil {
		return out, nil
	}
	if errorCode(err) != "RouteAlreadyExists" {
		return nil, s.classify(what, err)
	}
	routes, serr := c.SearchTransitGatewayRoutes(ctx, &ec2.SearchTransitGatewayRoutesInput{TransitGatewayRouteTableId: awssdk.String(rtb),
		Filters: []ec2types.Filter{{Name: awssdk.String("route-search.exact-match"), Values: []string{dest}}}})
	if serr != nil {
		return nil, s.classify(what+": read the existing route", serr)
	}
	for _, r := range routes.Routes {
		if awssdk.ToString(r.DestinationCidrBlock) != dest {
			continue
		}
		for _, ra := range r.TransitGatewayAttachments {
			if awssdk.ToString(ra.TransitGatewayAttachmentId) == att {
				out["created"] = tried
				return out, nil
			}
		}
		return nil, activities.Invalid("%s as %s: the route table already routes %s elsewhere", what, s.acct.Name, dest)
	}
	return nil, s.classify(what, err)
}

// DeleteTGWRoute deletes a transit gateway route; created=false skips it, a missing route counts as deleted.
func (a *Actions) DeleteTGWRoute(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	rtb, err := activities.String(call, "routeTableId", true)
	if err != nil {
		return nil, err
	}
	dest, err := activities.String(call, "destination", true)
	if err != nil {
		return nil, err
	}
	created, err := activities.Bool(call, "created", true)
	if err != nil {
		return nil, err
	}
	if !created {
		return plan.Outputs{"deleted": false}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	_, err = s.ec2().DeleteTransitGatewayRoute(ctx, &ec2.DeleteTransitGatewayRouteInput{TransitGatewayRouteTableId: awssdk.String(rtb), DestinationCidrBlock: awssdk.String(dest)})
	if err != nil && !isNotFound(err) {
		return nil, s.classify(fmt.Sprintf("delete transit gateway route %s in %s", dest, rtb), err)
	}
	return plan.Outputs{"deleted": true}, nil
}
