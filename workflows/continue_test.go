package workflows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// handOver runs req in a fresh test environment where continue-as-new is
// suggested after the n-th completed call of action, and returns the
// workflow's error.
func handOver(t *testing.T, rec *recorder, req Request, action string, n int) error {
	t.Helper()
	env := newEnv(t, rec)
	done := 0
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == action {
			if done++; done == n {
				env.SetContinueAsNewSuggested(true)
			}
		}
	})
	return run(t, env, req)
}

// nextRun decodes the request a run continued as new with.
func nextRun(t *testing.T, err error) Request {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	var req Request
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &req); err != nil {
		t.Fatal(err)
	}
	if req.Resume == nil {
		t.Fatal("continued as new without the state")
	}
	expandResume(t, req.Resume) // for the assertions; the run restores from Units
	return req
}

func chainPlanOf(n int) plan.Plan {
	steps := []plan.Step{create("s1")}
	for i := 2; i <= n; i++ {
		steps = append(steps, create(fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", i-1)))
	}
	return mkPlan(plan.FailRollback, steps...)
}

// TestContinueAsNewChain: when Temporal suggests it after step 3, the run
// hands over with steps 1-3 done, and the next run does 4-6 only, reading
// the outputs of the first run, and its result counts both runs.
func TestContinueAsNewChain(t *testing.T) {
	rec := newRecorder()
	p := chainPlanOf(6)
	p.Steps[5].Inputs["first"] = plan.Expr("steps.s1.id")
	req := nextRun(t, handOver(t, rec, request(p), "fake.create", 3))
	var states []string
	for _, s := range req.Resume.Steps {
		states = append(states, s.State)
	}
	if strings.Join(states, ",") != "done,done,done,pending,pending,pending" || req.Resume.Runs != 1 || len(req.Resume.Done) != 3 {
		t.Fatalf("carried states %v, runs %d, saga %d; want 3 done of 6 after 1 run", states, req.Resume.Runs, len(req.Resume.Done))
	}
	env := newEnv(t, rec)
	if err := run(t, env, req); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Summary == nil || res.Summary.Runs != 2 || res.Summary.States[StepDone] != 6 {
		t.Errorf("result %+v, want 6 done steps in 2 runs", res.Summary)
	}
	var keys []string
	for _, c := range rec.calls {
		keys = append(keys, c.IdempotencyKey[strings.LastIndex(c.IdempotencyKey, "/")+1:])
	}
	if strings.Join(keys, ",") != "s1,s2,s3,s4,s5,s6" {
		t.Errorf("calls %v, want each step once", keys)
	}
	if got, want := rec.calls[5].Inputs["first"], "fake.create-"+WorkflowID(p.Source)+"/s1"; got != want {
		t.Errorf("s6 read s1's id %v, want %v (outputs carried)", got, want)
	}
}

// TestContinueAsNewCarriesTheSaga: a failure in the second run compensates
// what the first run did too, newest first.
func TestContinueAsNewCarriesTheSaga(t *testing.T) {
	rec := newRecorder()
	req := nextRun(t, handOver(t, rec, request(chainPlanOf(5)), "fake.create", 2))
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.create" && strings.HasSuffix(c.IdempotencyKey, "/s5") {
			return nonRetryable("s5 fails")
		}
		return nil
	}
	err := run(t, newEnv(t, rec), req)
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("second run: %v, want rolled back", err)
	}
	var undone []string
	for _, c := range rec.calls {
		if c.Action == "fake.undo" {
			id := fmt.Sprint(c.Inputs["id"])
			undone = append(undone, id[strings.LastIndex(id, "/")+1:])
		}
	}
	if strings.Join(undone, ",") != "s4,s3,s2,s1" {
		t.Errorf("compensated %v, want s4,s3,s2,s1", undone)
	}
}

// TestContinueAsNewFanOut: a fan-out stops starting items, lets the running
// ones finish and hands over; the next run runs only the items left, and a
// later step sees every item's output.
func TestContinueAsNewFanOut(t *testing.T) {
	rec := newRecorder()
	use := create("use", "endpoint")
	use.Inputs["ids"] = plan.Expr("map(steps.endpoint, #.id)")
	p := mkPlan(plan.FailRollback, brokers(8), fanout(2), use)
	req := nextRun(t, handOver(t, rec, request(p), "fake.patch", 3))
	carried := 0
	for _, it := range req.Resume.Steps[1].Items {
		if it.State == StepDone {
			carried++
		}
	}
	if carried < 3 || carried == 8 || len(req.Resume.Steps[1].Items) != 8 {
		t.Fatalf("%d of %d items carried done, want 3 or 4 of 8", carried, len(req.Resume.Steps[1].Items))
	}
	if err := run(t, newEnv(t, rec), req); err != nil {
		t.Fatal(err)
	}
	var patched []string
	for _, c := range rec.calls {
		if c.Action == "fake.patch" {
			patched = append(patched, c.IdempotencyKey[strings.LastIndex(c.IdempotencyKey, "/")+1:])
		}
	}
	sort.Strings(patched)
	if strings.Join(patched, ",") != "b0,b1,b2,b3,b4,b5,b6,b7" {
		t.Errorf("patched %v, want each item once", patched)
	}
	last := rec.calls[len(rec.calls)-1]
	if ids, _ := last.Inputs["ids"].([]any); len(ids) != 8 {
		t.Errorf("use.ids = %v, want 8 ids", last.Inputs["ids"])
	}
}

// TestRecordContinueAsNew records a request that continues as new on a
// real dev server told to suggest it early (after 60 events): a chain of 12
// steps runs in two runs, each step once (`go test ./workflows -run
// TestRecordContinueAsNew -record`); TestReplay replays both runs.
func TestRecordContinueAsNew(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60")
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	recordWorker(t, c, rec, reg)
	ctx := context.Background()
	p := named(chainPlanOf(12), "can-chain")
	req := request(p)
	run, err := c.ExecuteWorkflow(ctx, StartOptions(req, "topoflow-record"), WorkflowType, req)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Summary == nil || res.Summary.Runs < 2 || res.Summary.States[StepDone] != 12 || rec.count("fake.create") != 12 {
		t.Fatalf("result %+v after %d creates, want 12 done steps, each once, in 2 runs or more", res.Summary, rec.count("fake.create"))
	}
	first := fetchHistory(t, c, run.GetID(), run.GetRunID())
	last := fetchHistory(t, c, run.GetID(), "")
	writeHistory(t, first, "can-run-1")
	writeHistory(t, last, "can-run-last")
}

func fetchHistory(t testing.TB, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

func writeHistory(t testing.TB, h *historypb.History, name string) {
	t.Helper()
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", *recordAs+name+".json"), append(b, '\n'), 0o644); err != nil { // bundle2_record_test.go
		t.Fatal(err)
	}
}

// TestContinueAsNewHistories: the recorded first run hands over (the
// marker, a continued-as-new event carrying the state); the last run starts
// from it.
func TestContinueAsNewHistories(t *testing.T) {
	first, last := loadHistory(t, "can-run-1"), loadHistory(t, "can-run-last")
	if n := markers(first, continueAsNewChange); n != 1 {
		t.Errorf("first run has %d %s markers, want 1", n, continueAsNewChange)
	}
	end := first.Events[len(first.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if end == nil {
		t.Fatalf("first run ends with %v, want continued as new", first.Events[len(first.Events)-1].GetEventType())
	}
	var req Request
	if err := converter.GetDefaultDataConverter().FromPayloads(
		last.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &req); err != nil {
		t.Fatal(err)
	}
	if req.Resume == nil || req.Resume.Runs < 1 || len(req.Resume.Done) == 0 {
		t.Fatalf("last run started with %+v, want the carried state", req.Resume)
	}
	if len(first.Events) > 120 {
		t.Errorf("first run has %d events, want it to hand over soon after the suggestion at 60", len(first.Events))
	}
}
