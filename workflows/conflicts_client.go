package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// ErrConflict is the application error type of a request refused because
// another live request holds a resource it needs.
const ErrConflict = "Conflict"

// ConflictsActivity is the activity the interpreter runs before its first
// step when its plan has claims: it refuses the request when an earlier live
// request holds one of them (input ConflictsInput, output []Conflict).
const ConflictsActivity = "topoflow.conflicts"

// ConflictsInput is the input of ConflictsActivity.
type ConflictsInput struct {
	Claims   []Claim `json:"claims"`
	Provider string  `json:"provider"`
	// Self is the asking request's workflow ID (never a conflict with itself).
	Self string `json:"self"`
	// StartedUnixNano is the asking request's start time: requests started
	// after it are ignored (the earlier of two requests keeps its claims).
	StartedUnixNano int64 `json:"startedUnixNano"`
}

// LiveQuery is the visibility query of the live requests of a provider:
// running ones, and finished ones whose access is in place (Done).
func LiveQuery(provider string) string {
	q := fmt.Sprintf("WorkflowType = '%s' AND (ExecutionStatus = 'Running' OR %s = '%s')", WorkflowType, SAPhase.GetName(), PhaseDone)
	if provider != "" {
		q += fmt.Sprintf(" AND %s = '%s'", SAProvider.GetName(), strings.ReplaceAll(provider, "'", ""))
	}
	return q
}

// A Done request hands what it created to its grant workflow
// ("<request ID>/grant", type topoflow.Grant, issue 16); once the grant is
// Revoked the request holds nothing any more. (Names spelled out here so this
// file builds before and after that code meets it.)
const (
	grantTypeName     = "topoflow.Grant"
	grantSuffix       = "/grant"
	grantRevokedPhase = "Revoked"
)

// revokedRequests lists the requests whose grant was revoked, and the
// claims the others' grants say they still hold (after a partial revoke or
// a change: the grant's MemoHeldClaims, grant_claims.go; absent: the request's).
func revokedRequests(ctx context.Context, c client.Client) (map[string]bool, map[string][]Claim, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", grantTypeName)
	out := map[string]bool{}
	held := map[string][]Claim{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, nil, fmt.Errorf("list grants (%s): %w", q, err)
		}
		for _, info := range resp.GetExecutions() {
			req := strings.TrimSuffix(info.GetExecution().GetWorkflowId(), grantSuffix)
			var phase string
			if f := info.GetSearchAttributes().GetIndexedFields()[SAPhase.GetName()]; f != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(f, &phase)
			}
			if phase == grantRevokedPhase {
				out[req] = true
				continue
			}
			if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue
			}
			if f := info.GetMemo().GetFields()[MemoHeldClaims]; f != nil {
				var hc HeldClaims
				if err := converter.GetDefaultDataConverter().FromPayload(f, &hc); err == nil {
					held[req] = append([]Claim{}, hc.Claims...)
				}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, held, nil
		}
	}
}

// LiveHolders lists the live requests of provider with their claims, which
// are derived from each request's plan (read from its start event, so
// requests started before claims existed are covered too). A Done request
// whose grant was revoked is not live.
func LiveHolders(ctx context.Context, c client.Client, provider string) ([]Holder, error) {
	revoked, held, err := revokedRequests(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []Holder
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: LiveQuery(provider), NextPageToken: token, PageSize: 200})
		if err != nil {
			return nil, fmt.Errorf("list live requests (%s): %w", LiveQuery(provider), err)
		}
		for _, info := range resp.GetExecutions() {
			h := Holder{WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId(),
				StartedUnixNano: info.GetStartTime().AsTime().UnixNano()}
			if f := info.GetSearchAttributes().GetIndexedFields()[SAPhase.GetName()]; f != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(f, &h.Phase)
			}
			if h.Phase == PhaseDone && revoked[h.WorkflowID] {
				continue
			}
			// The memo holds the claims and the requester (StartOptions, and
			// the claims resolved at run time); older requests' are read
			// from their start event.
			fields := info.GetMemo().GetFields()
			if f := fields[MemoClaims]; f != nil && fields[MemoRequestedBy] != nil {
				if err := converter.GetDefaultDataConverter().FromPayload(f, &h.Claims); err != nil {
					return nil, fmt.Errorf("decode the claims of %s: %w", h.WorkflowID, err)
				}
				_ = converter.GetDefaultDataConverter().FromPayload(fields[MemoRequestedBy], &h.RequestedBy)
			} else {
				req, err := startRequest(ctx, c, h.WorkflowID, h.RunID)
				if err != nil {
					return nil, err
				}
				h.RequestedBy = req.RequestedBy
				h.Claims = PlanClaims(&req.Plan)
				if f != nil {
					var ran []Claim
					if err := converter.GetDefaultDataConverter().FromPayload(f, &ran); err == nil {
						h.Claims = mergeClaims(h.Claims, ran)
					}
				}
			}
			if cs, ok := held[h.WorkflowID]; ok && h.Phase == PhaseDone {
				h.Claims = cs // what its grant still holds
			}
			out = append(out, h)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	// Done requests past the namespace's retention hold through their grant (conflicts_grants.go).
	known := map[string]bool{}
	for _, h := range out {
		known[h.WorkflowID] = true
	}
	for id := range revoked {
		known[id] = true
	}
	more, err := grantHolders(ctx, c, provider, known)
	if err != nil {
		return nil, err
	}
	for i := range more {
		if cs, ok := held[more[i].WorkflowID]; ok {
			more[i].Claims = cs // what its grant still holds (a partial revoke or a change)
		}
	}
	return append(out, more...), nil
}

// startRequest reads a run's Request from its first history event (requests
// started before StartOptions put the claims in the memo).
func startRequest(ctx context.Context, c client.Client, id, run string) (Request, error) {
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return Request{}, fmt.Errorf("request %s (run %s) has no history", id, run)
	}
	ev, err := it.Next()
	if err != nil {
		return Request{}, fmt.Errorf("read the start of request %s: %w", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return Request{}, fmt.Errorf("request %s (run %s): first event is not a start with input", id, run)
	}
	var req Request
	if err := converter.GetDefaultDataConverter().FromPayload(attrs.GetInput().GetPayloads()[0], &req); err != nil {
		return Request{}, fmt.Errorf("decode the request of %s: %w", id, err)
	}
	return req, nil
}

// CheckConflicts returns the conflicts of the plan of req with the live
// requests (the apply-time check; nil when there are none).
func CheckConflicts(ctx context.Context, c client.Client, req Request) ([]Conflict, error) {
	mine := PlanClaims(&req.Plan)
	if len(mine) == 0 {
		return nil, nil
	}
	others, err := LiveHolders(ctx, c, req.Plan.Provider)
	if err != nil {
		return nil, err
	}
	return FindConflicts(mine, WorkflowID(req.Plan.Source), 0, others), nil
}

// ConflictsError joins conflicts into one refusal.
func ConflictsError(cs []Conflict) error {
	if len(cs) == 0 {
		return nil
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Error())
	}
	return errors.New(strings.Join(parts, "; "))
}

// RegisterConflicts registers ConflictsActivity, which asks c's visibility.
func RegisterConflicts(r worker.ActivityRegistry, c client.Client) {
	r.RegisterActivityWithOptions(func(ctx context.Context, in ConflictsInput) ([]Conflict, error) {
		others, err := LiveHolders(ctx, c, in.Provider)
		if err != nil {
			return nil, err
		}
		cs := FindConflicts(in.Claims, in.Self, in.StartedUnixNano, others)
		if len(cs) > 0 {
			activity.GetLogger(ctx).Info("request refused: another live request holds what it needs", "conflicts", len(cs))
			return cs, temporal.NewNonRetryableApplicationError("refused: "+ConflictsError(cs).Error(), ErrConflict, nil, cs)
		}
		return nil, nil
	}, activity.RegisterOptions{Name: ConflictsActivity})
	registerSharedHolders(r, c) // samechange.go
}

// mergeClaims appends the claims of more that a does not have.
func mergeClaims(a, more []Claim) []Claim {
	for _, c := range more {
		if !slices.Contains(a, c) {
			a = append(a, c)
		}
	}
	return a
}
