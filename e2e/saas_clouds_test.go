package e2e

// The SaaSPeering examples of runbook 003 on Alibaba Cloud and Tencent
// Cloud (specs/emqx-alibaba-peering.yaml, specs/emqx-tencent-peering.yaml)
// where they go wrong, on the real Temporal server and the twin: the console
// step completed with data that is not our peering's, and EMQX's attach
// request approved too late. Their runs to Done, rollback and revoke are in
// TestExamples (e2e/examples_test.go, the EMQX side played in
// e2e/saas_test.go).

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcvpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
