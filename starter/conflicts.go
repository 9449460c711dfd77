package main

import (
	"context"
	"fmt"
	"io"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// printClaims writes the plan's shared-resource section: what the request
// takes that another request could need, and whether the two can coexist
// (workflows/conflicts.go). Steps whose claim depends on run-time values are
// listed as checked when they run.
func printClaims(w io.Writer, p *plan.Plan) {
	claims := workflows.PlanClaims(p)
	known := map[string]bool{}
	for _, c := range claims {
		known[c.Step] = true
	}
	var later []string
	for _, s := range p.Steps {
		if !known[s.ID] && workflows.HasClaim(s.Action) {
			later = append(later, s.ID)
		}
	}
	if len(claims) == 0 && len(later) == 0 {
		return
	}
	fmt.Fprintln(w, "\nShared resources:")
	for _, c := range claims {
		how := "refused while another live request holds it"
		switch c.Mode {
		case workflows.ClaimShared:
			how = "coexists with other requests"
		case workflows.ClaimSame:
			how = "coexists with requests making the same change, refused for a different one"
		case workflows.ClaimNames:
			how = "refused when another live request's zone has the same or a nested name"
		}
		// Fits 120 columns as the plan table does: the resource, then why, wrapped.
		fmt.Fprintf(w, "  %s (step %s)\n", c.Resource, c.Step)
		for _, l := range wrap(how+": "+c.Why, 114) {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
	for _, id := range later {
		fmt.Fprintf(w, "  step %s: its resource is known when it runs; checked then, before its action\n", id)
	}
}

// planConflicts writes the conflicts of p with the live requests and
// reports whether there are any.
func planConflicts(ctx context.Context, w io.Writer, p *plan.Plan) (bool, error) {
	c, err := connect(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	cs, err := workflows.CheckConflicts(ctx, c, workflows.Request{Plan: *p})
	if err != nil {
		return false, fmt.Errorf("check against the live requests: %w", err)
	}
	if len(cs) == 0 {
		fmt.Fprintln(w, "\nConflicts with live requests: none")
		return false, nil
	}
	fmt.Fprintln(w, "\nConflicts with live requests (apply refuses this plan):")
	for _, x := range cs {
		fmt.Fprintf(w, "  %s\n", x.Error())
	}
	return true, nil
}
