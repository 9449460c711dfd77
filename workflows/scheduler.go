package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// The scheduler (workflows started since schedulerChange).
//
// Before it, every step had its own coroutine from the start, parked in
// workflow.Await until its dependencies were done; the SDK resumes every
// parked coroutine on every pass of its dispatcher, so a workflow task of a
// plan with n steps cost O(n) coroutine switches and replaying a chain of n
// steps O(n²) (7 s for 1,000 steps, against a 10 s task timeout). Now one
// loop, in the workflow's main coroutine, starts a step's coroutine when its
// last dependency settles (a count of unsettled dependencies per step), so
// only running steps have a coroutine and a task costs what changed.
//
// The same version also keeps the expression environment of the settled
// steps between evaluations (copied on write: a map handed out is never
// changed), and renders the Web UI's details at most once per dispatcher
// pass, and, while a history is replayed, at most once per
// detailsReplayEvery of workflow time or on a change of phase (the details
// are not in history; the last render of a replay is at most that stale).
const schedulerChange = "topoflow-scheduler"

// detailsReplayEvery bounds how often the details are rendered while a
// history replays (workflow time).
const detailsReplayEvery = 5 * time.Second

// schedState is the scheduler's state (nil for workflows started before
// schedulerChange).
type schedState struct {
	// waitingOn counts each step's dependencies not yet settled; dependents
	// lists the steps that depend on each step (indexes into r.steps).
	waitingOn  []int
	dependents [][]int
	index      map[*stepRun]int
	// settled queues the steps whose coroutine has returned.
	settled []*stepRun
	live    int
	// ndone counts the steps done or skipped.
	ndone int

	// envSteps is the steps' part of the expression environment: an entry
	// per done or skipped step; envShared says it was handed out (the next
	// change copies it first).
	envSteps  map[string]any
	envIn     []bool
	envShared bool
	// hot holds the hot paths' caches (hotpath.go).
	hot hotState

	// details rendering: by the loop of executeScheduled while it runs
	// (driving), at once otherwise.
	driving     bool
	dirty       bool
	renderedAt  time.Time
	renderPhase string
}

func (r *interp) newSched() *schedState {
	st := &schedState{
		waitingOn:  make([]int, len(r.steps)),
		dependents: make([][]int, len(r.steps)),
		index:      make(map[*stepRun]int, len(r.steps)),
		envSteps:   map[string]any{},
		envIn:      make([]bool, len(r.steps)),
	}
	for i, sr := range r.steps {
		st.index[sr] = i
	}
	for i, sr := range r.steps {
		for _, d := range sr.s.DependsOn {
			st.waitingOn[i]++
			j := st.index[r.byID[d]]
			st.dependents[j] = append(st.dependents[j], i)
		}
	}
	return st
}

// executeScheduled runs the plan's steps: a step's coroutine starts once
// every dependency is done or skipped, in plan order among the steps that
// become ready together; no step starts after a rollback was requested. It
// returns when every started step has returned and either every step ran or
// a rollback was requested.
func (r *interp) executeScheduled() {
	st := r.sched
	st.hot.eager = tookBundle(r.root)       // hotpath.go
	st.hot.chain = bundleLevel(r.root) >= 2 // hotpath.go
	defer r.startSignals()                  // hotpath.go: rollbacks and hand-overs still take signals
	var start func(i int)
	start = func(i int) {
		sr := r.steps[i]
		st.live++
		r.goCx(func(c cx) {
			for {
				r.runStep(c, sr)
				sr.finished = true
				if !st.hot.eager {
					st.settled = append(st.settled, sr)
					return
				}
				next := r.settleNow(sr, start, st.hot.chain) // hotpath.go
				if next < 0 {
					return
				}
				sr = r.steps[next]
				c.work, _ = workflow.NewDisconnectedContext(c.intr) // as goCx gives a new step
			}
		})
	}
	for i, sr := range r.steps {
		if sr.state == StepDone || sr.state == StepSkipped {
			// Done in an earlier run (continue.go): settled already.
			st.ndone++
			for _, j := range st.dependents[i] {
				st.waitingOn[j]--
			}
		}
	}
	for i, sr := range r.steps {
		if st.waitingOn[i] == 0 && sr.state != StepDone && sr.state != StepSkipped {
			start(i)
		}
	}
	st.driving = true
	defer func() { st.driving = false }()
	for {
		_ = workflow.Await(r.work, func() bool {
			return len(st.settled) > 0 || (st.live == 0 && (r.stop != nil || st.ndone == len(r.steps))) ||
				r.detailsDue() || r.cancelled() || (!r.pauseDecided && r.handOverSuggested()) ||
				(r.pausing && r.stop == nil && r.quiet() && st.ndone < len(r.steps)) || r.signalWaiting()
		})
		if r.signalWaiting() {
			r.startSignals() // hotpath.go
		}
		if !r.pauseDecided && r.handOverSuggested() {
			// Runs that saw the suggestion before continue-as-new existed went on.
			r.pauseDecided = true
			r.pausing = changeVersion(r.root, continueAsNewChange, 1) >= 1
			if r.pausing {
				r.decideHolds() // rollcan.go
			}
		}
		if r.pausing && r.stop == nil && r.quiet() && st.ndone < len(r.steps) {
			r.handOver = true
			return
		}
		if r.cancelled() {
			r.requestStop(false, "", "workflow cancelled")
		}
		if r.detailsDue() {
			r.renderDetails()
		}
		if len(st.settled) == 0 {
			if st.live == 0 && (r.stop != nil || st.ndone == len(r.steps)) {
				return
			}
			continue
		}
		var ready []int
		for _, sr := range st.settled {
			st.live--
			if sr.state != StepDone && sr.state != StepSkipped {
				continue // failed or interrupted (a rollback is under way), or paused
			}
			st.ndone++
			for _, j := range st.dependents[st.index[sr]] {
				st.waitingOn[j]--
				if st.waitingOn[j] == 0 {
					ready = append(ready, j)
				}
			}
		}
		st.settled = st.settled[:0]
		if r.stop != nil || r.pausing {
			continue
		}
		slices.Sort(ready)
		for _, j := range ready {
			start(j)
		}
	}
}

// envScheduled is env() under the scheduler: the same map contents, built
// incrementally.
func (r *interp) envScheduled() map[string]any {
	steps := r.envSettled() // hotpath.go
	r.sched.envShared = true
	return map[string]any{plan.RootSteps: steps, plan.RootMeta: r.meta}
}

// stepEnvValue is what expressions see of a done or skipped step.
func stepEnvValue(sr *stepRun) any {
	if sr.state == StepSkipped {
		return map[string]any{}
	}
	if sr.fanout {
		list := make([]any, len(sr.items))
		for i, it := range sr.items {
			if it.outputs != nil {
				list[i] = map[string]any(it.outputs)
			}
		}
		return list
	}
	return copyMap(sr.outputs)
}

// markDetails asks for the details to be rendered again (see schedulerChange).
func (r *interp) markDetails() {
	st := r.sched
	st.dirty = true
	if r.final || !st.driving {
		// Before and after the steps run (the last render of the workflow
		// above all), render at once.
		r.renderDetails()
	}
}

// detailsDue reports whether the details should be rendered now: asked
// for, and while a history replays, detailsReplayEvery of workflow time after the
// last render or on a change of phase.
func (r *interp) detailsDue() bool {
	st := r.sched
	if !st.dirty {
		return false
	}
	if !workflow.IsReplaying(r.root) || r.phase != st.renderPhase {
		return true
	}
	return workflow.Now(r.root).Sub(st.renderedAt) >= detailsReplayEvery
}

func (r *interp) renderDetails() {
	st := r.sched
	st.dirty = false
	st.renderedAt = workflow.Now(r.root)
	st.renderPhase = r.phase
	workflow.SetCurrentDetails(r.root, r.detailsMarkdown())
}

// fanoutBoundChange: since this version a plan's maxParallel and a fan-out's
// forEach.concurrency default to plan.DefaultMaxParallel and
// plan.DefaultFanoutConcurrency when 0 and are capped at plan.MaxConcurrency,
// so no plan meets Temporal's limit of 2,000 pending activities per
// workflow (a 2,500-item fan-out used to fail at once with
// PendingActivitiesLimitExceeded).
const fanoutBoundChange = "topoflow-fanout-bound"

// bound is n, or def when n is 0, capped at plan.MaxConcurrency.
func bound(n, def int) int {
	if n <= 0 {
		n = def
	}
	return min(n, plan.MaxConcurrency)
}

// mayExceedBounds reports whether the default bounds could change what the
// plan runs (a fan-out without a bound or above the maximum, a maxParallel
// above the maximum, or none and more units than DefaultMaxParallel that
// could run at once): only then is
// fanoutBoundChange asked, so that other plans' histories do not grow.
func (r *interp) mayExceedBounds() bool {
	if r.p.MaxParallel > plan.MaxConcurrency {
		return true
	}
	units := 0 // the most units that could run at once without the bounds
	for i := range r.p.Steps {
		fe := r.p.Steps[i].ForEach
		switch {
		case fe == nil:
			units++
		case fe.Concurrency <= 0 || fe.Concurrency > plan.MaxConcurrency:
			return true
		default:
			units += fe.Concurrency
		}
	}
	return r.p.MaxParallel <= 0 && units > plan.DefaultMaxParallel
}

// summary is the result's summary (workflows started since schedulerChange:
// the result no longer carries every step's and item's progress, which
// passed Temporal's 2 MB payload limit at about 1,250 brokers).
func (r *interp) summary() *ResultSummary {
	s := &ResultSummary{
		WorkflowID: r.wfID, RunID: r.runID, PlanSHA256: r.sha, States: map[string]int{},
		Runs:  r.runs + 1,
		Where: fmt.Sprintf("every step's progress: topoflow status %s (the %q query)", r.wfID, QueryProgress),
	}
	for _, sr := range r.steps {
		s.States[sr.state]++
		for _, it := range sr.items {
			s.Items++
			if it.state == StepDone {
				s.ItemsDone++
			}
		}
	}
	return s
}

// maxFailureError bounds a step's error text in a rolled-back request's
// failure details.
const maxFailureError = 4000

// failureProgress is the progress a rolled-back request's error carries:
// since schedulerChange without the fan-out items' outputs and with bounded
// errors (the progress query keeps them), so that it stays far below
// Temporal's payload limit whatever the fan-out's size.
func (r *interp) failureProgress() Progress {
	p := r.progress()
	if r.sched == nil {
		return p
	}
	for i := range p.Steps {
		sp := &p.Steps[i]
		if sp.Items > 0 {
			sp.Outputs = nil
		}
		if len(sp.LastError) > maxFailureError {
			sp.LastError = sp.LastError[:maxFailureError] + "… (the progress query has the rest)"
		}
	}
	return p
}

// hasLocks reports whether a step names lock keys (only then does the lock
// client listen for grants, since schedulerChange).
func (r *interp) hasLocks() bool {
	for i := range r.p.Steps {
		if len(r.p.Steps[i].Locks) > 0 {
			return true
		}
	}
	return false
}

// cancelled reports a cancellation of the workflow not acted on yet (it
// rolls back like an operator's rollback).
func (r *interp) cancelled() bool { return r.root.Err() != nil && r.stop == nil && !r.final }
