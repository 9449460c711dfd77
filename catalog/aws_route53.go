package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS Route 53 for the MSK PrivateLink pattern (a private hosted zone in the
// client VPC mapping each broker name to its interface endpoint): the
// contracts and descriptors of aws.route53.*.
const (
	AWSR53CreateHostedZone = "aws.route53.createHostedZone"
	AWSR53DeleteHostedZone = "aws.route53.deleteHostedZone"
	AWSR53UpsertRecord     = "aws.route53.upsertRecord"
	AWSR53DeleteRecord     = "aws.route53.deleteRecord"
	AWSR53GetChange        = "aws.route53.getChange"
)

// AWSCreateHostedZoneIn are the inputs of aws.route53.createHostedZone.
type AWSCreateHostedZoneIn struct {
	Name      string `json:"name" required:"true" doc:"zone domain"`
	VpcID     string `json:"vpcId" required:"true" doc:"VPC to associate"`
	VpcRegion string `json:"vpcRegion" doc:"the VPC's region (default: the account's)"`
}

// AWSCreateHostedZoneOut is the result of aws.route53.createHostedZone.
type AWSCreateHostedZoneOut struct {
	HostedZoneID string `json:"hostedZoneId" doc:"hosted zone ID (without /hostedzone/)"`
	Name         string `json:"name" doc:"zone domain"`
	ChangeID     string `json:"changeId" doc:"the creation's change (empty when an earlier attempt submitted it)"`
	Status       string `json:"status" doc:"the change's status: PENDING or INSYNC"`
}

// AWSHostedZoneIn names a hosted zone.
type AWSHostedZoneIn struct {
	HostedZoneID string `json:"hostedZoneId" required:"true" doc:"hosted zone ID"`
}

// AWSDeletedHostedZoneOut is the result of aws.route53.deleteHostedZone.
type AWSDeletedHostedZoneOut struct {
	HostedZoneID string `json:"hostedZoneId" doc:"hosted zone ID"`
	Deleted      bool   `json:"deleted" doc:"true once the zone is gone"`
}

// AWSRecordIn are the inputs of aws.route53.upsertRecord and aws.route53.deleteRecord.
type AWSRecordIn struct {
	HostedZoneID string `json:"hostedZoneId" required:"true" doc:"hosted zone ID"`
	Name         string `json:"name" required:"true" doc:"record name"`
	Type         string `json:"type" required:"true" doc:"A or CNAME"`
	Value        string `json:"value" required:"true" doc:"record value"`
	TTL          *int   `json:"ttl" doc:"TTL in seconds (default 60)"`
}

// AWSChangeOut is a Route 53 change as upsertRecord and getChange return it.
type AWSChangeOut struct {
	ChangeID string `json:"changeId" doc:"change ID (without /change/)"`
	Status   string `json:"status" doc:"PENDING or INSYNC"`
}

// AWSDeletedRecordOut is the result of aws.route53.deleteRecord.
type AWSDeletedRecordOut struct {
	Deleted bool `json:"deleted" doc:"false when the record was already gone"`
}

// AWSGetChangeIn are the inputs of aws.route53.getChange.
type AWSGetChangeIn struct {
	ChangeID string `json:"changeId" doc:"change ID"`
}

func init() {
	Register(Typed[AWSCreateHostedZoneIn, AWSCreateHostedZoneOut](Action{
		Name: AWSR53CreateHostedZone, Provider: "aws",
		Title: "Create a Route 53 private hosted zone for a VPC",
		Doc: "CreateHostedZone (private, associated with the VPC at creation) with a CallerReference derived from the idempotency " +
			"key; a retry finds the zone by name and caller reference. Inside the VPC the zone answers for its whole namespace.",
		Inverse: &Inverse{
			Action: AWSR53DeleteHostedZone, Title: "Delete the private hosted zone",
			Inputs: map[string]plan.Value{"hostedZoneId": plan.Expr("output.hostedZoneId")},
		},
	}))
	Register(Typed[AWSHostedZoneIn, AWSDeletedHostedZoneOut](Action{
		Name: AWSR53DeleteHostedZone, Provider: "aws",
		Title: "Delete a Route 53 hosted zone",
		Doc:   "DeleteHostedZone (which also ends its VPC associations); a missing zone counts as done; HostedZoneNotEmpty is a retryable conflict.",
	}))
	Register(Typed[AWSRecordIn, AWSChangeOut](Action{
		Name: AWSR53UpsertRecord, Provider: "aws",
		Title: "Create or replace a Route 53 record",
		Doc:   "ChangeResourceRecordSets UPSERT of one record (idempotent); returns the change to wait for.",
		Inverse: &Inverse{
			Action: AWSR53DeleteRecord, Title: "Delete the record",
			Inputs: map[string]plan.Value{"hostedZoneId": plan.Expr("input.hostedZoneId"), "name": plan.Expr("input.name"),
				"type": plan.Expr("input.type"), "value": plan.Expr("input.value"), "ttl": plan.Expr("input.ttl")},
		},
	}))
	Register(Typed[AWSRecordIn, AWSDeletedRecordOut](Action{
		Name: AWSR53DeleteRecord, Provider: "aws",
		Title: "Delete a Route 53 record",
		Doc:   "ChangeResourceRecordSets DELETE of one record with its current values; a record already gone counts as done.",
	}))
	Register(Typed[AWSGetChangeIn, AWSChangeOut](Action{
		Name: AWSR53GetChange, Provider: "aws", Read: true,
		Title: "Read a Route 53 change",
		Doc:   "GetChange; PENDING until the change has propagated to the Route 53 DNS servers, then INSYNC. An empty ID reads INSYNC.",
		// ChangeStatus PENDING | INSYNC (route53/types/enums.go; ResourceRecordSetsChangedWaiter in api_op_GetChange.go).
		Wait: &plan.Wait{StatusPath: "status", Pending: []string{"PENDING"}, Target: []string{"INSYNC"},
			PollInterval: plan.D(10 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
}
