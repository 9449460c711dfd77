package main

import (
	"sort"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// mergeLiveWaits fills in what running waits observe right now. A workflow
// cannot read its activities' heartbeats, so the progress query knows a
// wait's last status only once the wait ends; the heartbeat details of the
// pending topoflow.wait activities (in the workflow's description) carry it
// while it runs, keyed by the step's idempotency key.
func mergeLiveWaits(id string, desc *workflowservice.DescribeWorkflowExecutionResponse, p *workflows.Progress) {
	defer labelItems(p)
	if desc == nil {
		return
	}
	dc := converter.GetDefaultDataConverter()
	live := map[string][]string{} // step ID → what its running waits observe
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetActivityType().GetName() != plan.ActionWait || pa.GetHeartbeatDetails() == nil {
			continue
		}
		var wp core.WaitProgress
		if err := dc.FromPayloads(pa.GetHeartbeatDetails(), &wp); err != nil || wp.LastStatus == "" && wp.LastError == "" {
			continue
		}
		rest, ok := stepKeyRest(wp.Key, id)
		if !ok {
			continue
		}
		stepID, item, _ := strings.Cut(rest, "/")
		obs := wp.LastStatus
		if obs == "" {
			obs = "read error: " + wp.LastError
		}
		if item != "" {
			obs = item + ": " + obs
		}
		live[stepID] = append(live[stepID], obs)
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		if obs, ok := live[s.ID]; ok && s.State == workflows.StepRunning {
			sort.Strings(obs)
			s.Observed = strings.Join(obs, "; ")
		}
	}
}

// stepKeyRest is what follows a request's prefix in one of its idempotency
// keys ("<id>/…", or "<id>@<first run ID>/…" since workflows' run-scoped
// keys), and whether key is the request's.
func stepKeyRest(key, id string) (string, bool) {
	if rest, ok := strings.CutPrefix(key, id+"/"); ok {
		return rest, true
	}
	rest, ok := strings.CutPrefix(key, id+"@")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "/")
	return rest, ok
}
