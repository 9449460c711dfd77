package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
)

// probeStep is a step routed to the probe of account's network.
func probeStep(id, account string, deps ...string) plan.Step {
	return plan.Step{ID: id, Title: "Probe " + id, Action: "probe.where", DependsOn: deps,
		Probe: &plan.Probe{Account: account, Network: "net-" + account}}
}

// TestRecordProbeHistories records probe routing on a real server
// (-record -record-only=probe): a step whose client account has a probe runs
// on the probe's task queue, one without runs on the main queue, and a
// probe queue nobody polls fails the step with a schedule-to-start timeout
// explained in words.
func TestRecordProbeHistories(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t)
	where := func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		return plan.Outputs{"taskQueue": activity.GetInfo(ctx).TaskQueue}, nil
	}
	routes := map[string]plan.Outputs{
		"client-a":      {"taskQueue": "topoflow-record-probe", "startTimeout": "1m0s"},
		"client-absent": {"taskQueue": "topoflow-record-nobody", "startTimeout": "2s"},
	}
	reg := activities.NewRegistry()
	reg.Add("probe.where", where)
	reg.Add(plan.ActionProbeRoute, func(_ context.Context, call plan.Call) (plan.Outputs, error) {
		if r, ok := routes[call.Account]; ok {
			return r, nil
		}
		return plan.Outputs{"taskQueue": ""}, nil
	})
	w := worker.New(c, "topoflow-record", worker.Options{})
	Register(w)
	reg.RegisterWith(w)
	core.RegisterWith(w, reg)
	probeReg := activities.NewRegistry()
	probeReg.Add("probe.where", where)
	pw := worker.New(c, "topoflow-record-probe", worker.Options{})
	probeReg.RegisterWith(pw)
	for _, wk := range []worker.Worker{w, pw} {
		if err := wk.Start(); err != nil {
			t.Fatal(err)
		}
		defer wk.Stop()
	}
	e := &recEnv{t: t, c: c}
	ctx := context.Background()
	id := func(name string) string { return WorkflowID(plan.Source{Kind: "Workflow", Name: name}) }

	{
		name := "probe-route"
		run := e.start(named(mkPlan(plan.FailRollback, probeStep("routed", "client-a"), probeStep("unrouted", "client-b", "routed")), name))
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, st := range e.waitFor(id(name), func(p Progress) bool { return p.Phase == PhaseDone }).Steps {
			got[st.ID] = st.Outputs["taskQueue"]
		}
		if got["routed"] != "topoflow-record-probe" || got["unrouted"] != "topoflow-record" {
			t.Fatalf("ran on %v, want routed on the probe's queue and unrouted on the main one", got)
		}
		saveHistory(t, c, id(name), name)
	}
	{
		name := "probe-absent"
		start := time.Now()
		err := Wait(ctx, e.start(named(mkPlan(plan.FailRollback, probeStep("routed", "client-absent")), name)))
		if appErrType(err) != ErrRolledBack {
			t.Fatalf("probe-absent: %v", err)
		}
		p := e.waitFor(id(name), func(Progress) bool { return true })
		want := "no probe polls task queue topoflow-record-nobody (client account client-absent, network net-client-absent) within 2s"
		if len(p.Steps) != 1 || !strings.Contains(p.Steps[0].LastError, want) {
			t.Fatalf("steps %+v, want the error %q", p.Steps, want)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the missing probe took %s to report", d)
		}
		saveHistory(t, c, id(name), name)
	}
}
