package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	kafka "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2"
	km "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2/model"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// ownerDMS is a DMS SDK client acting as hw-kafka-owner against cloudsim
// (the keys of cloudsim's seed world, cloudsim/worlds/default.yaml).
func ownerDMS(t *testing.T, s *stack.Stack) *kafka.KafkaClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk("HWKAFKAOWNERAK0000001").WithSk("hw-kafka-owner-sk-7f3a9c1e5b2d4a6f8e0c").
		WithProjectId("0605767c9a00d5c92f4fc00a1d6e3a11").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := kafka.KafkaClientBuilder().WithEndpoints([]string{s.CloudsimURL}).WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(10 * time.Second)).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return kafka.NewKafkaClient(hc)
}

// instanceStatus is the DMS instance's status as the cloud reports it.
func instanceStatus(t *testing.T, c *kafka.KafkaClient) string {
	t.Helper()
	resp, err := c.ShowInstance(&km.ShowInstanceRequest{InstanceId: hwKafka})
	if err != nil {
		t.Fatal(err)
	}
	return *resp.Status
}

// busyTiming makes the DMS instance busy for long after a restart or a
// crossvpc modify (the cloud: 3 to 15 minutes for a restart), and restores
// the defaults after the test.
func busyTiming(t *testing.T, restart, modify time.Duration) {
	old := hwsim.DefaultTiming
	hwsim.DefaultTiming.DMSRestart = restart
	hwsim.DefaultTiming.DMSModifyBusy = modify
	t.Cleanup(func() {
		hwsim.DefaultTiming.DMSRestart = old.DMSRestart
		hwsim.DefaultTiming.DMSModifyBusy = old.DMSModifyBusy
	})
}

// TestHuaweiModifyRightAfterRestart restarts the DMS instance (through the
// real SDK, BatchRestartOrDeleteInstances) while the cross-account request
// waits at its approval gate, then approves: the advertised IPs are set
// while the instance is still RESTARTING, which the cloud refuses with
// 400 DMS.00400026. The request must wait for RUNNING and complete.
func TestHuaweiModifyRightAfterRestart(t *testing.T) {
	t.Parallel()
	busyTiming(t, 8*time.Second, 1500*time.Millisecond)
	s := newStack(t)
	dms := ownerDMS(t, s)
	p := compileRestartable(t, crossAccountSpec(t, "e2e-hw-busy-restart"))
	run := startPlan(t, s, p)
	eventually(t, time.Minute, "the approval gate waits", func() bool {
		return stepState(progress(t, s, run), "approve-connection") == workflows.StepWaiting
	})
	if _, err := dms.BatchRestartOrDeleteInstances(&km.BatchRestartOrDeleteInstancesRequest{Body: &km.BatchRestartOrDeleteInstanceReq{
		Instances: &[]string{hwKafka}, Action: km.GetBatchRestartOrDeleteInstanceReqActionEnum().RESTART,
	}}); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if st := instanceStatus(t, dms); st != "RESTARTING" {
		t.Fatalf("status after restart = %s, want RESTARTING", st)
	}
	restarted := time.Now()
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if d := time.Since(restarted); d < 8*time.Second {
		t.Fatalf("request finished %s after the restart, before the instance was RUNNING again", d)
	}
	checkOnePerBroker(t, s, hwKafka, "hw-client-b", hwClientVPC)
}

// TestHuaweiRestoreRightAfterModify fails the same-account request at the
// step after the advertised IPs were set (the security-group rule is
// refused), so the rollback's first compensation restores the advertised
// map while the instance still applies the forward modify (the cloud
// answers 400 DMS.00400026). The rollback must wait and restore the
// original map, leaving nothing behind.
func TestHuaweiRestoreRightAfterModify(t *testing.T) {
	t.Parallel()
	busyTiming(t, 2*time.Second, 6*time.Second)
	s := newStack(t)
	before := advertised(t, s)
	s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.vpc.CreateSecurityGroupRule", Kind: faults.Error,
		Status: 400, Code: "VPC.0002", Message: "injected: rule refused"})
	busyAnswers := s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.kafka.UpdateInstanceCrossVpcIp", Kind: faults.Latency, Rate: 1})
	p := compileRestartable(t, hwSpec("e2e-hw-busy-restore", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false))
	run := startPlan(t, s, p)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("want a %s failure, got %v", workflows.ErrRolledBack, err)
	}
	pr := progress(t, s, run)
	if pr.Phase != workflows.PhaseRolledBack || len(pr.Leaked) > 0 {
		t.Fatalf("phase %s, leaked %+v", pr.Phase, pr.Leaked)
	}
	if st := stepState(pr, "set-advertised-ips"); st != workflows.StepCompensated {
		t.Fatalf("set-advertised-ips is %s, want %s", st, workflows.StepCompensated)
	}
	if after := advertised(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("advertised map not restored: %v, want %v", after, before)
	}
	if n := ruleHits(s, busyAnswers); n < 3 {
		t.Fatalf("crossvpc/modify called %d times, want the forward modify, at least one refused restore and the restore", n)
	}
	if n := count(s, inventory.KindEndpointService) + count(s, inventory.KindEndpoint); n != 0 {
		t.Fatalf("%d endpoint services/endpoints left", n)
	}
}
