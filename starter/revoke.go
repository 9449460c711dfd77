package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

func init() {
	var f revokeFlags
	cmd := &cobra.Command{
		Use:   "revoke REQUEST",
		Short: "Take back a granted access: undo everything a Done request created",
		Long: `Revoke undoes everything a Done request created, in reverse completion order,
with the same compensations, lock keys, waits and leak report as a rollback.
A Done request hands the record of what it created to its grant workflow
(<request ID>/grant, phase Granted); revoke sends that grant the revoke Update.
The identity must be one of the request's operators (as for rollback); when
the plan has approval gates, the revoke waits for them again (the same
approvers; the revoker may not approve their own revoke): approve or reject
with topoflow approve|reject REQUEST. The grant ends Revoked, or Failed with
the resources left behind.

With --wait, revoke follows the grant until it ends and exits 0 when it was
revoked, 1 when resources were left behind.

REQUEST is a workflow ID, Kind/Name, or the spec file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRevoke(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.as, "as", "", "identity acting (env TOPOFLOW_IDENTITY; default the login name)")
	fl.StringVar(&f.as, "identity", "", "the same as --as: the principal the revoke is signed as")
	fl.StringVar(&f.reason, "reason", "", "reason recorded in the audit trail")
	fl.BoolVar(&f.wait, "wait", false, "follow the revoke until the grant ends (exit 1 when resources were left behind)")
	fl.DurationVar(&f.poll, "poll", time.Second, "progress poll interval with --wait")
	fl.DurationVar(&f.timeout, "timeout", 0, "with --wait, give up waiting after this long (0: no limit; the revoke goes on)")
	f.sign.add(fl)
	rootCmd.AddCommand(cmd)
}

type revokeFlags struct {
	as, reason    string
	wait          bool
	poll, timeout time.Duration
	sign          signFlags
}

// revokeResult is revoke's JSON output.
type revokeResult struct {
	WorkflowID string                   `json:"workflowId"`
	Grant      string                   `json:"grant"`
	RunID      string                   `json:"runId"`
	Phase      string                   `json:"phase"`
	Awaiting   []string                 `json:"awaiting,omitempty"`
	Leaked     []workflows.Leak         `json:"leaked,omitempty"`
	Error      string                   `json:"error,omitempty"`
	Steps      []workflows.StepProgress `json:"steps,omitempty"`
}

func runRevoke(cmd *cobra.Command, arg string, f revokeFlags) error {
	out := cmd.OutOrStdout()
	id, err := resolveWorkflowID(arg)
	if err != nil {
		return err
	}
	id = strings.TrimSuffix(id, "/grant")
	identity := f.as
	if identity == "" {
		identity = identityDefault()
	}
	ctx := cmd.Context()
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	gid := workflows.GrantWorkflowID(id)
	if err := revocable(ctx, c, id, gid); err != nil {
		return err
	}
	if err := sendRevoke(ctx, c, id, gid, identity, f.reason, nil, f.sign); err != nil {
		return err
	}
	how := "unsigned"
	if f.sign.configured() {
		how = "signed"
	}
	if !f.wait {
		p, _ := queryProgress(ctx, c, gid)
		if globals.Output == "json" {
			return emitJSON(out, revokeResult{WorkflowID: id, Grant: gid, Phase: p.Phase, Awaiting: p.Awaiting, Steps: p.Steps})
		}
		fmt.Fprintf(out, "Revoking %s as %s (%s); grant %s is %s\n", id, identity, how, gid, dash(p.Phase))
		if hint := nextHint(id, p); hint != "" {
			fmt.Fprintf(out, "Next: %s\n", hint)
		}
		fmt.Fprintf(out, "Follow it with: topoflow status %s\n", gid)
		return nil
	}
	if globals.Output != "json" {
		fmt.Fprintf(out, "Revoking %s as %s (%s); following grant %s\n", id, identity, how, gid)
	}
	wctx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	final, runErr := followGrant(wctx, c, id, gid, f.poll, out, globals.Output != "json")
	if wctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("gave up waiting for the revoke of %s after %s; it goes on (topoflow status %s)", id, f.timeout, gid)
	}
	res := revokeResult{WorkflowID: id, Grant: gid, Phase: final.Phase, Leaked: final.Leaked, Steps: final.Steps}
	if runErr != nil {
		res.Error = failureMessage(runErr)
	}
	if globals.Output == "json" {
		if err := emitJSON(out, res); err != nil {
			return err
		}
	} else if runErr != nil {
		fmt.Fprintf(out, "\nRevoke of %s did not finish cleanly (%s): %s\n", id, dash(final.Phase), res.Error)
		printLeaked(out, final.Leaked)
	} else {
		fmt.Fprintf(out, "\nRequest %s revoked: everything it created was removed.\n", id)
	}
	if runErr != nil {
		return exitCode(1)
	}
	return nil
}

// revocable says why a request cannot be revoked (nil when its grant waits).
func revocable(ctx context.Context, c client.Client, id, gid string) error {
	gd, err := c.DescribeWorkflowExecution(ctx, gid, "")
	var nf *serviceerror.NotFound
	if err == nil {
		info := gd.GetWorkflowExecutionInfo()
		switch info.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			return nil
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			return fmt.Errorf("request %s was already revoked (%s); see topoflow status %s", id,
				info.GetCloseTime().AsTime().UTC().Format(time.RFC3339), gid)
		default:
			return fmt.Errorf("the grant of request %s ended %s; see topoflow status %s", id, statusName(info.GetStatus()), gid)
		}
	}
	if !errors.As(err, &nf) {
		return fmt.Errorf("describe grant %s: %w", gid, rootCause(err))
	}
	rd, err := c.DescribeWorkflowExecution(ctx, id, "")
	if errors.As(err, &nf) {
		return fmt.Errorf("no request %s in namespace %s", id, globals.Namespace)
	}
	if err != nil {
		return fmt.Errorf("describe request %s: %w", id, rootCause(err))
	}
	info := rd.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return fmt.Errorf("request %s is still running: only a Done request can be revoked; roll it back with topoflow rollback %s", id, id)
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		p, perr := queryProgress(ctx, c, id)
		if perr == nil && p.Phase == workflows.PhaseRolledBack {
			return fmt.Errorf("request %s was rolled back: nothing it created is left, there is nothing granted to revoke", id)
		}
		if perr == nil && p.GrantError != "" {
			return fmt.Errorf("request %s is Done but cannot be revoked: %s", id, p.GrantError)
		}
		return fmt.Errorf("request %s is Done and has nothing to revoke: none of its steps has a compensation, "+
			"or it ended before Topoflow kept a grant of what a request created", id)
	}
	return fmt.Errorf("request %s ended %s: there is nothing granted to revoke", id, statusName(info.GetStatus()))
}

// followGrant polls the grant's progress until it ends, printing phase and
// step changes (when verbose), and returns the last progress and its error.
func followGrant(ctx context.Context, c client.Client, id, gid string, poll time.Duration, w io.Writer, verbose bool) (workflows.Progress, error) {
	done := make(chan error, 1)
	go func() { done <- c.GetWorkflow(ctx, gid, "").Get(ctx, nil) }()
	var last workflows.Progress
	seen := map[string]string{}
	lastPhase, lastHint := "", ""
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	// report prints what changed since the last progress seen.
	report := func(p workflows.Progress) {
		if !verbose {
			return
		}
		now := time.Now().Format(time.TimeOnly)
		if p.Phase != lastPhase {
			line := fmt.Sprintf("%s  phase %s", now, p.Phase)
			if len(p.Awaiting) > 0 {
				line += " — awaiting " + strings.Join(p.Awaiting, ", ")
			}
			fmt.Fprintln(w, line)
			lastPhase = p.Phase
		}
		for _, s := range p.Steps {
			if seen[s.ID] == "" && (s.State == workflows.StepDone || s.State == workflows.StepSkipped) {
				seen[s.ID] = s.State // the granted state
				continue
			}
			if seen[s.ID] != s.State {
				seen[s.ID] = s.State
				fmt.Fprintf(w, "%s  %-34s %s\n", now, s.ID, s.State)
			}
		}
		if hint := nextHint(id, p); hint != "" && hint != lastHint {
			fmt.Fprintf(w, "%s  next: %s\n", now, hint)
			lastHint = hint
		}
	}
	for {
		if p, err := queryProgress(ctx, c, gid); err == nil {
			last = p
			report(p)
		}
		select {
		case err := <-done:
			if p, qerr := queryProgress(context.WithoutCancel(ctx), c, gid); qerr == nil {
				last = p
				report(p) // the steps that changed since the last poll
			} else if err != nil {
				var app *temporal.ApplicationError
				if errors.As(err, &app) {
					_ = app.Details(&last)
				}
			}
			return last, err
		case <-ctx.Done():
			return last, ctx.Err()
		case <-ticker.C:
		}
	}
}

// routeToGrant sends an approve or reject of a Done request to its grant
// while a revoke waits for the grant's gates (the request itself has
// ended); any other request is left as is.
func routeToGrant(ctx context.Context, c client.Client, id string) string {
	if strings.HasSuffix(id, "/grant") {
		return id
	}
	rd, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || rd.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return id
	}
	gid := workflows.GrantWorkflowID(id)
	gd, err := c.DescribeWorkflowExecution(ctx, gid, "")
	if err != nil || gd.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return id
	}
	return gid
}

// sendRevoke sends the revoke Update (a partial one with only) to a grant,
// signed when signing is configured, asking the grant to refresh its trust
// and sending again for a key it does not know yet.
func sendRevoke(ctx context.Context, c client.Client, id, gid, identity, reason string, only []string, sign signFlags) error {
	send := func() error {
		var sig *trust.Signature
		if sign.configured() {
			runID, sha, err := runTarget(ctx, c, gid)
			if err != nil {
				return err
			}
			digest := ""
			if len(only) > 0 {
				if digest, err = trust.DataDigest(map[string]any{"only": only}); err != nil {
					return err
				}
			}
			if sig, err = sign.sign(trust.Statement{Kind: workflows.UpdateRevoke, WorkflowID: gid, RunID: runID, PlanSHA256: sha,
				Identity: identity, DataSHA256: digest, Comment: reason}); err != nil {
				return err
			}
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: gid, UpdateName: workflows.UpdateRevoke, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.OperatorAction{Identity: identity, Reason: reason, Only: only, Signature: sig}},
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return err
	}
	err := sendAgainIfLost(ctx, c, gid, send)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return fmt.Errorf("revoke refused by %s: %s", gid, app.Message())
		}
		return fmt.Errorf("revoke %s: %w", id, rootCause(err))
	}
	return nil
}

// updateLost reports an Update the server dropped because the workflow task
// carrying it failed (it was never accepted, so sending it again is safe):
// the server's message "Unable to perform workflow execution update due to
// unexpected workflow task failure" (temporalio/temporal service/history/
// workflow/update: WorkflowTaskFailed).
func updateLost(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unexpected workflow task failure")
}

// runPartialRollback serves rollback --only and --dry-run: the preview lists
// what would be compensated (the steps named and everything depending on
// them, all steps without --only), in order; without --dry-run a Done
// request's grant undoes them (a partial revoke) and keeps the rest.
func runPartialRollback(cmd *cobra.Command, c client.Client, id, identity string, f opFlags) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	target := id
	rd, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("describe request %s: %w", id, rootCause(err))
	}
	running := rd.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if !running {
		gid := workflows.GrantWorkflowID(id)
		if err := revocable(ctx, c, id, gid); err != nil {
			return err
		}
		target = gid
	}
	if !f.dryRun && running {
		return usageError{fmt.Sprintf("rollback --only: request %s is still running; a partial rollback applies to a Done request "+
			"(its grant); preview with --dry-run, or roll the whole request back", id)}
	}
	v, err := c.QueryWorkflow(ctx, target, "", workflows.QueryRollbackPreview, f.only)
	if err != nil {
		return fmt.Errorf("preview the rollback of %s: %w", id, rootCause(err))
	}
	var units []workflows.PreviewUnit
	if err := v.Get(&units); err != nil {
		return fmt.Errorf("decode the preview of %s: %w", id, err)
	}
	if f.dryRun {
		if globals.Output == "json" {
			if units == nil {
				units = []workflows.PreviewUnit{}
			}
			return emitJSON(out, map[string]any{"workflowId": id, "target": target, "only": f.only, "units": units, "dryRun": true})
		}
		what := "A rollback of " + id
		if !running {
			what = "A revoke of " + id
		}
		if len(f.only) > 0 {
			what += " limited to " + strings.Join(f.only, ", ") + " (and what depends on them)"
		}
		if len(units) == 0 {
			fmt.Fprintf(out, "%s would compensate nothing.\n", what)
			return nil
		}
		fmt.Fprintf(out, "%s would compensate, in this order (dry run: nothing was changed):\n", what)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STEP\tITEM\tUNDO\tRESOURCE\tWHY")
		for _, u := range units {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", u.Step, dash(u.Item), u.Compensation, u.Resource, u.Because)
		}
		return tw.Flush()
	}
	if len(units) == 0 {
		return fmt.Errorf("rollback --only %s: nothing of request %s to compensate", strings.Join(f.only, ","), id)
	}
	if err := sendRevoke(ctx, c, id, target, identity, f.comment, f.only, f.sign); err != nil {
		return err
	}
	if globals.Output == "json" {
		return emitJSON(out, map[string]any{"workflowId": id, "target": target, "only": f.only, "units": units, "ok": true})
	}
	fmt.Fprintf(out, "Compensating %d unit(s) of %s (%s and what depends on them); the grant keeps the rest. Follow it with: topoflow status %s\n",
		len(units), id, strings.Join(f.only, ", "), target)
	return nil
}

// printGrant adds a Done request's grant and a grant's drift to status.
func printGrant(w io.Writer, id string, p workflows.Progress) {
	if p.Grant != "" {
		fmt.Fprintf(w, "Granted   %s (take it back with: topoflow revoke %s)\n", p.Grant, id)
	}
	if p.GrantError != "" {
		fmt.Fprintf(w, "Grant     none: %s\n", p.GrantError)
	}
	d := p.Drift
	if d == nil {
		return
	}
	if len(d.Findings) == 0 {
		fmt.Fprintf(w, "Drift     none at %s (%d checks, every %s)\n", d.CheckedAt.Local().Format(time.DateTime), d.Checks, d.Every.Std())
		return
	}
	fmt.Fprintf(w, "Drift     %d of %d checks failed at %s (every %s):\n", len(d.Findings), d.Checks, d.CheckedAt.Local().Format(time.DateTime), d.Every.Std())
	for _, f := range d.Findings {
		what := f.Step
		if f.Item != "" {
			what += "[" + f.Item + "]"
		}
		fmt.Fprintf(w, "          %s: %s\n", what, f.Error)
	}
}

// printLeaked lists the resources a rollback or revoke left behind.
func printLeaked(out io.Writer, leaked []workflows.Leak) {
	if len(leaked) == 0 {
		return
	}
	fmt.Fprintln(out, "Leaked resources (clean up by hand):")
	for _, l := range leaked {
		fmt.Fprintf(out, "  %s %s %s: %s\n", l.Step, l.Action, l.Resource, l.Error)
	}
}

// sendAgainIfLost sends an Update with send, then again (at most three
// times) when the workflow did not know the signer's key yet (it is asked
// to refresh its trust first) or the server dropped the Update with a
// failed workflow task (never accepted: updateLost).
func sendAgainIfLost(ctx context.Context, c client.Client, id string, send func() error) error {
	err := send()
	for i := 0; i < 3 && (retryAfterRefresh(err) || updateLost(err)); i++ {
		if retryAfterRefresh(err) {
			if rerr := refreshTrust(ctx, c, id); rerr != nil {
				return rerr
			}
		}
		time.Sleep(time.Duration(i+2) * time.Second)
		err = send()
	}
	return err
}
