package workflows

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Done requests after the namespace's retention. A Done request's workflow
// is closed, so Temporal deletes it once the namespace's retention has
// passed; its grant workflow ("<request ID>/grant") runs until it is revoked
// and carries the request's plan and the steps' final inputs and lock keys
// (GrantRecord, also across continue-as-new). The live requests are
// therefore also read from the running grants whose request Temporal no
// longer lists: their claims are the plan's and those of the done steps.

// grantHolders lists, as Done holders, the requests of the running grants of
// provider that are not in known.
func grantHolders(ctx context.Context, c client.Client, provider string, known map[string]bool) ([]Holder, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", GrantWorkflowType)
	if provider != "" {
		q += fmt.Sprintf(" AND %s = '%s'", SAProvider.GetName(), strings.ReplaceAll(provider, "'", ""))
	}
	var out []Holder
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 200})
		if err != nil {
			return nil, fmt.Errorf("list running grants (%s): %w", q, err)
		}
		for _, info := range resp.GetExecutions() {
			id := strings.TrimSuffix(info.GetExecution().GetWorkflowId(), grantSuffix)
			if known[id] {
				continue
			}
			g, err := grantRecord(ctx, c, info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId())
			if err != nil {
				return nil, err
			}
			out = append(out, Holder{WorkflowID: id, RunID: g.RequestRunID, RequestedBy: g.Request.RequestedBy, Phase: PhaseDone,
				Claims: grantClaims(g), StartedUnixNano: g.DoneAt.UnixNano()})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// grantRecord reads the GrantRecord a grant run started with.
func grantRecord(ctx context.Context, c client.Client, id, run string) (GrantRecord, error) {
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return GrantRecord{}, fmt.Errorf("grant %s (run %s) has no history", id, run)
	}
	ev, err := it.Next()
	if err != nil {
		return GrantRecord{}, fmt.Errorf("read the start of grant %s: %w", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return GrantRecord{}, fmt.Errorf("grant %s (run %s): first event is not a start with input", id, run)
	}
	var g GrantRecord
	if err := converter.GetDefaultDataConverter().FromPayload(attrs.GetInput().GetPayloads()[0], &g); err != nil {
		return GrantRecord{}, fmt.Errorf("decode the record of grant %s: %w", id, err)
	}
	return g, nil
}

// grantClaims are the claims of a granted request: its plan's, and those of
// its done steps with their final inputs and lock keys.
func grantClaims(g GrantRecord) []Claim {
	claims := PlanClaims(&g.Request.Plan)
	steps := g.Steps
	if g.Units != nil {
		// A packed record (record.go): its steps hold the same inputs and keys.
		if pu, err := g.Units.unpack(); err == nil {
			steps = pu.Steps
		}
	}
	for _, gs := range steps {
		s := g.Request.Plan.Step(gs.ID)
		if s == nil || gs.State != StepDone || s.ForEach != nil {
			continue
		}
		if c, ok := StepClaim(s, gs.Inputs, gs.Keys); ok {
			claims = mergeClaims(claims, []Claim{c})
		}
	}
	return claims
}
