package workflows

// Drift watch: a grant re-checks, on a durable timer, that what its request
// created is still there and still works. It runs again, with the inputs
// they ran with, the request's read steps (describe/get actions, waits on a
// resource's status, kafka.verify: produce and consume from the client's
// network); a read that fails or a wait whose status is no longer a target
// state is drift. Drift shows in the grant's phase (Drifted), its progress
// (Drift), the topoflow_grant_drifted gauge and `topoflow list --drifted`.

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
)

// PhaseDrifted is a grant whose last drift check found a resource missing
// or not working.
const PhaseDrifted = "Drifted"

// DefaultDriftEvery is the drift check interval of a grant whose request
// does not set Request.DriftEvery.
const DefaultDriftEvery = time.Hour

// Drift is the result of a grant's last drift check.
type Drift struct {
	// StartedAt is when the check began, CheckedAt when it ended.
	StartedAt time.Time `json:"startedAt,omitempty"`
	CheckedAt time.Time `json:"checkedAt"`
	// Checks is how many read units ran; Findings those that failed.
	Checks   int            `json:"checks"`
	Findings []DriftFinding `json:"findings,omitempty"`
	// Every is the check interval.
	Every plan.Duration `json:"every"`
}

// DriftFinding is one check that failed.
type DriftFinding struct {
	Step   string `json:"step"`
	Item   string `json:"item,omitempty"`
	Action string `json:"action"`
	Error  string `json:"error"`
}

// driftChecks lists the units a drift check runs: the completed read steps
// (and their fan-out items), decided when the record is handed over so a
// changed catalog never changes a running grant's commands.
func (r *interp) driftChecks() []GrantUnit {
	var out []GrantUnit
	for _, sr := range r.steps {
		s := sr.s
		if sr.state != StepDone || isGate(s) || (s.Wait == nil && policy.Mutates(s.Action)) {
			continue
		}
		if !sr.fanout {
			out = append(out, GrantUnit{Step: s.ID})
			continue
		}
		for _, it := range sr.items {
			if it.state == StepDone {
				i := it.index
				out = append(out, GrantUnit{Step: s.ID, Item: &i})
			}
		}
	}
	return out
}

// checkDrift runs the drift checks once and records the result.
func (r *interp) checkDrift(ctx workflow.Context, g *GrantRecord) {
	d := Drift{Every: g.DriftEvery, StartedAt: workflow.Now(ctx)}
	c := cx{work: ctx, intr: ctx}
	for _, u := range g.DriftChecks {
		sr := r.byID[u.Step]
		if sr == nil || (sr.state != StepDone && !sr.fanout) {
			continue // undone by a partial revoke
		}
		s := sr.s
		inputs, key, item := sr.inputs, r.idemKey(sr, nil)+"/drift", ""
		if u.Item != nil {
			found := false
			for _, it := range sr.items {
				if it.index == *u.Item && it.state == StepDone {
					inputs, key, item, found = it.inputs, r.idemKey(sr, it)+"/drift", it.key, true
				}
			}
			if !found {
				continue
			}
		}
		d.Checks++
		call := plan.Call{Action: s.Action, Account: s.Account, Inputs: inputs, IdempotencyKey: key}
		// One read (not a wait): the resource must be in a target state now.
		var err error
		rt, rerr := r.probeRoute(c, s)
		if rerr != nil {
			err = rerr
		} else {
			ao := rt.apply(r.actionOptions(s))
			ao.Summary = "Drift check: " + s.Title
			if ao.RetryPolicy != nil {
				// A check, not a creation: a few attempts tell a passing
				// hiccup from drift, the next check comes anyway.
				rp := *ao.RetryPolicy
				rp.MaximumAttempts = 3
				ao.RetryPolicy = &rp
			}
			var out plan.Outputs
			err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), s.Action, call).Get(ctx, &out)
			if perr := rt.probeError(s, err); perr != nil {
				err = perr
			}
			if err == nil && s.Wait != nil && !s.Wait.Gone {
				path := s.Wait.StatusPath
				if path == "" {
					path = "status"
				}
				st := fmt.Sprint(lookupPath(out, path))
				if !slices.Contains(s.Wait.Target, st) {
					err = fmt.Errorf("status %q, want %v", st, s.Wait.Target)
				}
			}
		}
		if err != nil {
			d.Findings = append(d.Findings, DriftFinding{Step: s.ID, Item: item, Action: s.Action, Error: oneLine(fmt.Sprintf("%s: %s", s.Action, errText(err)), 500)})
		}
	}
	d.CheckedAt = workflow.Now(ctx)
	was := g.Drift != nil && len(g.Drift.Findings) > 0
	g.Drift = &d
	r.drift = &d
	drifted := len(d.Findings) > 0
	if drifted != was {
		msg := "drift check: every resource is back in its expected state"
		if drifted {
			msg = fmt.Sprintf("drift check: %d of %d checks failed, first %s: %s", len(d.Findings), d.Checks, d.Findings[0].Step, d.Findings[0].Error)
		}
		r.addAudit(AuditEntry{At: d.CheckedAt, Action: "drift", Identity: "topoflow", Comment: oneLine(msg, 500)}, false)
	}
	gauge := 0.0
	if drifted {
		gauge = 1
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"spec": r.p.Source.Name}).Gauge("topoflow_grant_drifted").Update(gauge)
	r.basePhase = PhaseGranted
	if drifted {
		r.basePhase = PhaseDrifted
	}
	r.refresh("")
	// The spec allows repairing a drift without approval (change.go).
	if drifted && r.p.Drift != nil && r.p.Drift.AutoRepair && r.change == nil && r.revoke == nil &&
		changeVersion(ctx, driftRepairChange, 1) >= 1 {
		r.change = &changeReq{kind: UpdateRepair, by: "topoflow (drift.autoRepair)", redo: r.repairSet(), auto: true}
	}
}
