package workflows

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/topoflow/topoflow/plan"
)

// TestRecordRunScopedKeys records testdata/run-keys.json (go test
// ./workflows -run TestRecordRunScopedKeys -record): a chain of two steps
// whose idempotency keys carry the run chain (the topoflow-run-scoped-keys
// marker).
func TestRecordRunScopedKeys(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded history is checked by TestReplay")
	}
	e := startRecording(t)
	c := e.c
	const name = "run-keys"
	id := WorkflowID(plan.Source{Kind: "Workflow", Name: name})
	run := e.start(named(mkPlan(plan.FailRollback, create("s1"), create("s2", "s1")), name))
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatalf("run-keys: %v", err)
	}
	h := saveHistory(t, c, id, name)
	if countEvents(h, enumspb.EVENT_TYPE_MARKER_RECORDED) == 0 {
		t.Error("no version marker recorded")
	}
}
