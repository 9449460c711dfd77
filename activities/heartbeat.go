package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// Budgets caps the attempts of error types that usually clear but may not:
// after that many attempts of one activity the error is made non-retryable
// (the type is kept), so a step does not spend its whole transient budget
// (minutes) on a resource that will not appear. Transient types (Unavailable,
// Throttled, timeouts) have no cap here: the step's schedule-to-close
// timeout bounds them.
var Budgets = map[string]int32{
	// Eventual consistency: a resource created a moment ago (or named by an
	// earlier step) is not visible yet. Terraform retries NotFound for its
	// propagation timeout, 2 minutes (hashicorp/terraform-provider-aws
	// internal/service/ec2/wait.go ec2PropagationTimeout, docs/retries-and-waiters.md);
	// 8 attempts at 1 s doubling up to 1 min are about 2 minutes.
	plan.ErrNotFound: 8,
	// A state that forbids the operation for now (IncorrectState,
	// DependencyViolation, AnotherOperationInProgress, DMS busy): Terraform
	// retries these for the resource's timeout, often 5-10 minutes
	// (terraform-provider-aws internal/service/ec2/vpc_security_group.go retries
	// DependencyViolation on delete; azurerm's peering create retries
	// AnotherOperationInProgress); 12 attempts are about 7 minutes.
	plan.ErrConflict: 12,
}

// HeartbeatInterceptor returns a worker interceptor that keeps every
// activity with a heartbeat timeout heartbeating while it runs, also while
// an SDK call blocks: every quarter of the timeout (1-10 s) it re-sends the
// activity's last heartbeat details (or those of the previous attempt, so a
// resumed activity keeps them across a second crash) unless the activity
// heartbeated itself meanwhile. With it a heartbeat timeout of tens of
// seconds is safe for any action, and an attempt on a killed worker is
// retried when it expires instead of at the end of its StartToClose.
//
// It also applies Budgets to the activity's error.
func HeartbeatInterceptor() interceptor.WorkerInterceptor { return &hbWorker{} }

type hbWorker struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*hbWorker) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &hbInbound{}
	i.Next = next
	return i
}

type hbInbound struct {
	interceptor.ActivityInboundInterceptorBase
	out *hbOutbound
}

// Init implements interceptor.ActivityInboundInterceptor.
func (i *hbInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	i.out = &hbOutbound{}
	i.out.Next = outbound
	return i.Next.Init(i.out)
}

// heartbeatEvery is the background heartbeat period for a heartbeat timeout.
func heartbeatEvery(timeout time.Duration) time.Duration {
	return min(max(timeout/4, time.Second), 10*time.Second)
}

// ExecuteActivity implements interceptor.ActivityInboundInterceptor.
func (i *hbInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	if info.HeartbeatTimeout > 0 && !info.IsLocalActivity {
		if i.out.Next.HasHeartbeatDetails(ctx) {
			var prior json.RawMessage
			if i.out.Next.GetHeartbeatDetails(ctx, &prior) == nil && len(prior) > 0 {
				i.out.details = []any{prior}
			}
		}
		every := heartbeatEvery(info.HeartbeatTimeout)
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-t.C:
					i.out.beat(ctx, every)
				}
			}
		}()
		defer func() {
			close(stop)
			<-done
		}()
	}
	res, err := i.Next.ExecuteActivity(ctx, in)
	return res, applyBudget(info.Attempt, err)
}

// applyBudget makes err non-retryable when its type's cap in Budgets is reached.
func applyBudget(attempt int32, err error) error {
	var ae *temporal.ApplicationError
	if err == nil || !errors.As(err, &ae) || ae.NonRetryable() {
		return err
	}
	limit, ok := Budgets[ae.Type()]
	if !ok || attempt < limit {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("%s (gave up after %d attempts)", ae.Message(), attempt), ae.Type(),
		temporal.ApplicationErrorOptions{NonRetryable: true, Cause: errors.Unwrap(ae)})
}

type hbOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	mu      sync.Mutex
	details []any
	last    time.Time
}

// RecordHeartbeat implements interceptor.ActivityOutboundInterceptor: it
// remembers the details for the background heartbeat.
func (o *hbOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	o.mu.Lock()
	o.details = details
	o.last = time.Now()
	o.mu.Unlock()
	o.Next.RecordHeartbeat(ctx, details...)
}

// beat heartbeats the last details unless the activity did within every.
func (o *hbOutbound) beat(ctx context.Context, every time.Duration) {
	o.mu.Lock()
	if time.Since(o.last) < every {
		o.mu.Unlock()
		return
	}
	details := o.details
	o.last = time.Now()
	o.mu.Unlock()
	o.Next.RecordHeartbeat(ctx, details...)
}
