package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
)

// TestRecordSameChangeHistories records testdata/same-change-*.json (go test
// ./workflows -run TestRecordSameChangeHistories -record
// -record-only=same-change) on a real server with the real visibility
// check: two requests write the same Ambari config change and wait; the
// second is rolled back while the first still holds the change, so its
// restore is skipped ("same-change-kept"); then the first, now the last
// holder, is rolled back and restores the previous version
// ("same-change-undone").
func TestRecordSameChangeHistories(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded histories are checked by TestReplay")
	}
	c := devServer(t)
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	restores := map[string]int{} // by request, under rec.mu
	restored := func(id string) int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return restores[id]
	}
	requestOf := func(key string) string {
		k := key[:strings.Index(key, "/cfg/")]
		if i := strings.Index(k, "@"); i >= 0 {
			k = k[:i] // a run-scoped key (runkeys.go): <request>@<run>
		}
		return k
	}
	reg.Add("ambari.putConfig", func(_ context.Context, call plan.Call) (plan.Outputs, error) {
		if call.Inputs["restoreTag"] != nil {
			rec.mu.Lock()
			restores[requestOf(call.IdempotencyKey)]++
			rec.mu.Unlock()
			return plan.Outputs{"type": "kafka-env", "tag": "v-restored", "previousTag": "v1", "changed": true, "version": 3}, nil
		}
		return plan.Outputs{"type": "kafka-env", "tag": "v1", "previousTag": "v0", "changed": true, "version": 2}, nil
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
	waiting := func(p Progress) bool { return stepState(p, "hold") == StepWaiting }

	first, second := "same-change-undone", "same-change-kept"
	runPlan := ambariCfgPlan(rec)
	runA := e.start(named(ambariCfgPlan(rec), first))
	e.waitFor(id(first), waiting)
	runB := e.start(named(ambariCfgPlan(rec), second))
	e.waitFor(id(second), waiting)
	// Visibility shows the first request with its claim before the second rolls back.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		hs, err := LiveHolders(ctx, c, "")
		if err == nil && len(SharedHolders(PlanClaims(&runPlan), id(second), hs)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility does not show %s holding the change: %v %+v", first, err, hs)
		}
	}

	if err := e.update(id(second), UpdateRollback, OperatorAction{Identity: "ops", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	// A clean rollback completes rolled back (rolledBackChange, outcome.go).
	var res Result
	if err := runB.Get(ctx, &res); err != nil || res.Outcome != OutcomeRolledBack {
		t.Fatalf("%s: %v, outcome %q; want rolled back", second, err, res.Outcome)
	}
	if n := restored(id(second)); n != 0 {
		t.Fatalf("%s restored the shared change %d times while %s holds it", second, n, first)
	}
	h := saveHistory(t, c, id(second), second)
	if countEvents(h, enumspb.EVENT_TYPE_MARKER_RECORDED) == 0 {
		t.Error("no version marker recorded")
	}

	if err := e.update(id(first), UpdateRollback, OperatorAction{Identity: "ops", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	res = Result{}
	if err := runA.Get(ctx, &res); err != nil || res.Outcome != OutcomeRolledBack {
		t.Fatalf("%s: %v, outcome %q; want rolled back", first, err, res.Outcome)
	}
	if n := restored(id(first)); n != 1 {
		t.Fatalf("%s (the last holder) restored %d times, want 1 (restores %v)", first, n, restores)
	}
	saveHistory(t, c, id(first), first)
}
