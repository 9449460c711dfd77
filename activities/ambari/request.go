package ambari

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The request resource (a RESTART of a component): create (or find the one
// an earlier attempt posted) and read.

func init() {
	typed[catalog.AmbariRestartComponents] = func(a *Actions) activities.Func { return activities.Typed(a.RestartComponents) }
	typed[catalog.AmbariGetRequest] = func(a *Actions) activities.Func { return activities.Typed(a.GetRequest) }
}

// RestartComponents restarts a service component on its hosts (all by
// default) and returns the request ID. The request context carries a marker
// of the idempotency key: a retried call finds the request its earlier
// attempt created instead of restarting the brokers twice.
func (a *Actions) RestartComponents(ctx context.Context, call plan.Call, in catalog.AmbariRestartIn) (catalog.AmbariRestartOut, error) {
	var none catalog.AmbariRestartOut
	svc, comp := in.Service, in.Component
	var hosts []string
	for _, h := range in.Hosts {
		if h != "" {
			hosts = append(hosts, h)
		}
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	id, status, hosts, err := restart(ctx, c, svc, comp, hosts, call.IdempotencyKey)
	if err != nil {
		return none, classify(call.Action, err)
	}
	if hosts == nil {
		hosts = []string{}
	}
	return catalog.AmbariRestartOut{RequestID: id, Status: status, Hosts: hosts}, nil
}

// statusNothingToRestart is the status of a restart that found no affected
// host (nothing stale): no request is posted and its ID is 0, which
// GetRequest reports as COMPLETED.
const statusNothingToRestart = "COMPLETED"

// errNoHosts is returned when a component has no hosts to restart.
var errNoHosts = errors.New("the component has no hosts")

// restart posts a RESTART request, or finds the one an earlier attempt with
// the same idempotency key posted.
func restart(ctx context.Context, c *Client, svc, comp string, hosts []string, idemKey string) (int, string, []string, error) {
	reqContext := fmt.Sprintf("Restart %s of %s (topoflow)", comp, svc)
	if idemKey != "" && activity.IsActivity(ctx) {
		// Ambari keeps every request, and a request applied again after a
		// rollback runs under the same workflow ID (and so the same step keys):
		// only a restart of this run may stand for this run's restart, or the
		// new run would skip the restart that applies its config.
		idemKey += "/" + activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	if m := tagMarker(idemKey); m != "" {
		reqContext = fmt.Sprintf("Restart %s of %s (topoflow%s)", comp, svc, m)
		existing, err := c.Requests(ctx)
		if err != nil {
			return 0, "", nil, err
		}
		for _, r := range existing {
			if r.Context == reqContext {
				return r.ID, r.Status, hosts, nil
			}
		}
	}
	if len(hosts) == 0 {
		all, err := c.ComponentHosts(ctx, svc, comp)
		if err != nil {
			return 0, "", nil, err
		}
		if len(all) == 0 {
			return 0, "", nil, fmt.Errorf("%s of %s: %w", comp, svc, errNoHosts)
		}
		// "Restart all affected": only stale components on hosts not in maintenance mode.
		if hosts, err = c.AffectedHosts(ctx, svc, comp); err != nil {
			return 0, "", nil, err
		}
		if len(hosts) == 0 {
			return 0, statusNothingToRestart, nil, nil
		}
	}
	id, status, err := c.Restart(ctx, svc, comp, hosts, reqContext)
	return id, status, hosts, err
}

// GetRequest reads an Ambari request: status (PENDING, IN_PROGRESS,
// COMPLETED, FAILED, ...), progress and task counts.
func (a *Actions) GetRequest(ctx context.Context, call plan.Call, in catalog.AmbariRequestIn) (catalog.AmbariRequestOut, error) {
	var none catalog.AmbariRequestOut
	id := in.RequestID
	if id < 0 {
		return none, activities.Fail(plan.ErrInvalid, "%s: input requestId must be a positive integer (0: nothing was restarted)", call.Action)
	}
	if id == 0 {
		return catalog.AmbariRequestOut{Status: statusNothingToRestart, Progress: 100.0}, nil
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	r, err := c.Request(ctx, id)
	if err != nil {
		return none, classify(call.Action, err)
	}
	out := catalog.AmbariRequestOut{RequestID: r.ID, Status: r.Status, Progress: r.Progress, TaskCount: r.TaskCount,
		FailedTaskCount: r.FailedTaskCount, AbortedTaskCount: r.AbortedTaskCount}
	if r.AbortReason != "" {
		out.AbortReason = &r.AbortReason
	}
	return out, nil
}
