//go:build scale

// `make scale` (issue 14): runbook 000 across accounts
// (specs/huawei-vpcep-cross-account.yaml) against a generated Huawei DMS
// instance of SCALE_BROKERS brokers (default 1,000) on the real Temporal dev
// server and the twin: the request runs to Done (its gates approved by the
// spec's approvers), then is revoked, and the twin's inventory must be the
// seed world again. It reports the history events, bytes and runs
// (continue-as-new) of the request and of its grant, wall time, and the test
// process's CPU time and peak RSS (the worker, cloudsim and its kfake brokers
// are in-process; the Temporal dev server is a separate process).
package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// Generated IDs of the scale world (Huawei IDs are UUIDs).
const (
	scaleKafka     = "6b2f7e4a-0000-4000-8000-0000005ca010"
	scaleOwnerVPC  = "4f1a0c3e-0000-4000-8000-0000005ca001"
	scaleOwnerSub  = "4f1a0c3e-0000-4000-8000-0000005ca002"
	scaleOwnerSG   = "4f1a0c3e-0000-4000-8000-0000005ca003"
	scaleClientVPC = "4f1a0c3e-0000-4000-8000-0000005cb001"
	scaleClientSub = "4f1a0c3e-0000-4000-8000-0000005cb002"
)

// scaleWorld is a Huawei DMS instance of n brokers (each with its port, on
// 9011) in a VPC of hw-kafka-owner, and a client VPC of hw-client-b, both
// with /16 address blocks at 127.<block> and 127.<block+1> (outside the
// range internal/stack shifts the seed world into).
func scaleWorld(n, block int) *world.World {
	owner := fmt.Sprintf("127.%d.0.0/16", block)
	client := fmt.Sprintf("127.%d.0.0/16", block+1)
	k := &inventory.KafkaInstance{
		Meta:   inventory.Meta{ID: scaleKafka, Account: "hw-kafka-owner", Name: "kafka-scale"},
		Engine: "dms", EngineVersion: "2.7", VPCID: scaleOwnerVPC, SubnetID: scaleOwnerSub, SecurityGroupID: scaleOwnerSG,
	}
	for i := 0; i < n; i++ {
		k.Brokers = append(k.Brokers, inventory.Broker{
			ID: int32(i), Host: fmt.Sprintf("broker-%d", i), Port: 9011,
			PortID: fmt.Sprintf("7a5e4c1b-0000-4000-9000-%012d", i),
		})
	}
	return &world.World{
		VPCs: []*inventory.VPC{
			{Meta: inventory.Meta{ID: scaleOwnerVPC, Account: "hw-kafka-owner", Region: "cn-north-4", Name: "vpc-kafka-scale"}, CIDR: "10.50.0.0/16", AddressBlock: owner},
			{Meta: inventory.Meta{ID: scaleClientVPC, Account: "hw-client-b", Region: "cn-north-4", Name: "vpc-client-scale"}, CIDR: "10.51.0.0/16", AddressBlock: client},
		},
		Subnets: []*inventory.Subnet{
			{Meta: inventory.Meta{ID: scaleOwnerSub, Name: "subnet-kafka-scale"}, VPCID: scaleOwnerVPC, CIDR: "10.50.0.0/16", AddressBlock: owner},
			{Meta: inventory.Meta{ID: scaleClientSub, Name: "subnet-client-scale"}, VPCID: scaleClientVPC, CIDR: "10.51.0.0/16", AddressBlock: client},
		},
		SecurityGroups: []*inventory.SecurityGroup{{
			Meta: inventory.Meta{ID: scaleOwnerSG, Name: "sg-kafka-scale"}, VPCID: scaleOwnerVPC,
			Rules: []inventory.SGRule{{Direction: "egress", Ethertype: "IPv4"}},
		}},
		Kafka: []*inventory.KafkaInstance{k},
	}
}

// scaleSpec is specs/huawei-vpcep-cross-account.yaml pointed at the scale
// world, with the verification off (see TestScaleHuaweiCrossAccount).
func scaleSpec(t *testing.T) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "specs/huawei-vpcep-cross-account.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range [][2]string{
		{"name: hw-orders-to-client-b", fmt.Sprintf("name: hw-scale-%d", time.Now().UnixNano())},
		{"instanceId: " + hwKafka, "instanceId: " + scaleKafka},
		{"vpcId: " + hwClientVPC, "vpcId: " + scaleClientVPC},
		{"subnetId: " + hwClientSub, "subnetId: " + scaleClientSub},
		{"  verify:\n    topic: topoflow-verify\n", "  verify:\n    enabled: false\n"},
	} {
		if !strings.Contains(doc, r[0]) {
			t.Fatalf("the template spec has no %q", r[0])
		}
		doc = strings.Replace(doc, r[0], r[1], 1)
	}
	return doc
}

// historyStats walks a workflow's chain of runs (continue-as-new) from its
// first run: events and bytes (the events' encoded size) summed over the runs.
func historyStats(t *testing.T, s *stack.Stack, id string) (events, bytes, runs int) {
	t.Helper()
	ctx := context.Background()
	d, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	runID := d.GetWorkflowExecutionInfo().GetFirstRunId()
	for runID != "" {
		runs++
		next := ""
		it := s.Client.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s run %s: %v", id, runID, err)
			}
			events++
			bytes += proto.Size(e)
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		runID = next
	}
	return events, bytes, runs
}

// approveAll approves a gate as each of the spec's approvers in turn, until
// the request no longer waits there.
func approveAll(t *testing.T, s *stack.Stack, id, step string, within time.Duration, approvers ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, who := range approvers {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: id, UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
				Args: []any{workflows.Decision{Step: step, Identity: who, Comment: "make scale"}},
			})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			cancel()
			if err == nil || strings.Contains(err.Error(), "already approved") {
				break
			}
			if strings.Contains(err.Error(), "not waiting") && who != approvers[0] {
				return // the gate opened with the earlier approvals
			}
			if cause := closedCause(t, s, id); cause != "" {
				t.Fatalf("approve %s as %s: the workflow ended before its gate: %s", step, who, cause)
			}
			if time.Now().After(deadline) {
				t.Fatalf("approve %s as %s: %v", step, who, err)
			}
			time.Sleep(time.Second)
		}
	}
}

func cpuAndPeak(t *testing.T) (time.Duration, string) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	peak := "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				peak = strings.Join(strings.Fields(strings.TrimPrefix(l, "VmHWM:")), " ")
			}
		}
	}
	return cpu, peak
}

// TestScaleHuaweiCrossAccount is `make scale`. The verification step is off:
// it would produce and consume through all N endpoints, which the plan
// does not need to show that the request reaches Done and revokes.
func TestScaleHuaweiCrossAccount(t *testing.T) {
	n := 1000
	if v := os.Getenv("SCALE_BROKERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SCALE_BROKERS=%q: want a positive number of brokers", v)
		}
	}
	if dir := os.Getenv("SCALE_PROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("scale-%d.cpu.pprof", n)))
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	s := newStack(t)
	block := 240 + 2*rand.IntN(7)
	start := time.Now()
	if err := s.Sim().LoadWorld(scaleWorld(n, block)); err != nil {
		t.Fatalf("load the scale world: %v", err)
	}
	if errs := s.Sim().Net.Errors(); len(errs) > 0 {
		t.Fatalf("scale world's network: %s", strings.Join(errs, "; "))
	}
	cpu0, peak0 := cpuAndPeak(t)
	t.Logf("SCALE world of %d brokers loaded in %s (CPU so far %s, peak RSS %s)", n, time.Since(start).Round(time.Millisecond), cpu0.Round(time.Millisecond), peak0)
	seed := twinState(t, s)

	p := compile(t, scaleSpec(t))
	t0 := time.Now()
	run := startPlan(t, s, p)
	stopWatch := watchScale(t, s, run.GetID(), t0)
	defer stopWatch()
	approvers := []string{"kafka-owner@example.com", "platform-oncall@example.com"}
	defer func() {
		if t.Failed() {
			ev, by, runs := historyStats(t, s, run.GetID())
			cpu, peak := cpuAndPeak(t)
			t.Logf("SCALE FAILED after %s: request history %d events, %d bytes, %d runs; %d endpoint services and %d endpoints left in the twin; CPU %s, peak RSS %s",
				time.Since(t0).Round(time.Second), ev, by, runs, count(s, inventory.KindEndpointService), count(s, inventory.KindEndpoint), (cpu - cpu0).Round(time.Millisecond), peak)
		}
	}()
	// The gate comes after the endpoint services: 5 minutes and 0.3 s per broker.
	approveAll(t, s, run.GetID(), "approve-connection", 5*time.Minute+time.Duration(n)*300*time.Millisecond, approvers...)
	// 12 minutes and 0.2 s per broker (5,000: 29 minutes) for the request,
	// as long again for the revoke.
	ctx, cancel := context.WithTimeout(context.Background(), 2*(12*time.Minute+time.Duration(n)*200*time.Millisecond))
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed after %s: %v (%s)", time.Since(t0).Round(time.Second), err, closedCause(t, s, run.GetID()))
	}
	applyWall := time.Since(t0)
	if got := count(s, inventory.KindEndpoint); got != n {
		t.Fatalf("%d endpoints after Done, want %d", got, n)
	}
	ev, by, runs := historyStats(t, s, run.GetID())
	cpu1, peak1 := cpuAndPeak(t)
	t.Logf("SCALE apply: %d brokers Done in %s; request history %d events, %d bytes, %d runs (%d continue-as-new); CPU %s, peak RSS %s",
		n, applyWall.Round(time.Millisecond), ev, by, runs, runs-1, (cpu1 - cpu0).Round(time.Millisecond), peak1)

	desc, err := s.Client.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	gid := workflows.GrantWorkflowID(run.GetID())
	t1 := time.Now()
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "scale-ops", Reason: "make scale"})
	approveAll(t, s, gid, "approve-connection", 5*time.Minute, approvers...)
	var final workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil {
		t.Fatalf("revoke failed after %s: %v", time.Since(t1).Round(time.Second), err)
	}
	revokeWall := time.Since(t1)
	if final.Phase != workflows.PhaseRevoked || len(final.Leaked) != 0 {
		t.Fatalf("grant ended %s with leaks %v", final.Phase, final.Leaked)
	}
	gev, gby, gruns := historyStats(t, s, gid)
	cpu2, peak2 := cpuAndPeak(t)
	t.Logf("SCALE revoke: %d brokers Revoked in %s; grant history %d events, %d bytes, %d runs (%d continue-as-new); CPU %s, peak RSS %s",
		n, revokeWall.Round(time.Millisecond), gev, gby, gruns, gruns-1, (cpu2 - cpu1).Round(time.Millisecond), peak2)
	if diff := inventoryDiff(seed, twinState(t, s)); diff != "" {
		t.Fatalf("after the revoke the twin is not the seed world:\n%s", diff)
	}
	t.Logf("SCALE total: brokers=%d apply=%s revoke=%s events=%d+%d bytes=%d+%d runs=%d+%d cpu=%s peakRSS=%s (request's last run: %d events, %d bytes)",
		n, applyWall.Round(time.Millisecond), revokeWall.Round(time.Millisecond), ev, gev, by, gby, runs, gruns,
		(cpu2 - cpu0).Round(time.Millisecond), peak2, desc.GetWorkflowExecutionInfo().GetHistoryLength(), desc.GetWorkflowExecutionInfo().GetHistorySizeBytes())
}

// watchScale logs, every 30 s until stopped, the twin's endpoint count, the
// request's and its grant's history lengths and the process's CPU and peak
// RSS, so a run that wedges shows where.
func watchScale(t *testing.T, s *stack.Stack, id string, t0 time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			line := fmt.Sprintf("SCALE at %s: %d endpoints, %d endpoint services", time.Since(t0).Round(time.Second),
				count(s, inventory.KindEndpoint), count(s, inventory.KindEndpointService))
			for _, wid := range []string{id, workflows.GrantWorkflowID(id)} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if d, err := s.Client.DescribeWorkflowExecution(ctx, wid, ""); err == nil {
					i := d.GetWorkflowExecutionInfo()
					line += fmt.Sprintf("; %s %s %d events %d bytes, %d pending activities", wid, i.GetStatus(), i.GetHistoryLength(), i.GetHistorySizeBytes(), len(d.GetPendingActivities()))
				}
				cancel()
			}
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			t.Logf("%s; CPU %s", line, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Round(time.Second))
		}
	}()
	return func() { close(done) }
}

// closedCause is "" while the workflow's latest run is running, else its
// status and the last event of its history (the reason a run was terminated,
// e.g. by the server).
func closedCause(t *testing.T, s *stack.Stack, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return ""
	}
	i := d.GetWorkflowExecutionInfo()
	it := s.Client.GetWorkflowHistory(ctx, id, i.GetExecution().GetRunId(), false, enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	last := ""
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			break
		}
		last = e.String()
		if len(last) > 600 {
			last = last[:600]
		}
	}
	return fmt.Sprintf("run %s %s at event %d: %s", i.GetExecution().GetRunId(), i.GetStatus(), i.GetHistoryLength(), last)
}
