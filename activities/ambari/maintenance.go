package ambari

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The maintenance mode of a service: set (and report the previous state).

func init() {
	typed[catalog.AmbariSetMaintenance] = func(a *Actions) activities.Func { return activities.Typed(a.SetMaintenance) }
}

// maintenanceDetail is SetMaintenance's heartbeat detail: the state found
// before the first attempt changed anything, so a retried attempt still
// reports the true previous state (and does not wait for its own window).
type maintenanceDetail struct {
	Previous string `json:"previous,omitempty"`
}

// SetMaintenance turns a service's maintenance mode ON or OFF and returns
// the previous state (the compensation restores it). Maintenance mode is the
// cluster's "someone is working on it" flag: turning it ON while it already
// is ON (another request's restart window, or an operator's) fails with a
// non-retryable Conflict, so a restart never runs inside somebody else's
// window and a rollback never restores it. A retried attempt that already
// turned it ON itself (heartbeat details) is not refused.
func (a *Actions) SetMaintenance(ctx context.Context, call plan.Call, in catalog.AmbariMaintenanceIn) (catalog.AmbariMaintenanceOut, error) {
	var none catalog.AmbariMaintenanceOut
	svc := in.Service
	state := strings.ToUpper(in.State)
	if state != "ON" && state != "OFF" {
		return none, activities.Fail(plan.ErrInvalid, "%s: state must be ON or OFF, not %q", call.Action, state)
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	info, err := c.Service(ctx, svc)
	if err != nil {
		return none, classify(call.Action, err)
	}
	inActivity := activity.IsActivity(ctx)
	resumed := ""
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		var d maintenanceDetail
		if activity.GetHeartbeatDetails(ctx, &d) == nil {
			resumed = d.Previous
		}
	}
	if state == "ON" && info.MaintenanceState == "ON" && resumed == "" {
		// Someone else's maintenance window is open (another request
		// restarting this service, or an operator's). Restarting inside it
		// would let its owner turn maintenance off under our restart, and our
		// rollback would "restore" ON. Waiting here would hold the cluster's
		// lock the owner needs to close its window, so refuse instead.
		return none, temporal.NewApplicationErrorWithOptions(fmt.Sprintf(
			"%s: %s is already in maintenance mode (another change on the cluster, or an operator's window); "+
				"not restarting inside it: retry when it is OFF", call.Action, svc),
			plan.ErrConflict, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	previous := info.MaintenanceState
	if resumed != "" {
		previous = resumed
	} else if inActivity {
		activity.RecordHeartbeat(ctx, maintenanceDetail{Previous: previous})
	}
	if info.MaintenanceState != state {
		if err := c.SetMaintenance(ctx, svc, state); err != nil {
			return none, classify(call.Action, err)
		}
	}
	return catalog.AmbariMaintenanceOut{Service: svc, Previous: previous, State: state}, nil
}
