package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// statusMermaid renders a running or finished request as the plan's Mermaid
// flowchart with each step coloured by its state (the palette of the Web
// UI's details, workflows.StyleOf) and its state in the label.
func statusMermaid(pl *plan.Plan, p workflows.Progress) string {
	byID := map[string]workflows.StepProgress{}
	for _, sp := range p.Steps {
		byID[sp.ID] = sp
	}
	stateOf := func(id string) string {
		if sp, ok := byID[id]; ok && sp.State != "" {
			return sp.State
		}
		return workflows.StepPending
	}
	var b strings.Builder
	b.WriteString(mermaid(pl, func(s *plan.Step) string {
		sp := byID[s.ID]
		label := workflows.StyleOf(stateOf(s.ID)).Emoji + " " + stateOf(s.ID)
		if sp.Items > 0 {
			label += fmt.Sprintf(" (%d/%d)", sp.ItemsDone, sp.Items)
		}
		if len(sp.Awaiting) > 0 {
			label += "<br/>waiting for " + strings.Join(sp.Awaiting, ", ")
		}
		return label
	}))
	// One class per state present, in a fixed order.
	members := map[string][]string{}
	for _, s := range pl.Steps {
		st := stateOf(s.ID)
		members[st] = append(members[st], mermaidNode(s.ID))
	}
	for _, st := range workflows.StepStates {
		if len(members[st]) == 0 {
			continue
		}
		style := workflows.StyleOf(st)
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s,stroke-width:2px\n", mermaidClass(st), style.Fill, style.Stroke)
		ids := members[st]
		sort.Strings(ids)
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), mermaidClass(st))
	}
	return b.String()
}

// mermaidNode is a step's node ID in Mermaid (as Mermaid draws it).
func mermaidNode(id string) string { return "s_" + strings.ReplaceAll(id, "-", "_") }

// mermaidClass is the class name of a step state.
func mermaidClass(state string) string { return "st_" + state }

// requestPlan reads the plan a request runs from its first history event
// (the interpreter's input).
func requestPlan(ctx context.Context, c client.Client, id, runID string) (*plan.Plan, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("request %s has no history", id)
	}
	ev, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("read the start of request %s: %w", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return nil, fmt.Errorf("request %s: its first event holds no input", id)
	}
	var req workflows.Request
	if err := converter.GetDefaultDataConverter().FromPayload(attrs.GetInput().GetPayloads()[0], &req); err != nil {
		return nil, fmt.Errorf("decode the plan of request %s: %w", id, err)
	}
	return &req.Plan, nil
}
