package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// The plan Topoflow compiled for PrivateLink before it followed an AWS
// pattern (testdata/aws-privatelink-shared-nlb.plan.json: one endpoint
// service on a shared NLB with a listener per broker, verify through the
// endpoint's DNS name) cannot work on AWS: an NLB forwards bytes unchanged,
// so the bootstrap answers, but the metadata names the brokers'
// b-N...amazonaws.com:9092, which resolve (public DNS) to private IPs of the
// MSK VPC that the client VPC has no route to. The twin no longer rewrites
// metadata, so that plan fails verify and rolls back.
func TestAWSPrivateLinkSharedNLBPlanFailsVerify(t *testing.T) {
	s := awsStack(t)
	sim := s.Sim()
	raw, err := os.ReadFile(filepath.Join("testdata", "aws-privatelink-shared-nlb.plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	for i := range p.Steps {
		if w := p.Steps[i].Wait; w != nil {
			w.PollInterval, w.Timeout = plan.D(200*time.Millisecond), plan.D(2*time.Minute)
		}
		if p.Steps[i].ID == "verify" {
			p.Steps[i].Timeout = plan.D(20 * time.Second)
		}
	}
	run := startPlan(t, s, &p)
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = run.Get(ctx, nil)
	if err == nil {
		t.Fatal("the shared-NLB PrivateLink plan verified: something rewrites the brokers' metadata")
	}
	if msg := err.Error(); !strings.Contains(msg, "verify") {
		t.Fatalf("the request failed, but not at verify: %v", err)
	}
	// The rollback removes the endpoint and the endpoint service.
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := 0
		for _, x := range inventory.List[*inventory.Endpoint](sim.Inventory, inventory.Filter{}) {
			if x.Attrs["awsType"] == "vpc-endpoint" {
				left++
			}
		}
		for _, x := range inventory.List[*inventory.EndpointService](sim.Inventory, inventory.Filter{}) {
			if x.Attrs["awsType"] == "vpc-endpoint-service" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d PrivateLink resources left after the rollback", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
