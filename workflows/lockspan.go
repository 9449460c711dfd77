package workflows

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Lock spans (change ID lockSpanChange; workflows recorded before it keep the
// per-step locks of lockClient.acquireAll/releaseAll).
//
// A plan that touches one shared resource in several steps (Ambari: save
// config, maintenance ON, restart, maintenance OFF; Huawei: set the
// advertised IPs and, on rollback, restore them) holds the resource's lock
// key across those steps, so two requests on the same resource never
// interleave:
//
//   - A key is held by the workflow, not by a step: it is taken at the latest
//     when the first unit (step or fan-out item) naming it starts, and held
//     while any unfinished step (not done or skipped) of the plan names it. A
//     step whose lock expression cannot be evaluated yet (it uses outputs of
//     steps that have not finished, or a fan-out item) may name any key, so
//     every held key stays held until it can be evaluated.
//   - Deadlocks across workflows: at the first lock-taking unit, the workflow
//     takes every key of the plan whose expression is already resolvable
//     (literal keys, keys from finished steps), in sorted order. Two plans
//     taking the same two literal keys in opposite step order therefore both
//     take them sorted, at once. The price: a key is taken from the first
//     lock-taking step on, even if its own first step comes later (after an
//     approval, say). Keys only known later (expressions over outputs of
//     later steps or over fan-out items) are taken when their unit starts,
//     sorted among themselves; if another plan takes the same keys in the
//     opposite order this way, the two can deadlock (the limitation).
//   - Within one workflow the units naming a key still run one at a time
//     (a local, event-free mutex per key), as the per-step locks did; fan-out
//     items and parallel branches share the workflow's hold, so a workflow
//     never waits for itself.
//   - Rollback: the keys held when it starts, and the keys named by completed
//     units that have a compensation, are held for the whole rollback (those
//     that had been released are taken again, sorted; held keys sorting after
//     one of them are released first and taken again with them, so the
//     workflow only ever waits for a key while holding smaller ones).
//   - Every held key is released when the workflow ends: success, rollback,
//     failure or cancellation (which rolls back).
//   - A unit waiting for a key shows "waiting for lock <key> held by <workflow
//     ID>" as its observed status (the lock workflow names the holder when the
//     request queues; the holder may have changed since).
const lockSpanChange = "topoflow-lock-span"

// spanKey is the workflow's state of one key.
type spanKey struct {
	held      bool
	acquiring bool
	token     string
	busy      bool // a unit of this workflow runs under the key
}

// lockSpan holds lock keys for the workflow across steps.
type lockSpan struct {
	r        *interp
	keys     map[string]*spanKey
	gen      int
	batched  bool // the first lock-taking unit took the plan's resolvable keys
	batching bool
	rollback bool // keys are held until the workflow ends
}

func newLockSpan(r *interp) *lockSpan { return &lockSpan{r: r, keys: map[string]*spanKey{}} }

func (ls *lockSpan) key(k string) *spanKey {
	sk := ls.keys[k]
	if sk == nil {
		sk = &spanKey{}
		ls.keys[k] = sk
	}
	return sk
}

// enter makes sure the workflow holds keys (sorted) and takes the local
// mutex of each; leave undoes the local part. On error nothing is taken
// locally (keys already held stay held, settle decides).
func (ls *lockSpan) enter(c cx, keys []string, onWait func(string)) error {
	if len(keys) == 0 {
		return nil
	}
	if !ls.batched {
		if ls.batching {
			if err := workflow.Await(c.intr, func() bool { return !ls.batching }); err != nil {
				return errStopped
			}
		}
		if !ls.batched {
			ls.batching = true
			all := mergeKeys(keys, ls.planKeys())
			err := ls.hold(c, all, onWait)
			ls.batching = false
			if err != nil {
				return err
			}
			ls.batched = true
		}
	}
	if err := ls.hold(c, keys, onWait); err != nil {
		return err
	}
	for i, k := range keys {
		sk := ls.key(k)
		if err := workflow.Await(c.intr, func() bool { return !sk.busy }); err != nil {
			for _, taken := range keys[:i] {
				ls.key(taken).busy = false
			}
			return errStopped
		}
		sk.busy = true
	}
	return nil
}

// leave frees the local mutexes of keys.
func (ls *lockSpan) leave(keys []string) {
	for _, k := range keys {
		ls.key(k).busy = false
	}
}

// hold acquires the keys (sorted) the workflow does not hold yet; another
// coroutine acquiring the same key is waited for rather than duplicated.
func (ls *lockSpan) hold(c cx, keys []string, onWait func(string)) error {
	for _, k := range keys {
		sk := ls.key(k)
		for !sk.held {
			if sk.acquiring {
				if err := workflow.Await(c.intr, func() bool { return !sk.acquiring }); err != nil {
					return errStopped
				}
				continue
			}
			if ls.r.gatePaused() {
				return errPaused // continue as new first (rollcan.go)
			}
			sk.acquiring = true
			ls.gen++
			token := ls.r.wfID + "/lock#" + strconv.Itoa(ls.gen) + "@" + k
			err := ls.r.locks.acquire(c, k, token, true, onWait)
			sk.acquiring = false
			if err != nil {
				return err
			}
			sk.held, sk.token = true, token
		}
	}
	return nil
}

// settle releases the held keys that no unit uses and no unfinished step
// may name. It does nothing once a rollback has started.
func (ls *lockSpan) settle(c cx) {
	if ls.rollback || ls.r.stop != nil {
		return
	}
	need, unknown := ls.needed()
	if unknown {
		return
	}
	for _, k := range sortedKeys(ls.keys) {
		sk := ls.keys[k]
		if sk.held && !sk.busy && !sk.acquiring && !need[k] {
			sk.held = false
			ls.r.locks.signalRelease(c.work, k, sk.token)
		}
	}
}

// needed is the set of keys unfinished steps name; unknown is true when
// some unfinished step's keys cannot be evaluated yet.
func (ls *lockSpan) needed() (map[string]bool, bool) {
	need := map[string]bool{}
	var base map[string]any
	for _, sr := range ls.r.steps {
		if len(sr.s.Locks) == 0 || sr.state == StepDone || sr.state == StepSkipped || isGate(sr.s) {
			continue
		}
		if base == nil {
			base = ls.r.env()
		}
		if sr.fanout && sr.itemsReady {
			for _, it := range sr.items {
				if it.state == StepDone || it.state == StepSkipped {
					continue
				}
				for _, e := range sr.s.Locks {
					k, ok := ls.r.resolvableKey(sr, e, itemEnv(base, sr.s.ForEach, it), true)
					if !ok {
						return need, true
					}
					need[k] = true
				}
			}
			continue
		}
		for _, e := range sr.s.Locks {
			k, ok := ls.r.resolvableKey(sr, e, base, false)
			if !ok {
				return need, true
			}
			need[k] = true
		}
	}
	return need, false
}

// planKeys are the keys of unfinished steps that can be evaluated now.
func (ls *lockSpan) planKeys() []string {
	var keys []string
	var base map[string]any
	for _, sr := range ls.r.steps {
		if len(sr.s.Locks) == 0 || sr.state == StepDone || sr.state == StepSkipped || isGate(sr.s) {
			continue
		}
		if base == nil {
			base = ls.r.env()
		}
		for _, e := range sr.s.Locks {
			if k, ok := ls.r.resolvableKey(sr, e, base, false); ok {
				keys = append(keys, k)
			}
		}
	}
	return mergeKeys(keys, nil)
}

// resolvableKey evaluates one lock expression if everything it uses is
// known: the steps it refers to are done or skipped, and it uses no fan-out
// item unless withItem.
func (r *interp) resolvableKey(sr *stepRun, code string, env map[string]any, withItem bool) (string, bool) {
	refs, err := plan.ParseRefs(code)
	if err != nil {
		return "", false
	}
	for _, root := range refs.Roots {
		switch root {
		case plan.RootSteps, plan.RootMeta:
		case plan.RootIndex:
			if !withItem {
				return "", false
			}
		default:
			if !withItem || sr.s.ForEach == nil || root != itemName(sr.s.ForEach) {
				return "", false
			}
		}
	}
	for _, id := range refs.Steps {
		dep := r.byID[id]
		if dep == nil || (dep.state != StepDone && dep.state != StepSkipped) {
			return "", false
		}
	}
	v, err := plan.Eval(code, env)
	if err != nil || v == nil {
		return "", false
	}
	k := fmt.Sprint(v)
	return k, k != ""
}

// holdForRollback keeps the held keys and takes again the keys of completed
// units with a compensation; keys stay held until releaseAll.
func (ls *lockSpan) holdForRollback(ctx workflow.Context) {
	ls.rollback = true
	want := map[string]bool{}
	for k, sk := range ls.keys {
		if sk.held {
			want[k] = true
		}
	}
	for _, d := range ls.r.done {
		if d.step.s.Compensation == nil {
			continue
		}
		for _, k := range d.keys {
			want[k] = true
		}
	}
	var missing []string
	for _, k := range sortedKeys(want) {
		if !ls.keys[k].heldOrNil() {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return
	}
	// Wait only while holding smaller keys: release held keys that sort
	// after the first missing one and take them again with it.
	var again []string
	for _, k := range sortedKeys(want) {
		sk := ls.keys[k]
		if k > missing[0] && sk != nil && sk.held {
			sk.held = false
			ls.r.locks.signalRelease(ctx, k, sk.token)
			again = append(again, k)
		}
	}
	all := mergeKeys(missing, again)
	logger := workflow.GetLogger(ctx)
	logger.Info("taking lock keys again for the rollback", "keys", all)
	if err := ls.hold(cx{work: ctx, intr: ctx}, all, func(msg string) { logger.Info(msg) }); err != nil {
		logger.Warn("lock keys for the rollback not taken; compensating without them", "error", err)
	}
}

func (sk *spanKey) heldOrNil() bool { return sk != nil && sk.held }

// releaseAll releases every held key (the workflow ends).
func (ls *lockSpan) releaseAll(ctx workflow.Context) {
	ls.rollback = true
	for _, k := range sortedKeys(ls.keys) {
		if sk := ls.keys[k]; sk.held {
			sk.held = false
			ls.r.locks.signalRelease(ctx, k, sk.token)
		}
	}
}

func mergeKeys(a, b []string) []string {
	out := append(append([]string(nil), a...), b...)
	sort.Strings(out)
	return slices.Compact(out)
}

func isGate(s *plan.Step) bool {
	return s.Action == plan.ActionApproval || s.Action == plan.ActionManual
}

// settleLocks releases keys no longer needed (lock spans only).
func (r *interp) settleLocks(c cx) {
	if r.span != nil {
		r.span.settle(c)
	}
}
