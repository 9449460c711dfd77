package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	azureacts "github.com/topoflow/topoflow/activities/azure"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	ambarisim "github.com/topoflow/topoflow/cloudsim/ambari" // registers the Ambari provider
	_ "github.com/topoflow/topoflow/cloudsim/azure"          // registers the Azure provider
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"

	ambariacts "github.com/topoflow/topoflow/activities/ambari"
)

const (
	azSub     = "00000000-0000-4000-8000-000000000001"
	azHDIVNet = "/subscriptions/" + azSub + "/resourceGroups/rg-kafka/providers/Microsoft.Network/virtualNetworks/hdi-vnet"
	azKafka   = "/subscriptions/" + azSub + "/resourceGroups/rg-kafka/providers/Microsoft.HDInsight/clusters/kafka1"
)

func azVNetID(rg, vnet string) string {
	return "/subscriptions/" + azSub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/virtualNetworks/" + vnet
}

// azSpec is runbook 004 as a KafkaAccess request from the client VNet rg/vnet.
func azSpec(name, rg, vnet, cidr string) string {
	return fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: %s}
spec:
  kafka: {provider: azure, account: az-hdinsight, cluster: kafka1, resourceGroup: rg-kafka, vnet: hdi-vnet, cidr: 10.30.0.0/16}
  client: {account: az-hdinsight, resourceGroup: %s, vnet: %s, cidr: %s}
  method: vnetPeering
  ambari: {account: az-ambari}
  verify: {clientNetwork: %s}
  timeouts: {pollInterval: 200ms, wait: 2m, step: 2m}
`, name, rg, vnet, cidr, azVNetID(rg, vnet))
}

// azStack starts the stack with the Azure and Ambari actions on the worker
// (registered here unless the worker already wires them).
// azStack starts the stack with the examples' account registry, or the one
// given (registry[0]).
func azStack(t *testing.T, registry ...string) *stack.Stack {
	t.Helper()
	accountsFile := ""
	if len(registry) > 0 {
		accountsFile = registry[0]
	}
	for _, p := range []string{"azure", "ambari"} {
		if !hasProvider(p) {
			t.Fatalf("cloudsim/%s is not registered", p)
		}
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return stack.New(t, stack.Options{Cloudsim: true, Worker: true, Accounts: accountsFile, Register: func(_ worker.Registry, reg *activities.Registry) {
		accts, err := accounts.Load(filepath.Join(root, "specs", "accounts.yaml"))
		if err != nil {
			panic(fmt.Sprintf("load accounts: %v", err))
		}
		if _, ok := reg.Get(catalog.AzureNetworkCreatePeering); !ok {
			azureacts.Register(reg, accts)
		}
		if _, ok := reg.Get(catalog.AmbariPutConfig); !ok {
			ambariacts.Register(reg, accts)
		}
	}})
}

// verifyFrom runs kafka.verify from a client VNet through the broker IPs.
func verifyFrom(sim *cloudsim.Sim, vnet, key string) error {
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, azKafka)
	if err != nil {
		return err
	}
	var boot []any
	for _, b := range k.Brokers {
		boot = append(boot, fmt.Sprintf("%s:%d", b.ListenerIP, b.Port))
	}
	verify := probeVerify(sim, vnet)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = verify(ctx, planCall(boot, vnet, key))
	return err
}

// ambariState reads the desired config tags and the maintenance mode as the worker sees them.
func ambariState(t *testing.T, s *stack.Stack) (map[string]string, string) {
	t.Helper()
	c := &ambariacts.Client{Base: s.CloudsimURL, Cluster: "kafka1", User: "admin", Password: "az-ambari-password-5f6a7b8c9d0e"}
	ctx := context.Background()
	d, err := c.DesiredConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Service(ctx, "KAFKA")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"kafka-env": d["kafka-env"].Tag, "kafka-broker": d["kafka-broker"].Tag}, info.MaintenanceState
}

func advertisedHosts(t *testing.T, sim *cloudsim.Sim) []string {
	t.Helper()
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, azKafka)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range k.Brokers {
		out = append(out, b.AdvertisedHost())
	}
	return out
}

// eventTrail renders the Ambari events as "kind:first-word".
func eventTrail(evs []ambarisim.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+":"+strings.Fields(e.Detail)[0])
	}
	return out
}

func TestAzureAKSToHDInsight(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	sim := s.Sim()
	amb, _ := ambarisim.ServerOf(sim)
	aks := azVNetID("rg-aks", "aks-vnet")

	// Before: even with the VNets peered, clients in the AKS VNet cannot use
	// Kafka, because the brokers advertise host names only the HDInsight VNet resolves.
	var tmp []string
	for _, p := range [][2]string{{azHDIVNet, aks}, {aks, azHDIVNet}} {
		o, err := inventory.Create(sim.Inventory, &inventory.Peering{Meta: inventory.Meta{Account: "az-hdinsight", Status: inventory.PeeringActive}, VPCID: p[0], PeerVPCID: p[1]})
		if err != nil {
			t.Fatal(err)
		}
		tmp = append(tmp, o.ID)
	}
	err := verifyFrom(sim, aks, "before")
	if err == nil || !strings.Contains(err.Error(), "internal.cloudapp.net") {
		t.Fatalf("verification before the change: %v (want a failure on the brokers' host names)", err)
	}
	for _, id := range tmp {
		if err := sim.Inventory.Delete(inventory.KindPeering, id); err != nil {
			t.Fatal(err)
		}
	}

	run := startPlan(t, s, compile(t, azSpec("e2e-az-aks", "rg-aks", "aks-vnet", "10.31.0.0/16")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if outs, _ := out["outputs"].(map[string]any); !strings.Contains(fmt.Sprint(outs["bootstrap"]), ":9092") {
		t.Fatalf("outputs: %v", out)
	}
	ps := cloudPeerings(sim.Inventory)
	if len(ps) != 2 || ps[0].Status != inventory.PeeringActive || ps[1].Status != inventory.PeeringActive {
		t.Fatalf("peerings after the request: %+v", ps)
	}
	for _, a := range advertisedHosts(t, sim) {
		if strings.Contains(a, "cloudapp") {
			t.Fatalf("a broker still advertises %s", a)
		}
	}
	if err := verifyFrom(sim, aks, "after"); err != nil {
		t.Fatalf("verification from the AKS VNet after the request: %v", err)
	}
	// Both sides of the peering are needed: with the AKS side deleted (the
	// HDInsight side turns Disconnected) verify fails at the peering; both
	// sides re-created, it passes again.
	var aksSide, hdiSide *inventory.Peering
	for _, p := range ps {
		if p.VPCID == aks {
			aksSide = p
		} else {
			hdiSide = p
		}
	}
	if aksSide == nil || hdiSide == nil {
		t.Fatalf("peerings: %+v", ps)
	}
	reg := cloudActions(t, s)
	act(t, reg, catalog.AzureNetworkDeletePeering, "az-hdinsight", map[string]any{"resourceGroup": "rg-aks", "vnet": "aks-vnet", "name": aksSide.Name})
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, azKafka)
	if err != nil {
		t.Fatal(err)
	}
	broker := fmt.Sprintf("%s:%d", k.Brokers[0].ListenerIP, k.Brokers[0].Port)
	wantDropped(t, s, verifyFrom(sim, aks, "one-side"), aks, broker, netmodel.HopPeering,
		"the VNet peering from "+aks+" to "+azHDIVNet+" is not Connected (missing)")
	act(t, reg, catalog.AzureNetworkCreatePeering, "az-hdinsight", map[string]any{"resourceGroup": "rg-kafka", "vnet": "hdi-vnet", "name": hdiSide.Name,
		"remoteResourceGroup": "rg-aks", "remoteVnet": "aks-vnet"})
	act(t, reg, catalog.AzureNetworkCreatePeering, "az-hdinsight", map[string]any{"resourceGroup": "rg-aks", "vnet": "aks-vnet", "name": aksSide.Name,
		"remoteResourceGroup": "rg-kafka", "remoteVnet": "hdi-vnet"})
	if err := verifyFrom(sim, aks, "both-sides-again"); err != nil {
		t.Fatalf("verification after re-creating both sides of the peering: %v", err)
	}
	trail := strings.Join(eventTrail(amb.Events()), " ")
	want := `^config:kafka-env config:kafka-broker maintenance:ON request:\d+ requestDone:\d+ maintenance:OFF$`
	if !matches(want, trail) {
		t.Fatalf("Ambari calls out of the runbook's order:\n%s\nwant %s", trail, want)
	}
	if _, mm := ambariState(t, s); mm != "OFF" {
		t.Fatalf("maintenance mode left %s", mm)
	}
}

func TestAzureFailedRestartRollsBack(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	sim := s.Sim()
	tags0, _ := ambariState(t, s)
	sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 1})

	run := startPlan(t, s, compile(t, azSpec("e2e-az-fail", "rg-aks", "aks-vnet", "10.31.0.0/16")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err == nil {
		t.Fatal("the request succeeded although the restart failed")
	}
	tags, mm := ambariState(t, s)
	if mm != "OFF" {
		t.Fatalf("maintenance mode left %s after the rollback", mm)
	}
	// The previous versions' properties are desired again (under rollback tags).
	c := &ambariacts.Client{Base: s.CloudsimURL, Cluster: "kafka1", User: "admin", Password: "az-ambari-password-5f6a7b8c9d0e"}
	for typ, tag := range tags {
		now, err := c.Config(context.Background(), typ, tag)
		if err != nil {
			t.Fatal(err)
		}
		was, err := c.Config(context.Background(), typ, tags0[typ])
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(now.Properties) != fmt.Sprint(was.Properties) {
			t.Fatalf("%s not restored: desired %s has %v, before %s had %v", typ, tag, now.Properties, tags0[typ], was.Properties)
		}
	}
	if ps := cloudPeerings(sim.Inventory); len(ps) != 0 {
		t.Fatalf("peerings left after the rollback: %+v", ps)
	}
}

// TestAzureConcurrentRequestsOnOneCluster runs two requests for the same
// HDInsight cluster at once (from two AKS VNets). Issue 7: "a second request
// on the same cluster waits for the first and then completes". The
// interpreter holds the cluster's lock key (ambari:<rg>/<cluster>) across the
// whole Ambari section (lock spans), so both requests succeed and their
// sections run one after the other: the restarts never overlap, each runs
// inside its own request's maintenance window, and maintenance ends OFF.
func TestAzureConcurrentRequestsOnOneCluster(t *testing.T) {
	t.Parallel()
	// A second AKS VNet requests the same cluster; its verify runs on a probe
	// in that VNet, like the first one's.
	aks2 := azVNetID("rg-aks2", "aks2-vnet")
	s := azStack(t, registryVariant(t, func(doc string) string {
		return strings.Replace(doc, "taskQueue: topoflow-probe-az-aks-vnet}\n",
			"taskQueue: topoflow-probe-az-aks-vnet}\n      - {network: "+aks2+", taskQueue: topoflow-probe-az-aks2-vnet}\n", 1)
	}))
	if s.Probes["topoflow-probe-az-aks2-vnet"] != aks2 {
		t.Fatalf("probes %v: no probe in %s", s.Probes, aks2)
	}
	sim := s.Sim()
	amb, _ := ambarisim.ServerOf(sim)
	if _, err := inventory.Create(sim.Inventory, &inventory.VPC{Meta: inventory.Meta{ID: aks2, Account: "az-hdinsight", Region: "westeurope", Name: "aks2-vnet"},
		CIDR: "10.33.0.0/16", AddressBlock: "127.33.0.0/16", Attrs: map[string]string{"resourceGroup": "rg-aks2"}}); err != nil {
		t.Fatal(err)
	}
	vnets := []string{azVNetID("rg-aks", "aks-vnet"), aks2}
	seed := ambariProps(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	runs := make([]client.WorkflowRun, 2)
	for i, sp := range []string{azSpec("e2e-az-one", "rg-aks", "aks-vnet", "10.31.0.0/16"), azSpec("e2e-az-two", "rg-aks2", "aks2-vnet", "10.33.0.0/16")} {
		run := startPlan(t, s, compile(t, sp))
		runs[i] = run
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			errs[i] = workflows.Wait(ctx, run)
		}()
	}
	wg.Wait()
	trail := eventTrail(amb.Events())
	succeeded := 0
	for i, err := range errs {
		switch {
		case err == nil:
			succeeded++
			if verr := verifyFrom(sim, vnets[i], fmt.Sprintf("after-%d", i)); verr != nil {
				t.Fatalf("request %d succeeded but verification from %s fails: %v", i, vnets[i], verr)
			}
		default:
			t.Fatalf("request %d failed (it must wait for the other, then complete): %v\nAmbari events: %v", i, err, trail)
		}
	}
	if succeeded != 2 {
		t.Fatalf("%d requests succeeded, want both: %v", succeeded, errs)
	}
	// The two Ambari sections did not interleave: one request's config saves,
	// maintenance window and restart, then the other's (whose config saves
	// change nothing when the first already wrote the same properties; then
	// no broker is stale and "Restart all affected" restarts nothing, as
	// Ambari's web client does: batch_scheduled_requests.js restartAllServiceHostComponents).
	section := `(config:kafka-env config:kafka-broker maintenance:ON request:\d+ requestDone:\d+ maintenance:OFF|maintenance:ON (request:\d+ requestDone:\d+ )?maintenance:OFF)`
	if want := `^config:kafka-env config:kafka-broker maintenance:ON request:\d+ requestDone:\d+ maintenance:OFF ` + section + `$`; !matches(want, strings.Join(trail, " ")) {
		t.Fatalf("Ambari sections interleaved:\n%s\nwant %s", strings.Join(trail, " "), want)
	}
	t.Logf("Ambari events: %s", strings.Join(trail, " "))
	// Every restart ran in maintenance mode from start to end, and no two
	// restarts of the cluster overlapped.
	mm, running := "OFF", ""
	for _, e := range amb.Events() {
		switch e.Kind {
		case "maintenance":
			mm = e.Detail
			if mm == "OFF" && running != "" {
				t.Fatalf("maintenance turned OFF while restart %s ran: %v", running, trail)
			}
		case "request":
			if running != "" {
				t.Fatalf("restart %s requested while restart %s ran: %v", e.Detail, running, trail)
			}
			if mm != "ON" {
				t.Fatalf("restart %s requested outside maintenance mode: %v", e.Detail, trail)
			}
			running = strings.Fields(e.Detail)[0]
		case "requestDone":
			running = ""
		}
	}
	if _, mmNow := ambariState(t, s); mmNow != "OFF" {
		t.Fatalf("maintenance mode left %s: %v", mmNow, trail)
	}
	// Issue 15: the first revoke keeps the shared change for the other (owners_ambari_test.go).
	checkSharedChangeSurvivesRevoke(t, s, runs, vnets, seed)
}

func planCall(boot []any, vnet, key string) plan.Call {
	return plan.Call{Action: kafka.ActionVerify, IdempotencyKey: "e2e/verify/" + key,
		Inputs: map[string]any{"bootstrap": boot, "clientNetwork": vnet, "timeout": "5s"}}
}

func matches(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestAzureFailedRestartRestoresAndRestartsAgain runs the compiled plan, whose
// restart step is compensated by ambari.restoreAndRestart: a failed restart
// leaves every broker up again, on the previous configs, and maintenance off.
func TestAzureFailedRestartRestoresAndRestartsAgain(t *testing.T) {
	t.Parallel()
	s := azStack(t)
	sim := s.Sim()
	amb, _ := ambarisim.ServerOf(sim)
	tags0, _ := ambariState(t, s)
	sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 1})
	p := compile(t, azSpec("e2e-az-undo", "rg-aks", "aks-vnet", "10.31.0.0/16"))
	// The compiler gives the restart step this compensation; the test proves it works.
	if st := p.Step("restart-brokers"); st == nil || st.Compensation == nil || st.Compensation.Action != catalog.AmbariRestoreAndRestart {
		t.Fatalf("the compiled restart-brokers step is not compensated by %s: %+v", catalog.AmbariRestoreAndRestart, st)
	}
	run := startPlan(t, s, p)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err == nil {
		t.Fatal("the request succeeded although the restart failed")
	}
	tags, mm := ambariState(t, s)
	if mm != "OFF" {
		t.Fatalf("maintenance mode left %s", mm)
	}
	c := &ambariacts.Client{Base: s.CloudsimURL, Cluster: "kafka1", User: "admin", Password: "az-ambari-password-5f6a7b8c9d0e"}
	for typ, tag := range tags {
		now, _ := c.Config(context.Background(), typ, tag)
		was, _ := c.Config(context.Background(), typ, tags0[typ])
		if fmt.Sprint(now.Properties) != fmt.Sprint(was.Properties) {
			t.Fatalf("%s not restored", typ)
		}
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, azKafka)
	for _, b := range k.Brokers {
		if b.Down || !strings.Contains(b.AdvertisedHost(), "cloudapp") {
			t.Fatalf("broker %d after the rollback: down=%v advertises %s", b.ID, b.Down, b.AdvertisedHost())
		}
	}
	trail := strings.Join(eventTrail(amb.Events()), " ")
	want := `^config:kafka-env config:kafka-broker maintenance:ON request:(\d+) requestDone:\d+ config:kafka-env config:kafka-broker request:\d+ requestDone:\d+ maintenance:OFF$`
	if !matches(want, trail) {
		t.Fatalf("Ambari calls during the rollback:\n%s\nwant %s", trail, want)
	}
	if ps := cloudPeerings(sim.Inventory); len(ps) != 0 {
		t.Fatalf("peerings left after the rollback: %+v", ps)
	}
}
