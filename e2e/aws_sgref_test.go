package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestAWSPeeringBySecurityGroupReference: runbook 002 §4.4's option: across
// accounts the brokers' security group admits the client's group by
// reference, <account ID>/sg-x (an EC2 UserIdGroupPair with UserId), not the
// client CIDR; the clients reach the brokers through the peering.
func TestAWSPeeringBySecurityGroupReference(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	// The client hosts of the twin carry their VPC's default group (every AWS VPC
	// has one: https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html);
	// the seed world gives client-b's VPC none, so the test adds it.
	const clientSG = "sg-0a5c00000defb001"
	if _, err := s.Sim().Inventory.Create(&inventory.SecurityGroup{
		Meta:  inventory.Meta{ID: clientSG, Account: "aws-client-b", Region: "eu-west-1", Name: "default"},
		VPCID: clientBVPC, Rules: []inventory.SGRule{{Direction: "egress", Ethertype: "IPv4", RemoteCIDR: "0.0.0.0/0"}},
	}); err != nil {
		t.Fatal(err)
	}
	p := compile(t, awsSpec("e2e-aws-sg-reference",
		"{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01], securityGroupId: 222222222222/"+clientSG+"}",
		"vpcPeering", "  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateApprove, "approve-peering")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	g, err := inventory.Get[*inventory.SecurityGroup](s.Sim().Inventory, mskSG)
	if err != nil {
		t.Fatal(err)
	}
	var byGroup, byCIDR bool
	for _, r := range g.Rules {
		if r.Direction != "ingress" || r.PortMin > 9092 || 9092 > r.PortMax {
			continue
		}
		byGroup = byGroup || r.RemoteGroupID == "222222222222/"+clientSG
		byCIDR = byCIDR || r.RemoteCIDR == "10.21.0.0/16"
	}
	if !byGroup || byCIDR {
		t.Fatalf("rules of %s: by group %v, by CIDR %v; want the group only: %+v", mskSG, byGroup, byCIDR, g.Rules)
	}
	if err := verifyFromVPC(s.Sim(), clientBVPC, "sg-ref"); err != nil {
		t.Fatalf("produce/consume from %s: %v", clientBVPC, err)
	}
}
