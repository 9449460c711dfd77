package workflows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/stretchr/testify/mock"
	"github.com/topoflow/topoflow/plan"
)

// brokers is a step whose outputs list the items to fan out over.
func brokers(n int) plan.Step {
	list := make([]any, n)
	for i := range list {
		list[i] = map[string]any{"id": fmt.Sprintf("b%d", i), "ip": fmt.Sprintf("10.0.0.%d", i+1)}
	}
	s := create("list")
	s.Inputs = map[string]plan.Value{"brokers": plan.Lit(list)}
	s.Compensation = nil
	return s
}

func fanout(concurrency int) plan.Step {
	s := create("endpoint", "list")
	s.ForEach = &plan.ForEach{Items: "steps.list.echo.brokers", As: "broker", Key: "broker.id", Concurrency: concurrency}
	s.Inputs = map[string]plan.Value{"ip": plan.Expr("broker.ip"), "n": plan.Expr("index")}
	s.Action = "fake.patch"
	s.Compensation.Inputs = map[string]plan.Value{"id": plan.Expr("output.id"), "ip": plan.Expr("input.ip")}
	return s
}

func TestFanOut(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		maxParallel int
		wantMax     int
	}{
		{name: "limit-2", concurrency: 2, wantMax: 2},
		{name: "limit-1", concurrency: 1, wantMax: 1},
		{name: "plan-max-parallel-3", maxParallel: 3, wantMax: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.delay = 30 * time.Millisecond
			env := newEnv(t, rec)
			use := create("use", "endpoint")
			use.Inputs["ids"] = plan.Expr("map(steps.endpoint, #.id)")
			p := mkPlan(plan.FailRollback, brokers(6), fanout(tc.concurrency), use)
			p.MaxParallel = tc.maxParallel
			if err := run(t, env, request(p)); err != nil {
				t.Fatal(err)
			}
			if rec.maxInflight != tc.wantMax {
				t.Errorf("at most %d actions ran at once, want %d", rec.maxInflight, tc.wantMax)
			}
			var patched []string
			for _, c := range rec.calls {
				if c.Action == "fake.patch" {
					patched = append(patched, c.IdempotencyKey[strings.LastIndex(c.IdempotencyKey, "/")+1:]+"="+c.Inputs["ip"].(string))
				}
			}
			sort.Strings(patched)
			if strings.Join(patched, ",") != "b0=10.0.0.1,b1=10.0.0.2,b2=10.0.0.3,b3=10.0.0.4,b4=10.0.0.5,b5=10.0.0.6" {
				t.Errorf("patched %v", patched)
			}
			last := rec.calls[len(rec.calls)-1]
			if ids, _ := last.Inputs["ids"].([]any); len(ids) != 6 {
				t.Errorf("use.ids = %v, want 6 ids", last.Inputs["ids"])
			}
			prog := queryProgress(t, env)
			if s := prog.Steps[1]; s.Items != 6 || s.ItemsDone != 6 {
				t.Errorf("progress items %d done %d", s.Items, s.ItemsDone)
			}
		})
	}
}

// TestFanOutFailureCompensatesDoneItems: one item fails; the items that
// finished are compensated, the failing and unstarted ones are not.
func TestFanOutFailureCompensatesDoneItems(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.patch" && strings.HasSuffix(c.IdempotencyKey, "/b2") {
			return nonRetryable("b2 broken")
		}
		return nil
	}
	env := newEnv(t, rec)
	err := run(t, env, request(mkPlan(plan.FailRollback, brokers(5), fanout(1))))
	if appErrType(err) != ErrRolledBack {
		t.Fatalf("error %v", err)
	}
	var undone []string
	for _, c := range rec.calls {
		if c.Action == "fake.undo" {
			undone = append(undone, c.Inputs["ip"].(string))
		}
	}
	if strings.Join(undone, ",") != "10.0.0.2,10.0.0.1" {
		t.Errorf("compensated %v, want b1 then b0", undone)
	}
	if n := rec.count("fake.patch"); n != 3 {
		t.Errorf("%d items ran, want 3 (none after the failure)", n)
	}
}

// waitPlan polls fake.get until "ACTIVE".
func waitPlan() plan.Plan {
	w := plan.Step{ID: "wait-active", Title: "Wait until ACTIVE", Action: "fake.get",
		Inputs: map[string]plan.Value{"id": plan.Lit("x")},
		Wait: &plan.Wait{Pending: []string{"CREATING"}, Target: []string{"ACTIVE"}, Failure: []string{"FAILED"},
			PollInterval: plan.D(time.Millisecond), Timeout: plan.D(time.Hour)}}
	return mkPlan(plan.FailRollback, w)
}

func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		polls    int
		final    string
		wantErr  string
		observed string
	}{
		{name: "1-poll", polls: 1, final: "ACTIVE", observed: "ACTIVE"},
		{name: "1000-polls", polls: 1000, final: "ACTIVE", observed: "ACTIVE"},
		{name: "failure-state", polls: 3, final: "FAILED", wantErr: ErrRolledBack, observed: "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.statuses = func(c plan.Call, n int) (string, error) {
				if n >= tc.polls {
					return tc.final, nil
				}
				if n%7 == 3 {
					return "", temporal.NewApplicationError("flaky", plan.ErrUnavailable)
				}
				return "CREATING", nil
			}
			env := newEnv(t, rec)
			starts := 0
			env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
				if info.ActivityType.Name == plan.ActionWait {
					starts++
				}
			})
			err := run(t, env, request(waitPlan()))
			if appErrType(err) != tc.wantErr {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := rec.count("fake.get"); got != tc.polls {
				t.Errorf("%d polls, want %d", got, tc.polls)
			}
			if starts != 1 {
				t.Errorf("wait activity started %d times, want 1 for the whole wait", starts)
			}
			var prog Progress
			if err != nil {
				prog = finalProgress(t, err)
			} else {
				prog = queryProgress(t, env)
			}
			if prog.Steps[0].Observed != tc.observed {
				t.Errorf("observed %q, want %q", prog.Steps[0].Observed, tc.observed)
			}
		})
	}
}

// lockPlan patches one Kafka instance under a lock.
func lockPlan(name string, locked bool) plan.Plan {
	s := create("patch", "before")
	s.Action = "fake.patch"
	s.Inputs = map[string]plan.Value{"instance": plan.Lit("kafka-1")}
	if locked {
		s.Locks = []string{`"kafka:huawei:" + "kafka-1"`}
	}
	p := mkPlan(plan.FailRollback, create("before"), s, create("after", "patch"))
	p.Source.Name = name
	return p
}

// twoRequests is a test-only workflow that runs two interpreters at once as
// children, as two applies of different specs would.
func twoRequests(ctx workflow.Context, a, b Request) error {
	var futs []workflow.ChildWorkflowFuture
	for i, req := range []Request{a, b} {
		if i > 0 {
			// See TestLocksSerializeAcrossWorkflows.
			_ = workflow.Sleep(ctx, time.Millisecond)
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: WorkflowID(req.Plan.Source)})
		futs = append(futs, workflow.ExecuteChildWorkflow(cctx, WorkflowType, req))
	}
	for _, f := range futs {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func overlaps(iv [][2]time.Time) bool {
	sort.Slice(iv, func(i, j int) bool { return iv[i][0].Before(iv[j][0]) })
	for i := 1; i < len(iv); i++ {
		if iv[i][0].Before(iv[i-1][1]) {
			return true
		}
	}
	return false
}

func TestLocksSerializeAcrossWorkflows(t *testing.T) {
	for _, tc := range []struct {
		name        string
		locked      bool
		wantOverlap bool
	}{
		{name: "locked", locked: true},
		// Control: without the lock the same two requests do overlap, so the
		// locked case is not passing by accident.
		{name: "unlocked-control", locked: false, wantOverlap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			// Each patch takes 500ms; the second request reaches its patch
			// 300ms after the first, inside the first one's patch window (the
			// unlocked control shows they overlap). The stagger exists because
			// the test environment panics on a signal to a child workflow it
			// has registered but not yet run (a real server buffers it), so
			// the two must not ask at the same instant here; the real-server
			// recording (-record) starts both at once.
			rec.delayFor = func(c plan.Call) time.Duration {
				switch {
				case c.Action == "fake.patch":
					return 500 * time.Millisecond
				case strings.HasSuffix(c.IdempotencyKey, "two/before"):
					return 300 * time.Millisecond
				}
				return 0
			}
			env := newEnv(t, rec)
			env.RegisterWorkflow(twoRequests)
			env.ExecuteWorkflow(twoRequests, request(lockPlan("one", tc.locked)), request(lockPlan("two", tc.locked)))
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			iv := rec.intervals["fake.patch"]
			if len(iv) != 2 {
				t.Fatalf("%d patches, want 2", len(iv))
			}
			if got := overlaps(iv); got != tc.wantOverlap {
				t.Errorf("patches overlap = %v, want %v (%v)", got, tc.wantOverlap, iv)
			}
		})
	}
}

func TestLockWorkflowQueue(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(LockWorkflow, workflow.RegisterOptions{Name: LockWorkflowType})
	var grants []string
	env.OnSignalExternalWorkflow("default-test-namespace", "wf-a", "", SignalLockGranted, LockGrant{Key: "k", Token: "a"}).
		Return(nil).Run(func(args mockArgs) { grants = append(grants, "a") })
	env.OnSignalExternalWorkflow("default-test-namespace", "wf-b", "", SignalLockGranted, LockGrant{Key: "k", Token: "b"}).
		Return(nil).Run(func(args mockArgs) { grants = append(grants, "b") })
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalLockAcquire, LockRequest{WorkflowID: "wf-b", Token: "b"})
		env.SignalWorkflow(SignalLockAcquire, LockRequest{WorkflowID: "wf-b", Token: "b"}) // duplicate
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		if len(grants) != 1 {
			t.Errorf("b was granted while a held the lock: %v", grants)
		}
		v, err := env.QueryWorkflow(QueryLockState)
		var st LockState
		if err != nil || v.Get(&st) != nil || st.Holder == nil || st.Holder.Token != "a" || len(st.Queue) != 1 || st.Queue[0].Token != "b" {
			t.Errorf("lock state %+v (%v), want a holding and b queued once", st, err)
		}
		env.SignalWorkflow(SignalLockRelease, "a")
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalLockRelease, "b") }, 3*time.Minute)
	env.ExecuteWorkflow(LockWorkflowType, LockState{Key: "k", Queue: []LockRequest{{WorkflowID: "wf-a", Token: "a"}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(grants, ",") != "a,b" {
		t.Errorf("grants %v, want a then b once", grants)
	}
}

type mockArgs = mock.Arguments
