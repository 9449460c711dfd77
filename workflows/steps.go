package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Defaults of action activities when the plan does not say.
const (
	DefaultAttemptTimeout = 5 * time.Minute
	DefaultMaxAttempts    = 5
	// WaitHeartbeatTimeout is the heartbeat timeout of waits: the wait
	// activity heartbeats at least every 10s, whatever its poll interval.
	WaitHeartbeatTimeout = time.Minute
)

func retryPolicy(rp *plan.Retry, def temporal.RetryPolicy) *temporal.RetryPolicy {
	out := def
	out.NonRetryableErrorTypes = append([]string(nil), plan.NonRetryableErrors...)
	if rp == nil {
		return &out
	}
	if rp.InitialInterval > 0 {
		out.InitialInterval = rp.InitialInterval.Std()
	}
	if rp.BackoffCoefficient >= 1 {
		out.BackoffCoefficient = rp.BackoffCoefficient
	}
	if rp.MaximumInterval > 0 {
		out.MaximumInterval = rp.MaximumInterval.Std()
	}
	out.MaximumAttempts = int32(rp.MaximumAttempts)
	out.NonRetryableErrorTypes = append(out.NonRetryableErrorTypes, rp.NonRetryable...)
	return &out
}

var defaultActionRetry = temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    DefaultMaxAttempts,
}

// actionOptions are the activity options of a step's action.
func actionOptions(s *plan.Step) workflow.ActivityOptions {
	ao := workflow.ActivityOptions{
		StartToCloseTimeout:    DefaultAttemptTimeout,
		ScheduleToCloseTimeout: s.Timeout.Std(),
		RetryPolicy:            retryPolicy(s.Retry, defaultActionRetry),
		Summary:                s.Title,
	}
	if s.AttemptTimeout > 0 {
		ao.StartToCloseTimeout = s.AttemptTimeout.Std()
	}
	return ao
}

// waitOptions are the activity options of a wait: one activity execution for
// the whole wait, bounded by the contract's timeout (plus one poll interval
// and a margin, so the activity's own typed WaitTimeout normally wins).
func waitOptions(title string, c plan.Wait) workflow.ActivityOptions {
	total := c.Timeout.Std() + c.PollInterval.Std() + 30*time.Second
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: total,
		StartToCloseTimeout:    total,
		HeartbeatTimeout:       WaitHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: plan.NonRetryableErrors,
		},
		WaitForCancellation: false,
		Summary:             title,
	}
}

// waitFailure mirrors activities/core.WaitFailure (the workflow package does
// not import activity code).
type waitFailure struct {
	LastStatus string `json:"lastStatus,omitempty"`
	Polls      int    `json:"polls"`
}

// wait runs the generic wait activity and reports the last observed status.
func (r *interp) wait(ctx workflow.Context, title string, call plan.Call, c plan.Wait, observe func(string)) (plan.Outputs, error) {
	wc, ao := plan.WaitCall{Call: call, Contract: c}, r.waitOptions(title, c)
	if r.pollsWithoutSlot(ctx, c) {
		wc.Poll, ao = true, pollWaitOptions(title, c) // pollwait.go
	}
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), plan.ActionWait, wc)
	var out plan.Outputs
	err := f.Get(ctx, &out)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errStopped
		}
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) && ae.HasDetails() {
			var wf waitFailure
			if ae.Details(&wf) == nil && wf.LastStatus != "" {
				observe(wf.LastStatus)
			}
		}
		return nil, err
	}
	path := c.StatusPath
	if path == "" {
		path = "status"
	}
	if st := lookupPath(out, path); st != nil {
		observe(fmt.Sprint(st))
	} else if g, _ := out["gone"].(bool); g {
		observe("gone")
	}
	return out, nil
}

func lookupPath(m map[string]any, path string) any {
	var cur any = m
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[path[start:i]]
		start = i + 1
	}
	return cur
}

// runGate waits for an approval or a manual completion.
func (r *interp) runGate(c cx, sr *stepRun) (plan.Outputs, error) {
	g := sr.s.Gate
	// A gate carried from the last run waits on from when it started, with
	// what it had counted (rollcan.go).
	since, approvals, decided := r.gateStart(c, sr)
	sr.decision = decided
	sr.approvals = approvals
	sr.awaiting = append([]string(nil), g.Who...)
	if r.trustV >= 1 {
		sr.awaiting = r.expand(g.Who)
		if len(approvals) > 0 {
			sr.awaiting = r.stillAwaiting(sr)
		}
		r.wantTrust(false)
	}
	sr.gateKind = PhaseWaitingApproval
	if sr.s.Action == plan.ActionManual {
		sr.gateKind = PhaseWaitingManual
	}
	sr.state = StepWaiting
	r.refresh("")
	defer func() {
		sr.awaiting = nil
		sr.gateKind = ""
	}()
	cond := func() bool { return sr.decision != nil || r.gatePaused() }
	if g.Deadline > 0 {
		ok := cond()
		var err error
		if left := g.Deadline.Std() - workflow.Now(c.work).Sub(since); left > 0 {
			ok, err = workflow.AwaitWithOptions(c.intr, workflow.AwaitOptions{
				Timeout:      left,
				TimerOptions: workflow.TimerOptions{Summary: "deadline of " + sr.s.Title},
			}, cond)
		}
		if err != nil {
			return nil, errStopped
		}
		if ok && sr.decision == nil {
			return nil, r.pauseGate(sr, since) // continue as new (rollcan.go)
		}
		if !ok {
			now := workflow.Now(c.work)
			policy := g.OnExpiry
			if policy == "" {
				policy = plan.ExpireReject
			}
			r.addAudit(AuditEntry{At: now, Action: "expire", Step: sr.s.ID, Identity: "topoflow",
				Comment: fmt.Sprintf("deadline of %s passed; policy %s", g.Deadline, policy)}, false)
			if policy == plan.ExpireReject {
				return nil, &errGateRejected{msg: fmt.Sprintf("%s expired after %s", sr.s.Action, g.Deadline)}
			}
			sr.decision = &gateDecision{kind: "expire", d: Decision{Step: sr.s.ID, Identity: "<expiry>"}, at: now}
		}
	} else if err := workflow.Await(c.intr, cond); err != nil {
		return nil, errStopped
	} else if sr.decision == nil {
		return nil, r.pauseGate(sr, since) // continue as new (rollcan.go)
	}
	d := sr.decision
	at := d.at.UTC().Format(time.RFC3339)
	switch d.kind {
	case UpdateReject:
		msg := "rejected by " + d.d.Identity
		if d.d.Comment != "" {
			msg += ": " + d.d.Comment
		}
		return nil, &errGateRejected{msg: msg}
	case UpdateComplete:
		data := d.d.Data
		if data == nil {
			data = map[string]any{}
		}
		return plan.Outputs{"completedBy": d.d.Identity, "comment": d.d.Comment, "at": at, "data": normalize(data)}, nil
	case "expire":
		if sr.s.Action == plan.ActionManual {
			return plan.Outputs{"completedBy": d.d.Identity, "comment": "", "at": at, "data": map[string]any{}}, nil
		}
	}
	if len(d.by) > 1 {
		// M-of-N: approvedBy lists every approver; approvers is the list.
		approvers := make([]any, len(d.by))
		for i, b := range d.by {
			approvers[i] = b
		}
		return plan.Outputs{"approvedBy": strings.Join(d.by, ", "), "approvers": approvers, "comment": d.d.Comment, "at": at}, nil
	}
	return plan.Outputs{"approvedBy": d.d.Identity, "comment": d.d.Comment, "at": at}, nil
}

// normalize round-trips a value through JSON so that it has the same shape
// (float64 numbers, []any lists) as values decoded from history on replay.
func normalize(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return m
	}
	return out
}
