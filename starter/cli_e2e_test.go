package main

// End-to-end tests of every Temporal subcommand against the real local
// Temporal server (internal/stack) with an in-process worker. The plans use
// steps that need no cloud: approval and manual gates, and a test-only
// action (test.flaky) registered in the catalog and on the worker.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

const flakyAction = "test.flaky"

func init() {
	catalog.Register(catalog.Action{
		Name: flakyAction, Provider: "topoflow", Title: "Test action: fails when fail is true",
		Inputs: []catalog.Param{
			{Name: "fail", Type: "boolean", Doc: "fail with a non-retryable error"},
			{Name: "msg", Type: "string", Doc: "echoed as output msg"},
		},
		Outputs: []string{"msg"},
	})
}

const pendingAction = "test.pending"

func init() {
	catalog.Register(catalog.Action{
		Name: pendingAction, Provider: "topoflow", Title: "Test read action: a resource that stays creating",
		Read: true, Outputs: []string{"status"},
		Wait: &plan.Wait{Pending: []string{"creating"}, Target: []string{"ready"}, PollInterval: plan.D(200 * time.Millisecond), Timeout: plan.D(10 * time.Minute)},
	})
}

// pending is the worker side of test.pending.
func pending(context.Context, plan.Call) (plan.Outputs, error) {
	return plan.Outputs{"status": "creating"}, nil
}

// flaky is the worker side of test.flaky.
func flaky(_ context.Context, call plan.Call) (plan.Outputs, error) {
	if fail, _ := call.Inputs["fail"].(bool); fail {
		return nil, temporal.NewNonRetryableApplicationError("flaky: asked to fail", plan.ErrInvalid, nil)
	}
	return plan.Outputs{"msg": call.Inputs["msg"]}, nil
}

var testStack *stack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := stack.Start(ctx, stack.Options{
		Worker:   true,
		Temporal: stack.TemporalOptions{UI: true},
		Register: func(_ worker.Registry, reg *activities.Registry) {
			reg.Add(flakyAction, flaky)
			reg.Add(pendingAction, pending)
		},
	})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local stack:", err)
		os.Exit(1)
	}
	testStack = s
	os.Setenv("TEMPORAL_ADDRESS", s.Temporal.Address)
	os.Setenv("TEMPORAL_NAMESPACE", "default")
	os.Setenv("TOPOFLOW_TASK_QUEUE", s.TaskQueue)
	os.Setenv("TOPOFLOW_ACCOUNTS", "")
	os.Setenv("TOPOFLOW_UI_URL", s.Temporal.UIURL)
	os.Setenv("TOPOFLOW_IDENTITY", "carol")
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop local stack:", err)
	}
	os.Exit(code)
}

// cli runs the topoflow command line in-process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustCLI runs a command that must succeed.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, args...)
	if code != 0 {
		t.Fatalf("topoflow %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// writeSpec writes a Workflow spec and returns its path.
func writeSpec(t *testing.T, name, body string) string {
	t.Helper()
	doc := "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: " + name + "}\nspec:\n" + body
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gated: approval by alice, then a manual step by bob, then the test action.
func gatedSpec(msg string) string {
	return `  onFailure: park
  steps:
  - id: ok
    action: approval
    gate: {who: [alice], instructions: "Check the request"}
  - id: cabling
    action: manual
    dependsOn: [ok]
    gate: {who: [bob], instructions: "Plug the cable"}
  - id: echo
    action: test.flaky
    dependsOn: [cabling]
    inputs: {fail: false, msg: ` + msg + `}
  outputs:
    msg: ${{ steps.echo.msg }}
`
}

// parkSpec: the test action fails and parks.
const parkSpec = `  onFailure: park
  policy: {allowUngated: true, reason: test action test.flaky}
  steps:
  - id: first
    action: test.flaky
    inputs: {fail: false, msg: one}
  - id: flaky
    action: test.flaky
    dependsOn: [first]
    inputs: {fail: true, msg: two}
  outputs:
    msg: ${{ steps.first.msg }}
`

type statusJSON struct {
	WorkflowID string `json:"workflowId"`
	Status     string `json:"status"`
	UIURL      string `json:"uiUrl"`
	workflows.Progress
}

func status(t *testing.T, id string) statusJSON {
	t.Helper()
	var s statusJSON
	if err := json.Unmarshal([]byte(mustCLI(t, "status", id, "-o", "json")), &s); err != nil {
		t.Fatalf("status json: %v", err)
	}
	return s
}

// waitFor polls status until cond holds.
func waitFor(t *testing.T, id, what string, cond func(statusJSON) bool) statusJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var s statusJSON
	for time.Now().Before(deadline) {
		s = status(t, id)
		if cond(s) {
			return s
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("request %s: waited for %s; last status %s phase %s steps %+v", id, what, s.Status, s.Phase, s.Steps)
	return s
}

func phaseIs(phase string) func(statusJSON) bool {
	return func(s statusJSON) bool { return s.Phase == phase }
}

func closedWith(status, phase string) func(statusJSON) bool {
	return func(s statusJSON) bool { return s.Status == status && s.Phase == phase }
}

func stepState(s statusJSON, id string) string {
	for _, st := range s.Steps {
		if st.ID == id {
			return st.State
		}
	}
	return ""
}

func TestApplyApproveCompleteStatusList(t *testing.T) {
	file := writeSpec(t, "cli-gated", gatedSpec("hello"))
	id := "topoflow/Workflow/cli-gated"

	out := mustCLI(t, "apply", file)
	for _, want := range []string{"Started request " + id, "Plan      sha256:", "Web UI    " + testStack.UIWorkflowURL(id)} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}

	// Same spec again: attach.
	var res applyResult
	if err := json.Unmarshal([]byte(mustCLI(t, "apply", file, "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Attached || res.WorkflowID != id || res.UIURL != testStack.UIWorkflowURL(id) {
		t.Errorf("second apply = %+v, want attached to %s", res, id)
	}
	// Changed spec while running: refused, naming both plan hashes.
	changed := writeSpec(t, "cli-gated", gatedSpec("changed"))
	code, _, errs := cli(t, "apply", changed)
	if code != 1 || !strings.Contains(errs, "refusing to apply") || !strings.Contains(errs, "runs plan "+res.PlanSHA256[:12]) {
		t.Errorf("apply of a changed spec: exit %d, stderr %q", code, errs)
	}

	s := waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
	if stepState(s, "ok") != workflows.StepWaiting || s.UIURL == "" {
		t.Errorf("status = %+v", s)
	}
	text := mustCLI(t, "status", id)
	for _, want := range []string{"Phase     WaitingApproval — awaiting alice", "STEP", "ok", "approval", "Next: topoflow approve " + id + " --step ok --as alice"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	// The short Kind/Name form and the spec file resolve to the same request.
	if got := status(t, "Workflow/cli-gated"); got.WorkflowID != id {
		t.Errorf("status Kind/Name resolved to %s", got.WorkflowID)
	}
	if got := status(t, file); got.WorkflowID != id {
		t.Errorf("status FILE resolved to %s", got.WorkflowID)
	}

	// list by phase (in any case) and by who must act (visibility is eventually consistent).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rows []listRow
		if err := json.Unmarshal([]byte(mustCLI(t, "list", "--phase", "waitingapproval", "--awaiting", "alice", "-o", "json")), &rows); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rows {
			found = found || (r.WorkflowID == id && r.Kind == "Workflow" && r.Spec == "cli-gated" && r.Status == "Running" && r.Summary != "")
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list did not find %s waiting for alice: %+v", id, rows)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if out := mustCLI(t, "list", "--spec", "cli-gated"); !strings.Contains(out, id) || !strings.Contains(out, "REQUEST") {
		t.Errorf("list text:\n%s", out)
	}
	if out := mustCLI(t, "list", "--spec", "no-such-spec", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("list of nothing = %q, want []", out)
	}

	// The wrong person cannot approve; the workflow's validator says why.
	code, _, errs = cli(t, "approve", id, "--as", "mallory")
	if code != 1 || !strings.Contains(errs, "approve refused by request "+id) {
		t.Errorf("approve as mallory: exit %d stderr %q", code, errs)
	}
	// Without --step, the only waiting approval is chosen.
	if out := mustCLI(t, "approve", id, "--as", "alice", "--comment", "looks fine"); !strings.Contains(out, "Approved step ok of "+id+" as alice") {
		t.Errorf("approve output: %q", out)
	}

	waitFor(t, id, "manual step", phaseIs(workflows.PhaseWaitingManual))
	code, _, errs = cli(t, "approve", id, "--as", "alice")
	if code != 1 || !strings.Contains(errs, "no waiting approval step") {
		t.Errorf("approve with nothing to approve: exit %d stderr %q", code, errs)
	}
	var cres map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "complete", id, "--step", "cabling", "--as", "bob", "--data", "cable=c7", "--data", "ports=3", "-o", "json")), &cres); err != nil {
		t.Fatal(err)
	}
	if cres["ok"] != true || cres["step"] != "cabling" || cres["identity"] != "bob" {
		t.Errorf("complete json = %v", cres)
	}

	s = waitFor(t, id, "success", closedWith("Completed", workflows.PhaseDone))
	if s.Outputs["msg"] != "hello" {
		t.Errorf("outputs = %v", s.Outputs)
	}
	var audit []string
	for _, a := range s.Audit {
		audit = append(audit, a.Action+":"+a.Step+":"+a.Identity)
	}
	if got := strings.Join(audit, " "); !strings.Contains(got, "approve:ok:alice") || !strings.Contains(got, "complete:cabling:bob") {
		t.Errorf("audit = %s", got)
	}
	for _, st := range s.Steps {
		if st.ID == "cabling" && fmt.Sprint(st.Outputs["data"]) != "map[cable:c7 ports:3]" {
			t.Errorf("manual step outputs = %v", st.Outputs)
		}
	}
}

func TestApplyWait(t *testing.T) {
	ok := writeSpec(t, "cli-wait-ok", `  policy: {allowUngated: true, reason: test action test.flaky}
  steps:
  - id: echo
    action: test.flaky
    inputs: {fail: false, msg: waited}
  outputs:
    msg: ${{ steps.echo.msg }}
`)
	code, out, errs := cli(t, "apply", ok, "--wait", "--poll", "100ms")
	if code != 0 {
		t.Fatalf("apply --wait: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"Started request topoflow/Workflow/cli-wait-ok", "echo", "done", "succeeded", "msg: waited"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply --wait output lacks %q:\n%s", want, out)
		}
	}

	// A failing step with the default policy (rollback): exit exitRolledBack (it was 1 for every failure).
	bad := writeSpec(t, "cli-wait-bad", `  policy: {allowUngated: true, reason: test action test.flaky}
  steps:
  - id: first
    action: test.flaky
    inputs: {fail: false, msg: one}
  - id: boom
    action: test.flaky
    dependsOn: [first]
    inputs: {fail: true, msg: two}
`)
	code, out, _ = cli(t, "apply", bad, "--wait", "--poll", "100ms", "-o", "json")
	if code != exitRolledBack {
		t.Fatalf("apply --wait of a rolled-back request: exit %d, want %d\n%s", code, exitRolledBack, out)
	}
	var res applyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	// The workflow completed (a clean rollback is no crash: outcome.go); the phase and the exit say it did not succeed.
	if res.Status != "Completed" || res.Phase != workflows.PhaseRolledBack || !strings.Contains(res.Error, "rolled back") {
		t.Errorf("result = %+v", res)
	}
}

func TestRetryAndSkipParkedSteps(t *testing.T) {
	// retry with a changed input
	file := writeSpec(t, "cli-retry", parkSpec)
	id := "topoflow/Workflow/cli-retry"
	mustCLI(t, "apply", file)
	s := waitFor(t, id, "park", phaseIs(workflows.PhaseParked))
	if stepState(s, "flaky") != workflows.StepParked {
		t.Fatalf("steps = %+v", s.Steps)
	}
	if text := mustCLI(t, "status", id); !strings.Contains(text, "error: ") || !strings.Contains(text, "asked to fail") {
		t.Errorf("status of a parked step should show its error:\n%s", text)
	}
	code, _, errs := cli(t, "retry", id, "--input", "nope=1")
	if code != 1 || !strings.Contains(errs, `has no input "nope"`) {
		t.Errorf("retry with an unknown input: exit %d stderr %q", code, errs)
	}
	if out := mustCLI(t, "retry", id, "--input", "fail=false", "--as", "ops"); !strings.Contains(out, "Retried step flaky of "+id+" as ops") {
		t.Errorf("retry output %q", out)
	}
	s = waitFor(t, id, "success after retry", closedWith("Completed", workflows.PhaseDone))
	if stepState(s, "flaky") != workflows.StepDone {
		t.Errorf("steps after retry = %+v", s.Steps)
	}

	// skip needs a reason
	file = writeSpec(t, "cli-skip", parkSpec)
	id = "topoflow/Workflow/cli-skip"
	mustCLI(t, "apply", file)
	waitFor(t, id, "park", phaseIs(workflows.PhaseParked))
	if code, _, errs := cli(t, "skip", id); code != 2 || !strings.Contains(errs, "--reason is required") {
		t.Errorf("skip without reason: exit %d stderr %q", code, errs)
	}
	mustCLI(t, "skip", id, "--reason", "done by hand")
	s = waitFor(t, id, "success after skip", closedWith("Completed", workflows.PhaseDone))
	if stepState(s, "flaky") != workflows.StepSkipped {
		t.Errorf("steps after skip = %+v", s.Steps)
	}
}

func TestRejectRollbackAbortCancel(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantStatus string
		wantPhase  string
	}{
		{"reject", []string{"reject", "--as", "alice", "--comment", "no"}, "Rejected step ok", "Completed", workflows.PhaseRolledBack},
		{"rollback", []string{"rollback", "--reason", "changed my mind"}, "Rolling back", "Completed", workflows.PhaseRolledBack},
		{"abort", []string{"abort"}, "Aborted", "Failed", workflows.PhaseFailed},
		{"cancel", []string{"cancel"}, "Cancellation requested", "Completed", workflows.PhaseRolledBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "cli-" + tt.name
			id := "topoflow/Workflow/" + name
			mustCLI(t, "apply", writeSpec(t, name, gatedSpec("x")))
			waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
			args := append([]string{tt.args[0], id}, tt.args[1:]...)
			if out := mustCLI(t, args...); !strings.Contains(out, tt.wantOut) {
				t.Errorf("%s output %q, want %q", tt.name, out, tt.wantOut)
			}
			s := waitFor(t, id, "the end", func(s statusJSON) bool { return s.Status != "Running" })
			if s.Status != tt.wantStatus || s.Phase != tt.wantPhase {
				t.Errorf("after %s: status %s phase %s, want %s %s", tt.name, s.Status, s.Phase, tt.wantStatus, tt.wantPhase)
			}
			// A finished request refuses further operator actions.
			if code, _, errs := cli(t, "rollback", id); code != 1 || !strings.Contains(errs, "rollback") {
				t.Errorf("rollback of a finished request: exit %d stderr %q", code, errs)
			}
		})
	}
}

func TestUnreachableTemporal(t *testing.T) {
	for _, args := range [][]string{
		{"status", "topoflow/Workflow/x"}, {"list"}, {"approve", "x"}, {"cancel", "x"},
	} {
		code, _, errs := cli(t, append(args, "--address", "127.0.0.1:1")...)
		if code != 1 || !strings.Contains(errs, "cannot reach Temporal at 127.0.0.1:1") || !strings.Contains(errs, "make dev") {
			t.Errorf("%v: exit %d stderr %q", args, code, errs)
		}
	}
}

func TestUnknownRequest(t *testing.T) {
	code, _, errs := cli(t, "status", "topoflow/Workflow/does-not-exist")
	if code != 1 || !strings.Contains(errs, "does-not-exist") {
		t.Errorf("status of an unknown request: exit %d stderr %q", code, errs)
	}
}

// TestStatusShowsWhatARunningWaitObserves: the progress query cannot see a
// running wait's heartbeats; status merges them from the pending activity.
func TestStatusShowsWhatARunningWaitObserves(t *testing.T) {
	spec := writeSpec(t, "live-wait", `  steps:
  - id: resource
    action: test.pending
    wait: {pollInterval: 200ms, timeout: 10m}
`)
	id := strings.TrimSpace(mustCLI(t, "apply", spec, "-o", "json"))
	var applied struct {
		WorkflowID string `json:"workflowId"`
	}
	if err := json.Unmarshal([]byte(id), &applied); err != nil {
		t.Fatalf("apply json: %v: %s", err, id)
	}
	t.Cleanup(func() { cli(t, "cancel", applied.WorkflowID) })
	s := waitFor(t, applied.WorkflowID, "the wait's observed status", func(s statusJSON) bool {
		for _, st := range s.Steps {
			if st.ID == "resource" {
				return st.State == workflows.StepRunning && st.Observed == "creating"
			}
		}
		return false
	})
	if s.Phase != workflows.PhaseRunning {
		t.Fatalf("phase %s, want %s", s.Phase, workflows.PhaseRunning)
	}
	if out := mustCLI(t, "status", applied.WorkflowID); !strings.Contains(out, "creating") {
		t.Fatalf("status text does not show the observed state:\n%s", out)
	}
}
