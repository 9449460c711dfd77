package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/trust/trusttest"
)

const testRunID = "default-test-run-id" // the test environment's run ID

// people is a trust configuration of generated SSH keys.
type people struct {
	keys map[string]trusttest.Key
	snap trust.Snapshot
	// runID is the run decisions are signed for (default: the test environment's).
	runID string
}

func newPeople(t *testing.T, mode string, groups map[string][]string, names ...string) *people {
	t.Helper()
	p := &people{keys: map[string]trusttest.Key{}}
	c := &trust.Config{Mode: mode, Identities: map[string]trust.Identity{}, Groups: groups, PlanSigners: []string{"ops"}}
	for _, n := range append(names, "ops") {
		k := trusttest.NewKey(t, "ed25519")
		p.keys[n] = k
		c.Identities[n] = trust.Identity{SSH: []string{k.Authorized}}
	}
	var err error
	if p.snap, err = c.Snapshot(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// sign signs a decision on p's request at now.
func (pp *people) sign(t *testing.T, who string, pl plan.Plan, kind, step, comment string, data map[string]any, now time.Time) *trust.Signature {
	t.Helper()
	sha, _ := pl.Hash()
	digest, err := trust.DataDigest(data)
	if err != nil {
		t.Fatal(err)
	}
	runID := testRunID
	if pp.runID != "" {
		runID = pp.runID
	}
	if kind == trust.KindApply {
		runID = ""
	}
	st, err := trust.NewStatement(trust.Statement{Kind: kind, WorkflowID: WorkflowID(pl.Source), RunID: runID, PlanSHA256: sha,
		Step: step, Identity: who, DataSHA256: digest, Comment: comment}, now)
	if err != nil {
		t.Fatal(err)
	}
	return pp.keys[who].SignSSH(t, st)
}

// signedRequest is request(p) applied and signed by ops.
func (pp *people) signedRequest(t *testing.T, env *testsuite.TestWorkflowEnvironment, p plan.Plan) Request {
	req := request(p)
	req.Signature = pp.sign(t, "ops", p, trust.KindApply, "", "", nil, env.Now())
	return req
}

func strictEnv(t *testing.T, pp *people) (*testsuite.TestWorkflowEnvironment, *recorder) {
	rec := newRecorder()
	snap := pp.snap
	rec.trust = func() trust.Snapshot { return snap }
	return newEnv(t, rec), rec
}

// TestMofNGate: a 2-of-N gate over a group opens only at two distinct
// verified principals; an unsigned or repeated approval does not count.
func TestMofNGate(t *testing.T) {
	pp := newPeople(t, trust.ModeStrict, map[string][]string{"owners": {"alice", "bob", "carol"}}, "alice", "bob", "carol")
	env, rec := strictEnv(t, pp)
	g := approval("gate", []string{"group:owners"}, 0, "a")
	g.Gate.Required = 2
	b := create("b", "gate")
	b.Inputs["by"] = plan.Expr("steps.gate.approvedBy")
	p := mkPlan(plan.FailRollback, create("a"), g, b)
	var unsigned, first, again, second updateCB
	var afterOne Progress
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u0", &unsigned, Decision{Step: "gate", Identity: "alice"})
		env.UpdateWorkflow(UpdateApprove, "u1", &first, Decision{Step: "gate", Identity: "alice", Comment: "ok",
			Signature: pp.sign(t, "alice", p, UpdateApprove, "gate", "ok", nil, env.Now())})
		env.UpdateWorkflow(UpdateApprove, "u2", &again, Decision{Step: "gate", Identity: "alice", Comment: "ok",
			Signature: pp.sign(t, "alice", p, UpdateApprove, "gate", "ok", nil, env.Now())})
	}, time.Minute)
	env.RegisterDelayedCallback(func() { afterOne = queryProgress(t, env) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u3", &second, Decision{Step: "gate", Identity: "bob",
			Signature: pp.sign(t, "bob", p, UpdateApprove, "gate", "", nil, env.Now())})
	}, 3*time.Minute)
	if err := run(t, env, pp.signedRequest(t, env, p)); err != nil {
		t.Fatal(err)
	}
	if !unsigned.rejected || !strings.Contains(fmt.Sprint(unsigned.err), "strict mode") {
		t.Errorf("unsigned approval in strict mode: %+v", unsigned)
	}
	if !first.accepted || !again.rejected || !strings.Contains(fmt.Sprint(again.err), "already approved") || !second.accepted {
		t.Errorf("approvals: first %+v again %+v second %+v", first, again, second)
	}
	if st := stepState(afterOne, "gate"); st != StepWaiting {
		t.Errorf("after one approval the gate is %s, want waiting", st)
	}
	for _, s := range afterOne.Steps {
		if s.ID == "gate" && (s.Required != 2 || len(s.Approvals) != 1 || strings.Join(s.Awaiting, ",") != "bob,carol") {
			t.Errorf("gate after one approval: required %d approvals %v awaiting %v", s.Required, s.Approvals, s.Awaiting)
		}
	}
	var bCall plan.Call
	for _, c := range rec.calls {
		if strings.HasSuffix(c.IdempotencyKey, "/b") {
			bCall = c
		}
	}
	if bCall.Inputs["by"] != "alice, bob" {
		t.Errorf("approvedBy %v, want both approvers", bCall.Inputs["by"])
	}
	prog := queryProgress(t, env)
	if prog.Trust == nil || prog.Trust.Mode != trust.ModeStrict || prog.Trust.Method != trust.MethodSSH || prog.Trust.Policy != "planSigners ops" {
		t.Errorf("plan trust %+v", prog.Trust)
	}
	if len(prog.Audit) != 2 || prog.Audit[0].Method != trust.MethodSSH || prog.Audit[0].Detail != pp.keys["alice"].Fingerprint() ||
		prog.Audit[1].Policy != "gate gate: who group:owners (2 of 2)" {
		t.Errorf("audit %+v", prog.Audit)
	}
}

// TestUntrustedPlans: a plan without planSha256 is refused in every mode; in
// strict mode an unsigned plan, or one signed by someone who may not sign
// plans, is refused before any step.
func TestUntrustedPlans(t *testing.T) {
	pp := newPeople(t, trust.ModeStrict, nil, "alice")
	p := mkPlan(plan.FailRollback, create("a"))
	for _, tc := range []struct {
		name, wantType, wantMsg string
		req                     func(env *testsuite.TestWorkflowEnvironment) Request
		dev                     bool
	}{
		{"no planSha256 (dev)", ErrPlanMismatch, "no planSha256", func(*testsuite.TestWorkflowEnvironment) Request {
			r := request(p)
			r.PlanSHA256 = ""
			return r
		}, true},
		{"unsigned", ErrUntrustedPlan, "unsigned plan", func(*testsuite.TestWorkflowEnvironment) Request { return request(p) }, false},
		{"signed by a non-signer", ErrUntrustedPlan, "may not sign plans", func(env *testsuite.TestWorkflowEnvironment) Request {
			r := request(p)
			r.RequestedBy = "alice"
			r.Signature = pp.sign(t, "alice", p, trust.KindApply, "", "", nil, env.Now())
			return r
		}, false},
		{"plan signed long before it was started", ErrUntrustedPlan, "ago", func(env *testsuite.TestWorkflowEnvironment) Request {
			r := request(p)
			r.Signature = pp.sign(t, "ops", p, trust.KindApply, "", "", nil, env.Now().Add(-time.Hour))
			return r
		}, false},
		{"signature of another plan", ErrUntrustedPlan, "plan sha256", func(env *testsuite.TestWorkflowEnvironment) Request {
			other := mkPlan(plan.FailRollback, create("a"), create("b"))
			r := request(p)
			r.Signature = pp.sign(t, "ops", other, trust.KindApply, "", "", nil, env.Now())
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			if !tc.dev {
				rec.trust = func() trust.Snapshot { return pp.snap }
			}
			env := newEnv(t, rec)
			err := run(t, env, tc.req(env))
			if appErrType(err) != tc.wantType || !strings.Contains(fmt.Sprint(err), tc.wantMsg) {
				t.Fatalf("error %v, want %s saying %q", err, tc.wantType, tc.wantMsg)
			}
			if len(rec.calls) != 0 {
				t.Errorf("steps ran: %v", rec.sequence())
			}
		})
	}
}

// TestSelfApproval: the requester may not approve their own request unless
// the gate allows it.
func TestSelfApproval(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			pp := newPeople(t, trust.ModeDev, nil, "alice")
			env, _ := strictEnv(t, pp)
			g := approval("gate", []string{"ops", "alice"}, time.Hour, "a")
			g.Gate.AllowSelfApproval = allow
			p := mkPlan(plan.FailRollback, create("a"), g)
			var self updateCB
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateApprove, "u", &self, Decision{Step: "gate", Identity: "ops",
					Signature: pp.sign(t, "ops", p, UpdateApprove, "gate", "", nil, env.Now())})
			}, time.Minute)
			err := run(t, env, pp.signedRequest(t, env, p))
			if allow != self.accepted || (!allow && !strings.Contains(fmt.Sprint(self.err), "self-approval")) {
				t.Fatalf("self-approval allowed=%v: %+v", allow, self)
			}
			if (err == nil) != allow {
				t.Errorf("workflow error %v", err)
			}
		})
	}
}

// TestOperatorPolicy: operator actions need an operator; retry with replaced
// inputs also needs an approver of the closest preceding approval gate.
func TestOperatorPolicy(t *testing.T) {
	pp := newPeople(t, trust.ModeStrict, map[string][]string{"platform-oncall": {"oncall"}, "owners": {"alice"}}, "alice", "oncall", "mallory")
	env, rec := strictEnv(t, pp)
	rec.fail = parkFail
	b := create("b", "gate")
	b.Inputs["mode"] = plan.Lit("bad")
	p := mkPlan(plan.FailPark, create("a"), approval("gate", []string{"group:owners"}, 0, "a"), b)
	inputs := map[string]any{"mode": "good"}
	var cbs [4]updateCB
	var parked Progress
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "ok", &updateCB{}, Decision{Step: "gate", Identity: "alice",
			Signature: pp.sign(t, "alice", p, UpdateApprove, "gate", "", nil, env.Now())})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		parked = queryProgress(t, env)
		env.UpdateWorkflow(UpdateRollback, "r0", &cbs[0], OperatorAction{Identity: "mallory",
			Signature: pp.sign(t, "mallory", p, UpdateRollback, "", "", nil, env.Now())})
		env.UpdateWorkflow(UpdateRetry, "r1", &cbs[1], OperatorAction{Step: "b", Identity: "oncall", Inputs: inputs,
			Signature: pp.sign(t, "oncall", p, UpdateRetry, "b", "", inputs, env.Now())})
		// A signature over other inputs (tampered inputs).
		env.UpdateWorkflow(UpdateRetry, "r2", &cbs[2], OperatorAction{Step: "b", Identity: "alice", Inputs: map[string]any{"mode": "0.0.0.0/0"},
			Signature: pp.sign(t, "alice", p, UpdateRetry, "b", "", inputs, env.Now())})
		env.UpdateWorkflow(UpdateRetry, "r3", &cbs[3], OperatorAction{Step: "b", Identity: "alice", Inputs: inputs,
			Signature: pp.sign(t, "alice", p, UpdateRetry, "b", "", inputs, env.Now())})
	}, time.Hour)
	if err := run(t, env, pp.signedRequest(t, env, p)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"not an operator", "need an approver of gate gate", "data/inputs digest", ""} {
		if want == "" {
			if !cbs[i].accepted {
				t.Errorf("alice's retry refused: %v", cbs[i].err)
			}
			continue
		}
		if !cbs[i].rejected || !strings.Contains(fmt.Sprint(cbs[i].err), want) {
			t.Errorf("action %d: %+v, want refused saying %q", i, cbs[i], want)
		}
	}
	if got := strings.Join(parked.Awaiting, ","); got != "alice,oncall" {
		t.Errorf("parked awaits %s, want the operators alice,oncall", got)
	}
}

// TestBoundedInputs: oversized fields are refused, unknown Update fields are
// refused like the Signal's, and ignored signals cannot grow the progress
// query past its limit.
func TestBoundedInputs(t *testing.T) {
	rec := newRecorder()
	env := newEnv(t, rec)
	big := strings.Repeat("x", 1500*1000)
	var unknown, longComment updateCB
	env.RegisterDelayedCallback(func() {
		for i := 0; i < 3; i++ {
			env.SignalWorkflow(UpdateApprove, map[string]any{"step": "gate", "identity": big})
		}
		for i := 0; i < 2*MaxAuditLen; i++ {
			env.SignalWorkflow(UpdateRetry, map[string]any{"step": "gate", "identity": "eve"})
		}
		env.UpdateWorkflow(UpdateApprove, "u1", &unknown, json.RawMessage(`{"step":"gate","identity":"bob","who":"bob"}`))
		env.UpdateWorkflow(UpdateApprove, "u2", &longComment, Decision{Step: "gate", Identity: "bob", Comment: strings.Repeat("c", trust.MaxComment+1)})
		env.SignalWorkflow(UpdateApprove, map[string]any{"step": "gate", "identity": "bob"})
	}, time.Minute)
	if err := run(t, env, request(mkPlan(plan.FailRollback, approval("gate", []string{"bob"}, 0)))); err != nil {
		t.Fatal(err)
	}
	if !unknown.rejected || !strings.Contains(fmt.Sprint(unknown.err), "unknown field") {
		t.Errorf("update with an unknown field: %+v", unknown)
	}
	if !longComment.rejected || !strings.Contains(fmt.Sprint(longComment.err), "longer than") {
		t.Errorf("update with a long comment: %+v", longComment)
	}
	prog := queryProgress(t, env)
	b, _ := json.Marshal(prog)
	t.Logf("progress after 3 signals with a 1.5 MB identity and %d ignored retries: %d bytes, %d audit entries", 2*MaxAuditLen, len(b), len(prog.Audit))
	if len(b) > 256<<10 {
		t.Errorf("progress is %d bytes", len(b))
	}
	if len(prog.Audit) > MaxAuditLen || prog.Audit[0].Action != AuditSummary || !strings.Contains(prog.Audit[0].Comment, "earlier entries summarized") {
		t.Errorf("audit of %d entries, first %+v", len(prog.Audit), prog.Audit[0])
	}
	if last := prog.Audit[len(prog.Audit)-1]; last.Action != UpdateApprove || last.Identity != "bob" || last.Method != trust.MethodUnverified {
		t.Errorf("last audit entry %+v, want bob's unverified approval", last)
	}
}

// TestSignedComplete: a manual step's data is bound by the signature; a
// signature over other data is refused, the signed data reaches later steps.
func TestSignedComplete(t *testing.T) {
	pp := newPeople(t, trust.ModeStrict, nil, "alice")
	env, rec := strictEnv(t, pp)
	m := plan.Step{ID: "cable", Title: "Plug the cable", Action: plan.ActionManual, Gate: &plan.Gate{Who: []string{"alice"}}}
	b := create("b", "cable")
	b.Inputs["ports"] = plan.Expr("steps.cable.data.ports")
	p := mkPlan(plan.FailRollback, m, b)
	data := map[string]any{"cable": "c7", "ports": 3}
	var tampered, ok updateCB
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateComplete, "t", &tampered, Decision{Step: "cable", Identity: "alice", Data: map[string]any{"cable": "c7", "ports": 48},
			Signature: pp.sign(t, "alice", p, UpdateComplete, "cable", "", data, env.Now())})
		env.UpdateWorkflow(UpdateComplete, "ok", &ok, Decision{Step: "cable", Identity: "alice", Data: data,
			Signature: pp.sign(t, "alice", p, UpdateComplete, "cable", "", data, env.Now())})
	}, time.Minute)
	if err := run(t, env, pp.signedRequest(t, env, p)); err != nil {
		t.Fatal(err)
	}
	if !tampered.rejected || !strings.Contains(fmt.Sprint(tampered.err), "data/inputs digest") || !ok.accepted {
		t.Errorf("tampered %+v ok %+v", tampered, ok)
	}
	for _, c := range rec.calls {
		if strings.HasSuffix(c.IdempotencyKey, "/b") && c.Inputs["ports"] != float64(3) {
			t.Errorf("b got ports %v", c.Inputs["ports"])
		}
	}
}

// TestSignedWithoutTrustFile: a worker without a trust file takes a signed
// plan and decision as unverified (it knows no keys) and says so.
func TestSignedWithoutTrustFile(t *testing.T) {
	pp := newPeople(t, trust.ModeDev, nil, "alice")
	env := newEnv(t, newRecorder())
	p := mkPlan(plan.FailRollback, approval("gate", []string{"alice"}, 0))
	var cb updateCB
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u", &cb, Decision{Step: "gate", Identity: "alice",
			Signature: pp.sign(t, "alice", p, UpdateApprove, "gate", "", nil, env.Now())})
	}, time.Minute)
	if err := run(t, env, pp.signedRequest(t, env, p)); err != nil || !cb.accepted {
		t.Fatalf("workflow %v, approval %+v", err, cb)
	}
	prog := queryProgress(t, env)
	if prog.Trust.Method != trust.MethodUnverified || !strings.Contains(prog.Trust.Detail, "no trust file") ||
		prog.Audit[0].Method != trust.MethodUnverified || !strings.Contains(prog.Audit[0].Detail, "not checked") {
		t.Errorf("trust %+v audit %+v", prog.Trust, prog.Audit)
	}
}

// TestAccountOperators: without operators in the plan, the trust file's
// operators of the plan's accounts decide; the default applies otherwise.
func TestAccountOperators(t *testing.T) {
	pp := newPeople(t, trust.ModeStrict, map[string][]string{"platform-oncall": {"oncall"}, "net": {"nina"}}, "oncall", "nina")
	pp.snap.AccountOperators = map[string][]string{"acct-b": {"group:net"}}
	for _, tc := range []struct {
		accounts []string
		who      string
		ok       bool
	}{
		{[]string{"acct-b"}, "nina", true},
		{[]string{"acct-b"}, "oncall", false},
		{[]string{"acct-c"}, "oncall", true},
	} {
		t.Run(fmt.Sprint(tc.accounts, tc.who), func(t *testing.T) {
			env, rec := strictEnv(t, pp)
			rec.fail = parkFail
			p := parkPlan()
			p.Accounts = tc.accounts
			var cb updateCB
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateSkip, "s", &cb, OperatorAction{Step: "b", Identity: tc.who, Reason: "by hand",
					Signature: pp.sign(t, tc.who, p, UpdateSkip, "b", "by hand", nil, env.Now())})
			}, time.Hour)
			env.RegisterDelayedCallback(func() {
				if !cb.accepted {
					// End the parked request: cancellation rolls back like an operator's rollback.
					env.CancelWorkflow()
				}
			}, 2*time.Hour)
			_ = run(t, env, pp.signedRequest(t, env, p))
			if cb.accepted != tc.ok || (!tc.ok && !strings.Contains(fmt.Sprint(cb.err), "not an operator")) {
				t.Errorf("skip by %s on %v: %+v, want accepted=%v", tc.who, tc.accounts, cb, tc.ok)
			}
		})
	}
}
