package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestAzureRestoreAndRestartKeepsTrying: the restart fails (the request rolls
// back) and so does the compensation's own restart, once (issue 15: one
// WaitFailed abandoned ambari.restoreAndRestart and left a broker down). The
// compensation runs a second round, which issues a new restart: every broker
// is up again, maintenance is off and nothing is reported as left behind.
func TestAzureRestoreAndRestartKeepsTrying(t *testing.T) {
	s := azStack(t)
	sim := s.Sim()
	rule := sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 2})
	run := startPlan(t, s, compile(t, azSpec("e2e-az-undo-twice", "rg-aks", "aks-vnet", "10.31.0.0/16")))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := run.Get(ctx, nil)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("request ended %v, want %s with nothing left behind", err, workflows.ErrRolledBack)
	}
	if n := ruleHits(s, rule); n != 2 {
		t.Fatalf("%d restart tasks failed, want 2 (the change's restart and the first undo's)", n)
	}
	if _, mm := ambariState(t, s); mm != "OFF" {
		t.Fatalf("maintenance mode left %s", mm)
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, azKafka)
	for _, b := range k.Brokers {
		if b.Down || !strings.Contains(b.AdvertisedHost(), "cloudapp") {
			t.Fatalf("broker %d after the rollback: down=%v advertises %s", b.ID, b.Down, b.AdvertisedHost())
		}
	}
}
