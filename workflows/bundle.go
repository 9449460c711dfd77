package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// changeBundle: requests and grants started since it record one version
// marker for the changes every run asks for, instead of one per change.
//
// Each workflow.GetVersion of a new workflow records a marker and upserts
// the TemporalChangeVersion search attribute (go.temporal.io/sdk
// internal/internal_event_handlers.go, GetVersion): two events per change.
// A plain request asked seven (trust, run-scoped keys, plan policy, retry
// budgets, scheduler, packed record, grant): 14 of the 26 events a 50-step
// chain had above a hand-written workflow. A run that takes the bundle
// answers every change of bundled at the version written there, without a
// marker; runs started before it replay through the changes' own markers
// (the bundle's GetVersion returns DefaultVersion while replaying a history
// without its marker).
//
// The bundle is asked first thing in Interpreter and Grant, so its answer
// is settled in a run's first workflow task: an old run, replayed, can
// never take it later. The answer travels in the workflow context
// (bundleKey); a call site whose context lacks it asks its change on its
// own, which is always safe (the change's own marker, as before).
const changeBundle = "topoflow-bundle-1"

// bundled is the version of each change a run that took changeBundle
// runs. Never change an entry: a later version of a bundled change is asked
// on its own (changeVersion does it when the call site's max is above the
// entry) and a later bundle gets a new change ID.
var bundled = map[string]workflow.Version{
	trustChange:         1,
	runScopedKeysChange: 1,
	planPolicyChange:    1,
	retryBudgetChange:   1,
	schedulerChange:     1,
	fanoutBoundChange:   1,
	lockSpanChange:      1,
	recordChange:        1,
	grantChange:         1,
	grantClaimsChange:   1,
	conflictsChange:     1,
	continueAsNewChange: 1,
	slotFreeWaitChange:  1,
	probeRouteChange:    1,
}

// changeBundle2: requests and grants started since it record this one
// marker instead of changeBundle's. It stands for every change of bundled
// and the changes asked only on a rollback, a revoke or a grant's day two
// (bundled2), which cost a request two events each when asked; and, with
// no change ID of their own (a run that did not take it never does them):
//
//   - the trust is loaded as a local activity (trustCall, hotpath.go): one
//     marker in the workflow task that asks instead of an activity's three
//     events and the workflow task after them;
//   - records of up to 64 KiB raw are stored without compression
//     (packLevel, record.go).
//
// withBundle asks it before changeBundle: a new run records only it; a run
// that recorded changeBundle replays it as DefaultVersion (no marker) and
// takes changeBundle again.
const changeBundle2 = "topoflow-bundle-2"

// bundled2 is the version of each change a run that took changeBundle2
// runs: those of bundled and the rollback and day-two changes. Never change
// an entry (see bundled).
var bundled2 = func() map[string]workflow.Version {
	m := map[string]workflow.Version{
		rolledBackChange:                1,
		parallelUndoChange:              1,
		compensationRetryChange:         1,
		compensationRetryRollbackChange: 1,
		rollbackCANChange:               1,
		carryHoldsChange:                1,
		grantChangeChange:               1,
		driftRepairChange:               1,
		sameChangeKeptChange:            1,
	}
	for id, v := range bundled {
		m[id] = v
	}
	return m
}()

// bundleKey is the workflow context key of the bundle's answer: the bundle
// a run took (0 none, 1 changeBundle, 2 changeBundle2).
type bundleKey struct{}

// withBundle asks changeBundle2, then changeBundle if the run did not take
// it (call it first thing in a workflow function), and returns ctx carrying
// the answer.
func withBundle(ctx workflow.Context) workflow.Context {
	level := 0
	if workflow.GetVersion(ctx, changeBundle2, workflow.DefaultVersion, 1) >= 1 {
		level = 2
	} else if workflow.GetVersion(ctx, changeBundle, workflow.DefaultVersion, 1) >= 1 {
		level = 1
	}
	return workflow.WithValue(ctx, bundleKey{}, level)
}

// bundleLevel is the bundle the run took (0 in a context without the
// answer: a handler's, or a workflow that does not ask it).
func bundleLevel(ctx workflow.Context) int {
	if ctx == nil {
		return 0 // an interp built without a workflow (unit tests)
	}
	level, _ := ctx.Value(bundleKey{}).(int)
	return level
}

// tookBundle reports whether the run took changeBundle or changeBundle2
// (false in a context without their answer).
func tookBundle(ctx workflow.Context) bool {
	return bundleLevel(ctx) >= 1
}

// impliedVersion is the version of changeID the run's bundle stands for.
func impliedVersion(ctx workflow.Context, changeID string) (workflow.Version, bool) {
	var v workflow.Version
	var ok bool
	switch bundleLevel(ctx) {
	case 2:
		v, ok = bundled2[changeID]
	case 1:
		v, ok = bundled[changeID]
	}
	return v, ok
}

// changeVersion is workflow.GetVersion(ctx, changeID, DefaultVersion, max)
// for the changes of the bundles: in a run that took a bundle, a change it
// bundles is answered from bundled (bundled2) without a marker. A call
// site asking a version above the bundle's asks the change on its own and
// gets the bundle's version back while replaying a run that did not record
// it.
func changeVersion(ctx workflow.Context, changeID string, max workflow.Version) workflow.Version {
	implied, ok := impliedVersion(ctx, changeID)
	if !ok {
		return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, max)
	}
	if max <= implied {
		return implied
	}
	if v := workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, max); v != workflow.DefaultVersion {
		return v
	}
	return implied
}
