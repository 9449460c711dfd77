package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/compiler"
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
back first.

With --wait, apply follows the request's steps live and exits 0 when it
succeeded, 1 when it failed or was rolled back.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.wait, "wait", false, "follow the request's progress until it ends (exit 1 when it failed or rolled back)")
	cmd.Flags().DurationVar(&f.poll, "poll", time.Second, "progress poll interval with --wait")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "with --wait, give up waiting after this long (0: no limit; the request keeps running)")
	cmd.Flags().StringVar(&f.as, "as", "", "identity recorded as the requester (env TOPOFLOW_IDENTITY; default the login name)")
	cmd.Flags().StringVar(&f.as, "identity", "", "the same as --as: the principal the plan is signed as")
	f.sign.add(cmd.Flags())
	cmd.Flags().StringVar(&f.uiURL, "ui-url", "", "Web UI base URL (env TOPOFLOW_UI_URL; default: frontend port + 1000)")
	rootCmd.AddCommand(cmd)
}

type applyFlags struct {
	wait          bool
	poll, timeout time.Duration
	as, uiURL     string
	sign          signFlags
}

// applyResult is apply's JSON output.
type applyResult struct {
	WorkflowID string                   `json:"workflowId"`
	RunID      string                   `json:"runId"`
	PlanSHA256 string                   `json:"planSha256"`
	Attached   bool                     `json:"attached"`
	UIURL      string                   `json:"uiUrl,omitempty"`
	Status     string                   `json:"status,omitempty"`
	Phase      string                   `json:"phase,omitempty"`
	Outputs    map[string]any           `json:"outputs,omitempty"`
	Error      string                   `json:"error,omitempty"`
	Steps      []workflows.StepProgress `json:"steps,omitempty"`
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

	if err := workflows.CheckSamePlan(ctx, c, req); err != nil {
		if errors.Is(err, workflows.ErrPlanChanged) {
			return fmt.Errorf("refusing to apply %s: %w", file, err)
		}
		return err
	}
	// Refused before anything is created when another live request holds
	// what this one needs (workflows/conflicts.go).
	if cs, err := workflows.CheckConflicts(ctx, c, req); err != nil {
		return fmt.Errorf("check %s against the live requests: %w", file, err)
	} else if len(cs) > 0 {
		return fmt.Errorf("refusing to apply %s: %w", file, workflows.ConflictsError(cs))
	}
	attached := false
	if d, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil &&
		d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		attached = true
	}
	run, err := c.ExecuteWorkflow(ctx, workflows.StartOptions(req, globals.TaskQueue), workflows.WorkflowType, req)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			// The reuse policy refuses a new run because the last one succeeded.
			return fmt.Errorf("request %s already completed successfully with this spec; "+
				"see `topoflow status %s` (terminate or reset it in Temporal to run it again)", id, id)
		}
		return fmt.Errorf("start request %s: %w", id, err)
	}
	res := applyResult{WorkflowID: id, RunID: run.GetRunID(), PlanSHA256: sha, Attached: attached,
		UIURL: uiLink(uiBase(f.uiURL), id)}
	if globals.Output != "json" {
		if attached {
			fmt.Fprintf(out, "Request %s is already running this plan; attached (run %s)\n", id, res.RunID)
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
		return fmt.Errorf("gave up waiting for %s after %s; it keeps running (topoflow status %s)", id, f.timeout, id)
	}
	res.Phase, res.Steps, res.Outputs = final.Phase, final.Steps, final.Outputs
	if runErr != nil {
		res.Status, res.Error = "Failed", failureMessage(runErr)
	} else {
		res.Status = "Completed"
	}
	if globals.Output == "json" {
		if err := emitJSON(out, res); err != nil {
			return err
		}
	} else if runErr != nil {
		fmt.Fprintf(out, "\nRequest %s did not succeed (%s): %s\n", id, dash(final.Phase), res.Error)
		if len(final.Leaked) > 0 {
			fmt.Fprintln(out, "Leaked resources (clean up by hand):")
			for _, l := range final.Leaked {
				fmt.Fprintf(out, "  %s %s %s: %s\n", l.Step, l.Action, l.Resource, l.Error)
			}
		}
	} else {
		fmt.Fprintf(out, "\nRequest %s succeeded.\n", id)
		if len(res.Outputs) > 0 {
			fmt.Fprintln(out, "Outputs")
			for _, k := range sortedKeysOf(res.Outputs) {
				fmt.Fprintf(out, "  %s: %v\n", k, res.Outputs[k])
			}
		}
		if res.UIURL != "" {
			fmt.Fprintf(out, "Web UI    %s\n", res.UIURL)
		}
	}
	if runErr != nil {
		return exitCode(1)
	}
	return nil
}

// follow polls the request's progress until the workflow ends, printing each
// phase and step change (when verbose), and returns the last progress and
// the workflow's error.
func follow(ctx context.Context, c client.Client, run client.WorkflowRun, poll time.Duration, w io.Writer, verbose bool) (workflows.Progress, error) {
	done := make(chan error, 1)
	var result workflows.Result
	go func() { done <- run.Get(ctx, &result) }()
	var last workflows.Progress
	seen := map[string]string{}
	lastPhase, lastHint := "", ""
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
			key := s.State + "|" + s.Observed + "|" + fmt.Sprint(s.ItemsDone)
			if seen[s.ID] == key {
				continue
			}
			if seen[s.ID] == "" && s.State == workflows.StepPending {
				seen[s.ID] = key
				continue
			}
			seen[s.ID] = key
			detail := stepDetail(s)
			if detail == "-" {
				detail = ""
			}
			fmt.Fprintf(w, "%s  %-34s %-12s %s\n", now, s.ID, s.State, detail)
		}
		if hint := nextHint(run.GetID(), p); hint != "" && hint != lastHint {
			fmt.Fprintf(w, "%s  next: %s\n", now, hint)
			lastHint = hint
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
				last = p
				report(p)
			} else if err == nil {
				last.Steps, last.Outputs, last.Phase = result.Steps, result.Outputs, workflows.PhaseDone
			}
			if err == nil && len(last.Outputs) == 0 {
				last.Outputs = result.Outputs
			}
			return last, err
		case <-ctx.Done():
			return last, ctx.Err()
		case <-ticker.C:
		}
	}
}

// failureMessage is the innermost application error's message.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return rootCause(err).Error()
}
