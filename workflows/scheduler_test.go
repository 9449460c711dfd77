package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/plan"
)

// TestSchedulerChain: a long chain behind an approval runs in order once
// approved, and the Web UI's details follow (schedulerChange: rendered once
// per dispatcher pass). BenchmarkReplayChain measures what the scheduler is
// for (no coroutine per pending step).
func TestSchedulerChain(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	steps := []plan.Step{approval("ok", []string{"alice"}, 0), create("s1", "ok")}
	for i := 2; i <= 60; i++ {
		steps = append(steps, create(fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", i-1)))
	}
	var details string
	env.RegisterDelayedCallback(func() {
		details = currentDetails(t, env)
		env.UpdateWorkflow(UpdateApprove, "u1", &updateCB{}, Decision{Step: "ok", Identity: "alice"})
	}, time.Hour)
	if err := run(t, env, request(mkPlan(plan.FailRollback, steps...))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(details, "WaitingApproval") {
		t.Errorf("details while waiting do not show the phase:\n%s", details)
	}
	seq := rec.sequence()
	if len(seq) != 60 {
		t.Fatalf("%d calls, want 60", len(seq))
	}
	for i, c := range seq {
		if want := fmt.Sprintf("/s%d", i+1); !strings.HasSuffix(c, want) {
			t.Fatalf("call %d is %s, want step s%d", i, c, i+1)
		}
	}
	if d := currentDetails(t, env); !strings.Contains(d, "Done") {
		t.Errorf("final details do not show Done:\n%s", d)
	}
}

// currentDetails is the Web UI's current details of the test workflow.
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("metadata query: %v", err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatalf("decode metadata: %v", err)
	}
	return md.GetCurrentDetails()
}

// TestFanOutBounds: a fan-out without a concurrency runs at most
// plan.DefaultFanoutConcurrency items at once; a step's concurrency and the
// plan's maxParallel override it (fanoutBoundChange).
func TestFanOutBounds(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		items, concurrency, maxP int
		wantMax                  int
	}{
		{name: "default", items: 130, wantMax: plan.DefaultFanoutConcurrency},
		{name: "step-override", items: 130, concurrency: 120, wantMax: 120},
		{name: "plan-max-parallel", items: 130, maxP: 50, wantMax: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.delay = 300 * time.Millisecond
			env := newEnv(t, rec)
			p := mkPlan(plan.FailRollback, brokers(tc.items), fanout(tc.concurrency))
			p.MaxParallel = tc.maxP
			if err := run(t, env, request(p)); err != nil {
				t.Fatal(err)
			}
			if rec.maxInflight != tc.wantMax {
				t.Errorf("at most %d items ran at once, want %d", rec.maxInflight, tc.wantMax)
			}
			if n := rec.count("fake.patch"); n != tc.items {
				t.Errorf("%d items ran, want %d", n, tc.items)
			}
		})
	}
}

func TestBound(t *testing.T) {
	for _, tc := range []struct{ n, def, want int }{
		{0, 100, 100},
		{7, 100, 7},
		{-1, 100, 100},
		{plan.MaxConcurrency + 1, 100, plan.MaxConcurrency},
		{5000, plan.DefaultMaxParallel, plan.MaxConcurrency},
	} {
		if got := bound(tc.n, tc.def); got != tc.want {
			t.Errorf("bound(%d, %d) = %d, want %d", tc.n, tc.def, got, tc.want)
		}
	}
}

// markers counts the version markers of changeID in h.
func markers(h *historypb.History, changeID string) int {
	n := 0
	for _, e := range h.GetEvents() {
		if a := e.GetMarkerRecordedEventAttributes(); a != nil && strings.Contains(a.String(), changeID) {
			n++
		}
	}
	return n
}

// TestSchedulerHistories: the histories recorded before the scheduler
// replay the old code (TestReplay) and have no marker; those recorded after
// have the scheduler's marker, the fan-out bound's only where a fan-out has
// no bound, and a summary result.
func TestSchedulerHistories(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sched, bounded int
		summary        bool
	}{
		{name: "chain-3"},
		{name: "fanout"},
		{name: "sched-chain-3", sched: 1, summary: true},
		{name: "sched-diamond", sched: 1, summary: true},
		{name: "sched-fanout", sched: 1, summary: true},
		{name: "sched-fanout-default", sched: 1, bounded: 1, summary: true},
	} {
		h := loadHistory(t, tc.name)
		if n := markers(h, schedulerChange); n != tc.sched {
			t.Errorf("%s: %d %s markers, want %d", tc.name, n, schedulerChange, tc.sched)
		}
		if n := markers(h, fanoutBoundChange); n != tc.bounded {
			t.Errorf("%s: %d %s markers, want %d", tc.name, n, fanoutBoundChange, tc.bounded)
		}
		last := h.Events[len(h.Events)-1].GetWorkflowExecutionCompletedEventAttributes()
		var res Result
		if err := converter.GetDefaultDataConverter().FromPayloads(last.GetResult(), &res); err != nil {
			t.Fatalf("%s: result: %v", tc.name, err)
		}
		if got := res.Summary != nil && len(res.Steps) == 0; got != tc.summary {
			t.Errorf("%s: result summary %+v with %d steps, want a summary: %v", tc.name, res.Summary, len(res.Steps), tc.summary)
		}
	}
	// The diamond's two middle steps were scheduled in plan order, in one task.
	var order []string
	for _, e := range loadHistory(t, "sched-diamond").Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "fake.create" {
			var call plan.Call
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &call); err != nil {
				t.Fatal(err)
			}
			order = append(order, call.IdempotencyKey[strings.LastIndex(call.IdempotencyKey, "/")+1:])
		}
	}
	if strings.Join(order, ",") != "a,b,c,d" {
		t.Errorf("diamond scheduled %v, want a,b,c,d", order)
	}
}
