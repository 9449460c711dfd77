package ambari

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The rollback of an Ambari change whose restart already ran: restore the
// config versions, restart, wait for the request.

func init() {
	typed[catalog.AmbariRestoreAndRestart] = func(a *Actions) activities.Func { return activities.Typed(a.RestoreAndRestart) }
}

// Terminal request statuses that mean failure.
var failedStatuses = map[string]bool{"FAILED": true, "ABORTED": true, "TIMEDOUT": true, "HOLDING_FAILED": true,
	"HOLDING_TIMEDOUT": true, "SKIPPED_FAILED": true}

// RestoreAndRestart restores earlier config versions, restarts the
// component again and waits for the request to complete (the rollback of
// an Ambari change whose restart already ran). Every part is idempotent
// under retries: restored versions and the restart request carry markers of
// the call's idempotency key.
func (a *Actions) RestoreAndRestart(ctx context.Context, call plan.Call, in catalog.AmbariRestoreAndRestartIn) (catalog.AmbariRestoreAndRestartOut, error) {
	var none catalog.AmbariRestoreAndRestartOut
	svc, comp := in.Service, in.Component
	if svc == "" {
		svc = "KAFKA"
	}
	if comp == "" {
		comp = "KAFKA_BROKER"
	}
	note := in.Note
	if note == "" {
		note = "topoflow rollback"
	}
	every := 2 * time.Second
	if s := in.PollInterval; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return none, activities.Fail(plan.ErrInvalid, "%s: pollInterval %q is not a positive duration", call.Action, s)
		}
		every = d
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	var restored []catalog.AmbariRestored
	for _, r := range in.Configs {
		out, err := a.applyConfig(ctx, c, r.Type, nil, "", r.Tag, note, tagMarker(call.IdempotencyKey+"/"+r.Type))
		if err != nil {
			return none, classify(call.Action, err)
		}
		restored = append(restored, catalog.AmbariRestored{Type: r.Type, Tag: out.Tag, RestoredTag: r.Tag, Changed: out.Changed})
	}
	id, _, _, err := restart(ctx, c, svc, comp, nil, call.IdempotencyKey+"/restart")
	if err != nil {
		return none, classify(call.Action, err)
	}
	if id == 0 { // nothing stale: no restart needed
		return catalog.AmbariRestoreAndRestartOut{Restored: restored, Status: statusNothingToRestart}, nil
	}
	for {
		req, err := c.Request(ctx, id)
		if err != nil {
			return none, classify(call.Action, err)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, req.Status)
		}
		if req.Status == "COMPLETED" {
			return catalog.AmbariRestoreAndRestartOut{Restored: restored, RequestID: id, Status: req.Status}, nil
		}
		if failedStatuses[req.Status] {
			return none, activities.Fail(plan.ErrWaitFailed, "%s: restart request %d ended %s: %s", call.Action, id, req.Status, req.AbortReason)
		}
		select {
		case <-ctx.Done():
			return none, classify(call.Action, ctx.Err())
		case <-time.After(every):
		}
	}
}
