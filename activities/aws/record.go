package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The Route 53 record set (one value): upsert and delete; the change they
// return is read by aws.route53.getChange (route53.go; catalog/aws_route53.go).

func init() {
	register(catalog.AWSR53UpsertRecord, (*Actions).UpsertRecord)
	register(catalog.AWSR53DeleteRecord, (*Actions).DeleteRecord)
}

// recordSet is the record set of the inputs (ttl 60 when not given).
func recordSet(in catalog.AWSRecordIn) r53types.ResourceRecordSet {
	ttl := 60
	if in.TTL != nil {
		ttl = *in.TTL
	}
	return r53types.ResourceRecordSet{Name: awssdk.String(in.Name), Type: r53types.RRType(strings.ToUpper(in.Type)), TTL: awssdk.Int64(int64(ttl)),
		ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String(in.Value)}}}
}

// UpsertRecord creates or replaces one record set (UPSERT is idempotent).
func (a *Actions) UpsertRecord(ctx context.Context, call plan.Call, in catalog.AWSRecordIn) (catalog.AWSChangeOut, error) {
	var none catalog.AWSChangeOut
	zone, rrs := in.HostedZoneID, recordSet(in)
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: awssdk.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rrs}}}})
	if err != nil {
		return none, s.classify(fmt.Sprintf("upsert %s %s in %s", rrs.Type, awssdk.ToString(rrs.Name), zone), err)
	}
	ch, st := changeID(out.ChangeInfo)
	return catalog.AWSChangeOut{ChangeID: ch, Status: st}, nil
}

// DeleteRecord deletes one record set; a record already gone counts as done
// (Route 53 answers InvalidChangeBatch "... but it was not found":
// api_op_ChangeResourceRecordSets.go).
func (a *Actions) DeleteRecord(ctx context.Context, call plan.Call, in catalog.AWSRecordIn) (catalog.AWSDeletedRecordOut, error) {
	var none catalog.AWSDeletedRecordOut
	zone, rrs := in.HostedZoneID, recordSet(in)
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	_, err = s.route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: awssdk.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: &rrs}}}})
	switch {
	case err == nil:
		return catalog.AWSDeletedRecordOut{Deleted: true}, nil
	case isNotFound(err) || (errorCode(err) == "InvalidChangeBatch" && strings.Contains(err.Error(), "not found")):
		return catalog.AWSDeletedRecordOut{Deleted: false}, nil
	}
	return none, s.classify(fmt.Sprintf("delete %s %s in %s", rrs.Type, awssdk.ToString(rrs.Name), zone), err)
}
