package workflows

import (
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// refresh recomputes the phase and who is awaited; it upserts the search
// attributes when either changed (so history grows only on real changes) and
// always updates the Web UI's current details. A non-empty fixed phase
// (RollingBack or a final phase) overrides the phase derived from the steps.
func (r *interp) refresh(fixed string) {
	if fixed != "" {
		r.phase = fixed
	}
	phase, awaiting := r.derivePhase()
	if phase == PhaseRunning && r.basePhase != "" {
		phase = r.basePhase // a grant between revokes
	}
	if !r.final && r.stop == nil && fixed == "" {
		r.phase = phase
	}
	if r.stop != nil || r.final {
		awaiting = nil
	}
	if r.lastUpsertPhase != r.phase || !slices.Equal(r.lastUpsertAwaiting, awaiting) {
		err := workflow.UpsertTypedSearchAttributes(r.root,
			SAPhase.ValueSet(r.phase), SAAwaiting.ValueSet(awaiting))
		if err != nil {
			workflow.GetLogger(r.root).Warn("upsert search attributes failed", "error", err)
		}
		r.lastUpsertPhase = r.phase
		r.lastUpsertAwaiting = awaiting
	}
	r.awaiting = awaiting
	if r.sched != nil {
		r.markDetails() // rendered once per pass (scheduler.go)
		return
	}
	workflow.SetCurrentDetails(r.root, r.detailsMarkdown())
}

// derivePhase: Parked wins over WaitingApproval over WaitingManual over Running.
func (r *interp) derivePhase() (string, []string) {
	var parked, approval, manual bool
	who := map[string]bool{}
	for _, sr := range r.steps {
		switch {
		case sr.state == StepParked:
			parked = true
		case sr.state == StepWaiting && sr.gateKind == PhaseWaitingApproval:
			approval = true
		case sr.state == StepWaiting && sr.gateKind == PhaseWaitingManual:
			manual = true
		default:
			continue
		}
		for _, w := range sr.awaiting {
			who[w] = true
		}
	}
	awaiting := sortedKeys(who)
	if len(awaiting) == 0 {
		awaiting = nil
	}
	switch {
	case parked:
		return PhaseParked, awaiting
	case approval:
		return PhaseWaitingApproval, awaiting
	case manual:
		return PhaseWaitingManual, awaiting
	}
	return PhaseRunning, nil
}

// progress builds the answer of the progress query.
func (r *interp) progress() Progress {
	p := Progress{
		Phase:      r.phase,
		Summary:    r.p.Summary,
		PlanSHA256: r.sha,
		Awaiting:   append([]string(nil), r.awaiting...),
		Audit:      append([]AuditEntry(nil), r.audit...),
		Outputs:    r.outputs,
		Leaked:     append([]Leak(nil), r.leaks...),
		Grant:      r.grantID,
		GrantError: r.grantErr,
		Drift:      r.drift,
		Change:     r.lastChange,
	}
	if r.trustV >= 1 && r.snap != nil {
		pt := r.planTrust
		p.Trust = &pt
	}
	for _, sr := range r.steps {
		sp := StepProgress{
			ID: sr.s.ID, Title: sr.s.Title, Action: sr.s.Action, State: sr.state,
			Attempts: sr.attempts, LastError: sr.lastErr, Observed: sr.observed,
			Awaiting:  append([]string(nil), sr.awaiting...),
			StartedAt: sr.started, EndedAt: sr.ended,
		}
		if r.trustV >= 1 && sr.s.Gate != nil && sr.s.Action == plan.ActionApproval && required(sr.s.Gate) > 1 {
			sp.Required = required(sr.s.Gate)
			for _, a := range sr.approvals {
				sp.Approvals = append(sp.Approvals, a.p.Name)
			}
		}
		if sr.fanout {
			sp.Items = len(sr.items)
			var outs []any
			var errs []string
			for _, it := range sr.items {
				if it.state == StepDone || it.state == StepCompensated || it.state == StepCompFailed {
					sp.ItemsDone++
				}
				if it.outputs != nil {
					outs = append(outs, map[string]any(it.outputs))
				} else {
					outs = append(outs, nil)
				}
				if it.lastErr != "" {
					errs = append(errs, it.key+": "+it.lastErr)
				}
			}
			if sp.ItemsPaged = len(sr.items) > MaxProgressItems; sp.ItemsDone > 0 && !sp.ItemsPaged {
				sp.Outputs = map[string]any{"items": outs} // else a page at a time (itemspage.go)
			}
			if sp.LastError == "" && len(errs) > 0 {
				sp.LastError = joinItemErrors(errs)
			}
		} else if sr.outputs != nil {
			sp.Outputs = copyMap(sr.outputs)
		}
		p.Steps = append(p.Steps, sp)
	}
	return p
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
