package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// TestAzureRestoreAndRestartKeepsTrying: the restart fails (the request rolls
// back) and so does the compensation's own restart, once (issue 15: one
// WaitFailed abandoned ambari.restoreAndRestart and left a broker down). The
// compensation runs a second round, which issues a new restart: every broker
// is up again, maintenance is off and nothing is reported as left behind.
func TestAzureRestoreAndRestartKeepsTrying(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	sim := s.Sim()
	change := sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 1})
	run := startPlan(t, s, compile(t, azSpec("e2e-az-undo-twice", "rg-aks", "aks-vnet", "10.31.0.0/16")))
	// Once the change's restart has failed, the next restart (the undo's) fails too.
	eventually(t, 3*time.Minute, "the change's restart failed", func() bool { return ruleHits(s, change) == 1 })
	undo := sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("request ended %v, want %s with nothing left behind", err, workflows.ErrRolledBack)
	}
	if n := ruleHits(s, undo); n != 1 {
		t.Fatalf("the undo's restart failed %d times, want once", n)
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

// faultSpec is the same-account Huawei request (runbook 001: an endpoint
// service and an endpoint per broker, the advertised map, the security-group
// rule, a produce/consume verification) with the default retry budgets (no
// step timeout).
func faultSpec(name string) string {
	return fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: %s}
spec:
  kafka: {provider: huawei, account: hw-kafka-owner, instanceId: %s}
  client: {account: hw-kafka-owner, vpcId: %s, subnetId: %s}
  method: vpcEndpoint
  timeouts: {pollInterval: 500ms, wait: 10m}
`, name, hwKafka, hwOwnerVPC, hwOwnerSub)
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

// snapshot is the twin's inventory before a request.
type snapshot map[inventory.Kind]map[string]inventory.Object

func takeSnapshot(inv *inventory.Store) snapshot {
	out := snapshot{}
	for k, objs := range inv.Snapshot(inventory.Filter{}) {
		out[k] = map[string]inventory.Object{}
		for _, o := range objs {
			out[k][o.GetMeta().ID] = o
		}
	}
	return out
}

// restore puts the inventory back as it was in snap: objects created since
// are deleted (dependents first), changed ones (the instance's advertised
// map, the security group's rules) get their old content back. Each request
// of the matrix so starts from the same cloud, as its own fresh world would.
func (snap snapshot) restore(t *testing.T, inv *inventory.Store) {
	t.Helper()
	now := inv.Snapshot(inventory.Filter{})
	for i := len(inventory.Kinds) - 1; i >= 0; i-- {
		k := inventory.Kinds[i]
		for _, o := range now[k] {
			id := o.GetMeta().ID
			prev, ok := snap[k][id]
			switch {
			case !ok:
				if err := inv.Delete(k, id); err != nil {
					t.Fatalf("restore: %v", err)
				}
			case !reflect.DeepEqual(prev, o):
				if _, err := inv.Update(k, id, func(n inventory.Object) error {
					reflect.ValueOf(n).Elem().Set(reflect.ValueOf(prev).Elem())
					return nil
				}); err != nil {
					t.Fatalf("restore: %v", err)
				}
			}
		}
	}
}

// outcome is how one request ended.
type outcome struct {
	done     bool
	phase    string
	took     time.Duration
	failures string
}

// runOne runs one request to its end and returns how it ended.
func runOne(t *testing.T, s *stack.Stack, name string, limit time.Duration) outcome {
	t.Helper()
	p := compile(t, faultSpec(name))
	start := time.Now()
	run := startPlan(t, s, p)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err := workflows.Wait(ctx, run)
	o := outcome{done: err == nil, took: time.Since(start), phase: workflows.PhaseDone}
	if err == nil {
		// The caller restores the cloud under this Done request: Temporal
		// forgets it and its grant too, or they would hold the instance for
		// the next one (a grant holds its request's claims past the
		// request's retention).
		defer func() {
			forget(t, s, run.GetID())
			forget(t, s, workflows.GrantWorkflowID(run.GetID()))
		}()
	}
	if err != nil {
		o.phase = "error: " + err.Error()
		qctx, qcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer qcancel()
		if v, qerr := s.Client.QueryWorkflow(qctx, run.GetID(), run.GetRunID(), workflows.QueryProgress); qerr == nil {
			var pr workflows.Progress
			if v.Get(&pr) == nil {
				o.phase = pr.Phase
				var why []string
				for _, st := range pr.Steps {
					if st.LastError != "" {
						why = append(why, st.ID+": "+st.LastError)
					}
				}
				o.failures = strings.Join(why, "; ")
			}
		}
	}
	return o
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestTransientFaultsDoNotRollBack is the short variant of the fault
// matrix (make faults): two requests with 30% 5xx on every Huawei operation
// end Done. Typically 30-50 s; an unlucky run of faults on one action
// (backoff up to 1 min between attempts) can make it take a few minutes.
func TestTransientFaultsDoNotRollBack(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	inv := s.Sim().Inventory
	id := s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.*", Kind: faults.Error, Rate: 0.3})
	for i := 0; i < 2; i++ {
		snap := takeSnapshot(inv)
		if o := runOne(t, s, fmt.Sprintf("e2e-faults-short-%d", i), 10*time.Minute); !o.done {
			t.Fatalf("request %d: %s after %s: %s", i, o.phase, o.took.Round(time.Second), o.failures)
		}
		snap.restore(t, inv)
	}
	if n := ruleHits(s, id); n == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%d faults injected", ruleHits(s, id))
}
