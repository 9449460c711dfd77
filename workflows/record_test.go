package workflows

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// Recording: `go test ./workflows -run TestRecordHistories -record` starts a
// real Temporal dev server (the CLI built by the local stack, or
// $TOPOFLOW_TEMPORAL), runs the example requests below with a real worker,
// checks their behaviour against the server, and writes their histories to
// testdata/*.json, which TestReplay and TestHistoryFacts use on every run.

var record = flag.Bool("record", false, "run example workflows on a real Temporal dev server and rewrite testdata/*.json")

// recordOnly limits the rewritten histories to names with this prefix, so
// histories recorded by older workflow versions (which TestReplay must keep
// replaying) are not overwritten: e.g. -record -record-only=lock-span.
var recordOnly = flag.String("record-only", "", "with -record, rewrite only the histories whose name has this prefix")

func temporalBinary() string {
	if p := os.Getenv("TOPOFLOW_TEMPORAL"); p != "" {
		return p
	}
	if p := os.Getenv("TOPOFLOW_TEMPORAL_BIN"); p != "" {
		return p
	}
	return filepath.Join("..", ".tools", "bin", "temporal")
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// devServer starts `temporal server start-dev` (with extra arguments) and
// returns a connected client.
func devServer(t testing.TB, extra ...string) client.Client {
	t.Helper()
	bin := temporalBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("-record needs the Temporal CLI at %s (or $TOPOFLOW_TEMPORAL): %v", bin, err)
	}
	port := freePort(t)
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--db-filename", filepath.Join(t.TempDir(), "temporal.db"), "--log-level", "error"}
	for _, sa := range []string{SASpec.GetName(), SAKind.GetName(), SAProvider.GetName(), SAPhase.GetName()} {
		args = append(args, "--search-attribute", sa+"=Keyword")
	}
	args = append(args, "--search-attribute", SAAwaiting.GetName()+"=KeywordList")
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var c client.Client
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		c, err = client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port),
			Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
		if err == nil {
			if _, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err == nil {
				break
			}
			c.Close()
		}
	}
	if err != nil {
		t.Fatalf("dev server did not come up: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func saveHistory(t testing.TB, c client.Client, workflowID, name string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	name = *recordAs + name // bundle2_record_test.go
	if !strings.HasPrefix(name, *recordOnly) {
		return h
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// recordWorker starts a worker on the record task queue with reg's actions,
// the interpreter, the waits and rec's trust (the interceptors given), stopped
// when the test ends, and returns the environment that records on it.
func recordWorker(t *testing.T, c client.Client, rec *recorder, reg *activities.Registry, interceptors ...interceptor.WorkerInterceptor) *recEnv {
	t.Helper()
	w := worker.New(c, "topoflow-record", worker.Options{Interceptors: interceptors})
	Register(w)
	reg.RegisterWith(w)
	core.RegisterWith(w, reg)
	RegisterTrust(w, rec.loadTrust)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return &recEnv{t: t, c: c, rec: rec}
}

type recEnv struct {
	t   *testing.T
	c   client.Client
	rec *recorder
}

func (e *recEnv) start(p plan.Plan) client.WorkflowRun {
	e.t.Helper()
	req := request(p)
	run, err := e.c.ExecuteWorkflow(context.Background(), StartOptions(req, "topoflow-record"), WorkflowType, req)
	if err != nil {
		e.t.Fatalf("start %s: %v", p.Source.Name, err)
	}
	return run
}

func (e *recEnv) waitFor(id string, cond func(Progress) bool) Progress {
	e.t.Helper()
	var last Progress
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := e.c.QueryWorkflow(context.Background(), id, "", QueryProgress)
		if err == nil && v.Get(&last) == nil && cond(last) {
			return last
		}
	}
	e.t.Fatalf("%s: condition not reached; last progress %+v", id, last)
	return last
}

func (e *recEnv) update(id, name string, arg any) error {
	h, err := e.c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(context.Background(), nil)
}

func named(p plan.Plan, name string) plan.Plan {
	p.Source.Name = name
	return p
}

// startRecording starts a worker of the interpreter and the fake actions on
// the dev server of the recording tests (-record), stopped at the end of the
// test.
func startRecording(t *testing.T) *recEnv {
	t.Helper()
	c := devServer(t)
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	return recordWorker(t, c, rec, reg, activities.HeartbeatInterceptor())
}

func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t)
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	sr := &spanRec{}
	for _, a := range []string{"span.locked", "span.free", "span.undo", "span.fail"} {
		reg.Add(a, sr.action(a))
	}
	e := recordWorker(t, c, rec, reg, activities.HeartbeatInterceptor())
	ctx := context.Background()
	id := func(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

	// Simple steps: 1 and 3 chained steps give the history cost of a step.
	for _, n := range []int{1, 3} {
		name := fmt.Sprintf("chain-%d", n)
		steps := []plan.Step{create("s1")}
		for i := 2; i <= n; i++ {
			steps = append(steps, create(fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", i-1)))
		}
		if err := e.start(named(mkPlan(plan.FailRollback, steps...), name)).Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Waits of 1 and 1,000 polls.
	rec.statuses = func(call plan.Call, n int) (string, error) {
		want := 1
		if call.Inputs["polls"] != nil {
			want = int(call.Inputs["polls"].(float64))
		}
		if n >= want {
			return "ACTIVE", nil
		}
		return "CREATING", nil
	}
	for _, polls := range []int{1, 1000} {
		name := fmt.Sprintf("wait-%d", polls)
		p := named(waitPlan(), name)
		p.Steps[0].Inputs["polls"] = plan.Lit(polls)
		if err := e.start(p).Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Approval: an unlisted approver is refused by the validator, then a listed one approves.
	{
		name := "approval"
		run := e.start(named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice"}, 0, "a"), create("b", "ok")), name))
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "mallory"}); err == nil {
			t.Fatal("mallory's approval was accepted")
		}
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "alice", Comment: "lgtm"}); err != nil {
			t.Fatalf("alice's approval: %v", err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Expiry of an approval rolls back.
	{
		name := "expiry"
		run := e.start(named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice"}, 2*time.Second, "a"), create("b", "ok")), name))
		if err := Wait(ctx, run); appErrType(err) != ErrRolledBack {
			t.Fatalf("expiry: %v", err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Failure at step 3 rolls back steps 2 and 1.
	{
		name := "rollback"
		rec.fail = func(call plan.Call, n int) error {
			if strings.HasSuffix(call.IdempotencyKey, name+"/s3") {
				return nonRetryable("s3 fails")
			}
			return nil
		}
		p := named(mkPlan(plan.FailRollback, create("s1"), create("s2", "s1"), create("s3", "s2")), name)
		if err := Wait(ctx, e.start(p)); appErrType(err) != ErrRolledBack {
			t.Fatalf("rollback: %v", err)
		}
		rec.fail = nil
		saveHistory(t, c, id(name), name)
	}

	// Park, then retry with a changed input.
	{
		name := "park-retry"
		rec.fail = parkFail
		run := e.start(named(parkPlan(), name))
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseParked })
		if err := e.update(id(name), UpdateRetry, OperatorAction{Step: "b", Identity: "ops", Inputs: map[string]any{"mode": "good"}}); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec.fail = nil
		saveHistory(t, c, id(name), name)
	}

	// Park, then retry with a changed input, by a worker that checks the plan
	// against the gate policy (the topoflow-plan-policy marker).
	{
		name := "policy-park-retry"
		rec.fail = parkFail
		run := e.start(named(parkPlan(), name))
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseParked })
		if err := e.update(id(name), UpdateRetry, OperatorAction{Step: "b", Identity: "ops", Inputs: map[string]any{"mode": "good"}}); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec.fail = nil
		saveHistory(t, c, id(name), name)
	}

	// Fan-out with a concurrency limit.
	{
		name := "fanout"
		if err := e.start(named(mkPlan(plan.FailRollback, brokers(4), fanout(2)), name)).Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Two requests patching the same Kafka instance, started at the same time.
	{
		rec.mu.Lock()
		rec.intervals = map[string][][2]time.Time{}
		rec.mu.Unlock()
		rec.delayFor = func(call plan.Call) time.Duration {
			if call.Action == "fake.patch" {
				return 500 * time.Millisecond
			}
			return 0
		}
		r1 := e.start(lockPlan("lock-one", true))
		r2 := e.start(lockPlan("lock-two", true))
		for _, r := range []client.WorkflowRun{r1, r2} {
			if err := r.Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		rec.delayFor = nil
		if iv := rec.intervals["fake.patch"]; len(iv) != 2 || overlaps(iv) {
			t.Fatalf("patches on the real server: %v (must be 2, not overlapping)", iv)
		}
		saveHistory(t, c, id("lock-one"), "lock-one")
		saveHistory(t, c, id("lock-two"), "lock-two")
		saveHistory(t, c, LockWorkflowID("kafka:huawei:kafka-1"), "lock-workflow")
		// Recorded again once lock workflows mark themselves TopoflowKind=Lock (lockVisibilityChange).
		saveHistory(t, c, LockWorkflowID("kafka:huawei:kafka-1"), "lock-workflow-marked")
	}

	// Lock spans: two requests naming one key in three steps each, with
	// unlocked steps between, started at once, never interleave; the waiting
	// one's progress names the holder. A third request fails after its
	// locked step, with the key held, and compensates under it.
	{
		sr.delay = func(plan.Call) time.Duration { return 200 * time.Millisecond }
		one := chainPlan("lock-span-one", "l1:span.locked:L", "n1:span.free", "l2:span.locked:L", "n2:span.free", "l3:span.locked:L")
		two := chainPlan("lock-span-two", "l1:span.locked:L", "n1:span.free", "l2:span.locked:L", "n2:span.free", "l3:span.locked:L")
		three := chainPlan("lock-span-rollback", "l1:span.locked:L", "f:span.fail", "l2:span.locked:L")
		r1, r2, r3 := e.start(one), e.start(two), e.start(three)
		var waiting string
		for deadline := time.Now().Add(20 * time.Second); waiting == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, n := range []string{"lock-span-one", "lock-span-two", "lock-span-rollback"} {
				v, err := c.QueryWorkflow(ctx, id(n), "", QueryProgress)
				var p Progress
				if err == nil && v.Get(&p) == nil && strings.Contains(observed(p, "l1"), " held by topoflow/Workflow/lock-span-") {
					waiting = n + ": " + observed(p, "l1")
				}
			}
		}
		if waiting == "" {
			t.Error("no waiting request showed the holder of the key")
		}
		t.Logf("while waiting: %s", waiting)
		for _, r := range []client.WorkflowRun{r1, r2} {
			if err := r.Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := Wait(ctx, r3); appErrType(err) != ErrRolledBack {
			t.Fatalf("lock-span-rollback: %v", err)
		}
		sr.delay = nil
		// The three requests' key-holding windows (forward steps and undos) do not overlap.
		var iv [][2]time.Time
		for _, n := range []string{"lock-span-one", "lock-span-two", "lock-span-rollback"} {
			first, last := lockedSpan(sr.intervals(n, "span.locked", "span.undo"))
			iv = append(iv, [2]time.Time{first, last})
		}
		if overlaps(iv) {
			t.Fatalf("lock spans overlap on the real server: %v", iv)
		}
		saveHistory(t, c, id("lock-span-one"), "lock-span-one")
		saveHistory(t, c, id("lock-span-two"), "lock-span-two")
		saveHistory(t, c, id("lock-span-rollback"), "lock-span-rollback")
	}

	// Trust (strict mode): a signed plan; a 2-of-N gate over a group opens
	// only at two distinct signed approvals (an unsigned one and a repeated
	// one are refused); a parked step is retried with replaced inputs by an
	// approver of the gate (an operator), signed over the inputs; a refused
	// signal is audited.
	{
		name := "trust-mofn"
		pp := newPeople(t, trust.ModeStrict, map[string][]string{"owners": {"alice", "bob"}}, "alice", "bob")
		rec.mu.Lock()
		rec.trust = func() trust.Snapshot { return pp.snap }
		rec.mu.Unlock()
		rec.fail = parkFail
		g := approval("gate", []string{"group:owners"}, 0, "a")
		g.Gate.Required = 2
		b := create("b", "gate")
		b.Inputs["mode"] = plan.Lit("bad")
		p := named(mkPlan(plan.FailPark, create("a"), g, b), name)
		req := request(p)
		req.Signature = pp.sign(t, "ops", p, trust.KindApply, "", "", nil, time.Now())
		req.Signature.Statement.RunID = ""
		run, err := e.c.ExecuteWorkflow(ctx, StartOptions(req, "topoflow-record"), WorkflowType, req)
		if err != nil {
			t.Fatal(err)
		}
		pp.runID = run.GetRunID()
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(id(name), UpdateApprove, Decision{Step: "gate", Identity: "alice"}); err == nil {
			t.Fatal("unsigned approval accepted in strict mode")
		}
		if err := e.c.SignalWorkflow(ctx, id(name), "", UpdateApprove, Decision{Step: "gate", Identity: "bob"}); err != nil {
			t.Fatal(err)
		}
		for i, who := range []string{"alice", "alice", "bob"} {
			err := e.update(id(name), UpdateApprove, Decision{Step: "gate", Identity: who, Signature: pp.sign(t, who, p, UpdateApprove, "gate", "", nil, time.Now())})
			if (err == nil) != (i != 1) {
				t.Fatalf("approval %d by %s: %v", i, who, err)
			}
		}
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseParked })
		inputs := map[string]any{"mode": "good"}
		if err := e.update(id(name), UpdateRetry, OperatorAction{Step: "b", Identity: "alice", Inputs: inputs,
			Signature: pp.sign(t, "alice", p, UpdateRetry, "b", "", inputs, time.Now())}); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec.fail = nil
		rec.mu.Lock()
		rec.trust = nil
		rec.mu.Unlock()
		saveHistory(t, c, id(name), name)
	}

	// Retry budgets: a step retried through transient errors (a 503, a
	// throttle with Retry-After) to success, then a failing step rolls back
	// and the first step's compensation, whose follow-up wait ends in a
	// failure state once, is run a second time under a new key.
	{
		name := "retry-budget"
		rec.fail = func(call plan.Call, n int) error {
			switch {
			case strings.HasSuffix(call.IdempotencyKey, name+"/a") && call.Action == "fake.create" && n == 1:
				return temporal.NewApplicationError("HTTP 503", plan.ErrUnavailable)
			case strings.HasSuffix(call.IdempotencyKey, name+"/a") && call.Action == "fake.create" && n == 2:
				return temporal.NewApplicationErrorWithOptions("HTTP 429", plan.ErrThrottled, temporal.ApplicationErrorOptions{NextRetryDelay: time.Second})
			case strings.HasSuffix(call.IdempotencyKey, name+"/b"):
				return nonRetryable("b fails")
			}
			return nil
		}
		rec.statuses = func(call plan.Call, n int) (string, error) {
			if strings.HasSuffix(call.IdempotencyKey, "/undo") {
				return "failed", nil
			}
			return "deleted", nil
		}
		a := create("a")
		a.Retry = nil
		a.Compensation.WaitAction = "fake.get"
		a.Compensation.Wait = &plan.Wait{Target: []string{"deleted"}, Failure: []string{"failed"}, PollInterval: plan.D(100 * time.Millisecond), Timeout: plan.D(time.Minute)}
		p := named(mkPlan(plan.FailRollback, a, create("b", "a")), name)
		if err := Wait(ctx, e.start(p)); appErrType(err) != ErrRolledBack {
			t.Fatalf("%s: %v, want rolled back with nothing left behind", name, err)
		}
		if n := rec.count("fake.undo"); n < 2 {
			t.Fatalf("%s: compensation ran %d times, want a second round", name, n)
		}
		rec.fail, rec.statuses = nil, nil
		saveHistory(t, c, id(name), name)
	}

	// Grant and revoke: a request with a gate ends Done and hands its
	// record to its grant (the topoflow-grant marker and a child start);
	// the revoke waits for the gate again (the revoker may not approve it),
	// then undoes both steps in reverse and the grant ends Revoked.
	{
		name := "grant-request"
		run := e.start(named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice", "bob"}, 0, "a"), create("b", "ok")), name))
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseGranted && p.Trust != nil }) // trust loaded
		before := rec.count("fake.undo")
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "bob", Reason: "ticket closed"}); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(gid, UpdateApprove, Decision{Step: "ok", Identity: "bob"}); err == nil {
			t.Fatal("the revoker approved their own revoke")
		}
		if err := e.update(gid, UpdateApprove, Decision{Step: "ok", Identity: "alice"}); err != nil {
			t.Fatal(err)
		}
		var final Progress
		if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil {
			t.Fatal(err)
		}
		if final.Phase != PhaseRevoked || rec.count("fake.undo")-before != 2 {
			t.Fatalf("grant ended %s after %d undo calls, want Revoked after 2", final.Phase, rec.count("fake.undo")-before)
		}
		saveHistory(t, c, id(name), name)
		saveHistory(t, c, gid, "grant-revoke")
	}

	// Update-With-Start apply: a request started by Apply (its attach
	// Update in the first workflow task), attached to by a second Apply of
	// the same plan; a different plan is refused by the validator (no
	// event); approved, Done.
	{
		name := "day2-apply-attach"
		p := named(mkPlan(plan.FailRollback, create("a"), approval("ok", []string{"alice"}, 0, "a"), create("b", "ok")), name)
		first, err := Apply(ctx, c, request(p), "topoflow-record")
		if err != nil || first.Outcome != AppliedStarted {
			t.Fatalf("first apply: %+v, %v", first, err)
		}
		again, err := Apply(ctx, c, request(p), "topoflow-record")
		if err != nil || again.Outcome != AppliedAttached || again.RunID != first.RunID {
			t.Fatalf("second apply: %+v, %v", again, err)
		}
		changed := p
		changed.Summary = "changed"
		if _, err := Apply(ctx, c, request(changed), "topoflow-record"); !errors.Is(err, ErrPlanChanged) {
			t.Fatalf("changed plan: %v, want ErrPlanChanged", err)
		}
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := c.GetWorkflow(ctx, id(name), "").Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if done, err := Apply(ctx, c, request(p), "topoflow-record"); err != nil || done.Outcome != AppliedDone {
			t.Fatalf("apply of the Done plan: %+v, %v", done, err)
		}
		saveHistory(t, c, id(name), name)
	}

	// Partial revoke: only b (and c, which depends on it) is undone and the
	// grant stays Granted; then the rest (a) is revoked.
	{
		name := "day2-partial-request"
		p := named(mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("c", "b")), name)
		if err := e.start(p).Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseGranted && p.Trust != nil }) // trust loaded
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops", Only: []string{"b"}}); err != nil {
			t.Fatal(err)
		}
		e.waitFor(gid, func(p Progress) bool {
			return p.Phase == PhaseGranted && len(p.Steps) == 3 && p.Steps[1].State == StepCompensated && p.Steps[2].State == StepCompensated
		})
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops"}); err != nil {
			t.Fatal(err)
		}
		var final Progress
		if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != PhaseRevoked {
			t.Fatalf("grant: %s, %v", final.Phase, err)
		}
		saveHistory(t, c, id(name), name)
		saveHistory(t, c, gid, "day2-partial-revoke")
	}

	// Drift watch: a grant re-reads its request's status wait on a timer;
	// the resource goes (drift), then the grant is revoked.
	{
		name := "day2-drift-request"
		var gone atomic.Bool
		rec.mu.Lock()
		rec.statuses = func(call plan.Call, n int) (string, error) {
			if gone.Load() && strings.HasSuffix(call.IdempotencyKey, "/drift") {
				return "DELETED", nil
			}
			return "ACTIVE", nil
		}
		rec.mu.Unlock()
		w := plan.Step{ID: "w", Title: "Wait for a", Action: "fake.get", DependsOn: []string{"a"},
			Inputs: map[string]plan.Value{"id": plan.Expr("steps.a.id")},
			Wait:   &plan.Wait{Target: []string{"ACTIVE"}, PollInterval: plan.D(100 * time.Millisecond), Timeout: plan.D(time.Minute)}}
		req := request(named(mkPlan(plan.FailRollback, create("a"), w), name))
		req.DriftEvery = plan.D(300 * time.Millisecond)
		run, err := c.ExecuteWorkflow(ctx, StartOptions(req, "topoflow-record"), WorkflowType, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Drift != nil && p.Drift.Checks == 1 && p.Phase == PhaseGranted })
		gone.Store(true)
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseDrifted })
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops"}); err != nil {
			t.Fatal(err)
		}
		var final Progress
		if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != PhaseRevoked {
			t.Fatalf("grant: %s, %v", final.Phase, err)
		}
		rec.mu.Lock()
		rec.statuses = nil
		rec.mu.Unlock()
		saveHistory(t, c, gid, "day2-drift-grant")
	}

	// The scheduler (schedulerChange): a chain, a diamond (two steps ready at
	// once, started in plan order) and fan-outs, one without a concurrency
	// (fanoutBoundChange: the default bound applies).
	{
		diamond := named(mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("c", "a"), create("d", "b", "c")), "sched-diamond")
		for _, p := range []plan.Plan{
			named(mkPlan(plan.FailRollback, create("s1"), create("s2", "s1"), create("s3", "s2")), "sched-chain-3"),
			diamond,
			named(mkPlan(plan.FailRollback, brokers(4), fanout(2)), "sched-fanout"),
			named(mkPlan(plan.FailRollback, brokers(4), fanout(0)), "sched-fanout-default"),
		} {
			if err := e.start(p).Get(ctx, nil); err != nil {
				t.Fatalf("%s: %v", p.Source.Name, err)
			}
			saveHistory(t, c, id(p.Source.Name), p.Source.Name)
		}
	}

	// Waits that hold no worker slot (slotFreeWaitChange): a poll interval of
	// a minute, 1 and 3 polls, the same events.
	{
		rec.statuses = func(call plan.Call, n int) (string, error) {
			if want := int(call.Inputs["polls"].(float64)); n < want {
				return "CREATING", nil
			}
			return "ACTIVE", nil
		}
		for _, polls := range []int{1, 3} {
			name := fmt.Sprintf("slotfree-wait-%d", polls)
			p := named(waitPlan(), name)
			p.Steps[0].Wait.PollInterval = plan.D(SlotFreePollInterval)
			p.Steps[0].Inputs["polls"] = plan.Lit(polls)
			if err := e.start(p).Get(ctx, nil); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			saveHistory(t, c, id(name), name)
		}
		rec.statuses = nil
	}

	// A workflow started twice with the same spec attaches to the running one;
	// a changed plan is refused by CheckSamePlan.
	{
		name := "idempotent"
		p := named(mkPlan(plan.FailRollback, approval("ok", []string{"alice"}, 0)), name)
		r1 := e.start(p)
		r2 := e.start(p)
		if r1.GetRunID() != r2.GetRunID() {
			t.Errorf("second apply started run %s, want to attach to %s", r2.GetRunID(), r1.GetRunID())
		}
		if err := CheckSamePlan(ctx, c, request(p)); err != nil {
			t.Errorf("same plan refused: %v", err)
		}
		changed := p
		changed.Summary = "changed"
		if err := CheckSamePlan(ctx, c, request(changed)); !errors.Is(err, ErrPlanChanged) {
			t.Errorf("changed plan: %v, want ErrPlanChanged", err)
		}
		// The trust activity runs before the gate opens.
		e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseWaitingApproval })
		desc, err := c.DescribeWorkflowExecution(ctx, id(name), "")
		if err != nil {
			t.Fatal(err)
		}
		sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
		if sa[SAPhase.GetName()] == nil || !strings.Contains(string(sa[SAPhase.GetName()].GetData()), PhaseWaitingApproval) ||
			!strings.Contains(string(sa[SAAwaiting.GetName()].GetData()), "alice") {
			t.Errorf("search attributes %v", sa)
		}
		if err := e.update(id(name), UpdateApprove, Decision{Step: "ok", Identity: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := r1.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}
