package e2e

// The SaaSPeering examples of runbook 003 on Alibaba Cloud and Tencent
// Cloud (specs/emqx-alibaba-peering.yaml, specs/emqx-tencent-peering.yaml),
// on the real Temporal server and the twin. The test plays EMQX Platform's
// side with EMQX's own keys through the clouds' real SDKs (accepting the
// peering and adding its return route; asking to attach its VPC to our
// CCN), and the person at the EMQX console completes the manual step with
// what the console was given. The MQTT verification dials from a probe in
// our VPC to the deployment's broker: it fails before the route/attachment
// exists and passes after; the revoke leaves the seed world.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcvpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	mqttact "github.com/topoflow/topoflow/activities/mqtt"
	"github.com/topoflow/topoflow/catalog"
	alisim "github.com/topoflow/topoflow/cloudsim/alibaba"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	tcsim "github.com/topoflow/topoflow/cloudsim/tencent"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// saasExample compiles a SaaSPeering example with fast polling (the
// examples poll every 5 s, as a real cloud's waits do).
func saasExample(t *testing.T, file string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return compile(t, string(src)+"  timeouts: {pollInterval: 200ms}\n")
}

// mqttFrom runs mqtt.verify to addr from a probe in network (the twin's network model).
func mqttFrom(s *stack.Stack, network, addr string) error {
	sim := s.Sim()
	reg := activities.NewRegistry()
	mqttact.Register(reg, mqttact.Options{Probe: &kafka.Probe{Name: "e2e-probe", Network: network, TaskQueue: "e2e-probe",
		Dialer: func(context.Context) (kafka.DialFunc, string, error) { return socksDial(sim, network), "", nil }}})
	verify, _ := reg.Get(catalog.MQTTVerify)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := verify(ctx, plan.Call{Action: catalog.MQTTVerify, IdempotencyKey: "saas-clouds-e2e",
		Inputs: map[string]any{"address": addr, "clientNetwork": network, "timeout": "3s"}})
	return err
}

// completeConsole completes the console step as the person at the EMQX console.
func completeConsole(t *testing.T, s *stack.Stack, run client.WorkflowRun, data map[string]any) {
	t.Helper()
	eventually(t, time.Minute, "the console step waits", func() bool {
		return stepState(progress(t, s, run), "console-confirm") == workflows.StepWaiting
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: workflows.UpdateComplete, Args: []any{workflows.Decision{Step: "console-confirm", Identity: "cloud-admin@example.com", Data: data}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("complete console-confirm: %v", err)
	}
}

// finishAndRevoke waits for Done, checks the plan's verify step, then
// revokes the grant and checks the twin is the seed world again.
func finishAndRevoke(t *testing.T, s *stack.Stack, run client.WorkflowRun, seed map[string][]map[string]any, beforeRevoke func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("request failed: %v\n%+v", err, progress(t, s, run).Steps)
	}
	v := stepOf(t, progress(t, s, run), "verify")
	if from, _ := v.Outputs["dialedFrom"].(string); !strings.HasPrefix(from, "from probe ") {
		t.Fatalf("verify dialed %q, want from the probe in our VPC", from)
	}
	if n, _ := v.Outputs["nonce"].(string); n == "" {
		t.Fatalf("verify outputs %v: no nonce read back", v.Outputs)
	}
	// The other direction, the one our security-group rule admits: the deployment reached our Kafka.
	if vc := stepOf(t, progress(t, s, run), "verify-connector"); vc.Outputs["type"] != "kafka_producer" || vc.Outputs["target"] == "" {
		t.Fatalf("verify-connector outputs %v: want the deployment's kafka_producer probe of our Kafka", vc.Outputs)
	}
	if beforeRevoke != nil {
		beforeRevoke()
	}
	gid := progress(t, s, run).Grant
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "EMQX deployment retired"})
	updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-peering", Identity: "network-lead@example.com"})
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
}

// TestSaaSPeeringAlibabaExample: specs/emqx-alibaba-peering.yaml end to end.
func TestSaaSPeeringAlibabaExample(t *testing.T) {
	alisim.DefaultTiming.Create, alisim.DefaultTiming.Accept, alisim.DefaultTiming.Delete = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	s := newStack(t)
	seed := twinState(t, s)
	sim := s.Sim()
	peer, emqxVpc := emqxAlibaba(t, s)
	const broker = "10.64.130.10:1883"

	run := startPlan(t, s, saasExample(t, "../specs/emqx-alibaba-peering.yaml"))
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	// EMQX's side (runbook 003 阿里云 step 4, 完成并配置路由): the request is in
	// Accepting; EMQX accepts it with its own keys and routes our CIDR back.
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
	eventually(t, 30*time.Second, "the peering is Activated", func() bool {
		p, err := inventory.Get[*inventory.Peering](sim.Inventory, pcc.ID)
		return err == nil && p.Status == inventory.PeeringActive
	})
	if _, err := emqxVpc.CreateRouteEntry(&vpc.CreateRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(aliEmqxRTB),
		DestinationCidrBlock: tea.String(aliOurCIDR), NextHopType: tea.String(alisim.NextHopVpcPeer), NextHopId: tea.String(pcc.ID)}); err != nil {
		t.Fatalf("EMQX's return route: %v", err)
	}
	// Peered, EMQX routes back, but our route entry is missing: verify fails.
	if err := mqttFrom(s, aliOurVPC, broker); err == nil {
		t.Fatal("mqtt verify from our VPC passed before our route entry exists")
	}
	if st := stepState(progress(t, s, run), "route-to-deployment"); st == workflows.StepDone {
		t.Fatalf("route-to-deployment is %s before the console step", st)
	}
	completeConsole(t, s, run, map[string]any{"vpcId": aliOurVPC})
	finishAndRevoke(t, s, run, seed, func() {
		if err := mqttFrom(s, aliOurVPC, broker); err != nil {
			t.Fatalf("mqtt verify from our VPC after the request: %v", err)
		}
		// EMQX's console 删除对等连接 (from running): it drops its return route.
		if _, err := emqxVpc.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(aliEmqxRTB),
			DestinationCidrBlock: tea.String(aliOurCIDR)}); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("peered, verified over MQTT, revoked in %s", time.Since(start).Round(time.Millisecond))
}

// TestSaaSPeeringTencentExample: specs/emqx-tencent-peering.yaml end to end.
func TestSaaSPeeringTencentExample(t *testing.T) {
	tcsim.DefaultTiming.Attach, tcsim.DefaultTiming.Detach = 200*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	s := newStack(t)
	seed := twinState(t, s)
	emqx := emqxTencent(t, s)
	const broker = "10.64.140.10:1883"

	run := startPlan(t, s, saasExample(t, "../specs/emqx-tencent-peering.yaml"))
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	eventually(t, time.Minute, "the console step waits", func() bool {
		return stepState(progress(t, s, run), "console-confirm") == workflows.StepWaiting
	})
	in := stepOf(t, progress(t, s, run), "attach-ours").Outputs
	ccn, _ := in["ccnId"].(string)
	uin, _ := in["instanceUin"].(string)
	if ccn == "" || uin != tcOurUin {
		t.Fatalf("attach-ours outputs %v: want the CCN and our UIN %s", in, tcOurUin)
	}
	// Our CCN holds only our VPC: nothing reaches the deployment.
	if err := mqttFrom(s, "vpc-tcours001", broker); err == nil {
		t.Fatal("mqtt verify from our VPC passed before the deployment's VPC is attached")
	}
	// The person enters the CCN ID and account ID in the EMQX console
	// (runbook 003 腾讯云 step 4); EMQX then asks to attach its VPC.
	completeConsole(t, s, run, map[string]any{"ccnId": ccn, "accountId": uin, "vpcId": tcEmqxVPC})
	req := tcvpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.CcnUin = common.StringPtr(ccn), common.StringPtr(uin)
	req.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(tcEmqxVPC), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
	if _, err := emqx.AttachCcnInstances(req); err != nil {
		t.Fatalf("EMQX asks to attach: %v", err)
	}
	finishAndRevoke(t, s, run, seed, func() {
		if err := mqttFrom(s, "vpc-tcours001", broker); err != nil {
			t.Fatalf("mqtt verify from our VPC after the request: %v", err)
		}
	})
	t.Logf("CCN joined, verified over MQTT, revoked in %s", time.Since(start).Round(time.Millisecond))
}

// rolledBackClean waits for the request to end rolled back with nothing
// leaked and the twin back at the seed world, and returns the progress.
func rolledBackClean(t *testing.T, s *stack.Stack, run client.WorkflowRun, seed map[string][]map[string]any) workflows.Progress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run.Get(ctx, nil)
	var ae *temporal.ApplicationError
	pr := progress(t, s, run)
	// The run ends with ErrRolledBack, or without error once a grant holds the request.
	if (err != nil && (!errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack)) || pr.Phase != workflows.PhaseRolledBack || len(pr.Leaked) > 0 {
		t.Fatalf("want a clean rollback, got %v (phase %s, leaked %+v)", err, pr.Phase, pr.Leaked)
	}
	eventually(t, 30*time.Second, "the twin is the seed world again", func() bool { return inventoryDiff(seed, twinState(t, s)) == "" })
	return pr
}

// TestSaaSPeeringAlibabaConsoleMismatch: the console step completed with a
// VPC that is not our initiator fails the check, naming what is right, and
// the rollback deletes the peering request: the twin is the seed world.
func TestSaaSPeeringAlibabaConsoleMismatch(t *testing.T) {
	alisim.DefaultTiming.Create, alisim.DefaultTiming.Accept, alisim.DefaultTiming.Delete = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	s := newStack(t)
	seed := twinState(t, s)
	run := startPlan(t, s, saasExample(t, "../specs/emqx-alibaba-peering.yaml"))
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	completeConsole(t, s, run, map[string]any{"vpcId": aliEmqxVPC})
	pr := rolledBackClean(t, s, run, seed)
	want := `vpcId "` + aliEmqxVPC + `" was entered in the alibaba console, but ours is "` + aliOurVPC + `"`
	if st := stepOf(t, pr, "check-console"); !strings.Contains(st.LastError, want) {
		t.Fatalf("check-console: %s %q, want the error to say %q", st.State, st.LastError, want)
	}
	if st := stepState(pr, "create-peering"); st != workflows.StepCompensated {
		t.Fatalf("create-peering is %s, want %s", st, workflows.StepCompensated)
	}
}

// TestSaaSPeeringTencentWindowMissed: EMQX's attach request is not approved
// within the runbook's 10 minutes (the twin's expiry shortened): the wait
// fails at EXPIRED, and the rollback deletes the CCN with the expired
// request detached: the twin is the seed world.
func TestSaaSPeeringTencentWindowMissed(t *testing.T) {
	saved := tcsim.DefaultTiming
	t.Cleanup(func() { tcsim.DefaultTiming = saved })
	tcsim.DefaultTiming.Attach, tcsim.DefaultTiming.Detach, tcsim.DefaultTiming.AttachExpiry = 200*time.Millisecond, 200*time.Millisecond, 500*time.Millisecond
	s := newStack(t)
	seed := twinState(t, s)
	sim := s.Sim()
	emqx := emqxTencent(t, s)
	run := startPlan(t, s, saasExample(t, "../specs/emqx-tencent-peering.yaml"))
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	eventually(t, time.Minute, "the console step waits", func() bool {
		return stepState(progress(t, s, run), "console-confirm") == workflows.StepWaiting
	})
	out := stepOf(t, progress(t, s, run), "attach-ours").Outputs
	ccn, _ := out["ccnId"].(string)
	// EMQX asks at once, but the console step is completed only after the window.
	req := tcvpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.CcnUin = common.StringPtr(ccn), common.StringPtr(tcOurUin)
	req.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(tcEmqxVPC), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
	if _, err := emqx.AttachCcnInstances(req); err != nil {
		t.Fatalf("EMQX asks to attach: %v", err)
	}
	eventually(t, 30*time.Second, "EMQX's request expires", func() bool {
		for _, p := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
			if p.VPCID == tcEmqxVPC && p.PeerVPCID == ccn && p.Status == tcsim.StateExpired {
				return true
			}
		}
		return false
	})
	completeConsole(t, s, run, map[string]any{"ccnId": ccn, "accountId": tcOurUin, "vpcId": tcEmqxVPC})
	pr := rolledBackClean(t, s, run, seed)
	if st := stepOf(t, pr, "wait-emqx-request"); !strings.Contains(st.LastError, "EXPIRED") {
		t.Fatalf("wait-emqx-request: %s %q, want it to fail at EXPIRED", st.State, st.LastError)
	}
}

// TestSaaSPeeringTencentRequesterMismatch: the request to attach comes
// from an account that is not the deployment's (deployment.accountId names
// another UIN): accept-emqx refuses it for good, naming both UINs, nothing
// joins our CCN, and the rollback (the request left PENDING until it
// expires, then detached with the CCN's deletion) leaves the seed world.
func TestSaaSPeeringTencentRequesterMismatch(t *testing.T) {
	saved := tcsim.DefaultTiming
	t.Cleanup(func() { tcsim.DefaultTiming = saved })
	tcsim.DefaultTiming.Attach, tcsim.DefaultTiming.Detach, tcsim.DefaultTiming.AttachExpiry = 200*time.Millisecond, 200*time.Millisecond, 2*time.Second
	s := newStack(t)
	seed := twinState(t, s)
	emqx := emqxTencent(t, s)
	src, err := os.ReadFile("../specs/emqx-tencent-peering.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The spec expects EMQX's account 200000000009; the request comes from 200000000002.
	p := compile(t, strings.Replace(string(src), `accountId: "200000000002"`, `accountId: "200000000009"`, 1)+"  timeouts: {pollInterval: 200ms}\n")
	run := startPlan(t, s, p)
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	eventually(t, time.Minute, "the console step waits", func() bool {
		return stepState(progress(t, s, run), "console-confirm") == workflows.StepWaiting
	})
	ccn, _ := stepOf(t, progress(t, s, run), "attach-ours").Outputs["ccnId"].(string)
	completeConsole(t, s, run, map[string]any{"ccnId": ccn, "accountId": tcOurUin, "vpcId": tcEmqxVPC})
	req := tcvpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.CcnUin = common.StringPtr(ccn), common.StringPtr(tcOurUin)
	req.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(tcEmqxVPC), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
	if _, err := emqx.AttachCcnInstances(req); err != nil {
		t.Fatalf("EMQX asks to attach: %v", err)
	}
	pr := rolledBackClean(t, s, run, seed)
	if st := stepOf(t, pr, "accept-emqx"); !strings.Contains(st.LastError, `comes from account UIN "200000000002", not "200000000009"`) {
		t.Fatalf("accept-emqx: %s %q, want it refused naming both UINs", st.State, st.LastError)
	}
	if st := stepOf(t, pr, "wait-attachment-active"); st.State == workflows.StepDone {
		t.Fatal("the deployment's VPC was attached although its request came from another account")
	}
}

// TestSaaSPeeringAlibabaConsoleStandIn: the make dev path of the Alibaba
// example: the EMQX console stand-in (cloudsim/emqx) is given our VPC as
// 发起端实例, accepts and routes back through the Alibaba API; its 删除对等连接
// (from running) drops the return route before the revoke.
func TestSaaSPeeringAlibabaConsoleStandIn(t *testing.T) {
	alisim.DefaultTiming.Create, alisim.DefaultTiming.Accept, alisim.DefaultTiming.Delete = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	s := newStack(t)
	seed := twinState(t, s)
	console := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.CloudsimURL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("EMQX console %s %s: %s: %s", method, path, resp.Status, out)
		}
	}
	run := startPlan(t, s, saasExample(t, "../specs/emqx-alibaba-peering.yaml"))
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "network-lead@example.com")
	eventually(t, time.Minute, "the console step waits", func() bool {
		return stepState(progress(t, s, run), "console-confirm") == workflows.StepWaiting
	})
	pcc, _ := stepOf(t, progress(t, s, run), "create-peering").Outputs["peeringId"].(string)
	console("POST", "/emqx-platform/v1/peerings", `{"deploymentVpcId":"`+aliEmqxVPC+`","vpcId":"`+aliOurVPC+`"}`)
	completeConsole(t, s, run, map[string]any{"vpcId": aliOurVPC})
	finishAndRevoke(t, s, run, seed, func() { console("DELETE", "/emqx-platform/v1/peerings/"+pcc, "") })
}
