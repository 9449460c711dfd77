package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

// operation describes one operator command sent to a request as a Temporal Update.
type operation struct {
	use, short, long string
	update           string
	// decision commands send a workflows.Decision; others a workflows.OperatorAction.
	decision bool
	// stepFrom finds the step when --step is not given: the only step in this
	// state running this action ("" = any action); empty means no step.
	stepState, stepAction string
	// stepRequired refuses to run without a step.
	stepRequired bool
	// reasonRequired refuses to run without --reason.
	reasonRequired bool
	// data enables --data/--data-json (complete) and input enables --input/--input-json (retry).
	data, input bool
	verb        string
}

var operations = []operation{
	{use: "approve REQUEST", short: "Approve a waiting approval step", update: workflows.UpdateApprove, decision: true,
		stepState: workflows.StepWaiting, stepAction: plan.ActionApproval, stepRequired: true, verb: "approved",
		long: `Approve sends the approve Update for an approval step. The workflow checks that
the identity (--as, default $TOPOFLOW_IDENTITY or the login name) is one of the
step's approvers. Without --step the only waiting approval step is approved.`},
	{use: "reject REQUEST", short: "Reject a waiting approval step (the request rolls back)", update: workflows.UpdateReject, decision: true,
		stepState: workflows.StepWaiting, stepAction: plan.ActionApproval, stepRequired: true, verb: "rejected",
		long: `Reject sends the reject Update for an approval step; the request then rolls back
what it did so far.`},
	{use: "complete REQUEST", short: "Confirm a manual step as done", update: workflows.UpdateComplete, decision: true,
		stepState: workflows.StepWaiting, stepAction: plan.ActionManual, stepRequired: true, data: true, verb: "completed",
		long: `Complete confirms that a person did a manual step's task. --data key=value (or
--data-json) attaches structured results, readable by later steps as
steps.<id>.data.<key>.`},
	{use: "retry REQUEST", short: "Retry a parked step, optionally with changed inputs", update: workflows.UpdateRetry,
		stepState: workflows.StepParked, stepRequired: true, input: true, verb: "retried",
		long: `Retry runs a parked (failed) step again. --input key=value (or --input-json)
replaces some of its inputs with literal values for the new attempt. During a
rollback under onFailure park, a step whose compensation failed is parked too:
retry runs its compensation again (once the cause, e.g. a missing permission,
is fixed; no --input), skip leaves the resource behind.`},
	{use: "skip REQUEST", short: "Skip a parked step and go on", update: workflows.UpdateSkip,
		stepState: workflows.StepParked, stepRequired: true, reasonRequired: true, verb: "skipped",
		long: `Skip marks a parked step as skipped and lets the request go on without its
outputs. A --reason is required and recorded in the audit trail.`},
	{use: "rollback REQUEST", short: "Roll the request back: undo every completed step", update: workflows.UpdateRollback, verb: "rolling back",
		long: `Rollback stops the request and runs the compensation of every completed step
in reverse completion order.

--dry-run lists what would be compensated, in that order, and changes nothing.
--only STEP limits it to those steps and every step depending on them: on a
Done request this is a partial revoke (its grant undoes them and keeps the
rest); a running request rolls back whole.`},
	{use: "abort REQUEST", short: "Abort the request: stop it, undo what it did, end as Failed", update: workflows.UpdateAbort, verb: "aborted",
		long: `Abort stops the request and compensates every completed step, like rollback,
but the request ends in phase Failed instead of RolledBack (for requests that
must not be retried as they are).`},
}

func init() {
	for _, op := range operations {
		rootCmd.AddCommand(op.command())
	}

	cancel := &cobra.Command{
		Use:   "cancel REQUEST",
		Short: "Cancel the request's workflow (Temporal cancellation)",
		Long: `Cancel requests cancellation of the request's workflow, as the Web UI's
"Request Cancellation" does. The interpreter treats it like a rollback: it
undoes the completed steps in reverse order.`,
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
			if err := c.CancelWorkflow(ctx, id, ""); err != nil {
				return fmt.Errorf("cancel request %s: %w", id, err)
			}
			if globals.Output == "json" {
				return emitJSON(cmd.OutOrStdout(), map[string]any{"workflowId": id, "operation": "cancel", "ok": true})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cancellation requested for %s\n", id)
			return nil
		},
	}
	rootCmd.AddCommand(cancel)
}

// opFlags are an operation's flags.
type opFlags struct {
	step, as, comment, dataJSON string
	data                        []string
	sign                        signFlags
	// only and dryRun: rollback's partial rollback and preview (revoke.go).
	only   []string
	dryRun bool
}

func (op operation) command() *cobra.Command {
	var f opFlags
	cmd := &cobra.Command{
		Use:   op.use,
		Short: op.short,
		Long:  op.long + "\n\nREQUEST is a workflow ID, Kind/Name, or the spec file.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return op.run(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.step, "step", "", "step ID (default: the only step this applies to)")
	fl.StringVar(&f.as, "as", "", "identity acting (env TOPOFLOW_IDENTITY; default the login name)")
	fl.StringVar(&f.as, "identity", "", "the same as --as: the principal the decision is signed as")
	f.sign.add(fl)
	if op.decision {
		fl.StringVar(&f.comment, "comment", "", "comment recorded in the audit trail")
	} else {
		fl.StringVar(&f.comment, "reason", "", "reason recorded in the audit trail")
	}
	if op.data {
		fl.StringArrayVar(&f.data, "data", nil, "result key=value (repeatable; JSON values allowed)")
		fl.StringVar(&f.dataJSON, "data-json", "", "result as a JSON object")
	}
	if op.input {
		fl.StringArrayVar(&f.data, "input", nil, "replacement input key=value (repeatable; JSON values allowed)")
		fl.StringVar(&f.dataJSON, "input-json", "", "replacement inputs as a JSON object")
	}
	if op.update == workflows.UpdateRollback {
		fl.StringSliceVar(&f.only, "only", nil, "roll back only these steps and every step depending on them (a Done request's grant; repeatable or comma-separated)")
		fl.BoolVar(&f.dryRun, "dry-run", false, "list what would be compensated, in order, and change nothing")
	}
	return cmd
}

func (op operation) run(cmd *cobra.Command, arg string, f opFlags) error {
	if op.reasonRequired && strings.TrimSpace(f.comment) == "" {
		return usageError{op.update + ": --reason is required"}
	}
	values, err := parseKeyValues(f.data, f.dataJSON)
	if err != nil {
		return err
	}
	id, err := resolveWorkflowID(arg)
	if err != nil {
		return err
	}
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
	if op.update == workflows.UpdateRollback && (f.dryRun || len(f.only) > 0) {
		return runPartialRollback(cmd, c, id, identity, f) // revoke.go
	}
	if op.update == workflows.UpdateApprove || op.update == workflows.UpdateReject {
		id = routeToGrant(ctx, c, id) // a revoke's gate (revoke.go)
	}
	step := f.step
	if step == "" && op.stepRequired {
		if step, err = op.findStep(ctx, c, id); err != nil {
			return err
		}
	}
	send := func() error {
		var sig *trust.Signature
		if f.sign.configured() {
			runID, sha, err := runTarget(ctx, c, id)
			if err != nil {
				return err
			}
			digest, err := trust.DataDigest(values)
			if err != nil {
				return err
			}
			if sig, err = f.sign.sign(trust.Statement{Kind: op.update, WorkflowID: id, RunID: runID, PlanSHA256: sha,
				Step: step, Identity: identity, DataSHA256: digest, Comment: f.comment}); err != nil {
				return err
			}
		}
		var payload any
		if op.decision {
			payload = workflows.Decision{Step: step, Identity: identity, Comment: f.comment, Data: values, Signature: sig}
		} else {
			payload = workflows.OperatorAction{Step: step, Identity: identity, Reason: f.comment, Inputs: values, Signature: sig}
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   id,
			UpdateName:   op.update,
			WaitForStage: client.WorkflowUpdateStageCompleted,
			Args:         []any{payload},
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return err
	}
	// A key the request does not know yet (just added, or an OIDC key
	// rotation): it refreshes its trust, then the Update is signed and sent
	// again; one the server dropped is sent again (sendAgainIfLost).
	err = sendAgainIfLost(ctx, c, id, send)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return fmt.Errorf("%s refused by request %s: %s", op.update, id, app.Message())
		}
		if (op.update == workflows.UpdateRollback || op.update == workflows.UpdateAbort) && strings.Contains(err.Error(), "already completed") {
			return fmt.Errorf("%s request %s: its workflow has ended; if it is Done, take back what it created with "+
				"topoflow revoke %s (or a part with topoflow rollback %s --only STEP)", op.update, id, id, id)
		}
		return fmt.Errorf("%s request %s: %w", op.update, id, rootCause(err))
	}
	if globals.Output == "json" {
		return emitJSON(cmd.OutOrStdout(), map[string]any{
			"workflowId": id, "operation": op.update, "step": step, "identity": identity, "ok": true,
		})
	}
	what := id
	if step != "" {
		what = "step " + step + " of " + id
	}
	how := "unsigned"
	if f.sign.configured() {
		how = "signed"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s as %s (%s)\n", capitalize(op.verb), what, identity, how)
	return nil
}

// findStep picks the only step the operation applies to, or says which
// steps are candidates.
func (op operation) findStep(ctx context.Context, c client.Client, id string) (string, error) {
	p, err := queryProgress(ctx, c, id)
	if err != nil {
		return "", err
	}
	var candidates []string
	for _, s := range p.Steps {
		if s.State == op.stepState && (op.stepAction == "" || s.Action == op.stepAction) {
			candidates = append(candidates, s.ID)
		}
	}
	what := op.stepState
	if op.stepAction != "" {
		what += " " + op.stepAction
	}
	switch len(candidates) {
	case 1:
		return candidates[0], nil
	case 0:
		return "", fmt.Errorf("%s: request %s has no %s step (phase %s); see topoflow status %s", op.update, id, what, p.Phase, id)
	default:
		return "", usageError{fmt.Sprintf("%s: request %s has several %s steps (%s); choose one with --step", op.update, id, what, strings.Join(candidates, ", "))}
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
