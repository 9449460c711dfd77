package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestAzureRestartIsAFullOutage runs the AKS ↔ HDInsight request and samples
// the brokers meanwhile. Ambari's restart of all affected brokers is one
// parallel stage, so at some point every broker is down at once (the outage
// runbook 004 schedules maintenance mode for); the request must still end
// with the verification passing, after the brokers are back.
func TestAzureRestartIsAFullOutage(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	sim := s.Sim()
	stop := make(chan struct{})
	maxDown := make(chan int, 1)
	go func() {
		most := 0
		defer func() { maxDown <- most }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			down, n := 0, 0
			for _, k := range inventory.List[*inventory.KafkaInstance](sim.Inventory, inventory.Filter{}) {
				if k.Engine != "hdinsight" {
					continue
				}
				for _, b := range k.Brokers {
					n++
					if b.Down {
						down++
					}
				}
			}
			if n > 0 && down == n {
				most = n
			}
		}
	}()
	run := startPlan(t, s, compile(t, azSpec("e2e-az-outage", "rg-aks", "aks-vnet", "10.31.0.0/16")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	close(stop)
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if n := <-maxDown; n == 0 {
		t.Fatal("the brokers were never all down at once: the restart was rolling, Ambari's is one parallel stage")
	}
	pr := progress(t, s, run)
	if st := stepState(pr, "verify"); st != "done" {
		t.Fatalf("verify is %s", st)
	}
}
