package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// Retry budgets (workflows started since retryBudgetChange).
//
// Clouds fail transiently all the time: 5xx answers, throttling with a
// Retry-After, lost responses, workers killed mid-call. Terraform's
// providers retry such errors for minutes per operation, bounded by the
// resource's create/delete timeout (hashicorp/terraform-provider-aws
// internal/tfresource/retry.go RetryWhen*, and the SDK's own retryer
// underneath; huaweicloud/terraform-provider-huaweicloud uses
// resource.StateChangeConf with the schema timeouts, 10-30 minutes), and so
// do we:
//
//   - An action is retried with exponential backoff from 1 s, doubling, up to
//     1 min between attempts, without an attempt limit, for at most its
//     step's timeout (spec timeouts.step) or DefaultActionBudget: a 5xx or a
//     throttle that lasts less than that never rolls a request back. A
//     throttled attempt waits the cloud's Retry-After (the activity sets the
//     application error's NextRetryDelay), never less.
//   - Permanent errors (plan.NonRetryableErrors: invalid input, refused
//     credentials, a wait's failure state or timeout) are not retried.
//     NotFound and Conflict, which usually clear (eventual consistency, an
//     operation in progress), have attempt caps of their own, applied where
//     the activity runs (package activities, Budgets).
//   - Every attempt heartbeats (the worker's heartbeat interceptor does it
//     while an SDK call runs) and has ActionHeartbeatTimeout: an attempt on a
//     killed worker is retried within about half a minute instead of at the
//     end of its 5-minute StartToClose.
//   - Compensations retry with their own, longer budget
//     (DefaultCompensationBudget per round), and a round that still fails
//     for a reason that may clear (a wait that ended in a failure state, a
//     budget exhausted) is run again, up to CompensationRounds, with a new
//     idempotency key so that e.g. a failed restart request is issued again
//     rather than found again. Only then is the resource reported as left
//     behind.
//
// When a budget is exhausted the step fails with a ScheduleToClose timeout;
// the step's failure policy decides: onFailure: park parks the request for an
// operator (nothing is rolled back), rollback rolls it back.
const retryBudgetChange = "topoflow-retry-budgets"

// Budget defaults.
const (
	// DefaultActionBudget bounds an action's attempts when its step has no timeout.
	DefaultActionBudget = 20 * time.Minute
	// VerifyBudget bounds kafka.verify's attempts when its step has no
	// timeout: a verification that keeps failing is a wrong or missing rule,
	// route or listener, not a cloud hiccup; it leaves time for a new rule to
	// take effect, then parks or rolls back so a person sees it.
	VerifyBudget = time.Minute
	// verifyAction is the catalog name of the verification action.
	verifyAction = "kafka.verify"
	// ActionHeartbeatTimeout is the heartbeat timeout of actions, waits and
	// compensations: the worker heartbeats every few seconds while an
	// activity runs, so a killed worker's attempt is retried within it.
	ActionHeartbeatTimeout = 30 * time.Second
	// DefaultCompensationBudget bounds one round of a compensation (its
	// action's attempts).
	DefaultCompensationBudget = 30 * time.Minute
	// CompensationRounds is how many times a compensation (action and
	// follow-up wait) is run before its resource is reported as left behind.
	CompensationRounds = 4
	// compensationRoundDelay is the pause before the second round; it
	// doubles for each further round.
	compensationRoundDelay = 15 * time.Second
)

// transientRetry is the retry policy of actions under retry budgets.
var transientRetry = temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    0, // bounded by the schedule-to-close budget
}

// compensationBudgetRetry is the retry policy of compensations under retry budgets.
var compensationBudgetRetry = temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    2 * time.Minute,
	MaximumAttempts:    0, // bounded by DefaultCompensationBudget
}

// budgetActionOptions are the activity options of a step's action under retry budgets.
func budgetActionOptions(s *plan.Step) workflow.ActivityOptions {
	ao := workflow.ActivityOptions{
		StartToCloseTimeout:    DefaultAttemptTimeout,
		ScheduleToCloseTimeout: DefaultActionBudget,
		HeartbeatTimeout:       ActionHeartbeatTimeout,
		RetryPolicy:            retryPolicy(s.Retry, transientRetry),
		Summary:                s.Title,
	}
	if s.Action == verifyAction {
		ao.ScheduleToCloseTimeout = VerifyBudget
	}
	if s.Timeout > 0 {
		ao.ScheduleToCloseTimeout = s.Timeout.Std()
	}
	if s.AttemptTimeout > 0 {
		ao.StartToCloseTimeout = s.AttemptTimeout.Std()
	}
	return ao
}

// budgetCompensationOptions are the activity options of one compensation round under retry budgets.
func budgetCompensationOptions(s *plan.Step, title string) workflow.ActivityOptions {
	ao := workflow.ActivityOptions{
		StartToCloseTimeout:    DefaultCompensationTimeout,
		ScheduleToCloseTimeout: DefaultCompensationBudget,
		HeartbeatTimeout:       ActionHeartbeatTimeout,
		RetryPolicy:            retryPolicy(s.Compensation.Retry, compensationBudgetRetry),
		Summary:                title,
	}
	if s.AttemptTimeout > 0 {
		ao.StartToCloseTimeout = s.AttemptTimeout.Std()
	}
	return ao
}

// actionOptions are the activity options of a step's action for this workflow's version.
func (r *interp) actionOptions(s *plan.Step) workflow.ActivityOptions {
	if r.budgets {
		return budgetActionOptions(s)
	}
	return actionOptions(s)
}

// waitOptions are the activity options of a wait for this workflow's version.
func (r *interp) waitOptions(title string, c plan.Wait) workflow.ActivityOptions {
	ao := waitOptions(title, c)
	if r.budgets {
		ao.HeartbeatTimeout = ActionHeartbeatTimeout
	}
	return ao
}

// permanent reports whether a failed compensation round must not be run
// again: the call is wrong or the credentials are refused.
func permanent(err error) bool {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		switch ae.Type() {
		case plan.ErrInvalid, plan.ErrUnauthorized:
			return true
		}
	}
	return false
}

// roundKey is the idempotency key of a compensation round: round 0 keeps
// the key of workflows started before retry budgets.
func roundKey(key string, round int) string {
	if round == 0 {
		return key
	}
	return fmt.Sprintf("%s#%d", key, round+1)
}
