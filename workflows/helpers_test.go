package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// recorder is a set of fake actions for tests: it records every call in order.
type recorder struct {
	mu    sync.Mutex
	calls []plan.Call
	// fail, if set, decides whether a call fails (and how).
	fail func(call plan.Call, n int) error
	// delay makes every action take that long (real time).
	delay time.Duration
	// delayFor, if set, adds a per-call delay (real time).
	delayFor func(call plan.Call) time.Duration
	// status is returned by read actions polled by waits.
	statuses func(call plan.Call, n int) (string, error)
	// concurrency tracking
	inflight, maxInflight int
	intervals             map[string][][2]time.Time // action -> [start,end]
	// trust, if set, is the snapshot the trust activity returns (default:
	// dev mode without a trust file); trustLoads counts the requests' calls
	// (not their grants').
	trust      func() trust.Snapshot
	trustLoads int
}

func newRecorder() *recorder { return &recorder{intervals: map[string][][2]time.Time{}} }

// count returns how many calls to action were made so far.
func (rec *recorder) count(action string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, c := range rec.calls {
		if c.Action == action {
			n++
		}
	}
	return n
}

func (rec *recorder) sequence() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, c := range rec.calls {
		out = append(out, c.Action+":"+c.IdempotencyKey)
	}
	return out
}

func (rec *recorder) action(name string) activities.Func {
	return func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, call)
		n := 0
		for _, c := range rec.calls {
			if c.Action == call.Action && c.IdempotencyKey == call.IdempotencyKey {
				n++
			}
		}
		rec.inflight++
		if rec.inflight > rec.maxInflight {
			rec.maxInflight = rec.inflight
		}
		start := time.Now()
		rec.mu.Unlock()
		if rec.delay > 0 {
			time.Sleep(rec.delay)
		}
		if rec.delayFor != nil {
			time.Sleep(rec.delayFor(call))
		}
		rec.mu.Lock()
		rec.inflight--
		rec.intervals[name] = append(rec.intervals[name], [2]time.Time{start, time.Now()})
		fail := rec.fail
		statuses := rec.statuses
		rec.mu.Unlock()
		if fail != nil {
			if err := fail(call, n); err != nil {
				return nil, err
			}
		}
		out := plan.Outputs{"id": name + "-" + call.IdempotencyKey, "echo": call.Inputs}
		if statuses != nil && name == "fake.get" {
			st, err := statuses(call, n)
			if err != nil {
				return nil, err
			}
			out["status"] = st
		}
		return out, nil
	}
}

// fakeActions are registered in every test environment.
var fakeActions = []string{"fake.create", "fake.undo", "fake.get", "fake.patch", "fake.fail"}

func register(t *testing.T, env *testsuite.TestWorkflowEnvironment, rec *recorder) {
	t.Helper()
	Register(env)
	// A Done request's grant workflow (an abandoned child) waits for a
	// revoke: the test ends with the request, not with its grant.
	env.SetDetachedChildWait(false)
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	reg.RegisterWith(env)
	w := &core.Waiter{Registry: reg, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
	env.RegisterActivityWithOptions(w.Wait, activity.RegisterOptions{Name: plan.ActionWait})
	RegisterTrust(env, rec.loadTrust)
}

func (rec *recorder) loadTrust(ctx context.Context) (trust.Snapshot, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if activity.GetInfo(ctx).WorkflowType.Name != GrantWorkflowType {
		rec.trustLoads++ // the request's loads (a Done request's grant loads its own)
	}
	if rec.trust == nil {
		return trust.Snapshot{Mode: trust.ModeDev}, nil
	}
	return rec.trust(), nil
}

var _ worker.WorkflowRegistry = (*testsuite.TestWorkflowEnvironment)(nil)

func newEnv(t *testing.T, rec *recorder) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	// As on the worker (worker/app): the lock replies reach the requests
	// through the interceptor's channels (lockinbox.go).
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{LockSignalsInterceptor()}})
	register(t, env, rec)
	return env
}

func mkPlan(onFailure plan.FailurePolicy, steps ...plan.Step) plan.Plan {
	return plan.Plan{
		APIVersion: plan.APIVersion,
		Source:     plan.Source{Kind: "Workflow", Name: "test", SpecSHA256: "0"},
		Summary:    "test plan",
		OnFailure:  onFailure,
		// The fake actions mutate and most test plans have no approval.
		Policy: &plan.Policy{AllowUngated: true, Reason: "workflow tests of fake actions"},
		Steps:  steps,
	}
}

// create is a step calling fake.create with a compensation fake.undo of its output id.
func create(id string, deps ...string) plan.Step {
	return plan.Step{
		ID: id, Title: "Create " + id, Action: "fake.create", DependsOn: deps,
		Inputs:       map[string]plan.Value{"name": plan.Lit(id)},
		Compensation: &plan.Compensation{Title: "Undo " + id, Action: "fake.undo", Inputs: map[string]plan.Value{"id": plan.Expr("output.id")}},
		Retry:        &plan.Retry{MaximumAttempts: 1},
	}
}

func request(p plan.Plan) Request {
	sha, err := p.Hash()
	if err != nil {
		panic(err)
	}
	return Request{Plan: p, PlanSHA256: sha, RequestedBy: "ops"}
}

func appErrType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// finalProgress extracts the Progress from a rolled-back workflow's error.
func finalProgress(t *testing.T, err error) Progress {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an application error", err)
	}
	var p Progress
	if err := ae.Details(&p); err != nil {
		t.Fatalf("decode progress from error details: %v", err)
	}
	return p
}

func queryProgress(t *testing.T, env *testsuite.TestWorkflowEnvironment) Progress {
	t.Helper()
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatalf("query progress: %v", err)
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		t.Fatalf("decode progress: %v", err)
	}
	return p
}

func stepState(p Progress, id string) string {
	for _, s := range p.Steps {
		if s.ID == id {
			return s.State
		}
	}
	return "<missing>"
}

// updateCB records the outcome of an Update in the test environment.
type updateCB struct {
	rejected, accepted bool
	err                error
	done               bool
}

func (u *updateCB) Accept()                 { u.accepted = true }
func (u *updateCB) Reject(err error)        { u.rejected, u.err = true, err }
func (u *updateCB) Complete(_ any, e error) { u.done, u.err = true, e }

func nonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, plan.ErrInvalid, nil)
}

func keys(ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%s/%s", WorkflowID(plan.Source{Kind: "Workflow", Name: "test"}), id))
	}
	return out
}

// skipParkedLeaks skips, as an operator accepting the leak would, every step
// parked by a failed compensation (compretry.go) once the request waits
// for it (after a day of workflow time); it returns the steps it skipped.
func skipParkedLeaks(t *testing.T, env *testsuite.TestWorkflowEnvironment) *[]string {
	t.Helper()
	var skipped []string
	env.RegisterDelayedCallback(func() {
		for _, s := range queryProgress(t, env).Steps {
			if s.State == StepParked {
				env.UpdateWorkflow(UpdateSkip, "skip-"+s.ID, &updateCB{}, OperatorAction{Step: s.ID, Identity: "ops", Reason: "left behind"})
				skipped = append(skipped, s.ID)
			}
		}
	}, 24*time.Hour)
	return &skipped
}
