package e2e

import (
	"context"
	"errors"
	"fmt"
	"go.temporal.io/sdk/converter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// repoSpec reads a spec of specs/ under a new name (each test runs its own
// request) with polls and waits shortened for cloudsim's timings.
func repoSpec(t *testing.T, file, name string, replace ...string) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "specs", file))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var orig string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "  name: ") && orig == "" {
			orig = strings.TrimPrefix(line, "  name: ")
		}
	}
	if orig == "" {
		t.Fatalf("%s has no metadata.name", file)
	}
	doc = strings.Replace(doc, "  name: "+orig+"\n", "  name: "+name+"\n", 1)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(doc, replace[i]) {
			t.Fatalf("%s does not contain %q", file, replace[i])
		}
		doc = strings.ReplaceAll(doc, replace[i], replace[i+1])
	}
	return doc
}

// crossAccountSpec is specs/huawei-vpcep-cross-account.yaml with fast polls
// and the explicit vpcEndpoint.acceptance: provider variant (endpoints
// pending acceptance, the gate, the owner's accept), whose kill points these
// tests exercise.
func crossAccountSpec(t *testing.T, name string) string {
	return repoSpec(t, "huawei-vpcep-cross-account.yaml", name,
		"    wait: 30m\n    pollInterval: 5s\n", "    wait: 2m\n    pollInterval: 300ms\n",
		"    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    acceptance: provider\n")
}

// attemptTimeout bounds each attempt of the Huawei actions in the restart
// tests. A killed worker never reports its running activity: the server
// retries it when the attempt times out (default 5 minutes).
const attemptTimeout = 12 * time.Second

// compileRestartable compiles doc with attemptTimeout on the Huawei actions.
func compileRestartable(t *testing.T, doc string) *plan.Plan {
	t.Helper()
	p := compile(t, doc)
	for i := range p.Steps {
		if strings.HasPrefix(p.Steps[i].Action, "huawei.") {
			p.Steps[i].AttemptTimeout = plan.Duration(attemptTimeout)
		}
	}
	if err := p.Check(); err != nil {
		t.Fatalf("plan check: %v", err)
	}
	return p
}

// progress queries the request's progress.
func progress(t *testing.T, s *stack.Stack, run client.WorkflowRun) workflows.Progress {
	t.Helper()
	// A query waits for a workflow task; on a loaded machine one can time
	// out while the worker catches up, so it is asked up to five times.
	var v converter.EncodedValue
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		v, err = s.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryProgress)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			break
		}
	}
	if err != nil {
		t.Fatalf("progress query: %v", err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatalf("decode progress: %v", err)
	}
	return p
}

// stepState returns a step's state in p ("" when absent).
func stepState(p workflows.Progress, id string) string {
	for _, st := range p.Steps {
		if st.ID == id {
			return st.State
		}
	}
	return ""
}

// preconditionWait bounds the wait for a request to reach the point a case
// kills its worker at: a few seconds alone, but once over a minute on a
// 2-core CI machine running the examples e2e beside it (a rehearsal of
// stop 25 timed out at one minute before the first cloud call).
const preconditionWait = 3 * time.Minute

// eventually polls cond every 50ms until it holds or the timeout expires.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ruleHits returns how many calls a fault rule hit.
func ruleHits(s *stack.Stack, id string) int {
	for _, r := range s.Sim().Faults.Rules() {
		if r.ID == id {
			return r.Hits
		}
	}
	return 0
}

// restartWorker stops the in-process worker while a call is in flight (its
// activity context is cancelled after the shutdown timeout, as a killed
// worker's would never report) and starts a fresh one on the same queue.
func restartWorker(t *testing.T, s *stack.Stack) {
	t.Helper()
	start := time.Now()
	if err := s.StopWorker(); err != nil {
		t.Fatalf("stop worker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.StartWorker(ctx); err != nil {
		t.Fatalf("restart worker: %v", err)
	}
	t.Logf("worker restarted in %s", time.Since(start).Round(time.Millisecond))
}

// checkOnePerBroker checks cloudsim's inventory after a completed request:
// exactly one endpoint service per broker port, whitelisting the client's
// domain (across accounts), exactly one accepted endpoint per service in the client VPC, and
// each broker advertising the IP of the endpoint in front of its own port.
func checkOnePerBroker(t *testing.T, s *stack.Stack, kafkaID, clientAccount, clientVPC string) {
	t.Helper()
	inv := s.Sim().Inventory
	k, err := inventory.Get[*inventory.KafkaInstance](inv, kafkaID)
	if err != nil {
		t.Fatal(err)
	}
	client, err := inventory.Get[*inventory.Account](inv, clientAccount)
	if err != nil {
		t.Fatal(err)
	}
	svcs := inventory.List[*inventory.EndpointService](inv, inventory.Filter{})
	eps := inventory.List[*inventory.Endpoint](inv, inventory.Filter{})
	if len(svcs) != len(k.Brokers) || len(eps) != len(k.Brokers) {
		t.Fatalf("%d endpoint services and %d endpoints for %d brokers:\n%s", len(svcs), len(eps), len(k.Brokers), describeVPCEP(svcs, eps))
	}
	svcByPort := map[string]*inventory.EndpointService{}
	for _, sv := range svcs {
		if svcByPort[sv.PortID] != nil {
			t.Fatalf("two endpoint services on port %s:\n%s", sv.PortID, describeVPCEP(svcs, eps))
		}
		svcByPort[sv.PortID] = sv
		white := false
		for _, p := range sv.Permissions {
			white = white || strings.Contains(p.Permission, client.DomainID)
		}
		if !white && clientAccount != k.Account {
			t.Fatalf("service %s does not whitelist domain %s: %+v", sv.ID, client.DomainID, sv.Permissions)
		}
	}
	epBySvc := map[string]*inventory.Endpoint{}
	for _, e := range eps {
		if epBySvc[e.ServiceID] != nil {
			t.Fatalf("two endpoints to service %s:\n%s", e.ServiceID, describeVPCEP(svcs, eps))
		}
		if e.Status != inventory.EndpointAccepted || e.Account != clientAccount || e.VPCID != clientVPC {
			t.Fatalf("endpoint %s: status %s, account %s, VPC %s", e.ID, e.Status, e.Account, e.VPCID)
		}
		epBySvc[e.ServiceID] = e
	}
	for _, b := range k.Brokers {
		sv := svcByPort[b.PortID]
		if sv == nil {
			t.Fatalf("no endpoint service on broker %d's port %s", b.ID, b.PortID)
		}
		e := epBySvc[sv.ID]
		if e == nil {
			t.Fatalf("no endpoint to service %s (broker %d)", sv.ID, b.ID)
		}
		if b.AdvertisedHost() != e.IP {
			t.Fatalf("broker %d advertises %s, its endpoint is %s", b.ID, b.AdvertisedHost(), e.IP)
		}
	}
}

func describeVPCEP(svcs []*inventory.EndpointService, eps []*inventory.Endpoint) string {
	var lines []string
	for _, s := range svcs {
		lines = append(lines, fmt.Sprintf("service %s port %s %s %q", s.ID, s.PortID, s.Status, s.Description))
	}
	for _, e := range eps {
		lines = append(lines, fmt.Sprintf("endpoint %s → %s %s %s %q", e.ID, e.ServiceID, e.Status, e.IP, e.Description))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestHuaweiWorkerRestart kills the worker at several points of the
// cross-account request (specs/huawei-vpcep-cross-account.yaml) and starts a
// new one: the request completes with exactly one endpoint service and one
// endpoint per broker, and the brokers advertise their own endpoints.
//
// "Response lost" points use cloudsim's response-phase faults: the cloud
// applies the call, then holds its response until the worker is stopped, so
// the next attempt (on the new worker) must find what the first created.
func TestHuaweiWorkerRestart(t *testing.T) {
	t.Parallel()
	hold := plan.Duration(2 * time.Minute)
	cases := []struct {
		name string
		// rule is added before the request starts (nil: none).
		rule *faults.Rule
		// afterGate is added once the approval gate waits, before approving.
		afterGate *faults.Rule
		// ready says when the worker is killed, with the rule's ID.
		ready func(s *stack.Stack, rule string) bool
		// beforeGate: the kill point comes before the approval.
		beforeGate bool
	}{{
		name:       "endpoint service created, response lost",
		beforeGate: true,
		rule:       &faults.Rule{Op: "huawei.vpcep.CreateEndpointService" + hwsim.ResponseSuffix, Kind: faults.Timeout, Latency: hold, Times: 1},
		ready: func(s *stack.Stack, rule string) bool {
			return ruleHits(s, rule) == 1 && count(s, inventory.KindEndpointService) >= 1
		},
	}, {
		name:       "endpoint created, response lost",
		beforeGate: true,
		rule:       &faults.Rule{Op: "huawei.vpcep.CreateEndpoint" + hwsim.ResponseSuffix, Kind: faults.Timeout, Latency: hold, Times: 1},
		ready: func(s *stack.Stack, rule string) bool {
			return ruleHits(s, rule) == 1 && count(s, inventory.KindEndpoint) >= 1
		},
	}, {
		name:      "waiting for Accepted",
		afterGate: &faults.Rule{Op: "huawei.vpcep.ListEndpointInfoDetails", Kind: faults.Latency, Latency: hold, Times: 1},
		ready:     func(s *stack.Stack, rule string) bool { return ruleHits(s, rule) == 1 },
	}, {
		name: "advertised IPs patched, before verification",
		rule: &faults.Rule{Op: "huawei.kafka.UpdateInstanceCrossVpcIp" + hwsim.ResponseSuffix, Kind: faults.Timeout, Latency: hold, Times: 1},
		ready: func(s *stack.Stack, rule string) bool {
			if ruleHits(s, rule) != 1 {
				return false
			}
			k, err := inventory.Get[*inventory.KafkaInstance](s.Sim().Inventory, hwKafka)
			return err == nil && k.Brokers[0].AdvertisedHost() != k.Brokers[0].ListenerIP
		},
	}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			before := advertised(t, s)
			var rule string
			if tc.rule != nil {
				rule = s.Sim().Faults.MustAdd(*tc.rule)
			}
			run := startPlan(t, s, compileRestartable(t, crossAccountSpec(t, fmt.Sprintf("e2e-hw-restart-%d", i))))
			if tc.afterGate != nil {
				eventually(t, preconditionWait, "the approval gate waits", func() bool {
					return stepState(progress(t, s, run), "approve-connection") == workflows.StepWaiting
				})
				rule = s.Sim().Faults.MustAdd(*tc.afterGate)
			}
			if !tc.beforeGate {
				decide(t, s, run, workflows.UpdateApprove, "approve-connection")
			}
			eventually(t, preconditionWait, "the kill point is reached", func() bool { return tc.ready(s, rule) })
			restartWorker(t, s)
			if tc.beforeGate {
				decide(t, s, run, workflows.UpdateApprove, "approve-connection")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if err := workflows.Wait(ctx, run); err != nil {
				t.Fatalf("request failed after the worker restart: %v", err)
			}
			checkOnePerBroker(t, s, hwKafka, "hw-client-b", hwClientVPC)
			after := advertised(t, s)
			for l := range before {
				if after[l] == before[l] {
					t.Fatalf("listener %s still advertises %s", l, before[l])
				}
			}
			p := progress(t, s, run)
			if p.Phase != workflows.PhaseDone || stepState(p, "verify") != workflows.StepDone {
				t.Fatalf("phase %s, verify %s", p.Phase, stepState(p, "verify"))
			}
		})
	}
}
