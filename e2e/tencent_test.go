package e2e

// Runbook 003 on Tencent Cloud through its API: a Workflow of tencent.*
// actions creates our CCN (云联网) with our VPC, approves the EMQX Platform
// deployment's request to attach its VPC within the runbook's 10-minute
// window and allows the EMQX CIDR in, on the real Temporal server and the
// twin; the test plays EMQX with EMQX's own keys through the real SDK.

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	tcvpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	tcsim "github.com/topoflow/topoflow/cloudsim/tencent"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

const (
	tcEmqxVPC = "vpc-tcemqx01"
	tcOurUin  = "100000000001"
)

const tcSpec = `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: e2e-tencent-emqx}
spec:
  inputs:
    emqxCidr: 10.64.140.0/24
  steps:
    - id: approve
      action: approval
      gate: {who: [kafka-owner@example.com], deadline: 1h}
    - id: ccn
      action: tencent.vpc.createCcn
      account: tc-ours
      dependsOn: [approve]
      inputs: {name: emqx-ccn}
    - id: attach-ours
      action: tencent.vpc.attachCcnInstance
      account: tc-ours
      inputs: {ccnId: '${{ steps.ccn.ccnId }}', vpcId: vpc-tcours001}
    - id: emqx-request
      action: tencent.vpc.describeCcnAttachment
      account: tc-ours
      dependsOn: [attach-ours]
      inputs: {ccnId: '${{ steps.ccn.ccnId }}', vpcId: vpc-tcemqx01}
      wait: {pollInterval: 200ms}
    - id: approve-emqx
      action: tencent.vpc.acceptAttachCcnInstance
      account: tc-ours
      dependsOn: [emqx-request]
      inputs: {ccnId: '${{ steps.ccn.ccnId }}', vpcId: vpc-tcemqx01}
    - id: emqx-active
      action: tencent.vpc.describeCcnAttachment
      account: tc-ours
      dependsOn: [approve-emqx]
      inputs: {ccnId: '${{ steps.ccn.ccnId }}', vpcId: vpc-tcemqx01}
      wait: {target: [ACTIVE], pending: [PENDING, ATTACHING], pollInterval: 200ms}
    - id: approve-rule
      action: approval
      dependsOn: [emqx-active]
      gate: {who: [kafka-owner@example.com], deadline: 1h}
    - id: rule
      action: tencent.vpc.createSecurityGroupPolicy
      account: tc-ours
      dependsOn: [approve-rule]
      inputs: {securityGroupId: sg-tcours01, sourceCidr: '${{ spec.inputs.emqxCidr }}', port: "9092"}
    - id: verify
      action: kafka.verify
      dependsOn: [rule]
      from: {account: emqx-tencent, network: vpc-tcemqx01}
      inputs: {bootstrap: ["172.20.1.11:9092"], topic: emqx-bridge-verify, timeout: 15s}
`

// emqxTencent returns EMQX's VPC client on the stack's twin (the world's emqx-tencent keys).
func emqxTencent(t *testing.T, s *stack.Stack) *tcvpc.Client {
	t.Helper()
	u, err := url.Parse(s.CloudsimURL)
	if err != nil {
		t.Fatal(err)
	}
	cp := profile.NewClientProfile()
	cp.HttpProfile.Endpoint, cp.HttpProfile.Scheme = u.Host, "HTTP"
	c, err := tcvpc.NewClient(common.NewCredential("AKIDtcemqx000000000000000000000001", "emqx-tencent-secret-3c5e7a9b1d2f4e6a8c0b"), "ap-guangzhou", cp)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTencentEMQXCCN: our CCN and VPC, EMQX's attach request approved in
// the window; verification from the EMQX VPC fails until our security-group
// policy exists and passes after; the revoke leaves the seed world.
func TestTencentEMQXCCN(t *testing.T) {
	tcsim.DefaultTiming.Attach, tcsim.DefaultTiming.Detach = 200*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	s := newStack(t)
	seed := twinState(t, s)
	sim := s.Sim()
	emqx := emqxTencent(t, s)

	run := startPlan(t, s, compile(t, tcSpec))
	decide(t, s, run, workflows.UpdateApprove, "approve")
	// EMQX's side (its console, runbook 003 step 4): ask to attach its VPC to our CCN.
	var ccn string
	eventually(t, 30*time.Second, "our CCN exists", func() bool {
		for _, p := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
			if p.Attrs["tencentType"] == "ccn" && p.Account == "tc-ours" {
				ccn = p.ID
				return true
			}
		}
		return false
	})
	req := tcvpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.CcnUin = common.StringPtr(ccn), common.StringPtr(tcOurUin)
	req.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(tcEmqxVPC), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
	if _, err := emqx.AttachCcnInstances(req); err != nil {
		t.Fatalf("EMQX asks to attach: %v", err)
	}
	eventually(t, 60*time.Second, "the request waits at approve-rule", func() bool {
		return stepOf(t, progress(t, s, run), "approve-rule").State == workflows.StepWaiting
	})
	// Joined by the CCN, but our security group does not let EMQX in yet.
	broker := "127." + strconv.Itoa(23+s.WorldShift()) + ".1.11"
	if v := sim.Net.Check(tcEmqxVPC, broker, 9092); v.Allowed || v.Hop != "security group" {
		t.Fatalf("before our policy: %+v, want refused by the security group", v)
	}
	if err := tcVerify(s); err == nil {
		t.Fatal("verify from the EMQX VPC passed before our security-group policy exists")
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-rule")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	v := stepOf(t, progress(t, s, run), "verify")
	if from, _ := v.Outputs["dialedFrom"].(string); !strings.Contains(from, "topoflow-probe-emqx-tencent") {
		t.Fatalf("verify dialed %q, want from the EMQX VPC's probe", from)
	}
	if err := tcVerify(s); err != nil {
		t.Fatalf("verify from the EMQX VPC after the request: %v", err)
	}

	gid := progress(t, s, run).Grant
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "EMQX deployment retired"})
	for _, gate := range []string{"approve", "approve-rule"} {
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
	t.Logf("CCN joined, verified, revoked in %s", time.Since(start).Round(time.Millisecond))
}

// tcVerify runs kafka.verify from the EMQX VPC to our first broker.
func tcVerify(s *stack.Stack) error {
	verify := probeVerify(s.Sim(), tcEmqxVPC)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := verify(ctx, plan.Call{Action: "kafka.verify", IdempotencyKey: "tencent-e2e",
		Inputs: map[string]any{"bootstrap": []any{"172.20.1.11:9092"}, "clientNetwork": tcEmqxVPC, "topic": "emqx-bridge-verify", "timeout": "4s"}})
	return err
}
