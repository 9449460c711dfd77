package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The Route 53 private hosted zone, associated with the client VPC at
// creation: create and delete (catalog/aws_route53.go).

func init() {
	register(catalog.AWSR53CreateHostedZone, (*Actions).CreateHostedZone)
	register(catalog.AWSR53DeleteHostedZone, (*Actions).DeleteHostedZone)
}

// CreateHostedZone creates a private hosted zone associated with a VPC. The
// CallerReference is derived from the idempotency key: a retry answers
// HostedZoneAlreadyExists (api_op_CreateHostedZone.go CallerReference) and
// the zone is then found by name and caller reference.
func (a *Actions) CreateHostedZone(ctx context.Context, call plan.Call, in catalog.AWSCreateHostedZoneIn) (catalog.AWSCreateHostedZoneOut, error) {
	var none catalog.AWSCreateHostedZoneOut
	name, vpc, region := in.Name, in.VpcID, in.VpcRegion
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	if region == "" {
		region = s.cfg.Region
	}
	ref := clientToken(call.IdempotencyKey)
	c := s.route53()
	out, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: awssdk.String(name), CallerReference: awssdk.String(ref),
		VPC:              &r53types.VPC{VPCId: awssdk.String(vpc), VPCRegion: r53types.VPCRegion(region)},
		HostedZoneConfig: &r53types.HostedZoneConfig{PrivateZone: true, Comment: awssdk.String("topoflow " + marker(call.IdempotencyKey))},
	})
	if err == nil {
		ch, st := changeID(out.ChangeInfo)
		return catalog.AWSCreateHostedZoneOut{HostedZoneID: zoneID(awssdk.ToString(out.HostedZone.Id)), Name: name, ChangeID: ch, Status: st}, nil
	}
	if errorCode(err) != "HostedZoneAlreadyExists" {
		return none, s.classify(fmt.Sprintf("create private hosted zone %s for %s", name, vpc), err)
	}
	list, lerr := c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: awssdk.String(name)})
	if lerr != nil {
		return none, s.classify("list hosted zones named "+name, lerr)
	}
	for _, z := range list.HostedZones {
		if awssdk.ToString(z.CallerReference) == ref {
			// The zone of an earlier attempt; its change was already submitted.
			return catalog.AWSCreateHostedZoneOut{HostedZoneID: zoneID(awssdk.ToString(z.Id)), Name: name, ChangeID: "", Status: "INSYNC"}, nil
		}
	}
	return none, activities.Conflict("create private hosted zone %s as %s: the caller reference is taken by a zone not named %s", name, s.acct.Name, name)
}

// DeleteHostedZone deletes a hosted zone; a missing one counts as done.
func (a *Actions) DeleteHostedZone(ctx context.Context, call plan.Call, in catalog.AWSHostedZoneIn) (catalog.AWSDeletedHostedZoneOut, error) {
	var none catalog.AWSDeletedHostedZoneOut
	id := in.HostedZoneID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	if _, err := s.route53().DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: awssdk.String(id)}); err != nil && !isNotFound(err) {
		return none, s.classify("delete hosted zone "+id, err)
	}
	return catalog.AWSDeletedHostedZoneOut{HostedZoneID: id, Deleted: true}, nil
}
