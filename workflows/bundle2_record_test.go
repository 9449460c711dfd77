package workflows

import (
	"flag"
	"slices"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// recordAs prefixes the names of the histories the recording tests write
// (saveHistory, writeHistory): `go test ./workflows -record -record-as
// bundle2- -run 'TestRecordBundle$|TestRecordCompensationRetry|TestRecordRollbackContinueAsNew|TestRecordChangeHistories|TestRecordSameChangeHistories'`
// records the rollback, continue-as-new and day-two shapes again under
// changeBundle2 next to the ones recorded before it (TestBundle2Histories).
var recordAs = flag.String("record-as", "", "with -record, prefix the names of the histories written")

// bundle2Histories are the shapes recorded under changeBundle2: those of
// TestRecordBundle, the compensation retries, the rollbacks and hand-overs
// that continue as new, the day-two changes and the same-change sharing.
var bundle2Histories = []string{
	"bundle2-bundle-diamond", "bundle2-bundle-grant", "bundle2-bundle-can-run-1", "bundle2-bundle-can-run-last",
	"bundle2-bundle-rollback", "bundle2-bundle-signal",
	"bundle2-comp-retry", "bundle2-comp-retry-rollback",
	"bundle2-can-rollback-1", "bundle2-can-rollback-last", "bundle2-can-gate-lock-1", "bundle2-can-gate-lock-last",
	"bundle2-can-parked-1", "bundle2-can-parked-last", "bundle2-can-lock-wait-1", "bundle2-can-lock-wait-last",
	"bundle2-day2-change-grant", "bundle2-day2-change-repair-grant",
	"bundle2-same-change-undone", "bundle2-same-change-kept",
}

// trustLocal counts h's local activity markers of TrustActivity.
func trustLocal(h *historypb.History) int {
	n := 0
	for _, e := range h.GetEvents() {
		a := e.GetMarkerRecordedEventAttributes()
		if a == nil || a.GetMarkerName() != "LocalActivity" {
			continue
		}
		for _, p := range a.GetDetails()["data"].GetPayloads() {
			if strings.Contains(string(p.GetData()), `"ActivityType":"`+TrustActivity+`"`) {
				n++
			}
		}
	}
	return n
}

// acceptedUpdates lists the names of h's accepted Updates.
func acceptedUpdates(h *historypb.History) []string {
	var out []string
	for _, e := range h.GetEvents() {
		if a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			out = append(out, a.GetAcceptedRequest().GetInput().GetName())
		}
	}
	return out
}

// scheduled counts h's activities of type name.
func scheduled(h *historypb.History, name string) int {
	n := 0
	for _, e := range h.GetEvents() {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == name {
			n++
		}
	}
	return n
}

// TestBundle2Histories: every run recorded under changeBundle2 carries its
// one marker and none of changeBundle or of a change of bundled2 (the
// rollback and day-two changes included); every interpreter run loads the
// trust as a local activity, never as an activity; the shapes took the
// paths the folded changes guard at version 1 (a clean rollback completes,
// a rollback and a gate hand over, a failed compensation is retried, a
// change and a drift repair run, a shared change is asked about); a small
// record is stored without compression and unpacks. The runs
// recorded before it (bundle-*) have no changeBundle2 marker.
func TestBundle2Histories(t *testing.T) {
	for _, name := range bundle2Histories {
		h := loadHistory(t, name)
		counts := map[string]int{}
		for _, id := range versionMarkers(h) {
			counts[id]++
			if _, ok := bundled2[id]; ok {
				t.Errorf("%s: a marker of the bundled change %s", name, id)
			}
		}
		if counts[changeBundle2] != 1 || counts[changeBundle] != 0 {
			t.Errorf("%s: %d %s and %d %s markers, want 1 and 0", name, counts[changeBundle2], changeBundle2, counts[changeBundle], changeBundle)
		}
		if n := scheduled(h, TrustActivity); n != 0 {
			t.Errorf("%s: %s scheduled %d times as an activity, want a local activity", name, TrustActivity, n)
		}
		if h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName() == WorkflowType && trustLocal(h) == 0 {
			t.Errorf("%s: the request never loaded the trust as a local activity", name)
		}
	}
	if e := loadHistory(t, "bundle2-bundle-rollback").Events; e[len(e)-1].GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Error("bundle2-bundle-rollback did not complete (rolled back)")
	}
	if rs := continuedWith(t, loadHistory(t, "bundle2-can-rollback-1")).Resume; rs == nil || rs.Rollback == nil || rs.Units == nil {
		t.Error("bundle2-can-rollback-1 did not hand over its rollback")
	}
	if rs := continuedWith(t, loadHistory(t, "bundle2-can-gate-lock-1")).Resume; rs == nil || len(rs.Gates) != 1 || rs.Locks == nil || len(rs.Locks.Held) != 1 {
		t.Error("bundle2-can-gate-lock-1 did not hand over its gate and held key")
	}
	if rs := continuedWith(t, loadHistory(t, "bundle2-can-parked-1")).Resume; rs == nil || len(rs.Parked) != 1 {
		t.Error("bundle2-can-parked-1 did not hand over its parked step")
	}
	for _, name := range []string{"bundle2-comp-retry", "bundle2-comp-retry-rollback"} {
		if !slices.Contains(acceptedUpdates(loadHistory(t, name)), UpdateRetry) {
			t.Errorf("%s: no %s of the parked compensation accepted", name, UpdateRetry)
		}
	}
	ch := loadHistory(t, "bundle2-day2-change-grant")
	if !slices.Contains(acceptedUpdates(ch), UpdateChange) || scheduled(ch, "fake.create")+scheduled(ch, "fake.patch") == 0 {
		t.Errorf("bundle2-day2-change-grant: Updates %v, want a change that ran", acceptedUpdates(ch))
	}
	if rp := loadHistory(t, "bundle2-day2-change-repair-grant"); scheduled(rp, "fake.create") == 0 {
		t.Error("bundle2-day2-change-repair-grant: the drift repair created nothing")
	}
	if scheduled(loadHistory(t, "bundle2-same-change-kept"), SharedHoldersActivity) == 0 {
		t.Errorf("bundle2-same-change-kept never asked %s", SharedHoldersActivity)
	}
	// The diamond's record is small: stored (packLevel), and it unpacks.
	stored := false
	for _, e := range loadHistory(t, "bundle2-bundle-diamond").Events {
		a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes()
		if a == nil || a.GetWorkflowType().GetName() != GrantWorkflowType {
			continue
		}
		var g GrantRecord
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &g); err != nil {
			t.Fatal(err)
		}
		if g.Units == nil || len(g.Units.Z) < 7 || g.Units.Z[0] != 0x78 || g.Units.Z[1] != 0x01 || g.Units.Z[2] != 1 {
			t.Fatalf("bundle2-bundle-diamond: the grant's record is not one stored block")
		}
		pu, err := g.Units.unpack()
		if err != nil || len(pu.Steps) != 5 {
			t.Fatalf("bundle2-bundle-diamond: the stored record unpacks to %d steps (%v), want 5", len(pu.Steps), err)
		}
		stored = true
	}
	if !stored {
		t.Error("bundle2-bundle-diamond started no grant")
	}
	for _, name := range []string{"bundle-diamond", "bundle-grant", "bundle-rollback", "comp-retry", "can-rollback-1", "day2-change-grant", "same-change-kept"} {
		for _, id := range versionMarkers(loadHistory(t, name)) {
			if id == changeBundle2 {
				t.Errorf("%s, recorded before %s, has its marker", name, changeBundle2)
			}
		}
	}
}
