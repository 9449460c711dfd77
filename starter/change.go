package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

// reportChange prints a change a grant accepted (apply of a Done request)
// and, with wait, follows it until it ends: exit 0 when it changed or had
// nothing to change, 1 refused, 4 undone (rolled back), 3 failed (left resources behind).
func reportChange(ctx context.Context, c client.Client, out io.Writer, a workflows.Applied, wait bool, poll time.Duration) error {
	ch := a.Change
	if globals.Output != "json" {
		fmt.Fprintf(out, "Request %s is Done and granted: change %d runs plan %.12s as a delta in grant %s\n",
			a.WorkflowID, ch.N, ch.PlanSHA256, a.Grant)
		fmt.Fprintf(out, "Only what differs from what exists is created, updated or removed, after the spec's approval.\n")
	}
	if !wait {
		if globals.Output == "json" {
			return emitJSON(out, a)
		}
		fmt.Fprintf(out, "Follow it with: topoflow status %s\n", a.Grant)
		return nil
	}
	if poll <= 0 {
		poll = time.Second
	}
	var asked string
	for {
		v, err := c.QueryWorkflow(ctx, a.Grant, "", workflows.QueryProgress)
		var p workflows.Progress
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			return fmt.Errorf("progress of %s: %w", a.Grant, rootCause(err))
		}
		if p.Change != nil && p.Change.N == ch.N && p.Change.Outcome != workflows.ChangeRunning {
			if globals.Output == "json" {
				return emitJSON(out, p.Change)
			}
			printChange(out, p.Change)
			switch p.Change.Outcome {
			case workflows.ChangeChanged, workflows.ChangeNothing:
				return nil
			}
			printLeaked(out, p.Leaked)
			switch p.Change.Outcome {
			case workflows.ChangeUndone:
				return exitCode(exitRolledBack)
			case workflows.ChangeRefused:
				return exitCode(1)
			}
			return exitCode(exitRequestFailed)
		}
		if p.Phase == workflows.PhaseWaitingApproval && asked != strings.Join(p.Awaiting, ",") {
			asked = strings.Join(p.Awaiting, ",")
			fmt.Fprintf(out, "Waiting for approval of the change by %s (topoflow approve %s STEP)\n", asked, a.Grant)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// printChange prints what a change did.
func printChange(w io.Writer, ch *workflows.ChangeResult) {
	fmt.Fprintf(w, "Change %d: %s (%d added, %d updated in place, %d removed, %d kept)\n", ch.N, ch.Outcome,
		len(ch.Added), len(ch.Updated), len(ch.Removed), ch.Kept)
	for _, l := range []struct {
		mark  string
		units []string
	}{{"+", ch.Added}, {"~", ch.Updated}, {"-", ch.Removed}} {
		for _, u := range l.units {
			fmt.Fprintf(w, "  %s %s\n", l.mark, u)
		}
	}
	if ch.Error != "" {
		fmt.Fprintf(w, "  %s\n", ch.Error)
	}
}

func init() {
	var f revokeFlags
	cmd := &cobra.Command{
		Use:   "repair REQUEST",
		Short: "Repair a drifted granted access as a delta plan",
		Long: `Repair sends a Drifted grant (<request ID>/grant) the repair Update: the
grant runs its plan again as a delta (the change by delta of apply): the units
the last drift check found missing or broken are created again, what depends
on them is updated, everything else is kept, and verify runs again. The
identity must be one of the request's operators (as for revoke); the repair
waits for the plan's approval gates again (the repairer may not approve their
own repair) unless the spec sets drift.autoRepair, in which case the grant
repairs by itself after the check that found the drift.

With --wait, repair follows the change until it ends (exit 0 repaired, 4
undone, 3 failed).

REQUEST is a workflow ID, Kind/Name, or the spec file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRepair(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.as, "as", "", "identity acting (env TOPOFLOW_IDENTITY; default the login name)")
	fl.StringVar(&f.reason, "reason", "", "reason recorded in the audit trail")
	fl.BoolVar(&f.wait, "wait", false, "follow the repair until it ends")
	fl.DurationVar(&f.poll, "poll", time.Second, "progress poll interval with --wait")
	f.sign.add(fl)
	rootCmd.AddCommand(cmd)
}

func runRepair(cmd *cobra.Command, arg string, f revokeFlags) error {
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
	before, err := queryProgress(ctx, c, gid)
	if err != nil {
		return err
	}
	n := 1
	if before.Change != nil {
		n = before.Change.N + 1
	}
	send := func() error {
		var sig *trust.Signature
		if f.sign.configured() {
			runID, sha, err := runTarget(ctx, c, gid)
			if err != nil {
				return err
			}
			if sig, err = f.sign.sign(trust.Statement{Kind: workflows.UpdateRepair, WorkflowID: gid, RunID: runID, PlanSHA256: sha,
				Identity: identity, Comment: f.reason}); err != nil {
				return err
			}
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: gid, UpdateName: workflows.UpdateRepair, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.OperatorAction{Identity: identity, Reason: f.reason, Signature: sig}},
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return err
	}
	if err := sendAgainIfLost(ctx, c, gid, send); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return fmt.Errorf("repair refused by %s: %s", gid, app.Message())
		}
		return fmt.Errorf("repair %s: %w", id, rootCause(err))
	}
	a := workflows.Applied{Outcome: workflows.AppliedChanging, WorkflowID: id, Grant: gid, PlanSHA256: before.PlanSHA256,
		Change: &workflows.ChangeResult{N: n, Kind: workflows.UpdateRepair, PlanSHA256: before.PlanSHA256}}
	if globals.Output != "json" {
		fmt.Fprintf(out, "Repairing %s as %s: %d drift finding(s) of the check at %s\n", id, identity, len(before.Drift.Findings),
			before.Drift.CheckedAt.Local().Format(time.DateTime))
	}
	return reportChange(ctx, c, out, a, f.wait, f.poll)
}
