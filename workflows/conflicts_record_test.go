package workflows

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
)

// advertiseStep claims the advertised map of instance (a claiming action).
func advertiseStep(id, instance string) plan.Step {
	return plan.Step{ID: id, Title: "Advertise " + id, Action: "huawei.dms.updateCrossVpcIps",
		Inputs: map[string]plan.Value{"instanceId": plan.Lit(instance), "advertised": plan.Lit(map[string]any{"10.0.0.1": "10.1.0.1"})}}
}

// TestRecordConflictHistories records the conflict checks on a real server
// (-record -record-only=conflicts): a request whose plan claims a DMS
// instance's advertised map checks before its first step and again before
// the claiming step (recording the claim in its memo) and ends Done; a second
// request claiming the same instance is refused before its first step.
func TestRecordConflictHistories(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t)
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	reg.Add("huawei.dms.updateCrossVpcIps", func(_ context.Context, call plan.Call) (plan.Outputs, error) {
		return plan.Outputs{"instanceId": call.Inputs["instanceId"], "previous": map[string]any{}, "current": call.Inputs["advertised"]}, nil
	})
	w := worker.New(c, "topoflow-record", worker.Options{})
	Register(w)
	reg.RegisterWith(w)
	core.RegisterWith(w, reg)
	RegisterConflicts(w, c)
	RegisterTrust(w, rec.loadTrust)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e := &recEnv{t: t, c: c, rec: rec}
	ctx := context.Background()
	id := func(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

	first := "conflicts-checked"
	if err := e.start(named(mkPlan(plan.FailRollback, create("a"), advertiseStep("adv", "i-1")), first)).Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", first, err)
	}
	saveHistory(t, c, id(first), first)

	name := "conflicts-refused"
	err := e.start(named(mkPlan(plan.FailRollback, create("a"), advertiseStep("adv", "i-1")), name)).Get(ctx, nil)
	if appErrType(err) != ErrConflict || !strings.Contains(err.Error(), id(first)) {
		t.Fatalf("%s: %v, want a %s naming %s", name, err, ErrConflict, id(first))
	}
	saveHistory(t, c, id(name), name)
}
