package aws

import (
	"context"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// Route 53 (a global service): the client, the ID forms and the change read
// (aws.route53.getChange) the zone and record actions return
// (hostedzone.go, record.go; catalog/aws_route53.go).

func init() {
	register(catalog.AWSR53GetChange, (*Actions).GetChange)
}

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

// GetChange reads a change's status (PENDING, INSYNC); an empty ID (nothing
// submitted by this attempt) reads as INSYNC.
func (a *Actions) GetChange(ctx context.Context, call plan.Call, in catalog.AWSGetChangeIn) (catalog.AWSChangeOut, error) {
	var none catalog.AWSChangeOut
	id := in.ChangeID
	if id == "" {
		return catalog.AWSChangeOut{ChangeID: "", Status: "INSYNC"}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.route53().GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String(id)})
	if err != nil {
		return none, s.classify("get change "+id, err)
	}
	ch, st := changeID(out.ChangeInfo)
	return catalog.AWSChangeOut{ChangeID: ch, Status: st}, nil
}
