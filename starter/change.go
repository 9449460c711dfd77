package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

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
