package workflows

// Parallel compensation (issue 14): rollback, revoke and partial revoke
// undo the completed units newest first in waves. A wave is a run of
// consecutive units (in reverse completion order) of one fan-out step: its
// items, which depend on nothing of one another. A wave's units are
// compensated concurrently, at most the fan-out's bound at a time (the same
// bound as forward); the next wave starts when the wave has settled, so
// steps are still undone in reverse completion order, each only after
// everything that depends on it. Runs before parallelUndoChange undo one
// unit at a time.

import (
	"errors"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// parallelUndoChange guards compensating a wave's units concurrently.
const parallelUndoChange = "topoflow-parallel-undo"

// errUndoPaused ends a revoke's rollback that stopped between units to
// continue as new (the grant carries what is left).
var errUndoPaused = errors.New("revoke paused to continue as new")

// undoAll compensates the units of r.done at the positions order (newest
// first, each with a compensation), calling settled after each. When
// Temporal suggests continuing as new and mayPause (nil: never) says so (a
// revoke of a packed record; a request's own rollback, rollcan.go) it stops
// starting units, lets the running ones settle and returns true; r.done is
// then what is left to undo, oldest first.
func (r *interp) undoAll(ctx workflow.Context, order []int, mayPause func() bool, settled func(c completion, err error)) (paused bool) {
	if r.parallelUndo == nil {
		v := changeVersion(ctx, parallelUndoChange, 1) >= 1
		r.parallelUndo = &v
	}
	if !*r.parallelUndo {
		for _, i := range order {
			c := r.done[i]
			settled(c, r.compensate(ctx, c))
		}
		return false
	}
	undone := map[int]bool{}
	pause := func() bool {
		return mayPause != nil && workflow.GetInfo(ctx).GetContinueAsNewSuggested() && mayPause()
	}
	for start := 0; start < len(order) && !paused; {
		// The wave: the consecutive items of one fan-out step.
		sr := r.done[order[start]].step
		end := start + 1
		for end < len(order) && sr.fanout && r.done[order[end]].step == sr && r.done[order[end]].item != nil {
			end++
		}
		limit := 1
		if sr.fanout {
			limit = bound(sr.s.ForEach.Concurrency, plan.DefaultFanoutConcurrency)
			if r.p.MaxParallel > 0 {
				limit = min(limit, r.p.MaxParallel)
			}
		}
		inflight := 0
		wg := workflow.NewWaitGroup(ctx)
		for _, i := range order[start:end] {
			_ = workflow.Await(ctx, func() bool { return inflight < limit })
			if pause() {
				paused = true
				break
			}
			inflight++
			wg.Add(1)
			c := r.done[i]
			undone[i] = true
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer wg.Done()
				err := r.compensate(ctx, c)
				inflight--
				settled(c, err)
			})
		}
		wg.Wait(ctx)
		start = end
		if !paused && start < len(order) && pause() {
			paused = true
		}
	}
	if paused {
		var left []completion
		for i, c := range r.done {
			if !undone[i] {
				left = append(left, c)
			}
		}
		r.done = left
	}
	return paused
}
