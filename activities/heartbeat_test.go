package activities

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

func TestApplyBudget(t *testing.T) {
	for _, tc := range []struct {
		name          string
		err           error
		attempt       int32
		wantRetryable bool
	}{
		{"not found before its cap", temporal.NewApplicationError("x", plan.ErrNotFound), 7, true},
		{"not found at its cap", temporal.NewApplicationError("x", plan.ErrNotFound), 8, false},
		{"conflict at its cap", temporal.NewApplicationError("x", plan.ErrConflict), 12, false},
		{"transient: no cap", temporal.NewApplicationError("x", plan.ErrUnavailable), 500, true},
		{"throttled: no cap", temporal.NewApplicationError("x", plan.ErrThrottled), 500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyBudget(tc.attempt, tc.err)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is no application error", err)
			}
			if ae.NonRetryable() == tc.wantRetryable || ae.Type() != tc.err.(*temporal.ApplicationError).Type() {
				t.Fatalf("attempt %d: %v (non-retryable %v), want retryable %v with the type kept", tc.attempt, err, ae.NonRetryable(), tc.wantRetryable)
			}
		})
	}
	if applyBudget(99, nil) != nil {
		t.Fatal("nil error changed")
	}
}

func TestHeartbeatEvery(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		2 * time.Second: time.Second, 30 * time.Second: 7500 * time.Millisecond, time.Hour: 10 * time.Second,
	} {
		if got := heartbeatEvery(timeout); got != want {
			t.Errorf("heartbeatEvery(%s) = %s, want %s", timeout, got, want)
		}
	}
}
