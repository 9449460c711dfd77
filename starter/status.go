package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/workflows"
)

func init() {
	var uiURL string
	status := &cobra.Command{
		Use:   "status REQUEST",
		Short: "Show a request's phase, who must act, and its steps",
		Long: `Status queries a request (a workflow ID, Kind/Name, or the spec file) for its
progress: the phase, who must act next, a table of steps (state, attempts, last
observed cloud status or last error), outputs, audit trail and leaked
resources. The request's worker must be running to answer. --output mermaid
draws the plan's flowchart with each step coloured by its state.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := resolveWorkflowID(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			desc, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				return fmt.Errorf("describe request %s: %w", id, err)
			}
			p, source, err := statusProgress(ctx, c, id, desc)
			if err != nil {
				return err
			}
			mergeLiveWaits(id, desc, &p)
			info := desc.GetWorkflowExecutionInfo()
			st := statusName(info.GetStatus())
			link := uiLink(uiBase(uiURL), id)
			if globals.Output == "json" {
				if source == sourceWorker {
					if err := fillPagedItems(ctx, c, id, &p); err != nil { // items.go
						return err
					}
				}
				return emitJSON(cmd.OutOrStdout(), struct {
					WorkflowID string `json:"workflowId"`
					RunID      string `json:"runId"`
					Status     string `json:"status"`
					UIURL      string `json:"uiUrl,omitempty"`
					Source     string `json:"source"`
					workflows.Progress
				}{id, info.GetExecution().GetRunId(), st, link, source, p})
			}
			if globals.Output == "mermaid" {
				pl, err := requestPlan(ctx, c, id, info.GetExecution().GetRunId())
				if err != nil {
					return err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), statusMermaid(pl, p))
				return err
			}
			printStatus(cmd.OutOrStdout(), id, st, link, p, func(w io.Writer) {
				gatesOf(ctx, c, id, info.GetExecution().GetRunId(), w, p)
				if source == sourceHistory {
					fmt.Fprintf(w, "\nNote: no worker answers on task queue %s: this progress was rebuilt from the request's\n"+
						"search attributes and history and may lag behind (start a worker, e.g. make dev, to move it on).\n", info.GetTaskQueue())
				}
			})
			return nil
		},
	}
	status.Flags().StringVar(&uiURL, "ui-url", "", "Web UI base URL (env TOPOFLOW_UI_URL; default: frontend port + 1000)")
	rootCmd.AddCommand(status)

	var f listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List requests, filtered by the Topoflow search attributes",
		Long: `List finds Topoflow requests with Temporal's visibility queries on the search
attributes the interpreter keeps up to date: TopoflowPhase, TopoflowKind,
TopoflowSpec, TopoflowProvider and TopoflowAwaiting. --query adds a raw
visibility clause (e.g. "StartTime > '2026-01-01T00:00:00Z'").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.phase != "" {
				p, err := canonicalPhase(f.phase)
				if err != nil {
					return err
				}
				f.phase = p
			}
			q := f.query()
			ctx := cmd.Context()
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			rows, err := listRequests(ctx, c, q, f.limit)
			if err != nil {
				return err
			}
			if globals.Output == "json" {
				if rows == nil {
					rows = []listRow{}
				}
				return emitJSON(cmd.OutOrStdout(), rows)
			}
			return printList(cmd.OutOrStdout(), rows, globals.Output == "wide")
		},
	}
	list.Flags().StringVar(&f.phase, "phase", "", "only requests in this phase (Running, WaitingApproval, WaitingManual, Parked, RollingBack, Done, RolledBack, Failed; grants: Granted, Drifted, Changing, Revoking, Revoked)")
	list.Flags().StringVar(&f.kind, "kind", "", "only specs of this kind (KafkaAccess, Workflow)")
	list.Flags().StringVar(&f.spec, "spec", "", "only the spec with this metadata.name")
	list.Flags().StringVar(&f.provider, "provider", "", "only requests on this provider (huawei, aws, azure)")
	list.Flags().StringVar(&f.awaiting, "awaiting", "", "only requests waiting for this identity")
	list.Flags().BoolVar(&f.open, "open", false, "only running requests")
	list.Flags().BoolVar(&f.drifted, "drifted", false, "only grants of Done requests whose last drift check failed (their workflow IDs end in /grant)")
	list.Flags().StringVar(&f.raw, "query", "", "extra visibility query clause, ANDed")
	list.Flags().IntVar(&f.limit, "limit", 100, "maximum number of requests")
	rootCmd.AddCommand(list)
}

// listFlags are the filters of list.
type listFlags struct {
	phase, kind, spec, provider, awaiting, raw string
	open, drifted                              bool
	limit                                      int
}

// query builds the visibility query.
func (f listFlags) query() string {
	clauses := []string{fmt.Sprintf("WorkflowType = %s", quoteVis(workflows.WorkflowType))}
	if f.drifted {
		clauses = []string{fmt.Sprintf("WorkflowType = %s", quoteVis(workflows.GrantWorkflowType)),
			fmt.Sprintf("%s = %s", workflows.SAPhase.GetName(), quoteVis(workflows.PhaseDrifted))}
	}
	add := func(name, v string) {
		if v != "" {
			clauses = append(clauses, fmt.Sprintf("%s = %s", name, quoteVis(v)))
		}
	}
	add(workflows.SAPhase.GetName(), f.phase)
	add(workflows.SAKind.GetName(), f.kind)
	add(workflows.SASpec.GetName(), f.spec)
	add(workflows.SAProvider.GetName(), f.provider)
	add(workflows.SAAwaiting.GetName(), f.awaiting)
	if f.open {
		clauses = append(clauses, "ExecutionStatus = 'Running'")
	}
	if f.raw != "" {
		clauses = append(clauses, "("+f.raw+")")
	}
	return strings.Join(clauses, " AND ")
}

// phases are the values of the TopoflowPhase search attribute.
var phases = []string{
	workflows.PhaseRunning, workflows.PhaseWaitingApproval, workflows.PhaseWaitingManual, workflows.PhaseParked,
	workflows.PhaseRollingBack, workflows.PhaseDone, workflows.PhaseRolledBack, workflows.PhaseFailed,
	// The phases of a Done request's grant (workflow ID REQUEST/grant).
	workflows.PhaseGranted, workflows.PhaseDrifted, workflows.PhaseChanging, workflows.PhaseRevoking, workflows.PhaseRevoked,
}

// canonicalPhase matches a phase case-insensitively ("parked" is Parked):
// the search attribute is a case-sensitive Keyword, so a phase in another
// case would silently match nothing.
func canonicalPhase(s string) (string, error) {
	for _, p := range phases {
		if strings.EqualFold(p, s) {
			return p, nil
		}
	}
	return "", fmt.Errorf("--phase %q is not a phase; use one of %s", s, strings.Join(phases, ", "))
}

// quoteVis quotes a string literal of a visibility query.
func quoteVis(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// listRow is one request in list's output.
type listRow struct {
	WorkflowID string   `json:"workflowId"`
	RunID      string   `json:"runId"`
	Status     string   `json:"status"`
	Phase      string   `json:"phase,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Spec       string   `json:"spec,omitempty"`
	Provider   string   `json:"provider,omitempty"`
	Awaiting   []string `json:"awaiting,omitempty"`
	// Summary and Labels are the plan's summary and metadata.labels (from
	// the memo: requests started before they were kept there have none).
	Summary   string            `json:"summary,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	StartTime time.Time         `json:"startTime"`
	CloseTime time.Time         `json:"closeTime,omitzero"`
}

func listRequests(ctx context.Context, c interface {
	ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}, q string, limit int) ([]listRow, error) {
	var rows []listRow
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: globals.Namespace, Query: q, NextPageToken: token, PageSize: int32(min(limit, 1000)),
		})
		if err != nil {
			return nil, fmt.Errorf("list requests (%s): %w", q, err)
		}
		for _, e := range resp.GetExecutions() {
			sa := e.GetSearchAttributes().GetIndexedFields()
			r := listRow{
				WorkflowID: e.GetExecution().GetWorkflowId(),
				RunID:      e.GetExecution().GetRunId(),
				Status:     statusName(e.GetStatus()),
				Phase:      saString(sa, workflows.SAPhase.GetName()),
				Kind:       saString(sa, workflows.SAKind.GetName()),
				Spec:       saString(sa, workflows.SASpec.GetName()),
				Provider:   saString(sa, workflows.SAProvider.GetName()),
				Awaiting:   saStrings(sa, workflows.SAAwaiting.GetName()),
				StartTime:  e.GetStartTime().AsTime(),
			}
			memoValue(e.GetMemo(), workflows.MemoSummary, &r.Summary)
			memoValue(e.GetMemo(), workflows.MemoLabels, &r.Labels)
			if e.GetCloseTime() != nil {
				r.CloseTime = e.GetCloseTime().AsTime()
			}
			rows = append(rows, r)
			if len(rows) >= limit {
				return rows, nil
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return rows, nil
		}
	}
}

func saString(sa map[string]*commonpb.Payload, name string) string {
	var s string
	if p := sa[name]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

func saStrings(sa map[string]*commonpb.Payload, name string) []string {
	var s []string
	if p := sa[name]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

// statusName is the Temporal execution status without its enum prefix.
func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "Running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "Completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "Failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "Canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "Terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "ContinuedAsNew"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "TimedOut"
	}
	return s.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printStatus renders a request's progress for people; extra, if not nil,
// adds sections before the next command.
func printStatus(w io.Writer, id, status, link string, p workflows.Progress, extra func(io.Writer)) {
	fmt.Fprintf(w, "Request   %s  (%s)\n", id, status)
	phase := p.Phase
	if len(p.Awaiting) > 0 {
		phase += " — awaiting " + strings.Join(p.Awaiting, ", ")
	}
	fmt.Fprintf(w, "Phase     %s\n", phase)
	if p.Summary != "" {
		fmt.Fprintf(w, "Summary   %s\n", p.Summary)
	}
	fmt.Fprintf(w, "Plan      sha256:%s\n", p.PlanSHA256)
	if t := p.Trust; t != nil {
		line := fmt.Sprintf("Trust     %s mode; requested by %s (%s", t.Mode, dash(t.RequestedBy), t.Method)
		if t.Detail != "" {
			line += " " + t.Detail
		}
		line += ")"
		if t.Policy != "" {
			line += ", admitted by " + t.Policy
		}
		if t.Source != "" {
			line += "; " + t.Source
		}
		fmt.Fprintln(w, line)
	}
	printGrant(w, id, p) // revoke.go
	if link != "" {
		fmt.Fprintf(w, "Web UI    %s\n", link)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tACTION\tATTEMPTS\tDETAIL")
	for _, s := range p.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, s.Action, attempts(s.Attempts), stepDetailFor(s, isTerminal(w)))
	}
	_ = tw.Flush()
	if lines := dialedFrom(p); len(lines) > 0 {
		fmt.Fprintln(w, "\nVerification")
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if len(p.Outputs) > 0 {
		fmt.Fprintln(w)
		printOutputs(w, p.Outputs)
	}
	if len(p.Leaked) > 0 {
		if p.Phase == workflows.PhaseParked {
			fmt.Fprintln(w, "\nCompensations that failed (retry a step once the cause is fixed, or skip it to leave the resource behind)")
		} else {
			fmt.Fprintln(w, "\nLeaked resources (compensation kept failing; clean up by hand)")
		}
		for _, l := range p.Leaked {
			fmt.Fprintf(w, "  %s %s %s: %s\n", l.Step, l.Action, l.Resource, l.Error)
		}
	}
	if len(p.Audit) > 0 {
		fmt.Fprintln(w, "\nAudit")
		for _, a := range p.Audit {
			line := fmt.Sprintf("  %s  %s", a.At.Local().Format(time.DateTime), a.Action)
			if a.Step != "" {
				line += " " + a.Step
			}
			line += " by " + a.Identity
			if a.Method != "" {
				line += " [" + a.Method
				if a.Detail != "" {
					line += " " + a.Detail
				}
				line += "]"
			}
			if a.Policy != "" {
				line += " (" + a.Policy + ")"
			}
			if a.Comment != "" {
				line += ": " + a.Comment
			}
			fmt.Fprintln(w, line)
		}
	}
	if extra != nil {
		extra(w)
	}
	if hint := nextHint(id, p); hint != "" {
		fmt.Fprintf(w, "\nNext: %s\n", hint)
	}
}

// dialedFrom says, for each verification that ran, where it dialed from: a
// probe in the client network or the worker's own network (kafka.verify's
// dialedFrom output, or the "[dialed ...]" part of its last error).
func dialedFrom(p workflows.Progress) []string {
	var out []string
	for _, s := range p.Steps {
		if from, ok := s.Outputs["dialedFrom"].(string); ok && from != "" {
			out = append(out, fmt.Sprintf("%s: dialed %s", s.ID, from))
			continue
		}
		if i := strings.LastIndex(s.LastError, "[dialed "); i >= 0 && strings.HasSuffix(s.LastError, "]") {
			out = append(out, fmt.Sprintf("%s (%s): dialed %s", s.ID, s.State, strings.TrimSuffix(s.LastError[i+len("[dialed "):], "]")))
		}
	}
	return out
}

func attempts(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// stepDetail is the most useful fact about a step: who it waits for, what
// the cloud last said, its last error, or its fan-out progress.
func stepDetail(s workflows.StepProgress) string {
	var parts []string
	if len(s.Awaiting) > 0 {
		parts = append(parts, "awaiting "+strings.Join(s.Awaiting, ", "))
	}
	if s.Required > 1 {
		parts = append(parts, fmt.Sprintf("%d of %d approvals (%s)", len(s.Approvals), s.Required, dash(strings.Join(s.Approvals, ", "))))
	}
	if s.Items > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d items", s.ItemsDone, s.Items))
	}
	if s.Observed != "" {
		parts = append(parts, "observed "+s.Observed)
	}
	if s.LastError != "" {
		// The whole error, on one line: a cloud's message cut short hides
		// what to fix (it was cut at 117 bytes, often mid-resource "... in ...").
		parts = append(parts, "error: "+strings.Join(strings.Fields(s.LastError), " "))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// nextHint suggests the command that moves a waiting request on.
func nextHint(id string, p workflows.Progress) string {
	for _, s := range p.Steps {
		who := "IDENTITY"
		if len(s.Awaiting) > 0 {
			who = s.Awaiting[0]
		}
		switch {
		case s.State == workflows.StepWaiting && s.Action == "approval":
			return fmt.Sprintf("topoflow approve %s --step %s --as %s   (or reject)", id, s.ID, who)
		case s.State == workflows.StepWaiting && s.Action == "manual":
			return fmt.Sprintf("topoflow complete %s --step %s --as %s", id, s.ID, who)
		case s.State == workflows.StepParked && leaked(p, s.ID):
			return fmt.Sprintf("topoflow retry %s --step %s (runs its compensation again), or topoflow skip %s --step %s --reason R (leaves it behind)", id, s.ID, id, s.ID)
		case s.State == workflows.StepParked:
			return fmt.Sprintf("topoflow retry|skip %s --step %s, or topoflow rollback|abort %s", id, s.ID, id)
		}
	}
	return ""
}

// leaked reports whether a step's compensation failed (a parked step in
// the rollback waits for its retry).
func leaked(p workflows.Progress, step string) bool {
	for _, l := range p.Leaked {
		if l.Step == step {
			return true
		}
	}
	return false
}
