package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// What status reads from Temporal itself, without the worker: the request a
// run started with (the plan, its gates' instructions and deadlines), and,
// when no worker answers the progress query, a progress rebuilt from the
// search attributes and the history.

// maxHistoryEvents bounds the events read to rebuild a progress.
const maxHistoryEvents = 20000

// historyEvents iterates over a run's events, at most maxHistoryEvents.
func historyEvents(ctx context.Context, c client.Client, id, runID string, fn func(*historypb.HistoryEvent) bool) error {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for n := 0; it.HasNext() && n < maxHistoryEvents; n++ {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("read the history of %s: %w", id, err)
		}
		if !fn(ev) {
			return nil
		}
	}
	return nil
}

// startedRequest reads the request the run started with (its first event).
func startedRequest(ctx context.Context, c client.Client, id, runID string) (*workflows.Request, error) {
	var req *workflows.Request
	var derr error
	err := historyEvents(ctx, c, id, runID, func(ev *historypb.HistoryEvent) bool {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			var r workflows.Request
			if derr = decodeFirst(a.GetInput(), &r); derr == nil {
				req = &r
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if req == nil {
		return nil, fmt.Errorf("the history of %s starts with no request: %v", id, derr)
	}
	return req, nil
}

// decodeFirst decodes the first payload of ps into v.
func decodeFirst(ps *commonpb.Payloads, v any) error {
	if ps == nil || len(ps.GetPayloads()) == 0 {
		return fmt.Errorf("no payload")
	}
	return converter.GetDefaultDataConverter().FromPayload(ps.GetPayloads()[0], v)
}

// progressFromHistory rebuilds a request's progress without its worker: the
// phase and who must act from the search attributes; the steps from the
// result (a finished request) or from the plan and the activities in the
// history (a running one). It may lag behind what the worker knows.
func progressFromHistory(ctx context.Context, c client.Client, id string, desc *workflowservice.DescribeWorkflowExecutionResponse) (workflows.Progress, error) {
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	sa := info.GetSearchAttributes().GetIndexedFields()
	p := workflows.Progress{
		Phase:    saString(sa, workflows.SAPhase.GetName()),
		Awaiting: saStrings(sa, workflows.SAAwaiting.GetName()),
	}
	if sha, err := workflows.PlanSHA256FromMemo(info.GetMemo()); err == nil {
		p.PlanSHA256 = sha
	}
	var req *workflows.Request
	index := map[string]int{}     // step ID → position in p.Steps
	forward := map[int64]string{} // scheduled event → step of a forward activity
	undo := map[int64]string{}    // scheduled event → step of a compensation
	open := map[string]int{}
	var final *workflows.Progress
	err := historyEvents(ctx, c, id, runID, func(ev *historypb.HistoryEvent) bool {
		switch {
		case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
			var r workflows.Request
			if decodeFirst(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &r) == nil {
				req = &r
				p.Summary = r.Plan.Summary
				if p.PlanSHA256 == "" {
					p.PlanSHA256 = r.PlanSHA256
				}
				for _, s := range r.Plan.Steps {
					index[s.ID] = len(p.Steps)
					p.Steps = append(p.Steps, workflows.StepProgress{ID: s.ID, Title: s.Title, Action: s.Action, State: workflows.StepPending})
				}
			}
		case ev.GetActivityTaskScheduledEventAttributes() != nil && req != nil:
			a := ev.GetActivityTaskScheduledEventAttributes()
			step, ok := activityStep(id, a.GetInput())
			i, known := index[step]
			if !ok || !known {
				break
			}
			s := req.Plan.Steps[i]
			typ := a.GetActivityType().GetName()
			if c := s.Compensation; c != nil && (typ == c.Action || (typ == plan.ActionWait && c.WaitAction != "")) && p.Steps[i].State != workflows.StepRunning && p.Steps[i].State != workflows.StepPending {
				undo[ev.GetEventId()] = step
				break
			}
			forward[ev.GetEventId()] = step
			open[step]++
			p.Steps[i].State = workflows.StepRunning
			if p.Steps[i].StartedAt.IsZero() {
				p.Steps[i].StartedAt = ev.GetEventTime().AsTime()
			}
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			sched := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
			if step, ok := forward[sched]; ok {
				i := index[step]
				open[step]--
				p.Steps[i].LastError = ""
				if open[step] == 0 {
					p.Steps[i].State = workflows.StepDone
					p.Steps[i].EndedAt = ev.GetEventTime().AsTime()
				}
			} else if step, ok := undo[sched]; ok {
				p.Steps[index[step]].State = workflows.StepCompensated
			}
		case ev.GetActivityTaskFailedEventAttributes() != nil:
			a := ev.GetActivityTaskFailedEventAttributes()
			if step, ok := forward[a.GetScheduledEventId()]; ok {
				i := index[step]
				open[step]--
				p.Steps[i].State = workflows.StepFailed
				p.Steps[i].LastError = a.GetFailure().GetMessage()
			} else if step, ok := undo[a.GetScheduledEventId()]; ok {
				p.Steps[index[step]].LastError = "compensation: " + a.GetFailure().GetMessage()
			}
		case ev.GetActivityTaskTimedOutEventAttributes() != nil:
			a := ev.GetActivityTaskTimedOutEventAttributes()
			if step, ok := forward[a.GetScheduledEventId()]; ok {
				i := index[step]
				open[step]--
				p.Steps[i].State = workflows.StepFailed
				p.Steps[i].LastError = a.GetFailure().GetMessage()
			}
		case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
			var res workflows.Result
			if decodeFirst(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res) == nil {
				phase := workflows.PhaseDone
				if res.Outcome == workflows.OutcomeRolledBack {
					phase = workflows.PhaseRolledBack // completed rolled back (workflows/outcome.go)
				}
				// Only requests before the summary result carry their steps in it.
				steps := res.Steps
				if len(steps) == 0 {
					steps = p.Steps
				}
				final = &workflows.Progress{Phase: phase, Steps: steps, Outputs: res.Outputs}
			}
		case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
			// A rolled-back or failed request's error carries its final progress.
			var fp workflows.Progress
			if decodeFirst(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetApplicationFailureInfo().GetDetails(), &fp) == nil && len(fp.Steps) > 0 {
				final = &fp
			}
		}
		return true
	})
	if err != nil {
		return p, err
	}
	if req == nil {
		return p, fmt.Errorf("the history of %s starts with no request", id)
	}
	if final != nil {
		if final.Phase == "" {
			final.Phase = p.Phase
		}
		final.Summary, final.PlanSHA256 = p.Summary, p.PlanSHA256
		return *final, nil
	}
	// Gates: waiting when the request waits for people and every dependency
	// is done; done once a later step ran.
	waitingPhase := p.Phase == workflows.PhaseWaitingApproval || p.Phase == workflows.PhaseWaitingManual
	for i, s := range req.Plan.Steps {
		if s.Gate == nil {
			continue
		}
		ready := true
		for _, d := range s.DependsOn {
			if j, ok := index[d]; ok && p.Steps[j].State != workflows.StepDone && p.Steps[j].State != workflows.StepSkipped {
				ready = false
			}
		}
		for _, later := range req.Plan.Steps[i+1:] {
			if st := p.Steps[index[later.ID]].State; st != workflows.StepPending && contains(later.DependsOn, s.ID) {
				p.Steps[i].State = workflows.StepDone
			}
		}
		if p.Steps[i].State == workflows.StepPending && ready && waitingPhase {
			p.Steps[i].State = workflows.StepWaiting
			p.Steps[i].Awaiting = p.Awaiting
		}
	}
	// What the pending activities say now (attempts, last failure).
	for _, pa := range desc.GetPendingActivities() {
		for i := range p.Steps {
			if p.Steps[i].State == workflows.StepRunning && p.Steps[i].Action == pa.GetActivityType().GetName() {
				p.Steps[i].Attempts = int(pa.GetAttempt())
				if f := pa.GetLastFailure(); f != nil {
					p.Steps[i].LastError = f.GetMessage()
				}
			}
		}
	}
	return p, nil
}

// activityStep reads the step ID from an activity's input: the call's
// idempotency key is "<workflowID>/<stepID>[/<item>]" (plan.Call, or the
// call inside a plan.WaitCall).
func activityStep(id string, input *commonpb.Payloads) (string, bool) {
	var in struct {
		IdempotencyKey string `json:"idempotencyKey"`
		Call           struct {
			IdempotencyKey string `json:"idempotencyKey"`
		} `json:"call"`
	}
	if decodeFirst(input, &in) != nil {
		return "", false
	}
	key := in.IdempotencyKey
	if key == "" {
		key = in.Call.IdempotencyKey
	}
	rest, ok := stepKeyRest(key, id)
	if !ok {
		return "", false
	}
	step, _, _ := strings.Cut(rest, "/")
	return step, step != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// printGates writes, for each gate waiting for people, who may act, the
// deadline and what an expired one means, the instructions, and the
// commands to act.
func printGates(w io.Writer, id string, p workflows.Progress, pl *plan.Plan, now time.Time) {
	if pl == nil {
		return
	}
	for _, s := range p.Steps {
		if s.State != workflows.StepWaiting {
			continue
		}
		ps := pl.Step(s.ID)
		if ps == nil || ps.Gate == nil {
			continue
		}
		g := ps.Gate
		what := "Approval"
		if ps.Action == plan.ActionManual {
			what = "Manual task"
		}
		fmt.Fprintf(w, "\n%s %s\n", what, s.ID)
		who := s.Awaiting
		if len(who) == 0 {
			who = g.Who
		}
		fmt.Fprintf(w, "  Who       %s\n", strings.Join(who, ", "))
		if g.Deadline > 0 {
			exp := g.OnExpiry
			if exp == "" {
				exp = plan.ExpireReject
			}
			then := "rejected"
			if exp == plan.ExpireApprove {
				then = "approved"
			}
			if s.StartedAt.IsZero() {
				fmt.Fprintf(w, "  Deadline  %s after the step opened, then %s\n", time.Duration(g.Deadline), then)
			} else {
				at := s.StartedAt.Add(time.Duration(g.Deadline))
				left := at.Sub(now).Truncate(time.Minute)
				when := "in " + strings.TrimSuffix(left.String(), "0s")
				if left <= 0 {
					when = "passed"
				}
				fmt.Fprintf(w, "  Deadline  %s (%s), then %s\n", at.Local().Format(time.DateTime), when, then)
			}
		} else {
			fmt.Fprintln(w, "  Deadline  none")
		}
		if g.Instructions != "" {
			fmt.Fprintln(w, "  Instructions")
			for _, para := range strings.Split(strings.TrimSpace(g.Instructions), "\n") {
				if strings.TrimSpace(para) == "" {
					fmt.Fprintln(w)
					continue
				}
				for _, l := range wrap(para, narrowWidth-4) {
					fmt.Fprintln(w, "    "+l)
				}
			}
		}
		actor := "IDENTITY"
		if len(who) > 0 {
			actor = who[0]
		}
		if ps.Action == plan.ActionManual {
			fmt.Fprintf(w, "  Act       topoflow complete %s --step %s --as %s\n", id, s.ID, actor)
		} else {
			fmt.Fprintf(w, "  Act       topoflow approve %s --step %s --as %s --comment ...\n", id, s.ID, actor)
			fmt.Fprintf(w, "            topoflow reject %s --step %s --as %s --comment ...\n", id, s.ID, actor)
		}
	}
}

// Where a status came from.
const (
	sourceWorker  = "worker"
	sourceHistory = "history"
)

// statusProgress asks the request's worker for its progress and, when no
// worker answers (none polls the request's task queue, or the query gets no
// answer), rebuilds it from the search attributes and the history instead.
func statusProgress(ctx context.Context, c client.Client, id string, desc *workflowservice.DescribeWorkflowExecutionResponse) (workflows.Progress, string, error) {
	tq := desc.GetWorkflowExecutionInfo().GetTaskQueue()
	if tq == "" || workerPolling(ctx, c, tq) {
		p, err := queryProgress(ctx, c, id)
		if err == nil {
			return p, sourceWorker, nil
		}
		if strings.HasPrefix(err.Error(), "no request ") {
			return p, "", err
		}
		hp, herr := progressFromHistory(ctx, c, id, desc)
		if herr != nil {
			return p, "", fmt.Errorf("%w (and from the history: %v)", err, herr)
		}
		return hp, sourceHistory, nil
	}
	p, err := progressFromHistory(ctx, c, id, desc)
	if err != nil {
		return p, "", err
	}
	return p, sourceHistory, nil
}

// pollerFreshness is how recently a worker must have polled to count as up:
// a worker's long polls last about a minute.
const pollerFreshness = 2 * time.Minute

// workerPolling reports whether a worker polled the task queue recently
// (true when it cannot tell).
func workerPolling(ctx context.Context, c client.Client, taskQueue string) bool {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.DescribeTaskQueue(dctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return true
	}
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) < pollerFreshness {
			return true
		}
	}
	return false
}

// gatesOf prints the waiting gates' details from the plan the run started with.
func gatesOf(ctx context.Context, c client.Client, id, runID string, w io.Writer, p workflows.Progress) {
	waiting := false
	for _, s := range p.Steps {
		waiting = waiting || s.State == workflows.StepWaiting
	}
	if !waiting {
		return
	}
	req, err := startedRequest(ctx, c, id, runID)
	if err != nil {
		fmt.Fprintf(w, "\n(cannot read the gates' instructions: %v)\n", err)
		return
	}
	printGates(w, id, p, &req.Plan, time.Now())
}
