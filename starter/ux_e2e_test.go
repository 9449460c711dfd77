package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/workflows"
)

// TestApplyWaitExitCodes: apply --wait stops when the request parks (exit
// exitParked, the request keeps running) and when --timeout passes (exit
// exitWaitTimeout); a rolled-back request is TestApplyWait's exitRolledBack.
func TestApplyWaitExitCodes(t *testing.T) {
	file := writeSpec(t, "cli-wait-parked", parkSpec)
	id := "topoflow/Workflow/cli-wait-parked"
	code, out, errs := cli(t, "apply", file, "--wait", "--poll", "100ms")
	if code != exitParked || !strings.Contains(out, "is parked: an operator must act") || !strings.Contains(out, "  flaky: test.flaky: InvalidInput: flaky: asked to fail") ||
		!strings.Contains(out, "topoflow retry|skip "+id+" --step flaky") {
		t.Errorf("apply --wait of a parking request: exit %d, want %d\n%s\n%s", code, exitParked, out, errs)
	}
	if s := status(t, id); s.Status != "Running" || s.Phase != workflows.PhaseParked {
		t.Errorf("after apply --wait: status %s phase %s, want Running Parked", s.Status, s.Phase)
	}
	code, out, _ = cli(t, "apply", file, "--wait", "-o", "json")
	var res applyResult
	if err := json.Unmarshal([]byte(out), &res); code != exitParked || err != nil || res.Phase != workflows.PhaseParked || res.Status != "Running" || !strings.Contains(res.Error, "asked to fail") {
		t.Errorf("apply --wait -o json of a parked request: exit %d %v\n%s", code, err, out)
	}
	mustCLI(t, "abort", id, "--reason", "test over")

	gated := writeSpec(t, "cli-wait-timeout", gatedSpec("t"))
	code, _, errs = cli(t, "apply", gated, "--wait", "--timeout", "1s", "--poll", "100ms")
	if code != exitWaitTimeout || !strings.Contains(errs, "gave up waiting") || !strings.Contains(errs, "keeps running") {
		t.Errorf("apply --wait --timeout: exit %d, want %d; stderr %q", code, exitWaitTimeout, errs)
	}
	mustCLI(t, "abort", "topoflow/Workflow/cli-wait-timeout", "--reason", "test over")

	for _, tt := range []struct {
		phase string
		want  int
	}{{workflows.PhaseRolledBack, exitRolledBack}, {workflows.PhaseFailed, exitRequestFailed}, {"", exitRequestFailed}} {
		if got := waitExit(workflows.Progress{Phase: tt.phase}); got != tt.want {
			t.Errorf("waitExit(%q) = %d, want %d", tt.phase, got, tt.want)
		}
	}
}

// TestStatusShowsTheGateAndWorksWithoutAWorker: status shows a waiting
// gate's who, deadline and instructions and the commands to act; with the
// worker down it rebuilds the progress from the search attributes and the
// history instead of failing with the query's transport error.
func TestStatusShowsTheGateAndWorksWithoutAWorker(t *testing.T) {
	file := writeSpec(t, "cli-gate-details", `  steps:
  - id: ok
    action: approval
    gate: {who: [alice], deadline: 48h, onExpiry: reject, instructions: "Check ticket NET-7 first.\nThen approve."}
  - id: cabling
    action: manual
    dependsOn: [ok]
    gate: {who: [bob]}
`)
	id := "topoflow/Workflow/cli-gate-details"
	mustCLI(t, "apply", file)
	waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
	out := mustCLI(t, "status", id)
	for _, want := range []string{"Approval ok", "  Who       alice", "then rejected", "(in 47h", "  Instructions\n    Check ticket NET-7 first.\n    Then approve.",
		"topoflow approve " + id + " --step ok --as alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "rebuilt from") {
		t.Errorf("status with the worker up says it used the history:\n%s", out)
	}
	// A request that completed rolled back (workflows/outcome.go), looked at below without a worker.
	rbID := "topoflow/Workflow/cli-gate-rolled-back"
	mustCLI(t, "apply", writeSpec(t, "cli-gate-rolled-back", gatedSpec("x")))
	waitFor(t, rbID, "approval", phaseIs(workflows.PhaseWaitingApproval))
	mustCLI(t, "rollback", rbID, "--reason", "test")
	waitFor(t, rbID, "rolled back", closedWith("Completed", workflows.PhaseRolledBack))

	if err := testStack.StopWorker(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testStack.StartWorker(ctx); err != nil {
			t.Fatalf("restart the worker: %v", err)
		}
		mustCLI(t, "abort", id, "--reason", "test over")
	}()
	start := time.Now()
	code, out, errs := cli(t, "status", id)
	if code != 0 {
		t.Fatalf("status with the worker down: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"Phase     WaitingApproval — awaiting alice", "rebuilt from the request's", "Approval ok", "Check ticket NET-7 first."} {
		if !strings.Contains(out, want) {
			t.Errorf("status with the worker down lacks %q:\n%s", want, out)
		}
	}
	if !hasLine(out, "ok", "waiting", "approval") || !hasLine(out, "cabling", "pending", "manual") {
		t.Errorf("status with the worker down: steps wrong:\n%s", out)
	}
	if strings.Contains(out+errs, "RST_STREAM") {
		t.Errorf("transport error shown:\n%s\n%s", out, errs)
	}
	t.Logf("status with the worker down took %s", time.Since(start).Round(time.Millisecond))
	code, out, _ = cli(t, "status", id, "-o", "json")
	var s struct {
		Source string `json:"source"`
		workflows.Progress
	}
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Source != sourceHistory || s.Phase != workflows.PhaseWaitingApproval {
		t.Errorf("status -o json with the worker down: exit %d %v\n%s", code, err, out)
	}
	// The rolled-back request's phase and steps, from its history (it said Done, with no steps).
	code, out, errs = cli(t, "status", rbID)
	if code != 0 || !strings.Contains(out, "(Completed)") || !strings.Contains(out, "Phase     RolledBack") || !hasLine(out, "ok", "approval") {
		t.Errorf("status of a rolled-back request with the worker down: exit %d\n%s\n%s", code, out, errs)
	}
}

// hasLine reports whether a line of text holds every field, in order.
func hasLine(text string, fields ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		rest, ok := l, true
		for _, f := range fields {
			i := strings.Index(rest, f)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(f):]
		}
		if ok {
			return true
		}
	}
	return false
}
