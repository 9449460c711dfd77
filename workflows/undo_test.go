package workflows

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/plan"
)

// TestRollbackUndoesAFanOutConcurrently: a failure after a fan-out of 8
// items (bound 3) and a step depending on it rolls back the step first,
// then the 8 items at most 3 at a time (more than one: not one at a time),
// each item's undo getting its own item's outputs and inputs.
func TestRollbackUndoesAFanOutConcurrently(t *testing.T) {
	rec := newRecorder()
	rec.delayFor = func(c plan.Call) time.Duration {
		if c.Action == "fake.undo" {
			return 100 * time.Millisecond
		}
		return 0
	}
	after := create("after", "endpoint")
	boom := create("boom", "after")
	boom.Action = "fake.fail"
	p := mkPlan(plan.FailRollback, brokers(8), fanout(3), after, boom)
	rec.fail = func(c plan.Call, n int) error {
		if c.Action == "fake.fail" {
			return nonRetryable("boom")
		}
		return nil
	}
	if err := run(t, newEnv(t, rec), request(p)); appErrType(err) != ErrRolledBack {
		t.Fatalf("request ended %v, want rolled back", err)
	}
	var undo []plan.Call
	for _, c := range rec.calls {
		if c.Action == "fake.undo" {
			undo = append(undo, c)
		}
	}
	if len(undo) != 9 || !strings.HasSuffix(undo[0].IdempotencyKey, "/after/undo") {
		t.Fatalf("undo calls %v, want after's first then the 8 items", keysOf(undo))
	}
	for _, c := range undo[1:] {
		id := c.Inputs["id"].(string)
		k, err := strconv.Atoi(id[strings.LastIndex(id, "/b")+2:])
		if err != nil || !strings.HasPrefix(id, "fake.patch-") || c.Inputs["ip"] != fmt.Sprintf("10.0.0.%d", k+1) {
			t.Errorf("item undone with id %s and ip %v, want its own item's", id, c.Inputs["ip"])
		}
	}
	iv := rec.intervals["fake.undo"]
	sort.Slice(iv, func(a, b int) bool { return iv[a][0].Before(iv[b][0]) })
	maxAt := 0
	for _, a := range iv {
		n := 0
		for _, b := range iv {
			if !b[0].After(a[0]) && b[1].After(a[0]) {
				n++
			}
		}
		maxAt = max(maxAt, n)
	}
	if maxAt < 2 || maxAt > 3 {
		t.Errorf("at most %d compensations ran at once, want 2..3 (the fan-out's bound is 3; 1 is one at a time)", maxAt)
	}
	first := iv[0]
	for _, b := range iv[1:] {
		if b[0].Before(first[1]) {
			t.Errorf("an item's undo started before the undo of the step depending on the fan-out ended")
		}
	}
}

func keysOf(calls []plan.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.IdempotencyKey)
	}
	return out
}

// TestTooBigToHandOverRollsBack: a request whose state to continue as new,
// or whose record for its grant, is over the payload limit (lowered here)
// rolls back what it created, saying why, instead of handing over (which
// the server answers by terminating it, leaking everything).
func TestTooBigToHandOverRollsBack(t *testing.T) {
	saved := carryLimit
	carryLimit = 2000
	defer func() { carryLimit = saved }()

	rec := newRecorder()
	p := mkPlan(plan.FailRollback, brokers(8), fanout(2), create("after", "endpoint"))
	err := handOver(t, rec, request(p), "fake.patch", 3)
	if appErrType(err) != ErrRolledBack || !strings.Contains(err.Error(), "cannot continue as new") || !strings.Contains(err.Error(), "payload limit") {
		t.Fatalf("continue-as-new over the limit: %v, want rolled back saying why", err)
	}
	if rec.count("fake.undo") != rec.count("fake.patch") || rec.count("fake.patch") < 3 {
		t.Errorf("%d items patched, %d undone: want every one undone", rec.count("fake.patch"), rec.count("fake.undo"))
	}

	rec = newRecorder()
	err = run(t, newEnv(t, rec), request(p))
	if appErrType(err) != ErrRolledBack || !strings.Contains(err.Error(), "cannot hand the record to its grant") {
		t.Fatalf("a record over the limit: %v, want rolled back saying why", err)
	}
	if rec.count("fake.undo") != 9 {
		t.Errorf("%d undo calls, want 9 (8 items and after)", rec.count("fake.undo"))
	}
}
