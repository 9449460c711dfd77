package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/topoflow/topoflow/workflows"
)

// Exit statuses of apply --wait beyond 0 (success), 1 (failure: invalid
// spec, refused command, unreachable Temporal) and 2 (usage error), so that
// scripts can tell how a request ended without parsing its output.
const (
	// exitRequestFailed: the request failed (aborted, or its rollback left
	// resources behind).
	exitRequestFailed = 3
	// exitRolledBack: the request was rolled back (rejected, expired,
	// failed step with onFailure rollback, rollback or cancel).
	exitRolledBack = 4
	// exitParked: a step is parked and waits for an operator (retry, skip,
	// rollback or abort); the request keeps running.
	exitParked = 5
	// exitWaitTimeout: --timeout passed; the request keeps running.
	exitWaitTimeout = 6
)

// errParked ends follow when the request parks: an operator must act.
var errParked = errors.New("request parked")

// waitExit is the exit status of a request that ended without success.
func waitExit(final workflows.Progress) int {
	if final.Phase == workflows.PhaseRolledBack {
		return exitRolledBack
	}
	return exitRequestFailed
}

// reportParked prints a parked request (its parked steps and what an
// operator can do) and returns exit status exitParked.
func reportParked(w io.Writer, id string, res applyResult, final workflows.Progress) error {
	res.Status = "Running"
	var parked []workflows.StepProgress
	for _, s := range final.Steps {
		if s.State == workflows.StepParked {
			parked = append(parked, s)
		}
	}
	if globals.Output == "json" {
		for _, s := range parked {
			if s.LastError != "" {
				res.Error = s.ID + ": " + s.LastError
				break
			}
		}
		if err := emitJSON(w, res); err != nil {
			return err
		}
		return exitCode(exitParked)
	}
	fmt.Fprintf(w, "\nRequest %s is parked: an operator must act (it keeps running).\n", id)
	for _, s := range parked {
		fmt.Fprintf(w, "  %s: %s\n", s.ID, dash(s.LastError))
	}
	if hint := nextHint(id, final); hint != "" {
		fmt.Fprintf(w, "Next: %s\n", hint)
	}
	return exitCode(exitParked)
}
