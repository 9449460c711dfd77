package main

import (
	"strings"
	"testing"
	"time"
)

// conflictSpec holds at an approval, then writes instance's advertised map.
func conflictSpec(instance string) string {
	return `  steps:
  - id: ok
    action: approval
    gate: {who: [alice]}
  - id: adv
    action: huawei.dms.updateCrossVpcIps
    account: hw-kafka-owner
    dependsOn: [ok]
    inputs: {instanceId: ` + instance + `, advertised: {10.0.0.1: 10.1.0.1}}
`
}

// TestApplyRefusesAConflictingPlan: while one request holds a DMS instance's
// advertised map (it waits at its approval), plan --live and apply of another
// spec on that instance are refused naming it and who applied it; a spec on
// another instance is not.
func TestApplyRefusesAConflictingPlan(t *testing.T) {
	first := writeSpec(t, "cli-conflict-a", conflictSpec("i-cli-1"))
	second := writeSpec(t, "cli-conflict-b", conflictSpec("i-cli-1"))
	other := writeSpec(t, "cli-conflict-c", conflictSpec("i-cli-2"))
	mustCLI(t, "apply", first)
	defer cli(t, "reject", "topoflow/Workflow/cli-conflict-a", "ok", "--as", "alice")

	out := mustCLI(t, "plan", other)
	if !strings.Contains(out, "Shared resources:\n  huawei:dms:i-cli-2:advertised-ips (step adv)\n      refused while another live request holds it") {
		t.Errorf("plan does not list the shared resource:\n%s", out)
	}
	// Visibility lists a request shortly after its start (the workflow's own
	// checks cover that window): wait until it does.
	var code int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if code, out, _ = cli(t, "plan", "--live", second); code != 0 || time.Now().After(deadline) {
			break
		}
	}
	if code != 1 || !strings.Contains(out, "request topoflow/Workflow/cli-conflict-a (applied by carol, ") {
		t.Errorf("plan --live: exit %d, want 1 naming the holder:\n%s", code, out)
	}
	code, out, errs := cli(t, "apply", second)
	if code == 0 || !strings.Contains(errs, "refusing to apply") || !strings.Contains(errs, "topoflow/Workflow/cli-conflict-a (applied by carol") {
		t.Errorf("apply of a conflicting spec: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if code, _, errs := cli(t, "status", "topoflow/Workflow/cli-conflict-b"); code == 0 {
		t.Errorf("the refused spec was started anyway (%s)", errs)
	}
	if code, out, _ := cli(t, "plan", "--live", other); code != 0 || !strings.Contains(out, "Conflicts with live requests: none") {
		t.Errorf("plan --live of a spec on another instance: exit %d\n%s", code, out)
	}
}
