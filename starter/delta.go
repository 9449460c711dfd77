package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// deltaRow is one step of plan --against: what a changed spec would add,
// change, remove or keep relative to what the Done request created.
type deltaRow struct {
	Change string `json:"change"` // add, change, remove, keep
	Step   string `json:"step"`
	Action string `json:"action"`
	// Detail says what differs (change), or how many units exist (remove, keep).
	Detail string `json:"detail,omitempty"`
	// Units is how many units (the step, or its fan-out items) were created.
	Units int `json:"units,omitempty"`
}

// delta compares a newly compiled plan with a grant's record, step by step
// in the new plan's order, then the removed steps in the old plan's order.
func delta(g workflows.GrantRecord, p *plan.Plan) []deltaRow {
	old := map[string]*plan.Step{}
	for i := range g.Request.Plan.Steps {
		old[g.Request.Plan.Steps[i].ID] = &g.Request.Plan.Steps[i]
	}
	units := map[string]int{}
	for _, u := range g.Done {
		units[u.Step]++
	}
	var rows []deltaRow
	seen := map[string]bool{}
	for i := range p.Steps {
		s := &p.Steps[i]
		seen[s.ID] = true
		o, ok := old[s.ID]
		if !ok {
			rows = append(rows, deltaRow{Change: "add", Step: s.ID, Action: s.Action})
			continue
		}
		if diffs := stepDiffs(o, s); len(diffs) > 0 {
			rows = append(rows, deltaRow{Change: "change", Step: s.ID, Action: s.Action, Detail: strings.Join(diffs, "; "), Units: units[s.ID]})
			continue
		}
		rows = append(rows, deltaRow{Change: "keep", Step: s.ID, Action: s.Action, Units: units[s.ID]})
	}
	for i := range g.Request.Plan.Steps {
		s := &g.Request.Plan.Steps[i]
		if !seen[s.ID] {
			d := "nothing to undo"
			if s.Compensation != nil && units[s.ID] > 0 {
				d = "undo with " + s.Compensation.Action
			}
			rows = append(rows, deltaRow{Change: "remove", Step: s.ID, Action: s.Action, Detail: d, Units: units[s.ID]})
		}
	}
	return rows
}

// stepDiffs names what differs between two versions of a step.
func stepDiffs(o, n *plan.Step) []string {
	var out []string
	if o.Action != n.Action {
		out = append(out, fmt.Sprintf("action %s → %s", o.Action, n.Action))
	}
	if o.Account != n.Account {
		out = append(out, fmt.Sprintf("account %s → %s", o.Account, n.Account))
	}
	keys := map[string]bool{}
	for k := range o.Inputs {
		keys[k] = true
	}
	for k := range n.Inputs {
		keys[k] = true
	}
	var changed []string
	for k := range keys {
		if jsonOf(o.Inputs[k]) != jsonOf(n.Inputs[k]) {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		out = append(out, "inputs "+strings.Join(changed, ", "))
	}
	for _, f := range []struct {
		name string
		o, n any
	}{{"forEach", o.ForEach, n.ForEach}, {"dependsOn", o.DependsOn, n.DependsOn}, {"when", o.When, n.When},
		{"wait", o.Wait, n.Wait}, {"gate", o.Gate, n.Gate}, {"compensation", o.Compensation, n.Compensation}, {"locks", o.Locks, n.Locks}} {
		if jsonOf(f.o) != jsonOf(f.n) {
			out = append(out, f.name)
		}
	}
	return out
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// runDelta prints plan FILE --against REQUEST.
func runDelta(ctx context.Context, w io.Writer, p *plan.Plan, against string) error {
	id, err := resolveWorkflowID(against)
	if err != nil {
		return err
	}
	id = strings.TrimSuffix(id, "/grant")
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	gid := workflows.GrantWorkflowID(id)
	if err := revocable(ctx, c, id, gid); err != nil {
		return fmt.Errorf("plan --against: %w", err)
	}
	g, err := grantRecord(ctx, c, gid)
	if err != nil {
		return err
	}
	if workflows.WorkflowID(p.Source) != id {
		return usageError{fmt.Sprintf("plan --against %s: the spec is %s, another request", id, workflows.WorkflowID(p.Source))}
	}
	rows := delta(g, p)
	sha, _ := p.Hash()
	if globals.Output == "json" {
		return emitJSON(w, map[string]any{"workflowId": id, "grant": gid, "donePlanSha256": g.Request.PlanSHA256,
			"planSha256": sha, "same": sha == g.Request.PlanSHA256, "steps": rows})
	}
	if sha == g.Request.PlanSHA256 {
		fmt.Fprintf(w, "No change: %s compiles to the plan %s is Done with (sha256:%.12s).\n", p.Source.Name, id, sha)
		return nil
	}
	fmt.Fprintf(w, "Against %s (Done, plan %.12s): this spec compiles to plan %.12s\n", id, g.Request.PlanSHA256, sha)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tSTEP\tACTION\tCREATED\tDETAIL")
	n := map[string]int{}
	for _, r := range rows {
		n[r.Change]++
		mark := map[string]string{"add": "+", "change": "~", "remove": "-", "keep": " "}[r.Change]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", mark, r.Step, r.Action, r.Units, dash(r.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d to add, %d to change, %d to remove, %d unchanged. Fan-out items (e.g. per broker) are known when "+
		"the request's discovery runs; topoflow apply runs this as a delta (apply --refresh: the same spec against a changed cloud).\n",
		n["add"], n["change"], n["remove"], n["keep"])
	return nil
}

// grantRecord queries a grant for what it holds.
func grantRecord(ctx context.Context, c client.Client, gid string) (workflows.GrantRecord, error) {
	var g workflows.GrantRecord
	v, err := c.QueryWorkflow(ctx, gid, "", workflows.QueryGranted)
	if err != nil {
		return g, fmt.Errorf("query grant %s: %w", gid, rootCause(err))
	}
	if err := v.Get(&g); err != nil {
		return g, fmt.Errorf("decode grant %s: %w", gid, err)
	}
	return g, nil
}
