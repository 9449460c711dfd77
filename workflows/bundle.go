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

// bundleKey is the workflow context key of the bundle's answer.
type bundleKey struct{}

// withBundle asks changeBundle (call it first thing in a workflow function)
// and returns ctx carrying the answer.
func withBundle(ctx workflow.Context) workflow.Context {
	v := workflow.GetVersion(ctx, changeBundle, workflow.DefaultVersion, 1)
	return workflow.WithValue(ctx, bundleKey{}, v >= 1)
}

// tookBundle reports whether the run took changeBundle (false in a
// context without its answer).
func tookBundle(ctx workflow.Context) bool {
	took, _ := ctx.Value(bundleKey{}).(bool)
	return took
}

// changeVersion is workflow.GetVersion(ctx, changeID, DefaultVersion, max)
// for the changes of changeBundle: in a run that took the bundle, a bundled
// change is answered from bundled without a marker. A call site asking a
// version above the bundle's asks the change on its own and gets the
// bundle's version back while replaying a run that did not record it.
func changeVersion(ctx workflow.Context, changeID string, max workflow.Version) workflow.Version {
	implied, ok := bundled[changeID]
	if !ok || !tookBundle(ctx) {
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
