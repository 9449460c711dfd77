package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Waits that hold no worker slot (workflows started since slotFreeWaitChange).
//
// A wait was one heartbeating activity for its whole duration: O(1) history
// events, but one activity slot of a worker held for hours or days and a
// heartbeat every few seconds. A wait whose poll interval is at least
// SlotFreePollInterval now polls once per activity attempt
// (plan.WaitCall.Poll): a status that is not the target fails the attempt
// with the retryable plan.ErrWaitPending, and the retry policy (the poll
// interval, no backoff, no attempt limit, bounded by the wait's timeout)
// schedules the next poll. Between polls the activity is only a retry timer
// in the server: no slot, no heartbeat, and the history still holds one
// activity whatever the number of polls (Temporal's infrequent-polling
// pattern, https://docs.temporal.io/develop/go/failure-detection and
// temporalio/samples-go polling/infrequent). Shorter polls keep the
// heartbeating loop, which reacts within seconds.
const slotFreeWaitChange = "topoflow-slot-free-waits"

// SlotFreePollInterval is the shortest poll interval of a wait that polls
// without holding a worker slot.
const SlotFreePollInterval = time.Minute

// pollAttemptTimeout bounds one poll.
const pollAttemptTimeout = time.Minute

// pollsWithoutSlot reports whether this wait polls once per attempt; the
// version is asked only for waits it would change, so other histories keep
// their shape.
func (r *interp) pollsWithoutSlot(ctx workflow.Context, c plan.Wait) bool {
	if c.PollInterval.Std() < SlotFreePollInterval {
		return false
	}
	return changeVersion(ctx, slotFreeWaitChange, 1) >= 1
}

// pollWaitOptions are the activity options of a wait that polls once per
// attempt: the retry policy is the poller.
func pollWaitOptions(title string, c plan.Wait) workflow.ActivityOptions {
	every := c.PollInterval.Std()
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: c.Timeout.Std() + every + 30*time.Second,
		StartToCloseTimeout:    pollAttemptTimeout,
		HeartbeatTimeout:       ActionHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        every,
			BackoffCoefficient:     1,
			MaximumInterval:        every,
			NonRetryableErrorTypes: plan.NonRetryableErrors,
		},
		Summary: title,
	}
}
