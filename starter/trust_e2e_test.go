package main

// End-to-end tests of authenticated decisions on the real Temporal server: a
// second in-process worker with a strict trust file (SSH identities and an
// OIDC provider started by the test, github.com/oauth2-proxy/mockoidc), the
// forged-decision corpus, M-of-N, re-approval on plan change, and the CLI
// signing with SSH keys.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/trust/trusttest"
	"github.com/topoflow/topoflow/worker/app"
	"github.com/topoflow/topoflow/workflows"
)

// strictWorld is a strict worker and the people it trusts.
type strictWorld struct {
	tq    string
	iss   *trusttest.Issuer
	keys  map[string]trusttest.Key
	files map[string]string // private key files
	calls atomic.Int32      // test.flaky calls on the strict worker
}

func newStrictWorld(t *testing.T, extra ...string) *strictWorld {
	t.Helper()
	w := &strictWorld{tq: fmt.Sprintf("strict-%d", time.Now().UnixNano()), iss: trusttest.NewIssuer(t),
		keys: map[string]trusttest.Key{}, files: map[string]string{}}
	dir := t.TempDir()
	for _, n := range []string{"alice", "bob", "ops", "mallory"} {
		kind := "ed25519"
		if n == "bob" {
			kind = "rsa"
		}
		k := trusttest.NewKey(t, kind)
		w.keys[n] = k
		w.files[n] = filepath.Join(dir, n)
		if err := os.WriteFile(w.files[n], k.Private, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	prov := w.iss.Provider()
	// mallory's key is in no identity.
	doc := fmt.Sprintf(`mode: strict
identities:
  alice: {ssh: [%q]}
  bob: {ssh: [%q]}
  ops: {ssh: [%q]}
  olga:
    oidc: [{issuer: %q, subject: sub-olga}]
  dora:
    oidc: [{issuer: %q, subject: %q}]
groups:
  kafka-owners: [alice, bob, olga]
  platform-oncall: [ops, bob]
oidc:
  - {issuer: %q, audience: %q, jwksUrl: %q}
planSigners: [ops, alice]
%s`, w.keys["alice"].Authorized, w.keys["bob"].Authorized, w.keys["ops"].Authorized, prov.Issuer, prov.Issuer, mockoidc.DefaultUser().Subject, prov.Issuer, prov.Audience, prov.JWKSURL, strings.Join(extra, "\n"))
	file := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testStack.WorkerConfig()
	cfg.TaskQueue, cfg.Trust, cfg.MetricsAddr = w.tq, file, ""
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}, 1), make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Register: func(_ worker.Registry, reg *activities.Registry) {
				reg.Add(flakyAction, func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
					w.calls.Add(1)
					return flaky(ctx, call)
				})
				reg.Add(pendingAction, pending)
			},
			Ready:    func(string) { ready <- struct{}{} },
			DialWait: 30 * time.Second,
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("strict worker: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// statement is the statement of a decision on the request's current run.
func (w *strictWorld) statement(t *testing.T, id, kind, step, who, comment string, data map[string]any) trust.Statement {
	t.Helper()
	runID, sha, err := runTarget(context.Background(), testStack.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := trust.DataDigest(data)
	if err != nil {
		t.Fatal(err)
	}
	st, err := trust.NewStatement(trust.Statement{Kind: kind, WorkflowID: id, RunID: runID, PlanSHA256: sha, Step: step,
		Identity: who, DataSHA256: digest, Comment: comment}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// start starts p as requested and signed by who (unsigned when who is "").
func (w *strictWorld) start(t *testing.T, p plan.Plan, who string) client.WorkflowRun {
	t.Helper()
	sha, _ := p.Hash()
	req := workflows.Request{Plan: p, PlanSHA256: sha, RequestedBy: who}
	if who != "" {
		st, err := trust.NewStatement(trust.Statement{Kind: trust.KindApply, WorkflowID: workflows.WorkflowID(p.Source), PlanSHA256: sha, Identity: who}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req.Signature = w.keys[who].SignSSH(t, st)
	}
	run, err := testStack.Client.ExecuteWorkflow(context.Background(), workflows.StartOptions(req, w.tq), workflows.WorkflowType, req)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func update(id, name string, payload any) error {
	h, err := testStack.Client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{payload}})
	if err == nil {
		err = h.Get(context.Background(), nil)
	}
	return err
}

// fingerprint is what a forgery could change: step states, approvals and
// the audit, apart from entries of ignored signals.
func fingerprint(t *testing.T, id string) string {
	t.Helper()
	p, err := queryProgress(context.Background(), testStack.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s|", p.Phase)
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "%s=%s:%d:%v;", s.ID, s.State, s.Attempts, s.Approvals)
	}
	for _, a := range p.Audit {
		if !strings.Contains(a.Action, "ignored") {
			fmt.Fprintf(&b, "%s/%s/%s;", a.Action, a.Step, a.Identity)
		}
	}
	return b.String()
}

func gatedPlan(name string) plan.Plan {
	return plan.Plan{
		APIVersion: plan.APIVersion, Source: plan.Source{Kind: "Workflow", Name: name, SpecSHA256: "0"},
		Summary: "trust e2e " + name, OnFailure: plan.FailPark, Operators: []string{"group:platform-oncall"},
		Policy: &plan.Policy{AllowUngated: true, Reason: "trust e2e of the test action"},
		Steps: []plan.Step{
			{ID: "a", Title: "first", Action: flakyAction, Inputs: map[string]plan.Value{"fail": plan.Lit(false), "msg": plan.Lit("one")}},
			{ID: "gate", Title: "Kafka owners approve", Action: plan.ActionApproval, DependsOn: []string{"a"},
				Gate: &plan.Gate{Who: []string{"group:kafka-owners"}, Required: 2}},
			{ID: "rule", Title: "security group rule", Action: flakyAction, DependsOn: []string{"gate"},
				Inputs: map[string]plan.Value{"fail": plan.Lit(true), "msg": plan.Lit("10.1.0.0/16")}},
		},
	}
}

// TestForgedDecisionCorpus: every forgery is refused with a clear error and
// changes nothing; the real decisions that follow open the 2-of-N gate only
// at the second distinct principal and retry the parked step.
func TestForgedDecisionCorpus(t *testing.T) {
	w := newStrictWorld(t)
	ctx := context.Background()
	p := gatedPlan("trust-corpus")
	id := workflows.WorkflowID(p.Source)
	run := w.start(t, p, "ops")
	waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
	other := trusttest.NewIssuer(t)
	changed := gatedPlan("trust-corpus")
	changed.Steps[1].Gate.Who = []string{"alice"}
	changedSHA, _ := changed.Hash()

	type forgery struct {
		name, update string
		payload      func() any
		signal       bool
		want         string
	}
	approve := func(who string, sig *trust.Signature) workflows.Decision {
		return workflows.Decision{Step: "gate", Identity: who, Signature: sig}
	}
	st := func(who string) trust.Statement { return w.statement(t, id, "approve", "gate", who, "", nil) }
	gateForgeries := []forgery{
		{"wrong key", "approve", func() any { return approve("alice", w.keys["mallory"].SignSSH(t, st("alice"))) }, false, "belongs to no identity"},
		{"key of another identity", "approve", func() any { return approve("bob", w.keys["alice"].SignSSH(t, st("bob"))) }, false, "is alice's"},
		{"replayed on another run", "approve", func() any {
			s := st("alice")
			s.RunID = "another-run"
			return approve("alice", w.keys["alice"].SignSSH(t, s))
		}, false, "signed statement is for run"},
		{"replayed on another step", "approve", func() any {
			s := st("alice")
			s.Step = "rule"
			return approve("alice", w.keys["alice"].SignSSH(t, s))
		}, false, "signed statement is for step"},
		{"replayed on another request", "approve", func() any {
			s := st("alice")
			s.WorkflowID = "topoflow/Workflow/other"
			return approve("alice", w.keys["alice"].SignSSH(t, s))
		}, false, "signed statement is for workflow"},
		{"approval for another plan sha (re-approval on plan change)", "approve", func() any {
			s := st("alice")
			s.PlanSHA256 = changedSHA
			return approve("alice", w.keys["alice"].SignSSH(t, s))
		}, false, "signed statement is for plan sha256"},
		{"reject signed as approve", "reject", func() any { return approve("alice", w.keys["alice"].SignSSH(t, st("alice"))) }, false, "signed statement is for kind"},
		{"tampered comment", "approve", func() any {
			d := approve("alice", w.keys["alice"].SignSSH(t, st("alice")))
			d.Comment = "ok, and open 0.0.0.0/0"
			return d
		}, false, "signed statement is for comment"},
		{"tampered signed comment", "approve", func() any {
			sig := w.keys["alice"].SignSSH(t, st("alice"))
			sig.Statement.Comment = "ok"
			d := approve("alice", sig)
			d.Comment = "ok"
			return d
		}, false, "does not verify"},
		{"expired token", "approve", func() any {
			w.iss.M.FastForward(-30 * time.Minute)
			defer w.iss.M.FastForward(30 * time.Minute)
			return approve("olga", w.iss.SignOIDC(t, "sub-olga", st("olga")))
		}, false, "expired"},
		{"token not valid yet", "approve", func() any {
			w.iss.M.FastForward(30 * time.Minute)
			defer w.iss.M.FastForward(-30 * time.Minute)
			return approve("olga", w.iss.SignOIDC(t, "sub-olga", st("olga")))
		}, false, "not before"},
		{"wrong issuer", "approve", func() any { return approve("olga", other.SignOIDC(t, "sub-olga", st("olga"))) }, false, "not a trusted provider"},
		{"wrong audience", "approve", func() any {
			real := w.iss.M.ClientID
			w.iss.M.ClientID = "another-client"
			defer func() { w.iss.M.ClientID = real }()
			return approve("olga", w.iss.SignOIDC(t, "sub-olga", st("olga")))
		}, false, "audience"},
		{"unknown subject", "approve", func() any { return approve("olga", w.iss.SignOIDC(t, "sub-nobody", st("olga"))) }, false, "no identity"},
		{"token issued for another statement", "approve", func() any {
			sig := w.iss.SignOIDC(t, "sub-olga", st("olga"))
			sig.Statement = st("olga")
			return approve("olga", sig)
		}, false, "nonce"},
		{"unsigned decision in strict mode", "approve", func() any { return approve("alice", nil) }, false, "unsigned approve refused"},
		{"unsigned signal in strict mode (Web UI)", "approve", func() any { return map[string]any{"step": "gate", "identity": "alice"} }, true, "unsigned approve refused"},
		{"operator action by an approver who is not an operator", "rollback", func() any {
			return workflows.OperatorAction{Identity: "alice", Signature: w.keys["alice"].SignSSH(t, w.statement(t, id, "rollback", "", "alice", "", nil))}
		}, false, "is not an operator"},
		{"unsigned rollback signal", "rollback", func() any { return map[string]any{"identity": "ops"} }, true, "unsigned rollback refused"},
		{"oversized identity", "approve", func() any { return approve(strings.Repeat("a", 1500*1000), nil) }, false, "larger than"},
		{"oversized identity signal", "approve", func() any { return approve(strings.Repeat("a", 1500*1000), nil) }, true, "larger than"},
		{"oversized comment", "approve", func() any {
			s := w.statement(t, id, "approve", "gate", "alice", strings.Repeat("c", trust.MaxComment+1), nil)
			d := approve("alice", w.keys["alice"].SignSSH(t, s))
			d.Comment = s.Comment
			return d
		}, false, "longer than"},
		{"unknown payload field", "approve", func() any { return map[string]any{"step": "gate", "identity": "alice", "who": "alice"} }, false, "unknown field"},
	}
	accepted := 0
	check := func(fs []forgery) {
		for _, f := range fs {
			t.Run(f.name, func(t *testing.T) {
				before := fingerprint(t, id)
				var err error
				if f.signal {
					ignored := func() (int, workflows.AuditEntry) {
						prog, qerr := queryProgress(ctx, testStack.Client, id)
						if qerr != nil {
							t.Fatalf("progress query broke: %v", qerr)
						}
						n, last := 0, workflows.AuditEntry{}
						for _, a := range prog.Audit {
							if strings.Contains(a.Action, "signal ignored") {
								n, last = n+1, a
							}
						}
						return n, last
					}
					n, _ := ignored()
					if err = testStack.Client.SignalWorkflow(ctx, id, "", f.update, f.payload()); err != nil {
						t.Fatal(err)
					}
					var last workflows.AuditEntry
					for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
						var m int
						if m, last = ignored(); m > n {
							break
						}
						last = workflows.AuditEntry{}
					}
					if last.Action == "" {
						accepted++
						t.Fatalf("the signal left no ignored entry in the audit")
					}
					err = fmt.Errorf("%s", last.Comment)
				} else if err = update(id, f.update, f.payload()); err == nil {
					accepted++
					t.Fatal("accepted")
				}
				if !strings.Contains(err.Error(), f.want) {
					t.Errorf("refusal %q does not say %q", err, f.want)
				}
				if after := fingerprint(t, id); after != before {
					t.Errorf("state changed:\n before %s\n after  %s", before, after)
				}
			})
		}
	}
	check(gateForgeries)

	// Three signals with a 1.5 MB identity each no longer break the progress query.
	for i := 0; i < 3; i++ {
		if err := testStack.Client.SignalWorkflow(ctx, id, "", "approve", map[string]any{"step": "gate", "identity": strings.Repeat("m", 1500*1000)}); err != nil {
			t.Fatal(err)
		}
	}
	var prog workflows.Progress
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if prog, err = queryProgress(ctx, testStack.Client, id); err != nil {
			t.Fatalf("progress after 1.5 MB signals: %v", err)
		}
		n := 0
		for _, a := range prog.Audit {
			if strings.Contains(a.Comment, "larger than") && strings.Contains(a.Action, "ignored") {
				n++
			}
		}
		if n >= 4 { // the corpus's one and these three
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 1.5 MB signals were not all audited as ignored: %+v", prog.Audit)
		}
	}
	if b, _ := json.Marshal(prog); len(b) > 512<<10 {
		t.Errorf("progress is %d bytes after three 1.5 MB signals", len(b))
	} else {
		t.Logf("progress after three 1.5 MB signals: %d bytes", len(b))
	}

	// M-of-N: alice's signed approval counts, the gate still waits; her
	// second approval is refused; olga's (OIDC) opens it.
	// The three large signals push the history past Temporal's size
	// suggestion: the request continues as new, carrying the waiting gate
	// (topoflow-can-carries-holds), likely while alice approves. Her
	// approval is taken at once whichever run it reaches: the old one, the
	// new one while the gate is still pending there, signed for either
	// (workflows/handover.go).
	if err := update(id, "approve", approve("alice", w.keys["alice"].SignSSH(t, st("alice")))); err != nil {
		t.Fatalf("alice's approval: %v", err)
	}
	if d, err := testStack.Client.DescribeWorkflowExecution(ctx, id, ""); err != nil {
		t.Fatal(err)
	} else if info := d.GetWorkflowExecutionInfo(); info.GetFirstRunId() == info.GetExecution().GetRunId() {
		t.Fatalf("the request did not continue as new after three 1.5 MB signals")
	}
	s := status(t, id)
	if stepState(s, "gate") != workflows.StepWaiting {
		t.Fatalf("after one of two approvals the gate is %s", stepState(s, "gate"))
	}
	check([]forgery{{"second approval by the same principal", "approve", func() any { return approve("alice", w.keys["alice"].SignSSH(t, st("alice"))) }, false, "already approved"}})
	// The provider rotates its key: olga's token names a kid the request
	// does not know; it refuses with a retry hint, a refresh-trust signal
	// makes it fetch the JWKS again (through the activity), and the same
	// kind of token is then accepted.
	w.iss.Rotate(t)
	err := update(id, "approve", approve("olga", w.iss.SignOIDC(t, "sub-olga", st("olga"))))
	if !retryAfterRefresh(err) {
		t.Fatalf("token of a rotated key: %v, want a refusal with a retry hint", err)
	}
	for deadline := time.Now().Add(30 * time.Second); retryAfterRefresh(err) && time.Now().Before(deadline); {
		if err := refreshTrust(ctx, testStack.Client, id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		err = update(id, "approve", approve("olga", w.iss.SignOIDC(t, "sub-olga", st("olga"))))
	}
	if err != nil {
		t.Fatalf("olga's approval after the key rotation: %v", err)
	}
	waitFor(t, id, "parked rule", phaseIs(workflows.PhaseParked))

	inputs := map[string]any{"fail": false}
	retry := func(who string, sig *trust.Signature, in map[string]any) workflows.OperatorAction {
		return workflows.OperatorAction{Step: "rule", Identity: who, Inputs: in, Signature: sig}
	}
	check([]forgery{
		{"retry with replaced inputs by an operator who may not approve them", "retry", func() any {
			return retry("ops", w.keys["ops"].SignSSH(t, w.statement(t, id, "retry", "rule", "ops", "", inputs)), inputs)
		}, false, "need an approver of gate gate"},
		{"tampered input", "retry", func() any {
			return retry("bob", w.keys["bob"].SignSSH(t, w.statement(t, id, "retry", "rule", "bob", "", inputs)), map[string]any{"fail": false, "msg": "0.0.0.0/0"})
		}, false, "data/inputs digest"},
		{"retry signal with replaced inputs, unsigned", "retry", func() any {
			return map[string]any{"step": "rule", "identity": "bob", "inputs": map[string]any{"msg": "0.0.0.0/0"}}
		}, true, "unsigned retry refused"},
	})
	if err := update(id, "retry", retry("bob", w.keys["bob"].SignSSH(t, w.statement(t, id, "retry", "rule", "bob", "", inputs)), inputs)); err != nil {
		t.Fatalf("bob's retry: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("request: %v", err)
	}
	final := status(t, id)
	var audit []string
	for _, a := range final.Audit {
		audit = append(audit, fmt.Sprintf("%s %s %s [%s %s] (%s)", a.Action, a.Step, a.Identity, a.Method, a.Detail, a.Policy))
	}
	t.Logf("audit:\n  %s", strings.Join(audit, "\n  "))
	if final.Trust == nil || final.Trust.Method != trust.MethodSSH || final.Trust.Policy != "planSigners ops" {
		t.Errorf("plan trust %+v", final.Trust)
	}
	total := len(gateForgeries) + 4
	t.Logf("forged decisions accepted: %d of %d", accepted, total)
	if accepted != 0 {
		t.Errorf("%d forged decisions accepted", accepted)
	}
}

// TestUntrustedPlansRefused: hand-built, edited, unsigned or hash-less
// plans started directly are refused before any step runs.
func TestUntrustedPlansRefused(t *testing.T) {
	w := newStrictWorld(t)
	ctx := context.Background()
	base := gatedPlan("trust-handbuilt")
	for _, c := range []struct {
		name, want string
		req        func() workflows.Request
	}{
		{"hand-built plan started directly, unsigned", "unsigned plan refused", func() workflows.Request {
			sha, _ := base.Hash()
			return workflows.Request{Plan: base, PlanSHA256: sha, RequestedBy: "ops"}
		}},
		{"plan edited after signing (gate.who replaced)", "plan sha256", func() workflows.Request {
			sha, _ := base.Hash()
			st, _ := trust.NewStatement(trust.Statement{Kind: trust.KindApply, WorkflowID: workflows.WorkflowID(base.Source), PlanSHA256: sha, Identity: "ops"}, time.Now())
			edited := base
			edited.Steps = append([]plan.Step(nil), base.Steps...)
			edited.Steps[1].Gate = &plan.Gate{Who: []string{"mallory"}}
			esha, _ := edited.Hash()
			return workflows.Request{Plan: edited, PlanSHA256: esha, RequestedBy: "ops", Signature: w.keys["ops"].SignSSH(t, st)}
		}},
		{"signed by someone who may not sign plans", "may not sign plans", func() workflows.Request {
			sha, _ := base.Hash()
			st, _ := trust.NewStatement(trust.Statement{Kind: trust.KindApply, WorkflowID: workflows.WorkflowID(base.Source), PlanSHA256: sha, Identity: "bob"}, time.Now())
			return workflows.Request{Plan: base, PlanSHA256: sha, RequestedBy: "bob", Signature: w.keys["bob"].SignSSH(t, st)}
		}},
		{"no planSha256", "no planSha256", func() workflows.Request { return workflows.Request{Plan: base, RequestedBy: "ops"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := c.req()
			run, err := testStack.Client.ExecuteWorkflow(ctx, workflows.StartOptions(req, w.tq), workflows.WorkflowType, req)
			if err != nil {
				t.Fatal(err)
			}
			err = run.Get(ctx, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("request ended with %v, want a refusal saying %q", err, c.want)
			}
			if n := w.calls.Load(); n != 0 {
				t.Errorf("%d steps ran", n)
			}
		})
	}
}

// oidcTokenCmd writes a token command for the CLI: it runs the issuer's
// authorization-code flow with curl, nonce=$TOPOFLOW_OIDC_NONCE, and prints
// the ID token (as a wrapper around a company's login would).
func oidcTokenCmd(t *testing.T, iss *trusttest.Issuer) string {
	t.Helper()
	c := iss.M.Config()
	script := fmt.Sprintf(`#!/bin/sh
set -eu
loc=$(curl -fsS -o /dev/null -w '%%{redirect_url}' "%s?scope=openid&state=s&client_id=%s&response_type=code&redirect_uri=http://127.0.0.1/cb&nonce=$TOPOFLOW_OIDC_NONCE")
code=$(printf '%%s' "$loc" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
curl -fsS -d grant_type=authorization_code -d "code=$code" -d client_id=%s -d client_secret=%s -d redirect_uri=http://127.0.0.1/cb "%s" | jq -r .id_token
`, iss.M.AuthorizationEndpoint(), c.ClientID, c.ClientID, c.ClientSecret, iss.M.TokenEndpoint())
	p := filepath.Join(t.TempDir(), "oidc-token")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLISigns: apply and approve sign with SSH key files, complete with an
// OIDC ID token from a token command; status shows the verified principals;
// an unsigned approve is refused in strict mode.
func TestCLISigns(t *testing.T) {
	w := newStrictWorld(t)
	file := writeSpec(t, "cli-signed", `  steps:
  - id: ok
    action: approval
    gate: {who: [alice], instructions: "Check the request"}
  - id: cabling
    action: manual
    dependsOn: [ok]
    gate: {who: [dora], instructions: "Plug the cable"}
  - id: echo
    action: test.flaky
    dependsOn: [cabling]
    inputs: {fail: false, msg: signed}
`)
	code, stdout, _ := cli(t, "apply", file, "--task-queue", w.tq, "--as", "ops", "--wait", "--timeout", "30s")
	if code != exitRequestFailed || !strings.Contains(stdout, "unsigned plan refused") || w.calls.Load() != 0 { // a refused plan fails the request: exit 3 (was 1 for every failure)
		t.Errorf("unsigned apply in strict mode: exit %d, %d steps ran, stdout %q", code, w.calls.Load(), stdout)
	}
	out := mustCLI(t, "apply", file, "--task-queue", w.tq, "--identity", "ops", "--ssh-key", w.files["ops"], "-o", "json")
	var res applyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	id := res.WorkflowID
	waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
	code, _, errs := cli(t, "approve", id, "--as", "alice")
	if code != 1 || !strings.Contains(errs, "unsigned approve refused") {
		t.Errorf("unsigned approve: exit %d stderr %q", code, errs)
	}
	code, _, errs = cli(t, "approve", id, "--as", "alice", "--ssh-key", w.files["mallory"])
	if code != 1 || !strings.Contains(errs, "belongs to no identity") {
		t.Errorf("approve with mallory's key: exit %d stderr %q", code, errs)
	}
	if out := mustCLI(t, "approve", id, "--identity", "alice", "--ssh-key", w.files["alice"], "--comment", "NET-1042 ok"); !strings.Contains(out, "as alice (signed)") {
		t.Errorf("approve output %q", out)
	}
	waitFor(t, id, "manual step", phaseIs(workflows.PhaseWaitingManual))
	if out := mustCLI(t, "complete", id, "--identity", "dora", "--oidc-token-cmd", oidcTokenCmd(t, w.iss), "--data", "cable=c7", "--data", "ports=3"); !strings.Contains(out, "as dora (signed)") {
		t.Errorf("complete output %q", out)
	}
	waitFor(t, id, "done", closedWith("Completed", workflows.PhaseDone))
	text := mustCLI(t, "status", id)
	for _, want := range []string{"Trust     strict mode; requested by ops (ssh " + w.keys["ops"].Fingerprint(),
		"approve ok by alice [ssh " + w.keys["alice"].Fingerprint() + "] (gate ok: who alice): NET-1042 ok",
		"complete cabling by dora [oidc " + w.iss.Provider().Issuer + " " + mockoidc.DefaultUser().Subject + "] (gate cabling: who dora)"} {
		if !strings.Contains(text, want) {
			t.Errorf("status does not show %q:\n%s", want, text)
		}
	}
}

// TestRequireSpec: with requireSpec the worker compiles each request's spec
// again and runs only a plan that hashes the same: topoflow apply's requests
// run; a signed hand-built plan without its spec, or an edited plan sent
// with its original spec, never runs.
func TestRequireSpec(t *testing.T) {
	w := newStrictWorld(t, "requireSpec: true\n")
	ctx := context.Background()
	body := `  steps:
  - id: ok
    action: approval
    gate: {who: [alice], instructions: "Check the request"}
  - id: echo
    action: test.flaky
    dependsOn: [ok]
    inputs: {fail: false, msg: recompiled}
`
	file := writeSpec(t, "cli-recompiled", body)
	var res applyResult
	if err := json.Unmarshal([]byte(mustCLI(t, "apply", file, "--task-queue", w.tq, "--as", "ops", "--ssh-key", w.files["ops"], "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	s := waitFor(t, res.WorkflowID, "approval", phaseIs(workflows.PhaseWaitingApproval))
	if s.Trust == nil || s.Trust.Source != "recompiled from cli-recompiled.yaml" {
		t.Errorf("plan trust %+v, want recompiled from the spec", s.Trust)
	}
	if err := testStack.Client.CancelWorkflow(ctx, res.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}

	opts, err := specOptions()
	if err != nil {
		t.Fatal(err)
	}
	p, err := compiler.CompileFile(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(file)
	for _, c := range []struct {
		name, want string
		edit       func(*plan.Plan)
		spec       bool
	}{
		{"signed plan without its spec", "without its spec", func(p *plan.Plan) { p.Source.Name = "cli-recompiled-1" }, false},
		{"edited plan sent with its original spec", "is not what its spec", func(p *plan.Plan) {
			p.Source.Name = "cli-recompiled-2"
			p.Steps[0].Gate = &plan.Gate{Who: []string{"mallory"}}
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pl := *p
			pl.Steps = append([]plan.Step(nil), p.Steps...)
			c.edit(&pl)
			sha, _ := pl.Hash()
			st, _ := trust.NewStatement(trust.Statement{Kind: trust.KindApply, WorkflowID: workflows.WorkflowID(pl.Source), PlanSHA256: sha, Identity: "ops"}, time.Now())
			req := workflows.Request{Plan: pl, PlanSHA256: sha, RequestedBy: "ops", Signature: w.keys["ops"].SignSSH(t, st)}
			if c.spec {
				req.Spec = &workflows.SpecSource{File: "cli-recompiled.yaml", YAML: string(src)}
			}
			run, err := testStack.Client.ExecuteWorkflow(ctx, workflows.StartOptions(req, w.tq), workflows.WorkflowType, req)
			if err != nil {
				t.Fatal(err)
			}
			if err := run.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("request ended with %v, want a refusal saying %q", err, c.want)
			}
			if n := w.calls.Load(); n != 0 {
				t.Errorf("%d steps ran", n)
			}
		})
	}
}
