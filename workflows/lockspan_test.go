package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// spanKeyExpr is the lock of every locked step in these tests.
const spanKeyExpr = `"ambari:rg/" + "cluster"`

// spanCall is one recorded call of a span test action.
type spanCall struct {
	action, key string
	start, end  time.Time
}

// spanRec records span.* calls with their real-time intervals; onCall, if
// set, runs inside the call (before it sleeps).
type spanRec struct {
	mu     sync.Mutex
	calls  []spanCall
	delay  func(call plan.Call) time.Duration
	onCall func(call plan.Call)
}

func (sr *spanRec) action(name string) activities.Func {
	return func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		start := time.Now()
		if sr.onCall != nil {
			sr.onCall(call)
		}
		if sr.delay != nil {
			time.Sleep(sr.delay(call))
		}
		sr.mu.Lock()
		sr.calls = append(sr.calls, spanCall{action: name, key: call.IdempotencyKey, start: start, end: time.Now()})
		sr.mu.Unlock()
		if name == "span.fail" {
			return nil, nonRetryable("span.fail fails")
		}
		return plan.Outputs{"id": name + "-" + call.IdempotencyKey}, nil
	}
}

// intervals of the calls whose idempotency key contains wf and whose action is one of actions.
func (sr *spanRec) intervals(wf string, actions ...string) []spanCall {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	var out []spanCall
	for _, c := range sr.calls {
		if strings.Contains(c.key, "/"+wf+"/") {
			for _, a := range actions {
				if c.action == a {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func newSpanEnv(t *testing.T, sr *spanRec) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := newEnv(t, newRecorder())
	reg := activities.NewRegistry()
	for _, a := range []string{"span.locked", "span.free", "span.undo", "span.fail"} {
		reg.Add(a, sr.action(a))
	}
	reg.RegisterWith(env)
	return env
}

// spanStep is a step of a span test plan: locked steps name spanKeyExpr and
// have a compensation span.undo.
func spanStep(id, action string, locked bool, deps ...string) plan.Step {
	s := plan.Step{
		ID: id, Title: id, Action: action, DependsOn: deps,
		Inputs: map[string]plan.Value{"name": plan.Lit(id)},
		Retry:  &plan.Retry{MaximumAttempts: 1},
	}
	if locked {
		s.Locks = []string{spanKeyExpr}
		s.Compensation = &plan.Compensation{Title: "Undo " + id, Action: "span.undo", Inputs: map[string]plan.Value{"id": plan.Expr("output.id")}}
	}
	return s
}

// chainPlan chains steps given as "id:action:locked?" (e.g. "l1:span.locked:L").
func chainPlan(name string, specs ...string) plan.Plan {
	var steps []plan.Step
	prev := ""
	for _, sp := range specs {
		f := strings.Split(sp, ":")
		var deps []string
		if prev != "" {
			deps = []string{prev}
		}
		steps = append(steps, spanStep(f[0], f[1], len(f) > 2 && f[2] == "L", deps...))
		prev = f[0]
	}
	p := mkPlan(plan.FailRollback, steps...)
	p.Source.Name = name
	return p
}

func wfID(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

// span of a workflow's locked calls (forward actions and their undos).
func lockedSpan(calls []spanCall) (first, last time.Time) {
	for i, c := range calls {
		if i == 0 || c.start.Before(first) {
			first = c.start
		}
		if c.end.After(last) {
			last = c.end
		}
	}
	return first, last
}

// TestLockSpanNoInterleave: two requests each name the key in three steps
// with unlocked steps between them; the second request's first locked step
// starts only after the first request's last locked step ended. The control
// (the workflow version before lock spans) interleaves, so the test can fail.
func TestLockSpanNoInterleave(t *testing.T) {
	for _, tc := range []struct {
		name           string
		oldVersion     bool
		wantInterleave bool
	}{
		{name: "span"},
		{name: "per-step-control", oldVersion: true, wantInterleave: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := &spanRec{}
			// one: l1 0-200ms, n1 200-400, l2 400-600, n2 600-800, l3 800-1000.
			// two asks for the key at 300ms, while one runs its unlocked n1.
			sr.delay = func(c plan.Call) time.Duration {
				if strings.HasSuffix(c.IdempotencyKey, "two/pre") {
					return 300 * time.Millisecond
				}
				return 200 * time.Millisecond
			}
			var waitingMsg string
			var env *testsuite.TestWorkflowEnvironment
			if !tc.oldVersion {
				sr.onCall = func(c plan.Call) {
					// While one runs l2, two waits for the key: its progress says so.
					if !strings.HasSuffix(c.IdempotencyKey, "one/l2") {
						return
					}
					time.Sleep(150 * time.Millisecond)
					if v, err := env.QueryWorkflowByID(wfID("two"), QueryProgress); err == nil {
						var p Progress
						if v.Get(&p) == nil {
							waitingMsg = stepState(p, "l1") + " " + observed(p, "l1")
						}
					}
				}
			}
			env = newSpanEnv(t, sr)
			env.RegisterWorkflow(twoRequests)
			if tc.oldVersion {
				// A run started before the change: before the bundle too.
				env.OnGetVersion(changeBundle2, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				env.OnGetVersion(changeBundle, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				env.OnGetVersion(lockSpanChange, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			one := chainPlan("one", "l1:span.locked:L", "n1:span.free", "l2:span.locked:L", "n2:span.free", "l3:span.locked:L")
			two := chainPlan("two", "pre:span.free", "l1:span.locked:L", "n1:span.free", "l2:span.locked:L", "n2:span.free", "l3:span.locked:L")
			env.ExecuteWorkflow(twoRequests, request(one), request(two))
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			a, b := sr.intervals("one", "span.locked"), sr.intervals("two", "span.locked")
			if len(a) != 3 || len(b) != 3 {
				t.Fatalf("locked calls: one %d, two %d, want 3 each", len(a), len(b))
			}
			_, aLast := lockedSpan(a)
			bFirst, _ := lockedSpan(b)
			interleaved := bFirst.Before(aLast)
			if interleaved != tc.wantInterleave {
				t.Errorf("two's first locked step started %v after one's last locked step ended: interleaved=%v, want %v",
					bFirst.Sub(aLast), interleaved, tc.wantInterleave)
			}
			if !tc.oldVersion {
				want := "running waiting for lock ambari:rg/cluster held by " + wfID("one")
				if waitingMsg != want {
					t.Errorf("two's progress while one held the key: %q, want %q", waitingMsg, want)
				}
			}
		})
	}
}

func observed(p Progress, id string) string {
	for _, s := range p.Steps {
		if s.ID == id {
			return s.Observed
		}
	}
	return ""
}

// TestLockSpanRollbackUnderKey: the first request fails after a locked
// step; its compensation runs under the key while the second request waits
// for it. In "held", the key is still held when the failure comes (a later
// step names it); in "reacquired", it was released and the rollback takes it
// again (after the second request, which got it in between, released it).
func TestLockSpanRollbackUnderKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		one  []string
		// secondFirst: the second request's locked steps all end before the
		// first request's undo starts (else they all start after it ended).
		secondFirst bool
	}{
		{name: "held", one: []string{"l1:span.locked:L", "f:span.fail", "l2:span.locked:L"}},
		{name: "reacquired", one: []string{"l1:span.locked:L", "n:span.free", "f:span.fail"}, secondFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := &spanRec{}
			sr.delay = func(c plan.Call) time.Duration {
				switch {
				case strings.HasSuffix(c.IdempotencyKey, "two/pre"):
					return 300 * time.Millisecond // two asks while one runs f (or n)
				case c.Action == "span.free":
					return 400 * time.Millisecond
				}
				return 200 * time.Millisecond
			}
			env := newSpanEnv(t, sr)
			env.RegisterWorkflow(twoRequestsOutcome)
			one := chainPlan("one", tc.one...)
			two := chainPlan("two", "pre:span.free", "l1:span.locked:L", "l2:span.locked:L")
			env.ExecuteWorkflow(twoRequestsOutcome, request(one), request(two))
			var outcome []string
			if err := env.GetWorkflowResult(&outcome); err != nil {
				t.Fatal(err)
			}
			if outcome[0] != ErrRolledBack || outcome[1] != "" {
				t.Fatalf("outcomes %q, want one rolled back and two done", outcome)
			}
			undo := sr.intervals("one", "span.undo")
			if len(undo) != 1 {
				t.Fatalf("%d undos of one, want 1 (l1)", len(undo))
			}
			b := sr.intervals("two", "span.locked")
			if len(b) != 2 {
				t.Fatalf("%d locked calls of two, want 2", len(b))
			}
			bFirst, bLast := lockedSpan(b)
			if tc.secondFirst {
				if undo[0].start.Before(bLast) {
					t.Errorf("one's undo started %v before two's last locked step ended", bLast.Sub(undo[0].start))
				}
			} else if bFirst.Before(undo[0].end) {
				t.Errorf("two's first locked step started %v before one's undo ended", undo[0].end.Sub(bFirst))
			}
		})
	}
}

// twoRequestsOutcome runs two interpreters (as twoRequests) and returns each
// one's error type ("" when it succeeded).
func twoRequestsOutcome(ctx workflow.Context, a, b Request) ([]string, error) {
	var futs []workflow.ChildWorkflowFuture
	for i, req := range []Request{a, b} {
		if i > 0 {
			_ = workflow.Sleep(ctx, time.Millisecond)
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: WorkflowID(req.Plan.Source)})
		futs = append(futs, workflow.ExecuteChildWorkflow(cctx, WorkflowType, req))
	}
	out := make([]string, len(futs))
	for i, f := range futs {
		if err := childErr(ctx, f); err != nil {
			out[i] = appErrType(err)
			if out[i] == "" {
				out[i] = err.Error()
			}
		}
	}
	return out, nil
}

// childErr is a child request's error, a completed rolled-back one's
// (rolledBackChange) as its Result.Err.
func childErr(ctx workflow.Context, f workflow.Future) error {
	var res Result
	if err := f.Get(ctx, &res); err != nil {
		return err
	}
	return res.Err()
}

// endThenThird runs the first request to its end (cancelling it once it
// waits at its gate when cancel is set), then a third request naming the
// same key, which must get it within an hour of workflow time.
func endThenThird(ctx workflow.Context, first, third Request, cancel bool) (string, error) {
	cctx, stop := workflow.WithCancel(ctx)
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{WorkflowID: WorkflowID(first.Plan.Source)})
	f := workflow.ExecuteChildWorkflow(cctx, WorkflowType, first)
	if cancel {
		_ = workflow.Sleep(ctx, time.Minute)
		stop()
	}
	firstOutcome := "done"
	if err := childErr(ctx, f); err != nil {
		firstOutcome = appErrType(err)
		if firstOutcome == "" {
			firstOutcome = err.Error()
		}
	}
	tctx, timeout := workflow.WithCancel(ctx)
	defer timeout()
	t3 := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(tctx, workflow.ChildWorkflowOptions{WorkflowID: WorkflowID(third.Plan.Source)}), WorkflowType, third)
	timer := workflow.NewTimer(tctx, time.Hour)
	var err error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(t3, func(f workflow.Future) { err = f.Get(ctx, nil) })
	sel.AddFuture(timer, func(workflow.Future) { err = errors.New("the third request did not get the key within an hour") })
	sel.Select(ctx)
	return firstOutcome, err
}

// TestLockSpanReleasedAtEnd: the keys are released when the first request
// succeeds, rolls back or is cancelled: a third request then gets the key.
func TestLockSpanReleasedAtEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  []string
		cancel bool
		want   string
	}{
		{name: "success", first: []string{"l1:span.locked:L", "n:span.free", "l2:span.locked:L"}, want: "done"},
		{name: "rollback", first: []string{"l1:span.locked:L", "f:span.fail", "l2:span.locked:L"}, want: ErrRolledBack},
		{name: "cancel", first: []string{"l1:span.locked:L", "gate:manual", "l2:span.locked:L"}, cancel: true, want: ErrRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := &spanRec{}
			env := newSpanEnv(t, sr)
			env.RegisterWorkflow(endThenThird)
			first := chainPlan("first", tc.first...)
			for i := range first.Steps {
				if first.Steps[i].Action == "manual" {
					first.Steps[i].Action = plan.ActionManual
					first.Steps[i].Inputs = nil
					first.Steps[i].Retry = nil
					first.Steps[i].Gate = &plan.Gate{Who: []string{"ops"}}
				}
			}
			third := chainPlan("third", "l1:span.locked:L")
			env.ExecuteWorkflow(endThenThird, request(first), request(third), tc.cancel)
			var got string
			if err := env.GetWorkflowResult(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("first request ended %q, want %q", got, tc.want)
			}
			if n := len(sr.intervals("third", "span.locked")); n != 1 {
				t.Errorf("third request ran %d locked steps, want 1", n)
			}
			if tc.want == ErrRolledBack {
				if n := len(sr.intervals("first", "span.undo")); n != 1 {
					t.Errorf("first request compensated %d steps, want 1", n)
				}
			}
		})
	}
}
