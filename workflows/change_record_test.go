package workflows

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/topoflow/topoflow/plan"
)

// TestRecordChangeHistories records a grant's changes by delta on a real
// server (-record -record-only=day2-change): a changed plan against a grant
// (a kept, b replaced, c added, gone removed), then a revoke; and a drift
// repaired by itself (drift.autoRepair), then a revoke.
func TestRecordChangeHistories(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	e := startRecording(t)
	c, rec := e.c, e.rec
	ctx := context.Background()
	id := func(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

	{
		name := "day2-change-request"
		p := named(mkPlan(plan.FailRollback, create("a"), create("b", "a"), create("gone", "a")), name)
		if err := e.start(p).Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Phase == PhaseGranted && p.Trust != nil })
		b := create("b", "a")
		b.Inputs["size"] = plan.Lit(2)
		next := named(mkPlan(plan.FailRollback, create("a"), b, create("c", "b")), name)
		if err := e.update(gid, UpdateChange, ChangeRequest{Request: request(next)}); err != nil {
			t.Fatal(err)
		}
		e.waitFor(gid, func(p Progress) bool { return p.Change != nil && p.Change.Outcome == ChangeChanged })
		if err := e.update(gid, UpdateRevoke, OperatorAction{Identity: "ops"}); err != nil {
			t.Fatal(err)
		}
		var final Progress
		if err := c.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != PhaseRevoked {
			t.Fatalf("grant: %s, %v", final.Phase, err)
		}
		saveHistory(t, c, gid, "day2-change-grant")
	}

	{
		name := "day2-change-repair"
		var gone atomic.Bool
		rec.mu.Lock()
		rec.statuses = func(call plan.Call, n int) (string, error) {
			// The key is run-scoped (runkeys.go): fake.create-<id>@<run>/a.
			if cid, _ := call.Inputs["id"].(string); gone.Load() && strings.HasPrefix(cid, "fake.create-"+id(name)+"@") && strings.HasSuffix(cid, "/a") {
				return "DELETED", nil
			}
			return "ACTIVE", nil
		}
		rec.mu.Unlock()
		wt := plan.Step{ID: "w", Title: "Wait for a", Action: "fake.get", DependsOn: []string{"a"},
			Inputs: map[string]plan.Value{"id": plan.Expr("steps.a.id")},
			Wait:   &plan.Wait{Target: []string{"ACTIVE"}, PollInterval: plan.D(100 * time.Millisecond), Timeout: plan.D(time.Minute)}}
		p := named(mkPlan(plan.FailRollback, create("a"), wt), name)
		p.Drift = &plan.Drift{Every: plan.D(300 * time.Millisecond), AutoRepair: true}
		if err := e.start(p).Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gid := GrantWorkflowID(id(name))
		e.waitFor(gid, func(p Progress) bool { return p.Drift != nil && p.Drift.Checks == 1 && p.Phase == PhaseGranted })
		gone.Store(true)
		// A fresh Progress each time (waitFor decodes into the same one,
		// which keeps the findings an empty list omits).
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			v, err := c.QueryWorkflow(ctx, gid, "", QueryProgress)
			var p Progress
			if err == nil && v.Get(&p) == nil && p.Change != nil && p.Change.Outcome == ChangeChanged &&
				p.Phase == PhaseGranted && p.Drift != nil && len(p.Drift.Findings) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("repair not done: %v %+v", err, p)
			}
		}
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
		saveHistory(t, c, gid, "day2-change-repair-grant")
	}
}
