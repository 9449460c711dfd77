// Package core holds Topoflow's provider-independent activities: the generic
// wait that polls any registered read action until a wait contract's target
// state.
package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// StatusGone is the observed status reported when a resource polled by a
// wait with Gone set no longer exists.
const StatusGone = "<gone>"

// maxSleepChunk bounds how long the wait sleeps between heartbeats, so a
// worker crash is noticed within the heartbeat timeout even when the poll
// interval is long.
const maxSleepChunk = 10 * time.Second

// WaitProgress is the wait's heartbeat detail: what it last observed. A
// retried attempt resumes from it (the wait's deadline does not restart).
type WaitProgress struct {
	// Key is the waiting step's idempotency key ("<workflowID>/<stepID>[/<item>]"),
	// so a reader of a pending activity's heartbeat (the CLI's status) can tell
	// which step is waiting.
	Key string `json:"key,omitempty"`
	// Polls counts the read calls made so far (across attempts).
	Polls int `json:"polls"`
	// LastStatus is the last observed status.
	LastStatus string `json:"lastStatus,omitempty"`
	// LastError is the last read error that did not end the wait.
	LastError string `json:"lastError,omitempty"`
	// Consecutive counts consecutive polls that saw a target state.
	Consecutive int `json:"consecutive,omitempty"`
	// Deadline is when the wait gives up.
	Deadline time.Time `json:"deadline"`
}

// WaitFailure is the detail of ErrWaitFailed and ErrWaitTimeout errors.
type WaitFailure struct {
	// LastStatus is the last observed status.
	LastStatus string `json:"lastStatus,omitempty"`
	// Polls counts the read calls made.
	Polls int `json:"polls"`
}

// Waiter implements the generic wait activity.
type Waiter struct {
	// Registry holds the read actions the wait polls, called in-process.
	Registry *activities.Registry
	// Sleep waits for d or until ctx is done; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// RegisterWith registers the wait activity on w under plan.ActionWait. It
// polls the read actions of reg in-process. The wait is not itself a
// registry entry: its argument is a plan.WaitCall, not a plan.Call.
func RegisterWith(w worker.ActivityRegistry, reg *activities.Registry) {
	w.RegisterActivityWithOptions((&Waiter{Registry: reg}).Wait, activity.RegisterOptions{Name: plan.ActionWait})
}

// Wait polls wc.Call's action until its status reaches a target state of
// wc.Contract and returns the last outputs. It fails with a non-retryable
// plan.ErrWaitFailed on a failure state and plan.ErrWaitTimeout after the
// contract's timeout. Every poll is heartbeated with a WaitProgress, and the
// whole wait is one activity execution, so its history cost does not depend
// on how many polls it takes.
func (w *Waiter) Wait(ctx context.Context, wc plan.WaitCall) (plan.Outputs, error) {
	fn, ok := w.Registry.Get(wc.Call.Action)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("wait: no read action %q is registered", wc.Call.Action), plan.ErrInvalid, nil)
	}
	c := wc.Contract
	if c.PollInterval <= 0 || c.Timeout <= 0 {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("wait on %s: pollInterval and timeout must be positive", wc.Call.Action), plan.ErrInvalid, nil)
	}
	need := c.Occurrences
	if need < 1 {
		need = 1
	}
	path := c.StatusPath
	if path == "" {
		path = "status"
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}

	var pr WaitProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &pr); err != nil {
			pr = WaitProgress{}
		}
	}
	if pr.Deadline.IsZero() {
		pr.Deadline = now().Add(c.Timeout.Std())
	}
	pr.Key = wc.Call.IdempotencyKey
	for {
		out, err := fn(ctx, wc.Call)
		pr.Polls++
		switch {
		case err != nil && isType(err, plan.ErrNotFound) && c.Gone:
			pr.LastStatus = StatusGone
			activity.RecordHeartbeat(ctx, pr)
			return plan.Outputs{"status": StatusGone, "gone": true}, nil
		case err != nil && (isType(err, plan.ErrInvalid) || isType(err, plan.ErrUnauthorized)):
			// Keep the error type visible to the workflow (a wrapped error would not be).
			var ae *temporal.ApplicationError
			errors.As(err, &ae)
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("wait on %s: %s", wc.Call.Action, ae.Message()), ae.Type(), nil)
		case err != nil:
			// A transient read error or a resource not visible yet: keep polling.
			pr.LastError = err.Error()
			pr.Consecutive = 0
		default:
			pr.LastError = ""
			status := lookupStatus(out, path)
			pr.LastStatus = status
			switch c.Classify(status) {
			case "target":
				pr.Consecutive++
				if pr.Consecutive >= need {
					activity.RecordHeartbeat(ctx, pr)
					return out, nil
				}
			case "failure":
				activity.RecordHeartbeat(ctx, pr)
				return nil, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("wait on %s: reached failure state %q after %d polls", wc.Call.Action, status, pr.Polls),
					plan.ErrWaitFailed, nil, WaitFailure{LastStatus: status, Polls: pr.Polls})
			default:
				pr.Consecutive = 0
			}
		}
		activity.RecordHeartbeat(ctx, pr)
		if !now().Add(c.PollInterval.Std()).Before(pr.Deadline) {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("wait on %s: no target state %v within %s (last status %q after %d polls)",
					wc.Call.Action, c.Target, c.Timeout, pr.LastStatus, pr.Polls),
				plan.ErrWaitTimeout, nil, WaitFailure{LastStatus: pr.LastStatus, Polls: pr.Polls})
		}
		if wc.Poll {
			// One poll per attempt: the retry policy is the poller, and the
			// heartbeat details (kept by Temporal across attempts) carry the
			// polls, the consecutive targets and the deadline.
			// https://docs.temporal.io/develop/go/failure-detection (infrequent polling)
			return nil, temporal.NewApplicationErrorWithOptions(
				fmt.Sprintf("wait on %s: status %q after %d polls, next poll in %s", wc.Call.Action, pr.LastStatus, pr.Polls, c.PollInterval),
				plan.ErrWaitPending, temporal.ApplicationErrorOptions{
					// Expected between polls: not logged as an error, no failure metric.
					Category:       temporal.ApplicationErrorCategoryBenign,
					NextRetryDelay: c.PollInterval.Std(),
					Details:        []any{WaitFailure{LastStatus: pr.LastStatus, Polls: pr.Polls}},
				})
		}
		for left := c.PollInterval.Std(); left > 0; left -= maxSleepChunk {
			if err := sleep(ctx, min(left, maxSleepChunk)); err != nil {
				return nil, fmt.Errorf("wait on %s: %w", wc.Call.Action, err)
			}
			if left > maxSleepChunk {
				activity.RecordHeartbeat(ctx, pr)
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isType(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}

// lookupStatus reads a dotted path from outputs and formats it as a string
// ("" when absent).
func lookupStatus(out plan.Outputs, path string) string {
	var cur any = map[string]any(out)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur, ok = m[part]
		if !ok {
			return ""
		}
	}
	if cur == nil {
		return ""
	}
	if s, ok := cur.(string); ok {
		return s
	}
	return fmt.Sprint(cur)
}
