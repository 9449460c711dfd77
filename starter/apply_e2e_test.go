package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/workflows"
)

// TestConcurrentApplyOfDifferentPlans: two applies of different plans of one
// spec at the same instant: exactly one starts the request, the other is
// refused naming the running plan (Update-With-Start: the start and the
// plan check are one call; before, both could pass the check and the second
// silently attached to the first).
func TestConcurrentApplyOfDifferentPlans(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for round := 0; round < 4; round++ {
		name := fmt.Sprintf("cli-race-%d", round)
		var reqs [2]workflows.Request
		for i, msg := range []string{"one", "two"} {
			p, err := compiler.CompileFile(writeSpec(t, name, gatedSpec(msg)), spec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sha, _ := p.Hash()
			reqs[i] = workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: "carol"}
		}
		var wg sync.WaitGroup
		var got [2]workflows.Applied
		var errs [2]error
		start := make(chan struct{})
		for i := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = workflows.Apply(ctx, testStack.Client, reqs[i], testStack.TaskQueue)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i := range reqs {
			if errs[i] == nil {
				if winner >= 0 {
					t.Fatalf("round %d: both applies succeeded: %+v and %+v", round, got[0], got[1])
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: both applies failed: %v; %v", round, errs[0], errs[1])
		}
		loser := 1 - winner
		if got[winner].Outcome != workflows.AppliedStarted {
			t.Errorf("round %d: the successful apply says %q, want started", round, got[winner].Outcome)
		}
		if !errors.Is(errs[loser], workflows.ErrPlanChanged) || !strings.Contains(errs[loser].Error(), "runs plan "+reqs[winner].PlanSHA256[:12]) ||
			!strings.Contains(errs[loser].Error(), "compiles to plan "+reqs[loser].PlanSHA256[:12]) {
			t.Errorf("round %d: the other apply: %v, want refused naming the running plan %.12s", round, errs[loser], reqs[winner].PlanSHA256)
		}
		// The same plan again attaches, and says so.
		again, err := workflows.Apply(ctx, testStack.Client, reqs[winner], testStack.TaskQueue)
		if err != nil || again.Outcome != workflows.AppliedAttached || again.RunID != got[winner].RunID {
			t.Errorf("round %d: apply of the running plan: %+v, %v; want attached to run %s", round, again, err, got[winner].RunID)
		}
		if err := testStack.Client.TerminateWorkflow(ctx, got[winner].WorkflowID, "", "test over"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyOfADoneRequestAndRevoke: apply of the unchanged spec of a Done
// request starts nothing and says when it was done and with which outputs; a
// changed spec runs as a delta in its grant (it was refused until revoked
// before changes by delta); topoflow revoke undoes it (the compensations
// run) and then the changed spec starts a new request.
func TestApplyOfADoneRequestAndRevoke(t *testing.T) {
	body := func(msg string) string {
		return `  policy: {allowUngated: true, reason: test action test.flaky}
  steps:
  - id: echo
    action: test.flaky
    inputs: {fail: false, msg: ` + msg + `}
    compensation: {action: test.flaky, inputs: {fail: false, msg: undo}}
  outputs:
    msg: ${{ steps.echo.msg }}
`
	}
	file := writeSpec(t, "cli-done", body("granted"))
	id := "topoflow/Workflow/cli-done"
	if code, out, errs := cli(t, "apply", file, "--wait", "--poll", "100ms"); code != 0 {
		t.Fatalf("apply --wait: exit %d\n%s\n%s", code, out, errs)
	}
	out := mustCLI(t, "apply", file)
	for _, want := range []string{"Request " + id + " is already done with this plan: nothing was started", "Done      ",
		"msg: granted", "topoflow revoke " + id} {
		if !strings.Contains(out, want) {
			t.Errorf("apply of the Done spec lacks %q:\n%s", want, out)
		}
	}
	var res applyResult
	if err := json.Unmarshal([]byte(mustCLI(t, "apply", file, "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.AppliedDone || res.Outputs["msg"] != "granted" || res.DoneAt.IsZero() || res.Grant != workflows.GrantWorkflowID(id) {
		t.Errorf("apply -o json of the Done spec: %+v", res)
	}
	// A changed spec runs as a delta in the grant: echo's inputs changed and
	// its undo is the same action, so it is updated in place (both undos
	// stay in the record, newest first).
	changed := writeSpec(t, "cli-done", body("changed"))
	code, out, errs := cli(t, "apply", changed, "--wait", "--poll", "100ms")
	if code != 0 || !strings.Contains(out, "change 1 runs plan") || !strings.Contains(out, "in grant "+workflows.GrantWorkflowID(id)) ||
		!strings.Contains(out, "Change 1: changed (0 added, 1 updated in place, 0 removed, 0 kept)") || !strings.Contains(out, "  ~ echo") {
		t.Errorf("apply of a changed spec over a Done request: exit %d\n%s\n%s", code, out, errs)
	}
	if out := mustCLI(t, "apply", changed); !strings.Contains(out, "is already done with this plan: nothing was started") {
		t.Errorf("apply of the changed spec the grant now holds:\n%s", out)
	}

	code, out, errs = cli(t, "revoke", id, "--wait", "--poll", "100ms", "--reason", "test")
	if code != 0 || !strings.Contains(out, "Request "+id+" revoked") || !strings.Contains(out, "compensated") {
		t.Fatalf("revoke --wait: exit %d\n%s\n%s", code, out, errs)
	}
	s := status(t, workflows.GrantWorkflowID(id))
	if s.Phase != workflows.PhaseRevoked || stepState(s, "echo") != workflows.StepCompensated {
		t.Errorf("grant after the revoke: phase %s, echo %s", s.Phase, stepState(s, "echo"))
	}
	if code, _, errs := cli(t, "revoke", id); code != 1 || !strings.Contains(errs, "already revoked") {
		t.Errorf("second revoke: exit %d, stderr %q", code, errs)
	}
	// Revoked: the changed spec starts a new request.
	if out := mustCLI(t, "apply", changed, "--wait", "--poll", "100ms"); !strings.Contains(out, "Started request "+id) || !strings.Contains(out, "msg: changed") {
		t.Errorf("apply after the revoke:\n%s", out)
	}
}

// TestRevokeRefusals: revoke says why a request cannot be revoked.
func TestRevokeRefusals(t *testing.T) {
	file := writeSpec(t, "cli-revoke-running", gatedSpec("x"))
	mustCLI(t, "apply", file)
	id := "topoflow/Workflow/cli-revoke-running"
	if code, _, errs := cli(t, "revoke", id); code != 1 || !strings.Contains(errs, "still running") || !strings.Contains(errs, "topoflow rollback") {
		t.Errorf("revoke of a running request: exit %d, stderr %q", code, errs)
	}
	mustCLI(t, "rollback", id, "--reason", "test")
	waitFor(t, id, "rolled back", closedWith("Completed", workflows.PhaseRolledBack))
	if code, _, errs := cli(t, "revoke", id); code != 1 || !strings.Contains(errs, "nothing granted to revoke") {
		t.Errorf("revoke of a rolled-back request: exit %d, stderr %q", code, errs)
	}
	// A request that completed rolled back is applied again as a new run
	// (the reuse policy refuses it; Apply sees the RolledBack outcome).
	if out := mustCLI(t, "apply", file); !strings.Contains(out, "Started request "+id) {
		t.Errorf("apply after a rollback:\n%s", out)
	}
	mustCLI(t, "rollback", id, "--reason", "test")
	if code, _, errs := cli(t, "revoke", "topoflow/Workflow/cli-no-such"); code != 1 || !strings.Contains(errs, "no request") {
		t.Errorf("revoke of an unknown request: exit %d, stderr %q", code, errs)
	}
}

// TestPartialRollbackWithPreview: rollback --only STEP --dry-run of a Done
// request lists the step and what depends on it, in the order they would be
// undone, and changes nothing; without --dry-run they are undone and the
// grant keeps the rest, which a revoke then undoes.
func TestPartialRollbackWithPreview(t *testing.T) {
	step := func(id, dep string) string {
		s := "  - id: " + id + "\n    action: test.flaky\n    inputs: {fail: false, msg: " + id + "}\n" +
			"    compensation: {action: test.flaky, inputs: {fail: false, msg: undo-" + id + "}}\n"
		if dep != "" {
			s += "    dependsOn: [" + dep + "]\n"
		}
		return s
	}
	file := writeSpec(t, "cli-partial", "  policy: {allowUngated: true, reason: test action test.flaky}\n  steps:\n"+
		step("base", "")+step("on-base", "base")+step("other", ""))
	id := "topoflow/Workflow/cli-partial"
	mustCLI(t, "apply", file, "--wait", "--poll", "100ms")

	out := mustCLI(t, "rollback", id, "--only", "base", "--dry-run")
	if !strings.Contains(out, "would compensate, in this order (dry run: nothing was changed)") ||
		!strings.Contains(out, "on-base") || strings.Contains(out, "other") ||
		strings.Index(out, "on-base") > strings.Index(out, "  base ") || !strings.Contains(out, "depends on base") {
		t.Errorf("dry run of --only base:\n%s", out)
	}
	if s := status(t, workflows.GrantWorkflowID(id)); stepState(s, "base") != workflows.StepDone {
		t.Errorf("the dry run changed state: base is %s", stepState(s, "base"))
	}
	mustCLI(t, "rollback", id, "--only", "base", "--reason", "test")
	s := waitFor(t, workflows.GrantWorkflowID(id), "partial revoke", func(s statusJSON) bool {
		return stepState(s, "base") == workflows.StepCompensated && s.Phase == workflows.PhaseGranted
	})
	if stepState(s, "on-base") != workflows.StepCompensated || stepState(s, "other") != workflows.StepDone {
		t.Errorf("after --only base: on-base %s, other %s", stepState(s, "on-base"), stepState(s, "other"))
	}
	var preview struct {
		Units []workflows.PreviewUnit `json:"units"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "rollback", id, "--dry-run", "-o", "json")), &preview); err != nil {
		t.Fatal(err)
	}
	if len(preview.Units) != 1 || preview.Units[0].Step != "other" {
		t.Errorf("preview of the rest: %+v", preview.Units)
	}
	if code, out, errs := cli(t, "revoke", id, "--wait", "--poll", "100ms"); code != 0 {
		t.Fatalf("revoke of the rest: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestPlanAgainstADoneRequest: plan FILE --against REQUEST shows what a
// changed spec would add, change and remove relative to what the Done
// request created.
func TestPlanAgainstADoneRequest(t *testing.T) {
	step := func(id, msg string) string {
		return "  - id: " + id + "\n    action: test.flaky\n    inputs: {fail: false, msg: " + msg + "}\n" +
			"    compensation: {action: test.flaky, inputs: {fail: false, msg: undo}}\n"
	}
	head := "  policy: {allowUngated: true, reason: test action test.flaky}\n  steps:\n"
	file := writeSpec(t, "cli-delta", head+step("keep", "k")+step("echo", "one")+step("extra", "x"))
	id := "topoflow/Workflow/cli-delta"
	mustCLI(t, "apply", file, "--wait", "--poll", "100ms")
	if out := mustCLI(t, "plan", file, "--against", id); !strings.Contains(out, "No change") {
		t.Errorf("plan --against of the unchanged spec:\n%s", out)
	}
	changed := writeSpec(t, "cli-delta", head+step("keep", "k")+step("echo", "two")+step("added", "a"))
	out := mustCLI(t, "plan", changed, "--against", id)
	for _, re := range []string{`\+\s+added\s+test.flaky\s+0`, `~\s+echo\s+test.flaky\s+1\s+inputs msg`,
		`-\s+extra\s+test.flaky\s+1\s+undo with test.flaky`, `\n\s+keep\s+test.flaky\s+1`, "1 to add, 1 to change, 1 to remove, 1 unchanged"} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("plan --against lacks %s:\n%s", re, out)
		}
	}
	mustCLI(t, "revoke", id, "--wait", "--poll", "100ms")
	if code, _, errs := cli(t, "plan", changed, "--against", id); code != 1 || !strings.Contains(errs, "already revoked") {
		t.Errorf("plan --against a revoked request: exit %d, %q", code, errs)
	}
}
