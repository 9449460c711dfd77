package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
)

// probeRouteChange guards probe routing: a step with a plan.Probe first asks
// the main worker (activity plan.ActionProbeRoute) which probe task queue
// serves its client account and network, then runs there. Workflows
// recorded before it ran such steps on the main task queue and keep doing so.
const probeRouteChange = "topoflow-probe-route"

// probeRouteTimeout bounds the registry lookup (it runs on the main worker).
const probeRouteTimeout = 30 * time.Second

// route is the probe task queue of a step ("" = the main worker).
type route struct {
	taskQueue    string
	network      string
	startTimeout time.Duration
}

// probeRoute asks the main worker's account registry for the probe of s's
// client network; without the guard's version it returns no route.
func (r *interp) probeRoute(c cx, s *plan.Step) (route, error) {
	if s.Probe == nil || changeVersion(c.work, probeRouteChange, 1) < 1 {
		return route{}, nil
	}
	ctx := workflow.WithActivityOptions(c.work, workflow.ActivityOptions{
		StartToCloseTimeout: probeRouteTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumAttempts: 3, NonRetryableErrorTypes: plan.NonRetryableErrors},
		Summary: "find the probe of " + s.Probe.Account,
	})
	call := plan.Call{Action: plan.ActionProbeRoute, Account: s.Probe.Account,
		Inputs: map[string]any{"network": s.Probe.Network}, IdempotencyKey: r.wfID + "/" + s.ID + "/probe-route"} // a read: no create to repeat
	var out plan.Outputs
	if err := workflow.ExecuteActivity(ctx, plan.ActionProbeRoute, call).Get(c.work, &out); err != nil {
		return route{}, fmt.Errorf("find the probe of account %s, network %q: %s", s.Probe.Account, s.Probe.Network, errText(err))
	}
	rt := route{network: s.Probe.Network}
	rt.taskQueue, _ = out["taskQueue"].(string)
	if st, _ := out["startTimeout"].(string); st != "" {
		d, err := time.ParseDuration(st)
		if err != nil {
			return route{}, fmt.Errorf("probe of account %s: startTimeout %q: %w", s.Probe.Account, st, err)
		}
		rt.startTimeout = d
	}
	return rt, nil
}

// apply routes ao to the probe's task queue (with its ScheduleToStart bound).
func (rt route) apply(ao workflow.ActivityOptions) workflow.ActivityOptions {
	if rt.taskQueue == "" {
		return ao
	}
	ao.TaskQueue = rt.taskQueue
	ao.ScheduleToStartTimeout = rt.startTimeout
	return ao
}

// probeError explains an activity error of a step routed to a probe: a
// schedule-to-start timeout means no probe polls the queue.
func (rt route) probeError(s *plan.Step, err error) error {
	var te *temporal.TimeoutError
	if rt.taskQueue == "" || !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		return nil
	}
	net := rt.network
	if net == "" {
		net = "<the client network>"
	}
	return fmt.Errorf("%s: no probe polls task queue %s (client account %s, network %s) within %s: start `topoflow-worker probe --task-queue %s --network %s` in the client network",
		s.Action, rt.taskQueue, s.Probe.Account, net, rt.startTimeout, rt.taskQueue, net)
}
