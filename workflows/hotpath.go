package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// What a workflow task of the scheduler costs (issue 14: the replay of a
// 1,000-step chain within 3× a hand-written workflow's). Nothing here
// changes a command or an event: only how the same values are computed.
//
//   - A step's expressions get an environment holding only the steps they
//     name (stepEnv). Handing out the whole map of settled steps made the
//     next settled step copy it (scheduler.go, envScheduled): O(n) per step,
//     O(n²) per chain, most of the memory a replay allocated.
//   - The rows of the details' step table are kept between renders and
//     rebuilt only for the steps whose shown state changed (writeSteps).

// hotState is the scheduler's caches (schedState.hot).
type hotState struct {
	// eager: a step that settles starts the steps it made ready itself
	// (settleNow), in runs that took changeBundle; chain: and runs the
	// first of them in its own coroutine, in runs that took changeBundle2.
	eager, chain bool
	// needs is, by step index, what the step's own expressions read of
	// steps (nil until asked).
	needs []*stepNeeds
	// rows are the details' table rows, by step index.
	rows []stepRow
	// signals are the channels of signalNames (signalWaiting).
	signals []workflow.ReceiveChannel
}

// stepNeeds is what a step's expressions (when, forEach items and key,
// inputs, locks) read of the steps root: the steps they name, or all.
type stepNeeds struct {
	all bool
	ids []string
}

// needsOf returns what sr's expressions read of steps (computed once).
func (r *interp) needsOf(i int) *stepNeeds {
	h := &r.sched.hot
	if h.needs == nil {
		h.needs = make([]*stepNeeds, len(r.steps))
	}
	if n := h.needs[i]; n != nil {
		return n
	}
	s := r.steps[i].s
	exprs := []string{s.When}
	for _, k := range sortedKeys(s.Inputs) {
		exprs = append(exprs, s.Inputs[k].Expr)
	}
	exprs = append(exprs, s.Locks...)
	if s.ForEach != nil {
		exprs = append(exprs, s.ForEach.Items, s.ForEach.Key)
	}
	n := &stepNeeds{}
	for _, code := range exprs {
		if code == "" {
			continue
		}
		// $env reaches every root without naming it: all.
		fields, all, err := plan.RootFields(code, plan.RootSteps)
		if err != nil || all || strings.Contains(code, "$env") {
			n = &stepNeeds{all: true}
			break
		}
		for _, f := range fields {
			if !slices.Contains(n.ids, f) {
				n.ids = append(n.ids, f)
			}
		}
	}
	h.needs[i] = n
	return n
}

// stepEnv is the environment of sr's own expressions: env() for runs
// before the scheduler and for expressions that read steps without naming
// them; otherwise the entries env() would hold for the steps they name,
// and no other (an expression reads nothing else of steps, so it evaluates
// the same). An entry is the scheduler's kept one (envScheduled) when it
// has one, or what it would keep now: a step's outputs do not change while
// it is done or skipped, so either is the value env() would give.
func (r *interp) stepEnv(sr *stepRun) map[string]any {
	if r.sched == nil {
		return r.env()
	}
	st := r.sched
	n := r.needsOf(st.index[sr])
	if n.all {
		return r.envScheduled()
	}
	steps := make(map[string]any, len(n.ids))
	for _, id := range n.ids {
		d := r.byID[id]
		if d == nil || (d.state != StepDone && d.state != StepSkipped) {
			continue
		}
		if v, ok := st.envSteps[id]; ok && st.envIn[st.index[d]] {
			steps[id] = v
			continue
		}
		steps[id] = stepEnvValue(d)
	}
	return map[string]any{plan.RootSteps: steps, plan.RootMeta: r.meta}
}

// envSettled brings the scheduler's map of settled steps up to date (the
// steps' part of envScheduled).
func (r *interp) envSettled() map[string]any {
	st := r.sched
	for i, sr := range r.steps {
		in := sr.state == StepDone || sr.state == StepSkipped
		if in == st.envIn[i] {
			continue
		}
		if st.envShared {
			st.envSteps = maps.Clone(st.envSteps)
			st.envShared = false
		}
		st.envIn[i] = in
		if !in {
			delete(st.envSteps, sr.s.ID)
			continue
		}
		st.envSteps[sr.s.ID] = stepEnvValue(sr)
	}
	return st.envSteps
}

// stepRow is one rendered row of the details' step table and what it
// shows.
type stepRow struct {
	ok                bool
	state             string
	itemsDone, items  int
	awaiting          []string
	observed, lastErr string
	text              string
}

// stepRowText is the table row of step i (kept while what it shows is the
// same: scheduled runs).
func (r *interp) stepRowText(i int) string {
	sr := r.steps[i]
	n := 0
	if sr.fanout {
		for _, it := range sr.items {
			if it.state == StepDone {
				n++
			}
		}
	}
	var row *stepRow
	if r.sched != nil {
		h := &r.sched.hot
		if len(h.rows) != len(r.steps) {
			h.rows = make([]stepRow, len(r.steps))
		}
		row = &h.rows[i]
		if row.ok && row.state == sr.state && row.itemsDone == n && row.items == len(sr.items) &&
			slices.Equal(row.awaiting, sr.awaiting) && row.observed == sr.observed && row.lastErr == sr.lastErr {
			return row.text
		}
	}
	st := StyleOf(sr.state)
	state := sr.state
	if sr.fanout && len(sr.items) > 0 {
		state += fmt.Sprintf(" (%d/%d)", n, len(sr.items))
	}
	var detail []string
	if len(sr.awaiting) > 0 {
		detail = append(detail, "waiting for "+strings.Join(sr.awaiting, ", "))
	}
	if sr.observed != "" && (sr.state == StepRunning || sr.state == StepFailed || sr.state == StepParked) {
		detail = append(detail, "observed "+sr.observed)
	}
	if sr.lastErr != "" && (sr.state == StepFailed || sr.state == StepParked) {
		detail = append(detail, oneLine(sr.lastErr, 200))
	}
	text := fmt.Sprintf("| %s | %s (`%s`) | %s | %s |\n", st.Emoji, mdText(sr.s.Title), mdText(sr.s.ID), state, mdText(strings.Join(detail, "; ")))
	if row != nil {
		*row = stepRow{ok: true, state: sr.state, itemsDone: n, items: len(sr.items), awaiting: slices.Clone(sr.awaiting),
			observed: sr.observed, lastErr: sr.lastErr, text: text}
	}
	return text
}

// settleNow settles a step from its own coroutine as executeScheduled's
// loop would (runs that took changeBundle): it counts the step, and unless
// a rollback was requested or the run pauses, starts the steps it made
// ready, in plan order. The loop then need not wake for it: a workflow task
// of a chain takes two dispatcher passes instead of three, and every pass
// resumes every coroutine of the workflow.
//
// With chain (runs that took changeBundle2) the first of them is not
// started but returned (its index, -1 if none): the caller runs it in the
// same coroutine, started (st.live) already. A chain then creates no
// coroutine per step; the first ready step's commands come before those
// of the coroutines started here and of the ones later in the dispatcher's
// list, which only runs that took changeBundle2 do.
func (r *interp) settleNow(sr *stepRun, start func(int), chain bool) int {
	st := r.sched
	st.live--
	if sr.state != StepDone && sr.state != StepSkipped {
		return -1 // failed or interrupted (a rollback is under way), or paused
	}
	st.ndone++
	var ready []int
	for _, j := range st.dependents[st.index[sr]] {
		st.waitingOn[j]--
		if st.waitingOn[j] == 0 {
			ready = append(ready, j)
		}
	}
	if r.stop != nil || r.pausing {
		return -1
	}
	slices.Sort(ready)
	next := -1
	for _, j := range ready {
		if chain && next < 0 {
			next = j
			st.live++
			continue
		}
		start(j)
	}
	return next
}

// loadTrustLazily starts a coroutine that loads the trust while it is
// wanted (runs that took changeBundle): a coroutine parked for the whole
// run in trustLoop was resumed on every dispatcher pass of every workflow
// task.
func (r *interp) loadTrustLazily() {
	if !r.trustLazy || r.trustLoading {
		return
	}
	r.trustLoading = true
	workflow.Go(r.root, func(ctx workflow.Context) {
		defer func() { r.trustLoading = false }()
		for r.trustWanted {
			r.trustWanted = false
			if err := r.loadTrust(ctx); err != nil {
				workflow.GetLogger(ctx).Warn("trust refresh failed; keeping the last snapshot", "error", errText(err))
			}
		}
	})
}

// signalNames are the signals signalLoop takes.
var signalNames = []string{UpdateApprove, UpdateReject, UpdateComplete, UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort, SignalRefreshTrust}

// declareSignals creates the signal channels (with their descriptions,
// shown by the Web UI) without starting signalLoop (runs that took
// changeBundle): a coroutine parked in it for the whole run was resumed on
// every dispatcher pass. executeScheduled's loop starts it when a signal
// waits, and when the loop ends (rollback, hand-over, the end).
func (r *interp) declareSignals() {
	r.signalsLazy = true
	for _, name := range signalNames {
		signalChannel(r.root, name)
	}
}

// signalWaiting reports a signal waiting for a signalLoop not started.
func (r *interp) signalWaiting() bool {
	if !r.signalsLazy || r.signalsOn {
		return false
	}
	if r.sched != nil {
		// Asked at every dispatcher pass: the channels are looked up once.
		h := &r.sched.hot
		if h.signals == nil {
			for _, name := range signalNames {
				h.signals = append(h.signals, signalChannel(r.root, name))
			}
		}
		for _, ch := range h.signals {
			if ch.Len() > 0 {
				return true
			}
		}
		return false
	}
	for _, name := range signalNames {
		if signalChannel(r.root, name).Len() > 0 {
			return true
		}
	}
	return false
}

// startSignals starts signalLoop if it was put off and has not started.
func (r *interp) startSignals() {
	if r.signalsLazy && !r.signalsOn {
		r.signalsOn = true
		workflow.Go(r.root, r.signalLoop)
	}
}

// trustCall runs TrustActivity: in runs that took changeBundle2 as a local
// activity of the same options (the trust is the worker's own file and
// JWKS: worker/app registers TrustActivity with the workflows, RegisterTrust),
// which records one marker in the workflow task that asks instead of an
// activity's three events and the workflow task after them (a request
// loads it once, then at each gate and park; go.temporal.io/sdk
// workflow.ExecuteLocalActivity). A context without the bundle's answer (a
// handler's) runs the activity, as runs before the bundle do.
func trustCall(ctx workflow.Context) workflow.Future {
	if bundleLevel(ctx) < 2 {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, trustActivityOptions), TrustActivity)
	}
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: trustActivityOptions.StartToCloseTimeout,
		RetryPolicy:         trustActivityOptions.RetryPolicy,
		Summary:             trustActivityOptions.Summary,
	}), TrustActivity)
}
