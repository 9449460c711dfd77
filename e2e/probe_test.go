package e2e

// Verification from the client's network: kafka.verify runs on the probe
// worker the account registry names for the client account and network
// (topoflow-worker probe, in-process here, dialing through cloudsim's SOCKS5
// endpoint of that network), on the real Temporal server.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// hwProbeQueue is the probe of the Huawei client VPC in specs/accounts.yaml.
const hwProbeQueue = "topoflow-probe-hw-vpc-client-b"

// registryVariant writes specs/accounts.yaml changed by edit to a temporary file.
func registryVariant(t *testing.T, edit func(string) string) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := edit(string(b))
	if doc == string(b) {
		t.Fatal("registry variant is the registry itself")
	}
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func probeStack(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	hwsim.DefaultTiming.ServiceCreate = 200 * time.Millisecond
	hwsim.DefaultTiming.EndpointCreate = 200 * time.Millisecond
	hwsim.DefaultTiming.Delete = 200 * time.Millisecond
	opts.Cloudsim, opts.Worker = true, true
	return stack.New(t, opts)
}

func stepOf(t *testing.T, p workflows.Progress, id string) workflows.StepProgress {
	t.Helper()
	for _, st := range p.Steps {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no step %s in %+v", id, p.Steps)
	return workflows.StepProgress{}
}

// operate sends retry or skip for a parked step as the requester.
func operate(t *testing.T, s *stack.Stack, run client.WorkflowRun, update, step string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: update,
		Args:         []any{workflows.OperatorAction{Step: step, Identity: "e2e", Reason: "e2e: " + update}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", update, step, err)
	}
}

// parkedStep waits until some step is parked and returns it.
func parkedStep(t *testing.T, s *stack.Stack, run client.WorkflowRun, timeout time.Duration) workflows.StepProgress {
	t.Helper()
	var found workflows.StepProgress
	eventually(t, timeout, "a step parks", func() bool {
		for _, st := range progress(t, s, run).Steps {
			if st.State == workflows.StepParked {
				found = st
				return true
			}
		}
		return false
	})
	return found
}

func TestVerifyDialsFromTheClientProbe(t *testing.T) {
	t.Parallel()
	s := probeStack(t, stack.Options{})
	if s.Probes[hwProbeQueue] != hwClientVPC {
		t.Fatalf("the stack runs probes %v, want %s in %s", s.Probes, hwProbeQueue, hwClientVPC)
	}
	run := startPlan(t, s, compile(t, hwSpec("e2e-probe-cross", "hw-client-b", hwClientVPC, hwClientSub, true)))
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	v := stepOf(t, progress(t, s, run), "verify")
	origin, _ := v.Outputs["origin"].(map[string]any)
	socks, err := s.Sim().SOCKS.Addr(hwClientVPC)
	if err != nil {
		t.Fatal(err)
	}
	if origin["kind"] != "probe" || origin["network"] != hwClientVPC || origin["taskQueue"] != hwProbeQueue ||
		!strings.Contains(origin["via"].(string), "socks5 "+socks) {
		t.Fatalf("verify origin %v, want probe %s in %s through %s", origin, hwProbeQueue, hwClientVPC, socks)
	}
	from, _ := v.Outputs["dialedFrom"].(string)
	if !strings.HasPrefix(from, "from probe "+hwProbeQueue+" in network "+hwClientVPC+" (task queue "+hwProbeQueue) {
		t.Fatalf("dialedFrom %q", from)
	}
	t.Logf("verify dialed %s", from)
}

func TestVerifyWithoutProbeSaysItDialedFromTheWorker(t *testing.T) {
	t.Parallel()
	noProbes := registryVariant(t, func(doc string) string {
		return regexp.MustCompile(`(?m)^    probes:.*\n(      [-#] .*\n)+`).ReplaceAllString(doc, "") // entries and their comments
	})
	s := probeStack(t, stack.Options{Accounts: noProbes})
	if len(s.Probes) != 0 {
		t.Fatalf("probes %v started from a registry without probes", s.Probes)
	}
	run := startPlan(t, s, compile(t, hwSpec("e2e-probe-none", "hw-client-b", hwClientVPC, hwClientSub, true)))
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	v := stepOf(t, progress(t, s, run), "verify")
	host, _ := os.Hostname()
	want := "from the worker's network, host " + host + "; not from the client network " + hwClientVPC
	if from, _ := v.Outputs["dialedFrom"].(string); !strings.HasPrefix(from, want) {
		t.Fatalf("dialedFrom %q, want %q", from, want)
	}
	if origin, _ := v.Outputs["origin"].(map[string]any); origin["kind"] != "worker" {
		t.Fatalf("origin %v, want the worker", origin)
	}
}

func TestProbeNobodyPollsFailsClearly(t *testing.T) {
	t.Parallel()
	fast := registryVariant(t, func(doc string) string {
		return strings.ReplaceAll(doc, "taskQueue: "+hwProbeQueue+"}", "taskQueue: "+hwProbeQueue+", startTimeout: 3s}")
	})
	s := probeStack(t, stack.Options{Accounts: fast, SkipProbes: []string{hwProbeQueue}})
	run := startPlan(t, s, compile(t, hwSpec("e2e-probe-absent", "hw-client-b", hwClientVPC, hwClientSub, true)+"  onFailure: park\n"))
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	st := parkedStep(t, s, run, 2*time.Minute)
	want := "no probe polls task queue " + hwProbeQueue + " (client account hw-client-b, network " + hwClientVPC + ") within 3s: " +
		"start `topoflow-worker probe --task-queue " + hwProbeQueue + " --network " + hwClientVPC + "` in the client network"
	if st.ID != "verify" || !strings.Contains(st.LastError, want) {
		t.Fatalf("parked %s: %q, want verify with %q", st.ID, st.LastError, want)
	}
	if st.Attempts != 1 {
		t.Errorf("verify ran %d attempts, want 1 (a schedule-to-start timeout is not retried)", st.Attempts)
	}
	// Starting the probe and retrying completes the request from the probe.
	if err := s.StartProbe(context.Background(), hwProbeQueue, hwClientVPC); err != nil {
		t.Fatal(err)
	}
	operate(t, s, run, workflows.UpdateRetry, "verify")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed after the probe started: %v", err)
	}
	if from, _ := stepOf(t, progress(t, s, run), "verify").Outputs["dialedFrom"].(string); !strings.HasPrefix(from, "from probe "+hwProbeQueue) {
		t.Fatalf("dialedFrom %q", from)
	}
}

// TestVerifyFromProbeFailsWithoutTheClientsPeering is the scenario:
// steps the client side must do (accepting the peering) were skipped by an
// operator; verify from the worker's host would pass (it reaches every
// loopback address), verify from the probe in the client VPC must not.
func TestVerifyFromProbeFailsWithoutTheClientsPeering(t *testing.T) {
	t.Parallel()
	s := probeStack(t, stack.Options{})
	doc := repoSpec(t, "huawei-vpc-peering.yaml", "e2e-probe-peering",
		"  approval:\n", "  timeouts: {pollInterval: 300ms, wait: 2m}\n  onFailure: park\n  approval:\n")
	pl := compile(t, doc)
	// The DMS listener cloudsim has (see TestHuaweiPeering's workaround); a
	// short wait for the peering that will never be accepted.
	for i := range pl.Steps {
		if pl.Steps[i].ID == "wait-peering-active" {
			pl.Steps[i].Wait.Timeout = plan.D(2 * time.Second)
		}
		if pl.Steps[i].ID == "verify" {
			b := pl.Steps[i].Inputs["bootstrap"]
			b.Expr = strings.ReplaceAll(b.Expr, `":9092"`, `":9011"`)
			pl.Steps[i].Inputs["bootstrap"] = b
		}
	}
	s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.vpc.AcceptVpcPeering", Kind: faults.Error, Status: 403,
		Code: "VPC.0015", Message: "e2e: the client's administrator does not accept"})
	run := startPlan(t, s, pl)
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "client-b-netadmin@example.com")
	skippable := map[string]bool{"accept-peering": true, "wait-peering-active": true, "route-to-client": true, "route-to-kafka": true}
	var st workflows.StepProgress
	for {
		st = parkedStep(t, s, run, 2*time.Minute)
		if !skippable[st.ID] {
			break
		}
		t.Logf("skip parked %s: %s", st.ID, st.LastError)
		delete(skippable, st.ID)
		operate(t, s, run, workflows.UpdateSkip, st.ID)
		eventually(t, 30*time.Second, st.ID+" is skipped", func() bool { return stepState(progress(t, s, run), st.ID) == workflows.StepSkipped })
	}
	if st.ID != "verify" {
		t.Fatalf("parked %s (%s), want verify", st.ID, st.LastError)
	}
	// The twin's own diagnosis (cloudsim remembers why its SOCKS5 endpoint refused) names the hop.
	// The strict network drops the packets (no active peering carries them):
	// timeouts, the hint to check the path, and where verify dialed from.
	if !strings.Contains(st.LastError, kafka.DropHint) ||
		!strings.Contains(st.LastError, "[dialed from probe "+hwProbeQueue+" in network "+hwClientVPC) {
		t.Fatalf("verify failed with %q, want dropped connections from the probe in %s", st.LastError, hwClientVPC)
	}
	t.Logf("verify from the probe: %s", st.LastError)

	// The client's administrator accepts the peering by hand: verify passes.
	// The request's peering (the world has others, e.g. emqx.yaml's).
	var pe []*inventory.Peering
	for _, p := range inventory.List[*inventory.Peering](s.Sim().Inventory, inventory.Filter{}) {
		if p.VPCID == hwClientVPC || p.PeerVPCID == hwClientVPC {
			pe = append(pe, p)
		}
	}
	if len(pe) != 1 || pe[0].Status == inventory.PeeringActive {
		t.Fatalf("peerings %+v, want one not active", pe)
	}
	if _, err := inventory.Update(s.Sim().Inventory, pe[0].ID, func(p *inventory.Peering) error {
		p.Status = inventory.PeeringActive
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	operate(t, s, run, workflows.UpdateRetry, "verify")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed after the peering was accepted: %v", err)
	}
}

// socksDial dials as a host of network: through the sim's SOCKS5 endpoint
// of that network, as a probe there does (dial errors name a missing endpoint).
func socksDial(sim *cloudsim.Sim, network string) kafka.DialFunc {
	return func(ctx context.Context, netw, address string) (net.Conn, error) {
		addr, err := sim.SOCKS.Addr(network)
		if err != nil {
			return nil, err
		}
		d, err := kafka.SOCKS5Dialer(addr)
		if err != nil {
			return nil, err
		}
		return d(ctx, netw, address)
	}
}

// probeVerify is kafka.verify as a probe sitting in network runs it.
func probeVerify(sim *cloudsim.Sim, network string) activities.Func {
	reg := activities.NewRegistry()
	kafka.Register(reg, kafka.Options{Probe: &kafka.Probe{Name: "e2e-probe", Network: network, TaskQueue: "e2e-probe",
		Dialer: func(context.Context) (kafka.DialFunc, string, error) { return socksDial(sim, network), "", nil }}})
	verify, _ := reg.Get(kafka.ActionVerify)
	return verify
}
