//go:build scale

package e2e

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// TestScaleHuaweiCrossAccountRollsBack is `make scale-rollback` (issue 14):
// the request of `make scale` fails late, at its last step (the twin
// refuses the security-group rule with a 400, as a real VPC API refuses a
// rule: VPC.0002), after every endpoint service, endpoint and the
// advertised IPs exist, and rolls itself back. With thousands of units the
// rollback continues as new (rollbackCANChange); it must leave the twin's
// inventory equal to the seed world. It reports the request's history
// events, bytes and runs (forward and rollback together), wall time, CPU
// and peak RSS.
func TestScaleHuaweiCrossAccountRollsBack(t *testing.T) {
	n := 1000
	if v := os.Getenv("SCALE_BROKERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SCALE_BROKERS=%q: want a positive number of brokers", v)
		}
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
	refused := s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.vpc.CreateSecurityGroupRule", Kind: faults.Error,
		Status: 400, Code: "VPC.0002", Message: "injected: rule refused (make scale-rollback)"})

	p := compile(t, scaleSpec(t))
	t0 := time.Now()
	run := startPlan(t, s, p)
	stopWatch := watchScale(t, s, run.GetID(), t0)
	defer stopWatch()
	defer func() {
		if t.Failed() {
			ev, by, runs := historyStats(t, s, run.GetID())
			cpu, peak := cpuAndPeak(t)
			t.Logf("SCALE FAILED after %s: request history %d events, %d bytes, %d runs; %d endpoint services and %d endpoints left in the twin; CPU %s, peak RSS %s",
				time.Since(t0).Round(time.Second), ev, by, runs, count(s, inventory.KindEndpointService), count(s, inventory.KindEndpoint), (cpu - cpu0).Round(time.Millisecond), peak)
		}
	}()
	approveAll(t, s, run.GetID(), "approve-connection", 5*time.Minute+time.Duration(n)*300*time.Millisecond,
		"kafka-owner@example.com", "platform-oncall@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 2*(12*time.Minute+time.Duration(n)*200*time.Millisecond))
	defer cancel()
	err := workflows.Wait(ctx, run)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("request ended after %s with %v, want %s (%s)", time.Since(t0).Round(time.Second), err, workflows.ErrRolledBack, closedCause(t, s, run.GetID()))
	}
	wall := time.Since(t0)
	if !strings.Contains(ae.Message(), "security") && !strings.Contains(ae.Message(), "VPC.0002") {
		t.Errorf("rolled back for %q, want the refused security-group rule", ae.Message())
	}
	if hits := s.Sim().Faults.Rules(); len(hits) == 0 || hits[0].ID != refused || hits[0].Hits == 0 {
		t.Errorf("fault rules %+v: the security-group rule was never refused", hits)
	}
	// The result, not the progress query: with thousands of items its
	// answer is over gRPC's 4 MB message limit. A rollback that left
	// something behind fails with ErrCompensationFailed instead.
	var res workflows.Result
	if err := s.Client.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil {
		t.Fatalf("result: %v", err)
	}
	if res.Outcome != workflows.OutcomeRolledBack || res.Summary == nil || res.Summary.States[workflows.StepCompFailed] != 0 ||
		res.Summary.States[workflows.StepCompensated] == 0 {
		t.Fatalf("result %+v (summary %+v), want rolled back with every step compensated, none failed", res, res.Summary)
	}
	ev, by, runs := historyStats(t, s, run.GetID())
	rbRuns, most := rollbackRuns(t, s, run.GetID())
	cpu1, peak1 := cpuAndPeak(t)
	if diff := inventoryDiff(seed, twinState(t, s)); diff != "" {
		t.Fatalf("after the rollback the twin is not the seed world:\n%s", diff)
	}
	if n >= 1000 && rbRuns == 0 {
		t.Errorf("the rollback of %d brokers never continued as new", n)
	}
	t.Logf("SCALE rollback total: brokers=%d rolledBackIn=%s events=%d bytes=%d runs=%d (%d continue-as-new, %d of them runs that went on with the rollback) mostEventsInARun=%d cpu=%s peakRSS=%s; twin inventory equals the seed world",
		n, wall.Round(time.Millisecond), ev, by, runs, runs-1, rbRuns, most, (cpu1 - cpu0).Round(time.Millisecond), peak1)
}

// rollbackRuns walks a request's runs: how many started with a carried
// rollback (Resume.Rollback), and the most events one run had.
func rollbackRuns(t *testing.T, s *stack.Stack, id string) (rolling, most int) {
	t.Helper()
	ctx := context.Background()
	d, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	for runID := d.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; {
		next, events := "", 0
		it := s.Client.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s run %s: %v", id, runID, err)
			}
			events++
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				var req workflows.Request
				if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &req); err != nil {
					t.Fatalf("input of %s run %s: %v", id, runID, err)
				}
				if req.Resume != nil && req.Resume.Rollback != nil {
					rolling++
				}
			}
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		most = max(most, events)
		runID = next
	}
	return rolling, most
}
