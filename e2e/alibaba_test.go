package e2e

// Runbook 003 on Alibaba Cloud through its API: a Workflow of alibaba.*
// actions peers our VPC with the EMQX Platform deployment's VPC (in EMQX's
// own account), on the real Temporal server and the twin; the test plays
// the EMQX side with EMQX's own keys through the real SDK.

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"

	alisim "github.com/topoflow/topoflow/cloudsim/alibaba"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// IDs of cloudsim/worlds/alibaba.yaml.
const (
	aliOurVPC   = "vpc-bp1ours00000000000001"
	aliEmqxVPC  = "vpc-bp1emqx00000000000001"
	aliEmqxRTB  = "vtb-bp1emqx00000000000001"
	aliOurCIDR  = "172.16.0.0/17"
	aliEmqxCIDR = "10.64.130.0/24"
)

const aliSpec = `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: e2e-alibaba-emqx}
spec:
  inputs:
    emqxCidr: 10.64.130.0/24
  steps:
    - id: approve-peering
      action: approval
      gate: {who: [kafka-owner@example.com], deadline: 1h}
    - id: request-peering
      action: alibaba.vpcpeer.createPeering
      account: ali-ours
      dependsOn: [approve-peering]
      inputs: {vpcId: vpc-bp1ours00000000000001, acceptingAccountId: "5678901234567890", acceptingVpcId: vpc-bp1emqx00000000000001, name: emqx-peering}
    - id: emqx-accepted
      action: alibaba.vpcpeer.getPeering
      account: ali-ours
      inputs: {peeringId: '${{ steps["request-peering"].peeringId }}'}
      wait: {pollInterval: 200ms, timeout: 2m}
    - id: approve-routes
      action: approval
      dependsOn: [emqx-accepted]
      gate: {who: [kafka-owner@example.com], deadline: 1h}
    - id: route
      action: alibaba.vpc.createRouteEntry
      account: ali-ours
      dependsOn: [approve-routes]
      inputs: {routeTableId: vtb-bp1ours00000000000001, destination: '${{ spec.inputs.emqxCidr }}', peeringId: '${{ steps["request-peering"].peeringId }}'}
    - id: rule
      action: alibaba.ecs.authorizeSecurityGroup
      account: ali-ours
      dependsOn: [approve-routes]
      inputs: {securityGroupId: sg-bp1ours00000000000001, sourceCidr: '${{ spec.inputs.emqxCidr }}', portRange: 9092/9092}
    - id: verify
      action: kafka.verify
      dependsOn: [route, rule]
      from: {account: emqx-alibaba, network: vpc-bp1emqx00000000000001}
      inputs: {bootstrap: ["172.16.1.11:9092"], topic: emqx-bridge-verify, timeout: 15s}
`

// emqxAlibaba returns EMQX's SDK clients on the stack's twin, with the
// keys of the world's emqx-alibaba account.
func emqxAlibaba(t *testing.T, s *stack.Stack) (*vpcpeer.Client, *vpc.Client) {
	t.Helper()
	u, err := url.Parse(s.CloudsimURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := func() *openapi.Config {
		return &openapi.Config{AccessKeyId: tea.String("LTAI5tEMQX00000000000001"), AccessKeySecret: tea.String("emqx-alibaba-secret-9e2c7a4f1b6d3e8c5a0f"),
			RegionId: tea.String("cn-hangzhou"), Endpoint: tea.String(u.Host), Protocol: tea.String("http")}
	}
	p, err := vpcpeer.NewClient(cfg())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vpc.NewClient(cfg())
	if err != nil {
		t.Fatal(err)
	}
	return p, v
}

// TestAlibabaEMQXPeering: the peering is requested, EMQX accepts it and adds
// its return route; verification from the EMQX VPC fails until our route and
// security-group rule exist and passes after; the revoke leaves the seed world.
func TestAlibabaEMQXPeering(t *testing.T) {
	alisim.DefaultTiming.Create, alisim.DefaultTiming.Accept, alisim.DefaultTiming.Delete = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	s := newStack(t)
	seed := twinState(t, s)
	sim := s.Sim()
	peer, emqxVpc := emqxAlibaba(t, s)

	run := startPlan(t, s, compile(t, aliSpec))
	decide(t, s, run, workflows.UpdateApprove, "approve-peering")
	// EMQX's side: the request arrives in Accepting; accept it with EMQX's keys.
	var pcc *inventory.Peering
	eventually(t, 30*time.Second, "the peering request reaches EMQX", func() bool {
		for _, p := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
			if p.VPCID == aliOurVPC && p.PeerVPCID == aliEmqxVPC && p.Status == alisim.StatusAccepting {
				pcc = p
				return true
			}
		}
		return false
	})
	if _, err := peer.AcceptVpcPeerConnection(&vpcpeer.AcceptVpcPeerConnectionRequest{InstanceId: tea.String(pcc.ID)}); err != nil {
		t.Fatalf("EMQX accepts: %v", err)
	}
	eventually(t, 30*time.Second, "the request waits at approve-routes", func() bool {
		return stepOf(t, progress(t, s, run), "approve-routes").State == workflows.StepWaiting
	})
	if _, err := emqxVpc.CreateRouteEntry(&vpc.CreateRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(aliEmqxRTB),
		DestinationCidrBlock: tea.String(aliOurCIDR), NextHopType: tea.String(alisim.NextHopVpcPeer), NextHopId: tea.String(pcc.ID)}); err != nil {
		t.Fatalf("EMQX's return route: %v", err)
	}
	// Peered both ways, but our route and rule are missing: nothing passes.
	broker := "127." + strconv.Itoa(19+s.WorldShift()) + ".65.11"
	if v := sim.Net.Check(aliEmqxVPC, broker, 9092); v.Allowed || v.Hop != "route" {
		t.Fatalf("before our route: %+v, want refused at the route", v)
	}
	if err := aliVerify(s); err == nil {
		t.Fatal("verify from the EMQX VPC passed before our route and rule exist")
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-routes")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	v := stepOf(t, progress(t, s, run), "verify")
	if from, _ := v.Outputs["dialedFrom"].(string); !strings.Contains(from, "topoflow-probe-emqx-alibaba") {
		t.Fatalf("verify dialed %q, want from the EMQX VPC's probe", from)
	}
	if n, _ := v.Outputs["records"].(float64); n < 1 {
		t.Fatalf("verify outputs %v", v.Outputs)
	}
	if err := aliVerify(s); err != nil {
		t.Fatalf("verify from the EMQX VPC after the request: %v", err)
	}

	// EMQX removes its side (its console's delete), then we revoke ours.
	if _, err := emqxVpc.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(aliEmqxRTB),
		DestinationCidrBlock: tea.String(aliOurCIDR)}); err != nil {
		t.Fatal(err)
	}
	gid := progress(t, s, run).Grant
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "EMQX deployment retired"})
	for _, gate := range []string{"approve-peering", "approve-routes"} {
		updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: gate, Identity: "kafka-owner@example.com"})
	}
	var final workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil {
		t.Fatalf("revoke failed: %v", err)
	}
	if final.Phase != workflows.PhaseRevoked || len(final.Leaked) != 0 {
		t.Fatalf("grant ended %s with leaks %v", final.Phase, final.Leaked)
	}
	if diff := inventoryDiff(seed, twinState(t, s)); diff != "" {
		t.Fatalf("after the revoke the twin is not the seed world:\n%s", diff)
	}
	t.Logf("peered, verified, revoked in %s", time.Since(start).Round(time.Millisecond))
}

// aliVerify runs kafka.verify from the EMQX VPC to our first broker.
func aliVerify(s *stack.Stack) error {
	verify := probeVerify(s.Sim(), aliEmqxVPC)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := verify(ctx, plan.Call{Action: "kafka.verify", IdempotencyKey: "alibaba-e2e",
		Inputs: map[string]any{"bootstrap": []any{"172.16.1.11:9092"}, "clientNetwork": aliEmqxVPC, "topic": "emqx-bridge-verify", "timeout": "4s"}})
	return err
}
