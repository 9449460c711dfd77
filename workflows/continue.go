package workflows

import (
	"errors"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Continue-as-new (workflows started since schedulerChange; a run that
// hands over records continueAsNewChange).
//
// Temporal bounds a run's history (51,200 events, 50 MB) and suggests
// continuing as new well before (workflow.GetInfo(ctx).
// GetContinueAsNewSuggested). When it does, the scheduler stops starting
// steps and fan-out items, lets the running ones settle, waits until every
// Update handler has finished and every received Signal was handled, and
// continues as new with the same plan and a Resume: the steps' and items'
// states, outputs and resolved inputs, the saga stack (what a rollback
// compensates, in order), the audit trail and the accepted signed
// statements. The new run starts where the last one stopped, under the same
// workflow ID (so signals, Updates and the lock workflows' grants keep
// reaching it). It hands over only at such a quiet point. Before
// carryHoldsChange it also waited for a gate's decision, a parked step's
// operator, a lock key being acquired and a lock span's release, and before rollbackCANChange a rollback never handed over (both
// now continue as new: rollcan.go).
const continueAsNewChange = "topoflow-continue-as-new"

// Resume is what a request carries into its next run.
type Resume struct {
	// Runs counts the runs before this one.
	Runs int `json:"runs"`
	// Units are the steps, items and saga stack, packed (runs with
	// recordChange); Steps and Done are the expanded form older runs carried.
	Units *Units       `json:"units,omitempty"`
	Steps []ResumeStep `json:"steps,omitempty"`
	// Done is the saga stack, oldest first.
	Done        []ResumeDone   `json:"done,omitempty"`
	Audit       []AuditEntry   `json:"audit,omitempty"`
	AuditFolded map[string]int `json:"auditFolded,omitempty"`
	FoldedN     int            `json:"foldedN,omitempty"`
	// Used holds the hashes of signed statements already accepted.
	Used []string `json:"used,omitempty"`
	// KeyBase is the prefix of the chain's idempotency keys (runkeys.go;
	// empty: the workflow ID, for chains started before it).
	KeyBase string `json:"keyBase,omitempty"`
	// Gates are the gates that were waiting, Parked the steps parked for
	// their operator, Locks the lock span's held
	// keys (since carryHoldsChange); Rollback a rollback under way (since
	// rollbackCANChange); Claims the claims the steps took and Started the
	// first run's start (UnixNano), which orders it among conflicting
	// requests (rollcan.go).
	Gates    []ResumeGate    `json:"gates,omitempty"`
	Parked   []ResumeParked  `json:"parked,omitempty"`
	Locks    *ResumeLocks    `json:"locks,omitempty"`
	Rollback *ResumeRollback `json:"rollback,omitempty"`
	Claims   []Claim         `json:"claims,omitempty"`
	Started  int64           `json:"started,omitempty"`
	// HoldV is the hand-over's version (handover.go; 0 for hand-overs
	// before it): at 1 the next run takes decisions for the gates and
	// parked steps carried to it before they wait again, and Trust carries
	// the trust snapshot and the plan's verdict (not loaded and checked
	// again).
	HoldV int          `json:"holdV,omitempty"`
	Trust *ResumeTrust `json:"trust,omitempty"`
	// Updates are the IDs of the last Updates applied by earlier runs (at
	// most maxCarriedUpdates), so that one the server delivers again to the
	// next run is answered, not applied twice (handover.go).
	Updates []string `json:"updates,omitempty"`
}

// ResumeStep is one step's state (the expanded form).
type ResumeStep = RecordStep

// ResumeItem is one fan-out item's state (the expanded form).
type ResumeItem = RecordItem

// ResumeDone is one entry of the saga stack: a step, or an item of it (-1 for none).
type ResumeDone struct {
	Step    int            `json:"step"`
	Item    int            `json:"item"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Outputs plan.Outputs   `json:"outputs,omitempty"`
	Keys    []string       `json:"keys,omitempty"`
}

// errPaused ends a fan-out attempt that stopped starting items for a
// hand-over; the step resumes in the next run.
var errPaused = errors.New("paused to continue as new")

// handOverSuggested reports whether the scheduler should stop starting work
// to continue as new (Temporal suggests it and the request runs forward).
func (r *interp) handOverSuggested() bool {
	return r.sched != nil && r.stop == nil && workflow.GetInfo(r.root).GetContinueAsNewSuggested()
}

// quiet reports whether the run can hand over now: nothing runs, no
// handler is running, no signal is waiting to be handled, no lock key is held.
func (r *interp) quiet() bool {
	if r.sched.live > 0 || !workflow.AllHandlersFinished(r.root) {
		return false
	}
	for _, name := range []string{UpdateApprove, UpdateReject, UpdateComplete, UpdateRetry, UpdateSkip, UpdateRollback, UpdateAbort, SignalRefreshTrust} {
		if workflow.GetSignalChannel(r.root, name).Len() > 0 {
			return false
		}
	}
	if r.span != nil {
		for _, k := range r.span.keys {
			if !r.keyQuiet(k) { // rollcan.go
				return false
			}
		}
	}
	return true
}

// resume builds the state the next run starts from: packed (runs with
// recordChange) or expanded.
func (r *interp) resume() (*Resume, error) {
	rs := &Resume{Runs: r.runs, Audit: r.audit, AuditFolded: r.auditFolded, FoldedN: r.auditFoldedN}
	if r.keyBase != r.wfID {
		rs.KeyBase = r.keyBase
	}
	rs.Used = append(rs.Used, sortedKeys(r.used)...)
	if r.recordV() {
		u, err := r.packUnits(false, nil)
		if err != nil {
			return nil, err
		}
		rs.Units = &u
		return rs, nil
	}
	itemIndex := map[*itemRun]int{}
	for _, sr := range r.steps {
		st := ResumeStep{State: sr.state, Attempts: sr.attempts, Outputs: sr.outputs, Inputs: sr.inputs,
			Overrides: sr.overrides, Keys: sr.keys, Started: sr.started, Ended: sr.ended, ItemsReady: sr.itemsReady}
		if st.State != StepDone && st.State != StepSkipped {
			st.State = StepPending // a paused fan-out: its pending items run in the next run
		}
		for i, it := range sr.items {
			itemIndex[it] = i
			st.Items = append(st.Items, ResumeItem{Key: it.key, Value: it.value, State: it.state, Inputs: it.inputs, Outputs: it.outputs, Keys: it.keys})
		}
		rs.Steps = append(rs.Steps, st)
	}
	for _, c := range r.done {
		d := ResumeDone{Step: r.sched.index[c.step], Item: -1, Inputs: c.inputs, Outputs: c.outputs, Keys: c.keys}
		if c.item != nil {
			d.Item = itemIndex[c.item]
		}
		rs.Done = append(rs.Done, d)
	}
	return rs, nil
}

// restore applies a Resume to a new run (before the scheduler starts).
func (r *interp) restore(rs *Resume) error {
	r.runs = rs.Runs
	r.audit, r.auditFolded, r.auditFoldedN = rs.Audit, rs.AuditFolded, rs.FoldedN
	for _, h := range rs.Used {
		r.used[h] = true
	}
	defer r.restoreCarry(rs) // rollcan.go
	if rs.Units != nil {
		_, err := r.restoreUnits(*rs.Units, false)
		return err
	}
	for i, st := range rs.Steps {
		if i >= len(r.steps) {
			break
		}
		sr := r.steps[i]
		sr.state, sr.attempts, sr.outputs, sr.inputs, sr.overrides, sr.keys = st.State, st.Attempts, st.Outputs, st.Inputs, st.Overrides, st.Keys
		sr.started, sr.ended, sr.itemsReady = st.Started, st.Ended, st.ItemsReady
		sr.finished = st.State == StepDone || st.State == StepSkipped
		for j, it := range st.Items {
			sr.items = append(sr.items, &itemRun{index: j, key: it.Key, value: it.Value, state: it.State, inputs: it.Inputs, outputs: it.Outputs, keys: it.Keys})
		}
	}
	for _, d := range rs.Done {
		if d.Step < 0 || d.Step >= len(r.steps) {
			continue
		}
		c := completion{step: r.steps[d.Step], inputs: d.Inputs, outputs: d.Outputs, keys: d.Keys}
		if d.Item >= 0 && d.Item < len(c.step.items) {
			c.item = c.step.items[d.Item]
		}
		r.done = append(r.done, c)
	}
	return nil
}

// continueAsNew ends the run and starts the next one with the state
// carried. It returns errTooBig (and does not hand over) when the next
// run's input would be over Temporal's payload limit (runs with
// recordChange): the caller rolls back instead of being terminated.
func (r *interp) continueAsNew() error {
	req := r.req
	rs, err := r.resume()
	if err != nil {
		return &errTooBig{msg: "the state to continue as new with: " + err.Error()}
	}
	rs.Runs++
	r.carryInto(rs, false) // rollcan.go
	req.Resume = rs
	if r.recordV() {
		if msg := tooBig("the state to continue as new with", req); msg != "" {
			return &errTooBig{msg: msg}
		}
	}
	return workflow.NewContinueAsNewError(r.root, WorkflowType, req)
}

// errTooBig is a hand-over (continue-as-new, the grant's start) that cannot
// happen because its input would be over Temporal's payload limit.
type errTooBig struct{ msg string }

func (e *errTooBig) Error() string { return e.msg }
