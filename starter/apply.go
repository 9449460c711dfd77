package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

func init() {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Start the request of a spec (or attach to it) and print its workflow ID and Web UI link",
		Long: `Apply validates and compiles the spec in FILE and starts its request: one
workflow whose ID derives from the spec's kind and name. Applying the same spec
again attaches to the running request; applying a changed spec while the old
one runs is refused (both plan hashes are printed): wait for it, or roll it
back first. Start, attach or refusal happen in one call (Temporal's
Update-With-Start), so two concurrent applies of different plans cannot both
pass. Applying the unchanged spec of a Done request starts nothing and says
when it was done and with which outputs; a changed spec (or, with --refresh,
the unchanged one, to follow a changed cloud such as new brokers) runs as a
delta in the request's grant: only what differs from what exists is created,
updated or removed, after the spec's approval.

With --wait, apply follows the request's steps live until it ends or parks,
and exits with a status scripts can tell apart: 0 succeeded, 3 failed, 4
rolled back, 5 parked (a step waits for an operator; the request keeps
running), 6 --timeout passed (the request keeps running); 1 and 2 are the
usual errors (invalid spec, refused, unreachable Temporal; usage).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.wait, "wait", false, "follow the request's progress until it ends or parks (exit 0 succeeded, 3 failed, 4 rolled back, 5 parked, 6 --timeout passed)")
	cmd.Flags().DurationVar(&f.poll, "poll", time.Second, "progress poll interval with --wait")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "with --wait, give up waiting after this long (0: no limit; the request keeps running)")
	cmd.Flags().StringVar(&f.as, "as", "", "identity recorded as the requester (env TOPOFLOW_IDENTITY; default the login name)")
	cmd.Flags().StringVar(&f.as, "identity", "", "the same as --as: the principal the plan is signed as")
	f.sign.add(cmd.Flags())
	cmd.Flags().StringVar(&f.uiURL, "ui-url", "", "Web UI base URL (env TOPOFLOW_UI_URL; default: frontend port + 1000)")
	cmd.Flags().BoolVar(&f.refresh, "refresh", false, "for a Done request of this very plan: read the cloud again and add what changed there (e.g. new brokers) as a delta")
	cmd.Flags().DurationVar(&f.driftEvery, "drift-every", 0, "once Done, re-check what the request created this often (default 1h; negative: never)")
	rootCmd.AddCommand(cmd)
}

type applyFlags struct {
	wait          bool
	poll, timeout time.Duration
	as, uiURL     string
	sign          signFlags
	driftEvery    time.Duration
	refresh       bool
}

// applyResult is apply's JSON output.
type applyResult struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	PlanSHA256 string `json:"planSha256"`
	Attached   bool   `json:"attached"`
	// Outcome is what apply did: started, attached or done (workflows.Applied*).
	Outcome string `json:"outcome"`
	// DoneAt and Grant describe a request that was already done.
	DoneAt  time.Time                `json:"doneAt,omitempty"`
	Grant   string                   `json:"grant,omitempty"`
	UIURL   string                   `json:"uiUrl,omitempty"`
	Status  string                   `json:"status,omitempty"`
	Phase   string                   `json:"phase,omitempty"`
	Outputs map[string]any           `json:"outputs,omitempty"`
	Error   string                   `json:"error,omitempty"`
	Steps   []workflows.StepProgress `json:"steps,omitempty"`
}

func runApply(cmd *cobra.Command, file string, f applyFlags) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	opts, err := specOptions()
	if err != nil {
		return err
	}
	p, err := compiler.CompileFile(file, opts)
	if err != nil {
		for _, e := range spec.Errors(err) {
			fmt.Fprintln(errw, e.Error())
		}
		return exitCode(1)
	}
	sha, err := p.Hash()
	if err != nil {
		return fmt.Errorf("hash plan: %w", err)
	}
	identity := f.as
	if identity == "" {
		identity = identityDefault()
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	// The spec goes with the plan: the worker compiles it again and runs the
	// plan only when it hashes the same.
	req := workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: identity,
		Spec: &workflows.SpecSource{File: filepath.Base(file), YAML: string(src)}}
	req.DriftEvery = plan.D(f.driftEvery)
	id := workflows.WorkflowID(p.Source)
	// The plan signature binds the request's workflow ID, plan sha256 and requester.
	if req.Signature, err = f.sign.sign(trust.Statement{Kind: trust.KindApply, WorkflowID: id, PlanSHA256: sha, Identity: identity}); err != nil {
		return fmt.Errorf("sign plan %.12s: %w", sha, err)
	}

	ctx := cmd.Context()
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	// Refused before anything is created when another live request holds
	// what this one needs (workflows/conflicts.go).
	if cs, err := workflows.CheckConflicts(ctx, c, req); err != nil {
		return fmt.Errorf("check %s against the live requests: %w", file, err)
	} else if len(cs) > 0 {
		return fmt.Errorf("refusing to apply %s: %w", file, workflows.ConflictsError(cs))
	}
	// One Update-With-Start call starts the request, attaches to it when it
	// runs this plan, or is refused by it when it runs another (workflows.Apply).
	applyFn := workflows.Apply
	if f.refresh {
		applyFn = workflows.ApplyRefresh
	}
	applied, err := applyFn(ctx, c, req, globals.TaskQueue)
	if err != nil {
		if errors.Is(err, workflows.ErrPlanChanged) || errors.Is(err, workflows.ErrDone) {
			return fmt.Errorf("refusing to apply %s: %w", file, err)
		}
		return err
	}
	attached := applied.Outcome != workflows.AppliedStarted
	res := applyResult{WorkflowID: id, RunID: applied.RunID, PlanSHA256: sha, Attached: attached, Outcome: applied.Outcome,
		UIURL: uiLink(uiBase(f.uiURL), id)}
	if applied.Outcome == workflows.AppliedChanging {
		return reportChange(ctx, c, out, applied, f.wait, f.poll) // change.go
	}
	if applied.Outcome == workflows.AppliedDone {
		res.Status, res.Phase, res.Outputs, res.Grant = "Completed", applied.Phase, applied.Outputs, applied.Grant
		res.DoneAt = applied.DoneAt
		if globals.Output == "json" {
			return emitJSON(out, res)
		}
		fmt.Fprintf(out, "Request %s is already done with this plan: nothing was started.\n", id)
		fmt.Fprintf(out, "Done      %s (run %s, started %s)\n", applied.DoneAt.Local().Format(time.DateTime), applied.RunID,
			applied.StartedAt.Local().Format(time.DateTime))
		fmt.Fprintf(out, "Plan      sha256:%s\n", sha)
		if len(applied.Outputs) > 0 {
			fmt.Fprintln(out, "Outputs")
			for _, k := range sortedKeysOf(applied.Outputs) {
				fmt.Fprintf(out, "  %s: %v\n", k, applied.Outputs[k])
			}
		}
		if applied.Grant != "" {
			fmt.Fprintf(out, "Granted   %s (take it back with: topoflow revoke %s)\n", applied.Grant, id)
		}
		return nil
	}
	run := c.GetWorkflow(ctx, id, applied.RunID)
	if globals.Output != "json" {
		if attached {
			by := ""
			if applied.RequestedBy != "" {
				by = ", requested by " + applied.RequestedBy
			}
			fmt.Fprintf(out, "Request %s is already running this plan (phase %s%s, started %s); attached, nothing new was started (run %s)\n",
				id, dash(applied.Phase), by, applied.StartedAt.Local().Format(time.DateTime), res.RunID)
		} else {
			fmt.Fprintf(out, "Started request %s (run %s)\n", id, res.RunID)
		}
		fmt.Fprintf(out, "Plan      sha256:%s\n", sha)
		if res.UIURL != "" {
			fmt.Fprintf(out, "Web UI    %s\n", res.UIURL)
		}
	}
	if !f.wait {
		if globals.Output == "json" {
			return emitJSON(out, res)
		}
		fmt.Fprintf(out, "Follow it with: topoflow status %s\n", id)
		return nil
	}

	wctx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	final, runErr := follow(wctx, c, run, f.poll, out, globals.Output != "json")
	if wctx.Err() != nil && ctx.Err() == nil {
		fmt.Fprintf(errw, "Error: gave up waiting for %s after %s; it keeps running (topoflow status %s)\n", id, f.timeout, id)
		return exitCode(exitWaitTimeout)
	}
	res.Phase, res.Steps, res.Outputs = final.Phase, final.Steps, final.Outputs
	if errors.Is(runErr, errParked) {
		return reportParked(out, id, res, final)
	}
	if runErr != nil {
		res.Status, res.Error = "Failed", failureMessage(runErr)
		if errors.As(runErr, new(rolledBackRun)) {
			res.Status = "Completed" // as Temporal says; the phase says RolledBack
		}
	} else {
		res.Status = "Completed"
	}
	if globals.Output == "json" {
		if err := emitJSON(out, res); err != nil {
			return err
		}
	} else if runErr != nil {
		fmt.Fprintf(out, "\nRequest %s did not succeed (%s): %s\n", id, dash(final.Phase), res.Error)
		printLeaked(out, final.Leaked)
	} else {
		fmt.Fprintf(out, "\nRequest %s succeeded.\n", id)
		printOutputs(out, res.Outputs)
		if res.UIURL != "" {
			fmt.Fprintf(out, "Web UI    %s\n", res.UIURL)
		}
	}
	if runErr != nil {
		return exitCode(waitExit(final))
	}
	return nil
}

// follow polls the request's progress until the workflow ends, printing each
// phase and step change (when verbose), and returns the last progress and
// the workflow's error.
func follow(ctx context.Context, c client.Client, run client.WorkflowRun, poll time.Duration, w io.Writer, verbose bool) (workflows.Progress, error) {
	done := make(chan error, 1)
	var result workflows.Result
	gctx, stopGet := context.WithCancel(ctx) // follow may return before the run ends (parked)
	defer stopGet()
	go func() { done <- run.Get(gctx, &result) }()
	var last workflows.Progress
	fp := newFollowPrinter(w, run.GetID(), isTerminal(w))
	report := func(p workflows.Progress) {
		if verbose {
			fp.report(p, time.Now())
		}
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var failingSince time.Time
	warned := false
	for {
		if p, err := queryProgress(ctx, c, run.GetID()); err == nil {
			if desc, derr := c.DescribeWorkflowExecution(ctx, run.GetID(), ""); derr == nil {
				mergeLiveWaits(run.GetID(), desc, &p)
			}
			last = p
			report(p)
			failingSince, warned = time.Time{}, false
			if p.Phase == workflows.PhaseParked {
				return last, errParked // an operator must act: --wait ends (exit exitParked)
			}
		} else if verbose && ctx.Err() == nil {
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if !warned && time.Since(failingSince) > 20*time.Second {
				fmt.Fprintf(w, "%s  no progress for 20s: %v\n", time.Now().Format(time.TimeOnly), err)
				warned = true
			}
		}
		select {
		case err := <-done:
			// One last look, so the final states are shown.
			if p, qerr := queryProgress(context.WithoutCancel(ctx), c, run.GetID()); qerr == nil {
				labelItems(&p)
				last = p
				report(p)
			} else if err == nil {
				// Requests started before the summary result carry their steps in it.
				if len(result.Steps) > 0 {
					last.Steps = result.Steps
				}
				last.Outputs, last.Phase = result.Outputs, workflows.PhaseDone
			}
			if err == nil && len(last.Outputs) == 0 {
				last.Outputs = result.Outputs
			}
			if err == nil && result.Outcome == workflows.OutcomeRolledBack {
				// It completed rolled back (outcome.go): not a success.
				last.Phase, err = workflows.PhaseRolledBack, rolledBackRun{result.Err()}
			}
			return last, err
		case <-ctx.Done():
			return last, ctx.Err()
		case <-ticker.C:
		}
	}
}

// rolledBackRun is follow's error for a request that completed rolled back
// (its workflow did not fail: Temporal says Completed).
type rolledBackRun struct{ error }

func (e rolledBackRun) Unwrap() error { return e.error }

// failureMessage is the innermost application error's message.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return rootCause(err).Error()
}
