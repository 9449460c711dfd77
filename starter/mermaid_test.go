package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

func TestStatusMermaidColoursEachStep(t *testing.T) {
	pl := &plan.Plan{Steps: []plan.Step{
		{ID: "ok", Action: plan.ActionApproval, Gate: &plan.Gate{Who: []string{"alice"}}},
		{ID: "create-svc", Action: "huawei.vpcep.createService", DependsOn: []string{"ok"}, ForEach: &plan.ForEach{Items: "x"}},
		{ID: "verify", Action: "kafka.verify", DependsOn: []string{"create-svc"}},
		{ID: "undo-me", Action: "x.y", DependsOn: []string{"ok"}},
	}}
	tests := []struct {
		name   string
		states map[string]string
		want   []string
	}{
		{"waiting", map[string]string{"ok": workflows.StepWaiting},
			[]string{
				"class s_ok st_waiting",
				"class s_create_svc,s_undo_me,s_verify st_pending",
				"classDef st_waiting fill:" + workflows.StyleOf(workflows.StepWaiting).Fill,
				"🟡 waiting<br/>waiting for alice",
			}},
		{"running fan-out", map[string]string{"ok": workflows.StepDone, "create-svc": workflows.StepRunning, "undo-me": workflows.StepDone},
			[]string{
				"class s_ok,s_undo_me st_done",
				"class s_create_svc st_running",
				"🔵 running (1/3)",
				"class s_verify st_pending",
			}},
		{"rolled back", map[string]string{"ok": workflows.StepCompensated, "create-svc": workflows.StepCompFailed, "verify": workflows.StepFailed, "undo-me": workflows.StepCompensated},
			[]string{
				"class s_ok,s_undo_me st_compensated",
				"class s_create_svc st_compensationFailed",
				"class s_verify st_failed",
				"classDef st_compensationFailed fill:" + workflows.StyleOf(workflows.StepCompFailed).Fill,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p workflows.Progress
			for _, s := range pl.Steps {
				sp := workflows.StepProgress{ID: s.ID, State: tc.states[s.ID]}
				if s.ID == "ok" && sp.State == workflows.StepWaiting {
					sp.Awaiting = []string{"alice"}
				}
				if s.ID == "create-svc" && sp.State == workflows.StepRunning {
					sp.Items, sp.ItemsDone = 3, 1
				}
				if sp.State == "" {
					continue // a step the progress does not name is pending
				}
				p.Steps = append(p.Steps, sp)
			}
			out := statusMermaid(pl, p)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("mermaid lacks %q:\n%s", w, out)
				}
			}
			// Every node is in exactly one class, and every class used is defined.
			classOf := map[string]int{}
			for _, m := range regexp.MustCompile(`(?m)^  class (\S+) (\S+)$`).FindAllStringSubmatch(out, -1) {
				if !strings.Contains(out, "classDef "+m[2]+" ") {
					t.Errorf("class %s used but not defined", m[2])
				}
				for _, n := range strings.Split(m[1], ",") {
					classOf[n]++
				}
			}
			for _, s := range pl.Steps {
				if classOf[mermaidNode(s.ID)] != 1 {
					t.Errorf("node %s is in %d classes:\n%s", s.ID, classOf[mermaidNode(s.ID)], out)
				}
			}
			// The graph itself is the plan's.
			if !strings.HasPrefix(out, "flowchart TD\n") || !strings.Contains(out, "s_ok --> s_create_svc") {
				t.Errorf("not the plan's flowchart:\n%s", out)
			}
		})
	}
}

// TestStatusMermaidOnTheServer: `status -o mermaid` of a running request
// reads its plan from the request's history and colours it by its progress.
func TestStatusMermaidOnTheServer(t *testing.T) {
	file := writeSpec(t, "mermaid-gated", gatedSpec("m"))
	id := "topoflow/Workflow/mermaid-gated"
	mustCLI(t, "apply", file)
	waitFor(t, id, "approval", phaseIs(workflows.PhaseWaitingApproval))
	out := mustCLI(t, "status", id, "-o", "mermaid")
	for _, w := range []string{"flowchart TD\n", "s_ok --> s_cabling", "class s_ok st_waiting", "class s_cabling,s_echo st_pending", "waiting for alice"} {
		if !strings.Contains(out, w) {
			t.Errorf("status -o mermaid lacks %q:\n%s", w, out)
		}
	}
	mustCLI(t, "approve", id, "--step", "ok", "--as", "alice")
	waitFor(t, id, "manual step", phaseIs(workflows.PhaseWaitingManual))
	out = mustCLI(t, "status", id, "-o", "mermaid")
	for _, w := range []string{"class s_ok st_done", "class s_cabling st_waiting", "class s_echo st_pending"} {
		if !strings.Contains(out, w) {
			t.Errorf("status -o mermaid after approval lacks %q:\n%s", w, out)
		}
	}
	mustCLI(t, "rollback", id, "--as", "carol", "--reason", "test done")
	waitFor(t, id, "rolled back", closedWith("Completed", workflows.PhaseRolledBack))
	out = mustCLI(t, "status", id, "-o", "mermaid")
	// The interrupted manual step failed; gates have nothing to undo and stay done.
	for _, w := range []string{"class s_cabling st_failed", "class s_ok st_done", "🔴 failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("status -o mermaid of a rolled-back request lacks %q:\n%s", w, out)
		}
	}
}
