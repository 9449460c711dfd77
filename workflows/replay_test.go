package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func historyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata (record them with -record)")
	}
	return files
}

func loadHistory(t *testing.T, name string) *historypb.History {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return h
}

// TestReplay replays every recorded history against the current code: a
// change that would break running workflows fails here.
func TestReplay(t *testing.T) {
	for _, file := range historyFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			// Replayed by a worker with the lock replies' interceptor (as
			// worker/app runs) and by one without (lockinbox.go): the same
			// history either way.
			for _, opts := range []worker.WorkflowReplayerOptions{
				{Interceptors: []interceptor.WorkerInterceptor{LockSignalsInterceptor()}}, {},
			} {
				h := loadHistory(t, name) // a replay consumes its history
				r, err := worker.NewWorkflowReplayerWithOptions(opts)
				if err != nil {
					t.Fatal(err)
				}
				Register(r)
				// Workflow IDs reach the workflow's logic (lock tokens), so replay
				// under the original ID rather than the replayer's default.
				err = r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
					OriginalExecution: workflow.Execution{ID: originalID(t, h), RunID: originalRunID(h)},
				})
				if err != nil {
					t.Fatalf("replay %s (%d interceptors): %v", file, len(opts.Interceptors), err)
				}
			}
		})
	}
}

// originalRunID is a recorded workflow's run ID: signed decisions name it,
// and their checks run again when the accepted Updates and Signals replay.
func originalRunID(h *historypb.History) string {
	return h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
}

// originalID derives a recorded workflow's ID from its input.
func originalID(t *testing.T, h *historypb.History) string {
	t.Helper()
	start := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	dc := converter.GetDefaultDataConverter()
	switch start.GetWorkflowType().GetName() {
	case WorkflowType:
		var req Request
		if err := dc.FromPayloads(start.GetInput(), &req); err != nil {
			t.Fatal(err)
		}
		return WorkflowID(req.Plan.Source)
	case LockWorkflowType:
		var st LockState
		if err := dc.FromPayloads(start.GetInput(), &st); err != nil {
			t.Fatal(err)
		}
		return LockWorkflowID(st.Key)
	case GrantWorkflowType:
		var g GrantRecord
		if err := dc.FromPayloads(start.GetInput(), &g); err != nil {
			t.Fatal(err)
		}
		return GrantWorkflowID(g.RequestID)
	}
	t.Fatalf("unknown workflow type %s", start.GetWorkflowType().GetName())
	return ""
}

func countEvents(h *historypb.History, typ enumspb.EventType) int {
	n := 0
	for _, e := range h.GetEvents() {
		if e.GetEventType() == typ {
			n++
		}
	}
	return n
}

// TestHistoryFacts checks properties of the recorded histories.
func TestHistoryFacts(t *testing.T) {
	chain1, chain3 := loadHistory(t, "chain-1"), loadHistory(t, "chain-3")
	perStep := (len(chain3.Events) - len(chain1.Events)) / 2
	t.Logf("history events: 1 step %d, 3 steps %d: %d events per simple step", len(chain1.Events), len(chain3.Events), perStep)
	if perStep < 3 || perStep > 8 {
		t.Errorf("%d events per simple step, want 3..8", perStep)
	}

	w1, w1000 := loadHistory(t, "wait-1"), loadHistory(t, "wait-1000")
	t.Logf("wait history events: 1 poll %d, 1000 polls %d", len(w1.Events), len(w1000.Events))
	if len(w1.Events) != len(w1000.Events) {
		t.Errorf("a wait of 1000 polls has %d events, one of 1 poll %d: the cost must not grow", len(w1000.Events), len(w1.Events))
	}

	ap := loadHistory(t, "approval")
	accepted := countEvents(ap, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
	if accepted != 1 {
		t.Errorf("%d accepted updates in the approval history, want 1 (the unlisted approver's is rejected without an event)", accepted)
	}
	for _, e := range ap.Events {
		if a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			if data := string(a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads()[0].GetData()); strings.Contains(data, "mallory") {
				t.Errorf("mallory's update left an event: %s", data)
			}
		}
	}

	// The lock-span histories run the new version (a version marker); the
	// older lock-one history, without one, replays the per-step locks.
	if n := countEvents(loadHistory(t, "lock-span-one"), enumspb.EVENT_TYPE_MARKER_RECORDED); n != 1 {
		t.Errorf("lock-span-one has %d markers, want 1 (%s)", n, lockSpanChange)
	}
	if n := countEvents(loadHistory(t, "lock-one"), enumspb.EVENT_TYPE_MARKER_RECORDED); n != 0 {
		t.Errorf("lock-one has %d markers, want 0 (recorded before %s)", n, lockSpanChange)
	}

	// The signed run: the trust marker, three accepted Updates (alice, bob,
	// alice's retry; the unsigned and the repeated approval left no event),
	// public keys and signatures in history, no private key material.
	tm := loadHistory(t, "trust-mofn")
	if n := countEvents(tm, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED); n != 3 {
		t.Errorf("trust-mofn has %d accepted updates, want 3", n)
	}
	if n := countEvents(tm, enumspb.EVENT_TYPE_MARKER_RECORDED); n != 1 {
		t.Errorf("trust-mofn has %d markers, want 1 (%s)", n, trustChange)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "trust-mofn.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "PRIVATE KEY") {
		t.Error("trust-mofn history holds private key material")
	}
	for _, ev := range []*historypb.History{loadHistory(t, "approval"), loadHistory(t, "park-retry")} {
		if n := countEvents(ev, enumspb.EVENT_TYPE_MARKER_RECORDED); n != 0 {
			t.Errorf("a history recorded before %s has %d markers", trustChange, n)
		}
	}
	// The retry-budget history runs with retry budgets: a version marker,
	// actions scheduled with a heartbeat timeout and no attempt limit, and a
	// second compensation round (a timer, then the undo under a new key).
	rb := loadHistory(t, "retry-budget")
	markers := 0
	for _, e := range rb.Events {
		if a := e.GetMarkerRecordedEventAttributes(); a != nil && strings.Contains(a.String(), retryBudgetChange) {
			markers++
		}
	}
	if markers != 1 {
		t.Errorf("retry-budget has %d %s markers, want 1", markers, retryBudgetChange)
	}
	undos := 0
	for _, e := range rb.Events {
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil {
			continue
		}
		if hb := a.GetHeartbeatTimeout().AsDuration(); hb != ActionHeartbeatTimeout {
			t.Errorf("activity %s scheduled with heartbeat timeout %s, want %s", a.GetActivityType().GetName(), hb, ActionHeartbeatTimeout)
		}
		if a.GetActivityType().GetName() == "fake.create" && a.GetRetryPolicy().GetMaximumAttempts() == 0 && a.GetScheduleToCloseTimeout().AsDuration() != DefaultActionBudget {
			t.Errorf("budgeted action scheduled with schedule-to-close %s, want %s", a.GetScheduleToCloseTimeout().AsDuration(), DefaultActionBudget)
		}
		if a.GetActivityType().GetName() == "fake.undo" {
			undos++
		}
	}
	if undos != 2 || countEvents(rb, enumspb.EVENT_TYPE_TIMER_STARTED) != 1 {
		t.Errorf("retry-budget: %d compensation rounds and %d timers, want 2 and 1", undos, countEvents(rb, enumspb.EVENT_TYPE_TIMER_STARTED))
	}
	// Histories recorded before retry budgets keep the old options when replayed (TestReplay).
	if n := countEvents(loadHistory(t, "rollback"), enumspb.EVENT_TYPE_MARKER_RECORDED); n != 0 {
		t.Errorf("rollback has %d markers, want 0 (recorded before %s)", n, retryBudgetChange)
	}

	lw := loadHistory(t, "lock-workflow")
	if n := countEvents(lw, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED); n != 2 {
		t.Errorf("lock workflow granted %d times, want 2", n)
	}
}
