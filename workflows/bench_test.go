package workflows

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
)

// The benchmarks below run on a real Temporal dev server ($TOPOFLOW_TEMPORAL,
// $TOPOFLOW_TEMPORAL_BIN or ../.tools/bin/temporal): each runs the interpreter
// and a hand-written Temporal workflow doing the same activities, fetches both
// histories and replays them alternately, reporting both and their ratio:
//
//	go test ./workflows -run '^$' -bench . -benchtime 12x -count 3
//
// (`make bench` runs them with every other benchmark.)

// handChainType is the hand-written baseline of a chain of create steps.
const handChainType = "bench.HandChain"

// handChain runs n fake.create activities one after the other, with the
// options the interpreter gives an action under retry budgets: what a person
// would write by hand for the same plan.
func handChain(ctx workflow.Context, p plan.Plan) error {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var undo []string
	for i := range p.Steps {
		s := &p.Steps[i]
		call := plan.Call{Action: s.Action, Inputs: map[string]any{"name": s.ID}, IdempotencyKey: id + "/" + s.ID}
		ao := budgetActionOptions(s)
		var out plan.Outputs
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), s.Action, call).Get(ctx, &out); err != nil {
			return err
		}
		undo = append(undo, fmt.Sprint(out["id"]))
	}
	_ = undo // the saga stack a hand-written workflow keeps
	return nil
}

// handWaitType is the hand-written baseline of a single wait.
const handWaitType = "bench.HandWait"

func handWait(ctx workflow.Context, p plan.Plan) error {
	s := &p.Steps[0]
	call := plan.Call{Action: s.Action, Inputs: map[string]any{"polls": s.Inputs["polls"].Literal}, IdempotencyKey: "w"}
	ao := workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: WaitHeartbeatTimeout}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), plan.ActionWait,
		plan.WaitCall{Call: call, Contract: *s.Wait}).Get(ctx, nil)
}

// benchServer is a dev server with a worker running the interpreter, the
// baselines and the fake actions (waits poll without sleeping).
type benchServer struct {
	c   client.Client
	rec *recorder
	// onWait, if set, is told when a wait activity starts (+1) and ends (-1).
	onWait func(delta int)
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	c := devServer(b)
	rec := newRecorder()
	rec.statuses = func(call plan.Call, n int) (string, error) {
		want := 1
		if v, ok := call.Inputs["polls"].(float64); ok {
			want = int(v)
		}
		if n >= want {
			return "ACTIVE", nil
		}
		return "CREATING", nil
	}
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	w := worker.New(c, "topoflow-bench", worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.HeartbeatInterceptor()}})
	Register(w)
	w.RegisterWorkflowWithOptions(handChain, workflow.RegisterOptions{Name: handChainType})
	w.RegisterWorkflowWithOptions(handWait, workflow.RegisterOptions{Name: handWaitType})
	reg.RegisterWith(w)
	s := &benchServer{c: c, rec: rec}
	waiter := &core.Waiter{Registry: reg}
	w.RegisterActivityWithOptions(func(ctx context.Context, wc plan.WaitCall) (plan.Outputs, error) {
		if s.onWait != nil {
			s.onWait(1)
			defer s.onWait(-1)
		}
		return waiter.Wait(ctx, wc)
	}, activity.RegisterOptions{Name: plan.ActionWait})
	RegisterTrust(w, rec.loadTrust)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return s
}

// run starts workflow typ with the plan and returns its history.
func (s *benchServer) run(b *testing.B, typ string, p plan.Plan) *historypb.History {
	b.Helper()
	ctx := context.Background()
	var run client.WorkflowRun
	var err error
	if typ == WorkflowType {
		req := request(p)
		run, err = s.c.ExecuteWorkflow(ctx, StartOptions(req, "topoflow-bench"), WorkflowType, req)
	} else {
		run, err = s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "hand/" + p.Source.Name, TaskQueue: "topoflow-bench"}, typ, p)
	}
	if err != nil {
		b.Fatal(err)
	}
	first := run.GetRunID() // Get follows continue-as-new
	if err := run.Get(ctx, nil); err != nil {
		b.Fatalf("%s %s: %v", typ, p.Source.Name, err)
	}
	return s.historyOf(b, run.GetID(), first)
}

// runs starts workflow typ with the plan and returns the histories of all
// its runs (it may continue as new).
func (s *benchServer) runs(b *testing.B, typ string, p plan.Plan) []*historypb.History {
	b.Helper()
	h := s.run(b, typ, p)
	out := []*historypb.History{h}
	id := "hand/" + p.Source.Name
	if typ == WorkflowType {
		id = WorkflowID(p.Source)
	}
	for {
		last := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
		if last == nil {
			return out
		}
		h = s.historyOf(b, id, last.GetNewExecutionRunId())
		out = append(out, h)
	}
}

// history fetches a run's history.
func (s *benchServer) history(b *testing.B, run client.WorkflowRun) *historypb.History {
	return s.historyOf(b, run.GetID(), run.GetRunID())
}

func (s *benchServer) historyOf(b *testing.B, id, runID string) *historypb.History {
	b.Helper()
	ctx := context.Background()
	it := s.c.GetWorkflowHistory(ctx, id, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// dumpHistory writes h to $TOPOFLOW_BENCH_HISTORIES/<name>.json when set.
func dumpHistory(b *testing.B, h *historypb.History, name string) {
	dir := os.Getenv("TOPOFLOW_BENCH_HISTORIES")
	if dir == "" {
		return
	}
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), raw, 0o644); err != nil {
		b.Fatal(err)
	}
}

func chainOf(name string, n int) plan.Plan {
	steps := []plan.Step{create("s1")}
	for i := 2; i <= n; i++ {
		steps = append(steps, create(fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", i-1)))
	}
	return named(mkPlan(plan.FailRollback, steps...), name)
}

// replayOnce replays a copy of h (the replayer changes the history it is
// given) and returns how long the replay took.
// replayPair replays the interpreter's runs ht (workflow ID id) and the
// hand-written history hh (hwID), each first in turn (pair i): the one
// after pays for the garbage the one before left.
func replayPair(b *testing.B, i int, ht []*historypb.History, id string, hh *historypb.History, hwID string) (tf, hw time.Duration) {
	replayTF := func() {
		for _, h := range ht {
			tf += replayOnce(b, h, id, originalRunID(h))
		}
	}
	replayHW := func() { hw = replayOnce(b, hh, hwID, originalRunID(hh)) }
	if i%2 == 0 {
		replayTF()
		replayHW()
	} else {
		replayHW()
		replayTF()
	}
	return tf, hw
}

func replayOnce(b *testing.B, h *historypb.History, id, runID string) time.Duration {
	b.Helper()
	h = proto.Clone(h).(*historypb.History)
	r := worker.NewWorkflowReplayer()
	Register(r)
	r.RegisterWorkflowWithOptions(handChain, workflow.RegisterOptions{Name: handChainType})
	r.RegisterWorkflowWithOptions(handWait, workflow.RegisterOptions{Name: handWaitType})
	start := time.Now()
	err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: id, RunID: runID},
	})
	d := time.Since(start)
	if err != nil {
		b.Fatalf("replay %s: %v", id, err)
	}
	return d
}

// BenchmarkReplayChain replays the history of a chain of 50 and of 1,000
// create steps run by the interpreter (every run of it: it continues as new
// when the server suggests it) and by the hand-written workflow (targets:
// ≤ 2× and ≤ 3× the hand-written replay time; history events ≤ 1.05×).
func BenchmarkReplayChain(b *testing.B) {
	s := newBenchServer(b)
	for _, n := range []int{50, 1000} {
		p := chainOf(fmt.Sprintf("bench-chain-%d", n), n)
		ht := s.runs(b, WorkflowType, p)
		hh := s.run(b, handChainType, p)
		events := 0
		for i, h := range ht {
			events += len(h.Events)
			dumpHistory(b, h, fmt.Sprintf("%s-run%d", p.Source.Name, i+1))
		}
		dumpHistory(b, hh, p.Source.Name+"-hand")
		// A short history replays several times per iteration (pairs), so
		// that -benchtime 12x measures enough replays to be steady on a
		// shared machine.
		pairs := max(1, 500/n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			var tf, hw time.Duration
			var ratios []float64
			for i := 0; i < b.N*pairs; i++ {
				// Each pair replays both, in turn first (the one after pays
				// for the garbage the one before left).
				t1, h1 := replayPair(b, i, ht, WorkflowID(p.Source), hh, "hand/"+p.Source.Name)
				tf, hw = tf+t1, hw+h1
				ratios = append(ratios, float64(t1)/float64(h1))
			}
			slices.Sort(ratios)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N*pairs) }
			b.ReportMetric(ms(tf), "topoflow-ms/op")
			b.ReportMetric(ms(hw), "handwritten-ms/op")
			// ms/op are per replay; time-ratio is the ratio of the totals,
			// median-ratio the median of the pairs' ratios (each pair
			// replayed back to back).
			b.ReportMetric(float64(tf)/float64(hw), "time-ratio")
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
			b.ReportMetric(float64(events), "topoflow-events")
			b.ReportMetric(float64(len(hh.Events)), "handwritten-events")
			b.ReportMetric(float64(events)/float64(len(hh.Events)), "events-ratio")
			b.ReportMetric(float64(len(ht)), "topoflow-runs")
			b.ReportMetric(float64(pairs), "replays/op")
		})
	}
}

// BenchmarkWaitEvents runs a wait of 1 and of 1,000 polls through the
// interpreter and the hand-written workflow and reports the history events
// (target: constant in the number of polls).
func BenchmarkWaitEvents(b *testing.B) {
	s := newBenchServer(b)
	for _, polls := range []int{1, 1000} {
		b.Run(fmt.Sprintf("polls=%d", polls), func(b *testing.B) {
			var tf, hw int
			for i := 0; i < b.N; i++ {
				p := named(waitPlan(), fmt.Sprintf("bench-wait-%d-%d-%d", polls, i, time.Now().UnixNano()))
				p.Steps[0].Inputs["polls"] = plan.Lit(polls)
				tf = len(s.run(b, WorkflowType, p).Events)
				hw = len(s.run(b, handWaitType, p).Events)
			}
			b.ReportMetric(float64(tf), "topoflow-events")
			b.ReportMetric(float64(hw), "handwritten-events")
		})
	}
}

// BenchmarkWaitingRequests starts 1,000 requests whose wait polls every
// minute on one worker with default settings, checks that between polls no
// wait holds an activity slot, then lets every wait see its target at the
// next poll and waits for all to finish (slotFreeWaitChange). It reports the
// most wait activities running at once, and the history events per request.
func BenchmarkWaitingRequests(b *testing.B) {
	const n = 1000
	s := newBenchServer(b)
	var mu sync.Mutex
	released := false
	running, maxRunning, polls := 0, 0, 0
	s.rec.mu.Lock()
	s.rec.statuses = func(call plan.Call, _ int) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		polls++
		if released {
			return "ACTIVE", nil
		}
		return "CREATING", nil
	}
	s.rec.mu.Unlock()
	s.onWait = func(delta int) {
		mu.Lock()
		defer mu.Unlock()
		running += delta
		maxRunning = max(maxRunning, running)
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		released, maxRunning, polls = false, 0, 0
		mu.Unlock()
		start := time.Now()
		var runs []client.WorkflowRun
		for j := 0; j < n; j++ {
			p := named(waitPlan(), fmt.Sprintf("bench-waiting-%d-%d-%d", i, j, start.UnixNano()))
			p.Steps[0].Wait.PollInterval = plan.D(SlotFreePollInterval)
			req := request(p)
			run, err := s.c.ExecuteWorkflow(ctx, StartOptions(req, "topoflow-bench"), WorkflowType, req)
			if err != nil {
				b.Fatal(err)
			}
			runs = append(runs, run)
		}
		// Every request has polled once and waits for its next poll; sample
		// how many waits run at once for 20 s (a heartbeating wait would
		// hold its slot all along: n).
		for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(time.Second) {
			mu.Lock()
			p := polls
			mu.Unlock()
			if p >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("after 10 min %d of %d requests polled", p, n)
			}
		}
		waiting := time.Since(start)
		held := 0
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			mu.Lock()
			held = max(held, running)
			mu.Unlock()
		}
		if held > n/10 {
			b.Errorf("up to %d of %d waiting requests held an activity slot between polls", held, n)
		}
		mu.Lock()
		released = true
		mu.Unlock()
		var events int
		for _, run := range runs {
			if err := run.Get(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
		for _, run := range runs[:10] {
			events += len(s.history(b, run).Events)
		}
		b.ReportMetric(float64(n), "requests")
		b.ReportMetric(float64(held), "max-slots-held-while-waiting")
		b.ReportMetric(float64(maxRunning), "max-waits-running")
		b.ReportMetric(waiting.Seconds(), "s-to-all-waiting")
		b.ReportMetric(float64(events)/10, "events/request")
	}
}

// BenchmarkReplayDumped replays, without a server, the histories
// BenchmarkReplayChain dumped to $TOPOFLOW_BENCH_HISTORIES, as it does
// (pairs in turn first): many pairs in little time, and a CPU profile of
// replays only:
//
//	TOPOFLOW_BENCH_HISTORIES=/tmp/h go test ./workflows -run '^$' -bench 'ReplayChain/steps=50$' -benchtime 1x
//	TOPOFLOW_BENCH_HISTORIES=/tmp/h go test ./workflows -run '^$' -bench ReplayDumped -benchtime 300x -count 3 [-cpuprofile cpu.out]
func BenchmarkReplayDumped(b *testing.B) {
	dir := os.Getenv("TOPOFLOW_BENCH_HISTORIES")
	if dir == "" {
		b.Skip("set TOPOFLOW_BENCH_HISTORIES to the histories BenchmarkReplayChain dumped")
	}
	load := func(path string) *historypb.History {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		return h
	}
	for _, n := range []int{50, 1000} {
		name := fmt.Sprintf("bench-chain-%d", n)
		runs, _ := filepath.Glob(filepath.Join(dir, name+"-run*.json"))
		if len(runs) == 0 {
			continue
		}
		slices.Sort(runs)
		var ht []*historypb.History
		for _, f := range runs {
			ht = append(ht, load(f))
		}
		hh := load(filepath.Join(dir, name+"-hand.json"))
		id := WorkflowID(plan.Source{Kind: "Workflow", Name: name})
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			var tf, hw time.Duration
			var ratios []float64
			for i := 0; i < b.N; i++ {
				t1, h1 := replayPair(b, i, ht, id, hh, "hand/"+name)
				tf, hw = tf+t1, hw+h1
				ratios = append(ratios, float64(t1)/float64(h1))
			}
			slices.Sort(ratios)
			b.ReportMetric(float64(tf)/float64(time.Millisecond)/float64(b.N), "topoflow-ms/op")
			b.ReportMetric(float64(hw)/float64(time.Millisecond)/float64(b.N), "handwritten-ms/op")
			b.ReportMetric(float64(tf)/float64(hw), "time-ratio")
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
		})
	}
}
