package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
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
// metadata, so that plan fails verify and rolls back. (Its verify step
// carries the probe routing every compiled verify step gets on main, so it
// dials from the client VPC there too; a branch without plan.Probe ignores it.)
func TestAWSPrivateLinkSharedNLBPlanFailsVerify(t *testing.T) {
	t.Parallel()
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
			// Dropped connections cost a connect timeout each: verify gives up
			// by itself (its own timeout) well inside the step's.
			p.Steps[i].Timeout = plan.D(60 * time.Second)
			p.Steps[i].Inputs["timeout"] = plan.Lit("20s")
		}
	}
	run := startPlan(t, s, &p)
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = workflows.Wait(ctx, run)
	if err == nil {
		t.Fatal("the shared-NLB PrivateLink plan verified: something rewrites the brokers' metadata")
	}
	// The failure names what AWS clients would hit: the broker's own name,
	// resolving to its private IP, which the client VPC has no route to.
	if msg := err.Error(); !strings.Contains(msg, "step verify failed") ||
		!strings.Contains(msg, ".msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9092") || !strings.Contains(msg, kafka.DropHint) {
		t.Fatalf("the request must fail at verify on the brokers' unroutable b-N addresses: %v", err)
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

// awsInventory renders every inventory object (timestamps left out) by kind/ID.
func awsInventory(t *testing.T, sim *cloudsim.Sim) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range inventory.Kinds {
		for _, o := range sim.Inventory.List(k, inventory.Filter{}) {
			m := *o.GetMeta()
			raw, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			delete(doc, "createdAt")
			delete(doc, "updatedAt")
			delete(doc, "visibleAt")
			b, _ := json.Marshal(doc)
			out[string(k)+"/"+m.ID] = string(b)
		}
	}
	return out
}

// awsInventoryDiff lists what differs between two snapshots ("" when equal).
func awsInventoryDiff(want, got map[string]string) string {
	var d []string
	for k, v := range got {
		if w, ok := want[k]; !ok {
			d = append(d, "+ "+k+" "+v)
		} else if w != v {
			d = append(d, "~ "+k+"\n  was "+w+"\n  now "+v)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			d = append(d, "- "+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

// The PrivateLink request whose verification cannot pass (it dials from a
// VPC without the private hosted zone, where the broker names resolve to
// the brokers' unroutable IPs) fails after every load balancer, target
// group, listener, endpoint service, endpoint, zone and record exists, and
// its rollback leaves the inventory exactly as the seed world.
func TestAWSPrivateLinkRollbackRestoresSeed(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	seed := awsInventory(t, sim)
	p := compile(t, fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: e2e-aws-privatelink-rollback}
spec:
  kafka: {provider: aws, account: aws-msk, region: eu-west-1, clusterArn: %s, cidr: 10.20.0.0/16}
  client: {account: aws-client-b, vpcId: %s, subnetIds: [subnet-0a5c000clib01], securityGroupId: sg-0a5c000000clib01}
  method: privateLink
  approval: {approvers: [kafka-owner@example.com], deadline: 1h}
  verify: {clientNetwork: %s}
  timeouts: {pollInterval: 200ms, wait: 2m, step: 20s}
`, mskARN, clientBVPC, clientAVPC))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("the request must fail at verify (it dials from %s): %v", clientAVPC, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		diff := awsInventoryDiff(seed, awsInventory(t, sim))
		if diff == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the inventory after the rollback differs from the seed world:\n%s", diff)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
