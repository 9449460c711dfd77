package activities

import (
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// The error constructors every provider's actions share. Each returns a
// Temporal application error whose type is one of plan's error types, so
// the interpreter's retry and rollback policies (workflows/retry.go) treat
// them alike; a provider's classify maps its SDK's errors onto them.

// Fail returns an application error of type typ (one of the plan.Err…
// types): non-retryable for plan.ErrInvalid and plan.ErrUnauthorized (the
// call is wrong, or not allowed: retrying will not help), retryable for
// every other type.
func Fail(typ, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), typ,
		temporal.ApplicationErrorOptions{NonRetryable: typ == plan.ErrInvalid || typ == plan.ErrUnauthorized})
}

// Invalid returns a non-retryable error of type plan.ErrInvalid: the call is
// wrong and retrying it will not help.
func Invalid(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), plan.ErrInvalid, nil)
}

// Unauthorized returns a non-retryable error of type plan.ErrUnauthorized.
func Unauthorized(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), plan.ErrUnauthorized, nil)
}

// Conflict returns a retryable error of type plan.ErrConflict: the resource
// is busy or in a state that another operation must leave first.
func Conflict(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), plan.ErrConflict)
}

// NotFound returns a retryable error of type plan.ErrNotFound (callers that
// treat a missing resource as done test for the type).
func NotFound(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), plan.ErrNotFound)
}
