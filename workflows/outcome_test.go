package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/topoflow/topoflow/plan"
)

// TestRolledBackCompletes: a clean rollback completes the workflow with an
// OutcomeRolledBack Result (the Web UI shows Completed, not a red Failed);
// an abort and a rollback that left resources behind still fail.
func TestRolledBackCompletes(t *testing.T) {
	tests := []struct {
		name        string
		undoFails   bool
		abort       bool
		wantOutcome string // "" : the workflow fails with wantErr
		wantErr     string
		wantPhase   string
	}{
		{name: "clean rollback", wantOutcome: OutcomeRolledBack, wantPhase: PhaseRolledBack},
		{name: "leaked", undoFails: true, wantErr: ErrCompensationFailed, wantPhase: PhaseFailed},
		{name: "abort", abort: true, wantErr: ErrRolledBack, wantPhase: PhaseFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			env := newEnv(t, rec)
			rec.fail = func(c plan.Call, _ int) error {
				if strings.HasSuffix(c.IdempotencyKey, "/b") || (tt.undoFails && strings.HasSuffix(c.IdempotencyKey, "/undo")) {
					return nonRetryable(c.IdempotencyKey + " fails")
				}
				return nil
			}
			p := mkPlan(plan.FailRollback, create("a"), create("b", "a"))
			if tt.undoFails {
				// The leak parks a (compretry.go); an operator accepts it.
				p.Steps[0].Compensation.Retry = &plan.Retry{MaximumAttempts: 1}
				skipParkedLeaks(t, env)
			}
			if tt.abort {
				p = mkPlan(plan.FailPark, create("a"), create("b", "a"))
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflow(UpdateAbort, "x", &updateCB{}, OperatorAction{Identity: "ops", Reason: "give up"})
				}, 10*time.Minute)
			}
			req := request(p)
			env.SetStartWorkflowOptions(StartOptions(req, DefaultTaskQueue))
			env.ExecuteWorkflow(WorkflowType, req)
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			err := env.GetWorkflowError()
			var res Result
			if tt.wantOutcome != "" {
				if err != nil {
					t.Fatalf("workflow failed: %v, want it completed %s", err, tt.wantOutcome)
				}
				if err := env.GetWorkflowResult(&res); err != nil {
					t.Fatal(err)
				}
				if res.Outcome != tt.wantOutcome || !strings.HasPrefix(res.Message, "request rolled back as designed, not a crash") ||
					res.Summary == nil || res.Summary.States[StepCompensated] != 1 || res.Summary.States[StepFailed] != 1 {
					t.Errorf("result %+v (summary %+v)", res, res.Summary)
				}
				if e := res.Err(); appErrType(e) != ErrRolledBack || !strings.Contains(e.Error(), "a/") && !strings.Contains(e.Error(), "b fails") {
					t.Errorf("Result.Err() = %v", e)
				}
			} else if appErrType(err) != tt.wantErr {
				t.Fatalf("error %v, want %s", err, tt.wantErr)
			}
			if p := queryProgress(t, env); p.Phase != tt.wantPhase {
				t.Errorf("phase %s, want %s", p.Phase, tt.wantPhase)
			}
		})
	}
}

// TestRecordRolledBackCompletes records testdata/rolled-back-completes.json
// (go test ./workflows -run TestRecordRolledBackCompletes -record): a step
// fails, the first is compensated, the workflow completes (the
// topoflow-rolled-back-completes marker) with an OutcomeRolledBack Result.
func TestRecordRolledBackCompletes(t *testing.T) {
	if !*record {
		t.Skip("recording needs -record and a Temporal dev server; the recorded history is checked by TestReplay")
	}
	e := startRecording(t)
	c, rec := e.c, e.rec
	const name = "rolled-back-completes"
	rec.fail = func(call plan.Call, n int) error {
		if strings.HasSuffix(call.IdempotencyKey, name+"/b") {
			return nonRetryable("b fails")
		}
		return nil
	}
	run := e.start(named(mkPlan(plan.FailRollback, create("a"), create("b", "a")), name))
	var res Result
	if err := run.Get(context.Background(), &res); err != nil || res.Outcome != OutcomeRolledBack {
		t.Fatalf("%s: %v, result %+v; want it completed rolled back", name, err, res)
	}
	if err := Wait(context.Background(), run); appErrType(err) != ErrRolledBack {
		t.Fatalf("Wait: %v, want %s", err, ErrRolledBack)
	}
	h := saveHistory(t, c, run.GetID(), name)
	if countEvents(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 || countEvents(h, enumspb.EVENT_TYPE_MARKER_RECORDED) == 0 {
		t.Error("not completed, or no version marker recorded")
	}
}

// fakeRun is a finished run whose result is a JSON document.
type fakeRun struct {
	result string
	err    error
}

func (f fakeRun) Get(_ context.Context, v any) error {
	if f.err != nil {
		return f.err
	}
	return json.Unmarshal([]byte(f.result), v)
}

func TestWaitOutcome(t *testing.T) {
	failed := errors.New("workflow failed")
	for _, tt := range []struct {
		name    string
		run     fakeRun
		wantErr string // "" : nil; else the application error type, or "failed"
	}{
		{"done", fakeRun{result: `{"outputs":{"a":1},"summary":{"workflowId":"x"}}`}, ""},
		{"rolled back", fakeRun{result: `{"outcome":"RolledBack","message":"request rolled back as designed"}`}, ErrRolledBack},
		{"failed", fakeRun{err: failed}, "failed"},
		{"not a Result", fakeRun{result: `"just a string"`}, ""},
		{"no result", fakeRun{result: `null`}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Wait(context.Background(), tt.run)
			switch {
			case tt.wantErr == "":
				if err != nil {
					t.Errorf("Wait = %v, want nil", err)
				}
			case tt.wantErr == "failed":
				if !errors.Is(err, failed) {
					t.Errorf("Wait = %v, want the workflow's error", err)
				}
			case appErrType(err) != tt.wantErr || !strings.Contains(err.Error(), "rolled back as designed"):
				t.Errorf("Wait = %v, want a %s error with the message", err, tt.wantErr)
			}
		})
	}
}
