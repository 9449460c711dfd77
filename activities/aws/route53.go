package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// route53 returns a Route 53 client of the session (a global service,
// signed for us-east-1 whatever the account's region:
// aws-sdk-go-v2/service/route53/endpoints.go).
func (s *session) route53() *route53.Client {
	cfg := s.cfg.Copy()
	cfg.Region = "us-east-1"
	return route53.NewFromConfig(cfg, func(o *route53.Options) {
		if ep, err := s.acct.Endpoint("route53"); err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
}

func zoneID(id string) string { return strings.TrimPrefix(id, "/hostedzone/") }

func changeID(ci *r53types.ChangeInfo) (string, string) {
	if ci == nil {
		return "", ""
	}
	return strings.TrimPrefix(awssdk.ToString(ci.Id), "/change/"), string(ci.Status)
}

// CreateHostedZone creates a private hosted zone associated with a VPC. The
// CallerReference is derived from the idempotency key: a retry answers
// HostedZoneAlreadyExists (api_op_CreateHostedZone.go CallerReference) and
// the zone is then found by name and caller reference.
func (a *Actions) CreateHostedZone(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	name, err := activities.String(call, "name", true)
	if err != nil {
		return nil, err
	}
	vpc, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	region, err := activities.String(call, "vpcRegion", false)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
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
		return plan.Outputs{"hostedZoneId": zoneID(awssdk.ToString(out.HostedZone.Id)), "name": name, "changeId": ch, "status": st}, nil
	}
	if errorCode(err) != "HostedZoneAlreadyExists" {
		return nil, s.classify(fmt.Sprintf("create private hosted zone %s for %s", name, vpc), err)
	}
	list, lerr := c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: awssdk.String(name)})
	if lerr != nil {
		return nil, s.classify("list hosted zones named "+name, lerr)
	}
	for _, z := range list.HostedZones {
		if awssdk.ToString(z.CallerReference) == ref {
			// The zone of an earlier attempt; its change was already submitted.
			return plan.Outputs{"hostedZoneId": zoneID(awssdk.ToString(z.Id)), "name": name, "changeId": "", "status": "INSYNC"}, nil
		}
	}
	return nil, activities.Conflict("create private hosted zone %s as %s: the caller reference is taken by a zone not named %s", name, s.acct.Name, name)
}

// DeleteHostedZone deletes a hosted zone; a missing one counts as done.
func (a *Actions) DeleteHostedZone(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "hostedZoneId", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	if _, err := s.route53().DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: awssdk.String(id)}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete hosted zone "+id, err)
	}
	return plan.Outputs{"hostedZoneId": id, "deleted": true}, nil
}

// recordInput reads hostedZoneId, name, type, value and ttl.
func recordInput(call plan.Call) (zone string, rrs r53types.ResourceRecordSet, err error) {
	if zone, err = activities.String(call, "hostedZoneId", true); err != nil {
		return
	}
	name, err := activities.String(call, "name", true)
	if err != nil {
		return
	}
	typ, err := activities.String(call, "type", true)
	if err != nil {
		return
	}
	value, err := activities.String(call, "value", true)
	if err != nil {
		return
	}
	ttl, err := activities.Int(call, "ttl", 60, false)
	if err != nil {
		return
	}
	rrs = r53types.ResourceRecordSet{Name: awssdk.String(name), Type: r53types.RRType(strings.ToUpper(typ)), TTL: awssdk.Int64(int64(ttl)),
		ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String(value)}}}
	return
}

// UpsertRecord creates or replaces one record set (UPSERT is idempotent).
func (a *Actions) UpsertRecord(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	zone, rrs, err := recordInput(call)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	out, err := s.route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: awssdk.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rrs}}}})
	if err != nil {
		return nil, s.classify(fmt.Sprintf("upsert %s %s in %s", rrs.Type, awssdk.ToString(rrs.Name), zone), err)
	}
	ch, st := changeID(out.ChangeInfo)
	return plan.Outputs{"changeId": ch, "status": st}, nil
}

// DeleteRecord deletes one record set; a record already gone counts as done
// (Route 53 answers InvalidChangeBatch "... but it was not found":
// api_op_ChangeResourceRecordSets.go).
func (a *Actions) DeleteRecord(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	zone, rrs, err := recordInput(call)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	_, err = s.route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: awssdk.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &rrs}}}})
	switch {
	case err == nil:
		return plan.Outputs{"deleted": true}, nil
	case isNotFound(err) || (errorCode(err) == "InvalidChangeBatch" && strings.Contains(err.Error(), "not found")):
		return plan.Outputs{"deleted": false}, nil
	}
	return nil, s.classify(fmt.Sprintf("delete %s %s in %s", rrs.Type, awssdk.ToString(rrs.Name), zone), err)
}

// GetChange reads a change's status (PENDING, INSYNC); an empty ID (nothing
// submitted by this attempt) reads as INSYNC.
func (a *Actions) GetChange(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "changeId", false)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return plan.Outputs{"changeId": "", "status": "INSYNC"}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	out, err := s.route53().GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String(id)})
	if err != nil {
		return nil, s.classify("get change "+id, err)
	}
	ch, st := changeID(out.ChangeInfo)
	return plan.Outputs{"changeId": ch, "status": st}, nil
}
