package workflows

import (
	"context"
	"sync/atomic"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TestRecordCompensationRetry records testdata/comp-retry.json (go test
// ./workflows -run TestRecordCompensationRetry -record): a compensation that
// fails parks its step (the topoflow-compensation-retry marker), an
// operator retries it once fixed, the request ends rolled back.
func TestRecordCompensationRetry(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded history is checked by TestReplay")
	}
	e := startRecording(t)
	c, rec := e.c, e.rec
	const name = "comp-retry"
	id := WorkflowID(plan.Source{Kind: "Workflow", Name: name})
	var fixed atomic.Bool
	run := e.start(named(compRetryPlan(rec, &fixed), name))
	e.waitFor(id, func(p Progress) bool { return p.Phase == PhaseParked && stepState(p, "b") == StepParked })
	if err := e.update(id, UpdateRollback, OperatorAction{Identity: "ops", Reason: "b is wrong"}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(id, func(p Progress) bool { return p.Phase == PhaseParked && stepState(p, "a") == StepParked })
	fixed.Store(true)
	if err := e.update(id, UpdateRetry, OperatorAction{Step: "a", Identity: "ops"}); err != nil {
		t.Fatal(err)
	}
	if err := Wait(context.Background(), run); appErrType(err) != ErrRolledBack {
		t.Fatalf("comp-retry: %v", err)
	}
	h := saveHistory(t, c, id, name)
	if countEvents(h, enumspb.EVENT_TYPE_MARKER_RECORDED) == 0 {
		t.Error("no version marker recorded")
	}
}

// TestRecordCompensationRetryRollback records
// testdata/comp-retry-rollback.json (go test ./workflows -run
// TestRecordCompensationRetryRollback -record): under onFailure rollback, b
// fails, a's compensation fails and parks a (the
// topoflow-compensation-retry-rollback marker), an operator retries it once
// fixed, the request completes rolled back.
func TestRecordCompensationRetryRollback(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded history is checked by TestReplay")
	}
	c := devServer(t)
	rec := newRecorder()
	reg := activities.NewRegistry()
	for _, a := range fakeActions {
		reg.Add(a, rec.action(a))
	}
	e := recordWorker(t, c, rec, reg, activities.HeartbeatInterceptor(), LockSignalsInterceptor())
	const name = "comp-retry-rollback"
	id := WorkflowID(plan.Source{Kind: "Workflow", Name: name})
	var fixed atomic.Bool
	run := e.start(named(compRetryPlanUnder(rec, &fixed, plan.FailRollback), name))
	e.waitFor(id, func(p Progress) bool { return p.Phase == PhaseParked && stepState(p, "a") == StepParked })
	fixed.Store(true)
	if err := e.update(id, UpdateRetry, OperatorAction{Step: "a", Identity: "ops"}); err != nil {
		t.Fatal(err)
	}
	if err := Wait(context.Background(), run); appErrType(err) != ErrRolledBack {
		t.Fatalf("%s: %v", name, err)
	}
	h := saveHistory(t, c, id, name)
	if countEvents(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 || countEvents(h, enumspb.EVENT_TYPE_MARKER_RECORDED) < 2 {
		t.Error("not completed, or the version markers not recorded")
	}
}
