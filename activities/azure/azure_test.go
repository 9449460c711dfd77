package azure_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/azure"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	_ "github.com/topoflow/topoflow/cloudsim/azure" // registers the Azure provider
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/plan"
)

const (
	sub     = "00000000-0000-4000-8000-000000000001"
	hdiVNet = "/subscriptions/" + sub + "/resourceGroups/rg-kafka/providers/Microsoft.Network/virtualNetworks/hdi-vnet"
	aksVNet = "/subscriptions/" + sub + "/resourceGroups/rg-aks/providers/Microsoft.Network/virtualNetworks/aks-vnet"
	kafkaID = "/subscriptions/" + sub + "/resourceGroups/rg-kafka/providers/Microsoft.HDInsight/clusters/kafka1"
)

// env starts cloudsim (Azure only) and loads specs/accounts.yaml against it
// with the world's simulator-only credentials in the environment.
func env(t *testing.T) (*cloudsim.Sim, *accounts.Registry) {
	t.Helper()
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"azure"}})
	w, err := world.ReadFile(simtest.DefaultWorldPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range w.Accounts {
		for _, c := range a.Credentials {
			if a.Provider == accounts.ProviderAzure && c.Type == "clientSecret" {
				t.Setenv(accounts.DefaultEnv(a.ID, "clientSecret"), c.Secret)
			}
		}
	}
	t.Setenv("CLOUDSIM_URL", sim.URL())
	_, file, _, _ := runtime.Caller(0)
	reg, err := accounts.Load(filepath.Join(filepath.Dir(file), "..", "..", "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sim, reg
}

func call(action string, in map[string]any) plan.Call {
	return plan.Call{Action: action, Account: "az-hdinsight", Inputs: in, IdempotencyKey: "wf/" + action}
}

func peering(rg, vnet, name, remoteRG, remoteVNet string) map[string]any {
	return map[string]any{"resourceGroup": rg, "vnet": vnet, "name": name, "remoteResourceGroup": remoteRG, "remoteVnet": remoteVNet}
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func mustRun(t *testing.T, fn func(context.Context, plan.Call) (plan.Outputs, error), c plan.Call) plan.Outputs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := fn(ctx, c)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	return out
}

func TestPeeringLifecycleWithTheSDK(t *testing.T) {
	sim, reg := env(t)
	a := azure.New(reg)
	brokerIP := ""
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
	if err != nil {
		t.Fatal(err)
	}
	brokerIP = k.Brokers[0].ListenerIP
	if sim.Net.Reachable(aksVNet, brokerIP, k.Brokers[0].Port) {
		t.Fatal("broker reachable from the AKS VNet before any peering")
	}
	kafkaSide := peering("rg-kafka", "hdi-vnet", "hdi-to-aks", "rg-aks", "aks-vnet")
	aksSide := peering("rg-aks", "aks-vnet", "aks-to-hdi", "rg-kafka", "hdi-vnet")
	getKafka := map[string]any{"resourceGroup": "rg-kafka", "vnet": "hdi-vnet", "name": "hdi-to-aks"}

	steps := []struct {
		name      string
		fn        func(context.Context, plan.Call) (plan.Outputs, error)
		action    string
		in        map[string]any
		state     string // expected peeringState of the output ("" = not checked)
		kafkaSide string // expected state of the Kafka side afterwards ("gone" = 404)
		reachable bool
	}{
		{"first side stays Initiated", activities.Typed(a.CreatePeering), catalog.AzureNetworkCreatePeering, kafkaSide, "Initiated", "Initiated", false},
		{"PUT again is idempotent", activities.Typed(a.CreatePeering), catalog.AzureNetworkCreatePeering, kafkaSide, "Initiated", "Initiated", false},
		{"second side connects both", activities.Typed(a.CreatePeering), catalog.AzureNetworkCreatePeering, aksSide, "Connected", "Connected", true},
		{"deleting one side disconnects the other", activities.Typed(a.DeletePeering), catalog.AzureNetworkDeletePeering, map[string]any{"resourceGroup": "rg-aks", "vnet": "aks-vnet", "name": "aks-to-hdi"}, "", "Disconnected", false},
		{"deleting a missing peering is done", activities.Typed(a.DeletePeering), catalog.AzureNetworkDeletePeering, map[string]any{"resourceGroup": "rg-aks", "vnet": "aks-vnet", "name": "aks-to-hdi"}, "", "Disconnected", false},
		{"a Disconnected peering is re-created", activities.Typed(a.CreatePeering), catalog.AzureNetworkCreatePeering, kafkaSide, "Initiated", "Initiated", false},
		{"and connects again", activities.Typed(a.CreatePeering), catalog.AzureNetworkCreatePeering, aksSide, "Connected", "Connected", true},
		{"rollback deletes the Kafka side", activities.Typed(a.DeletePeering), catalog.AzureNetworkDeletePeering, getKafka, "", "gone", false},
	}
	for _, st := range steps {
		out := mustRun(t, st.fn, call(st.action, st.in))
		if st.state != "" && out["peeringState"] != st.state {
			t.Fatalf("%s: peeringState %v, want %s (%v)", st.name, out["peeringState"], st.state, out)
		}
		if st.state != "" && out["provisioningState"] != "Succeeded" {
			t.Fatalf("%s: provisioningState %v", st.name, out["provisioningState"])
		}
		got, err := activities.Typed(a.GetPeering)(context.Background(), call(catalog.AzureNetworkGetPeering, getKafka))
		switch {
		case st.kafkaSide == "gone":
			if errType(err) != plan.ErrNotFound {
				t.Fatalf("%s: get deleted peering: %v (type %q), want NotFound", st.name, err, errType(err))
			}
		case err != nil:
			t.Fatalf("%s: get: %v", st.name, err)
		case got["peeringState"] != st.kafkaSide:
			t.Fatalf("%s: Kafka side %v, want %s", st.name, got["peeringState"], st.kafkaSide)
		}
		if r := sim.Net.Reachable(aksVNet, brokerIP, k.Brokers[0].Port); r != st.reachable {
			t.Fatalf("%s: broker reachable from AKS = %v, want %v", st.name, r, st.reachable)
		}
	}
	// Clean up the AKS side too: nothing may leak.
	mustRun(t, activities.Typed(a.DeletePeering), call(catalog.AzureNetworkDeletePeering, map[string]any{"resourceGroup": "rg-aks", "vnet": "aks-vnet", "name": "aks-to-hdi"}))
	if ps := inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}); len(ps) != 0 {
		t.Fatalf("peerings left: %d", len(ps))
	}
}

func TestConcurrentPeeringOperationsOnOneVNet(t *testing.T) {
	sim, reg := env(t)
	_ = sim
	// Without in-activity retries, the second concurrent PUT on the VNet gets
	// 409 AnotherOperationInProgress, typed Conflict (retryable).
	impatient := azure.New(reg, azure.WithConflictRetry(1, 0))
	patient := azure.New(reg)
	for n, tc := range []struct {
		name     string
		a        *azure.Actions
		wantType string
	}{
		{"without retries one gets Conflict", impatient, plan.ErrConflict},
		{"with retries both succeed", patient, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, name := range []string{fmt.Sprintf("p%d-a", n), fmt.Sprintf("p%d-b", n)} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					_, errs[i] = activities.Typed(tc.a.CreatePeering)(ctx, call(catalog.AzureNetworkCreatePeering, peering("rg-kafka", "hdi-vnet", name, "rg-aks", "aks-vnet")))
				}()
			}
			wg.Wait()
			conflicts := 0
			for _, err := range errs {
				if err != nil {
					if errType(err) != plan.ErrConflict {
						t.Fatalf("unexpected error %v (type %q)", err, errType(err))
					}
					conflicts++
				}
			}
			if tc.wantType == plan.ErrConflict && conflicts != 1 {
				t.Fatalf("conflicts = %d, want 1 (%v)", conflicts, errs)
			}
			if tc.wantType == "" && conflicts != 0 {
				t.Fatalf("conflicts = %d, want 0 (%v)", conflicts, errs)
			}
		})
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, reg := env(t)
	a := azure.New(reg)
	cases := []struct {
		name     string
		setup    func(t *testing.T)
		fn       func(context.Context, plan.Call) (plan.Outputs, error)
		call     plan.Call
		wantType string
	}{
		{"unknown VNet", nil, activities.Typed(a.GetPeering), call(catalog.AzureNetworkGetPeering, map[string]any{"resourceGroup": "rg-x", "vnet": "nope", "name": "p"}), plan.ErrNotFound},
		{"unknown remote VNet", nil, activities.Typed(a.CreatePeering), call(catalog.AzureNetworkCreatePeering, peering("rg-kafka", "hdi-vnet", "p", "rg-aks", "nope")), plan.ErrInvalid},
		{"peer with itself", nil, activities.Typed(a.CreatePeering), call(catalog.AzureNetworkCreatePeering, peering("rg-kafka", "hdi-vnet", "p", "rg-kafka", "hdi-vnet")), plan.ErrInvalid},
		{"missing input", nil, activities.Typed(a.CreatePeering), call(catalog.AzureNetworkCreatePeering, map[string]any{"resourceGroup": "rg-kafka"}), plan.ErrInvalid},
		{"wrong account provider", nil, activities.Typed(a.GetCluster), plan.Call{Action: catalog.AzureHDInsightGetCluster, Account: "az-ambari", Inputs: map[string]any{"resourceGroup": "rg-kafka", "cluster": "kafka1"}}, plan.ErrInvalid},
		{"unknown cluster", nil, activities.Typed(a.GetCluster), call(catalog.AzureHDInsightGetCluster, map[string]any{"resourceGroup": "rg-kafka", "cluster": "nope"}), plan.ErrNotFound},
		{"wrong client secret", func(t *testing.T) { t.Setenv("TOPOFLOW_AZ_HDINSIGHT_CLIENT_SECRET", "wrong") }, activities.Typed(azure.New(reg).GetCluster),
			call(catalog.AzureHDInsightGetCluster, map[string]any{"resourceGroup": "rg-kafka", "cluster": "kafka1"}), plan.ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			_, err := tc.fn(context.Background(), tc.call)
			if errType(err) != tc.wantType {
				t.Fatalf("error %v (type %q), want type %q", err, errType(err), tc.wantType)
			}
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) && ae.NonRetryable() != (tc.wantType == plan.ErrInvalid || tc.wantType == plan.ErrUnauthorized) {
				t.Fatalf("NonRetryable = %v for %s", ae.NonRetryable(), tc.wantType)
			}
		})
	}
}

func TestGetClusterFindsTheAmbariEndpoint(t *testing.T) {
	_, reg := env(t)
	out := mustRun(t, activities.Typed(azure.New(reg).GetCluster), call(catalog.AzureHDInsightGetCluster, map[string]any{"resourceGroup": "rg-kafka", "cluster": "kafka1"}))
	want := map[string]any{"clusterState": "Running", "provisioningState": "Succeeded", "kind": "KAFKA",
		"ambariUrl": "https://kafka1.azurehdinsight.net", "vnetId": hdiVNet, "clusterId": kafkaID}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %v, want %v", k, out[k], v)
		}
	}
	if eps, _ := out["endpoints"].([]any); len(eps) != 3 {
		t.Errorf("endpoints = %v", out["endpoints"])
	}
}

func TestCloudFaults(t *testing.T) {
	sim, reg := env(t)
	a := azure.New(reg)
	cases := []struct {
		name     string
		rule     faults.Rule
		wantType string
	}{
		{"operation ends Failed", faults.Rule{Op: "azure.network.peering.provision", Kind: faults.Reject, Times: 1}, plan.ErrConflict},
		{"throttled beyond the SDK's retries", faults.Rule{Op: "azure.network.peerings.createOrUpdate", Kind: faults.Throttle, RetryAfter: plan.D(10 * time.Millisecond)}, plan.ErrThrottled},
		{"server errors beyond the SDK's retries", faults.Rule{Op: "azure.network.peerings.createOrUpdate", Kind: faults.Error}, plan.ErrUnavailable},
		{"token endpoint down", faults.Rule{Op: "azure.aad.token", Kind: faults.Error}, plan.ErrUnavailable},
		{"stuck operation outlasts the activity", faults.Rule{Op: "azure.network.peering.provision", Kind: faults.Stuck, Times: 20}, plan.ErrUnavailable},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := sim.Faults.MustAdd(tc.rule)
			defer sim.Faults.Remove(id)
			// A fresh credential cache, so the token endpoint is called.
			if tc.rule.Op == "azure.aad.token" {
				a = azure.New(reg)
			}
			// azcore's standard retries (3, Retry-After honoured) fit in this.
			timeout := 10 * time.Second
			if tc.rule.Kind == faults.Stuck {
				timeout = 500 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := activities.Typed(a.CreatePeering)(ctx, call(catalog.AzureNetworkCreatePeering, peering("rg-kafka", "hdi-vnet", fmt.Sprintf("f%d", i), "rg-aks", "aks-vnet")))
			if errType(err) != tc.wantType {
				t.Fatalf("error %v (type %q), want %q", err, errType(err), tc.wantType)
			}
		})
	}
}

// TestBothSidesInParallel PUTs the two sides of a peering at once: the
// second PUT finds the other VNet Updating and cloudsim answers 400
// ReferencedResourceNotProvisioned, as Azure does. Without in-activity
// retries it is a retryable Conflict (never a permanent InvalidInput); with
// them both sides succeed and connect.
func TestBothSidesInParallel(t *testing.T) {
	_, reg := env(t)
	for n, tc := range []struct {
		name      string
		a         *azure.Actions
		conflicts int
	}{
		{"without retries one side gets Conflict", azure.New(reg, azure.WithConflictRetry(1, 0)), 1},
		{"with retries both sides connect", azure.New(reg), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("both-%d", n)
			sides := []map[string]any{
				peering("rg-kafka", "hdi-vnet", name, "rg-aks", "aks-vnet"),
				peering("rg-aks", "aks-vnet", name, "rg-kafka", "hdi-vnet"),
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range sides {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					_, errs[i] = activities.Typed(tc.a.CreatePeering)(ctx, call(catalog.AzureNetworkCreatePeering, sides[i]))
				}()
			}
			wg.Wait()
			conflicts := 0
			for _, err := range errs {
				if err != nil {
					if errType(err) != plan.ErrConflict || !strings.Contains(err.Error(), "ReferencedResourceNotProvisioned") {
						t.Fatalf("unexpected error %v (type %q)", err, errType(err))
					}
					conflicts++
				}
			}
			if conflicts != tc.conflicts {
				t.Fatalf("conflicts = %d, want %d (%v)", conflicts, tc.conflicts, errs)
			}
			if tc.conflicts == 0 {
				got := mustRun(t, activities.Typed(tc.a.GetPeering), call(catalog.AzureNetworkGetPeering, map[string]any{"resourceGroup": "rg-kafka", "vnet": "hdi-vnet", "name": name}))
				if got["peeringState"] != "Connected" {
					t.Fatalf("peering state %v, want Connected", got["peeringState"])
				}
			}
			// Leave no peering between the two VNets for the next case (a
			// VNet pair has one peering each way).
			for _, side := range sides {
				mustRun(t, activities.Typed(tc.a.DeletePeering), call(catalog.AzureNetworkDeletePeering, map[string]any{
					"resourceGroup": side["resourceGroup"], "vnet": side["vnet"], "name": name}))
			}
		})
	}
}

// A cached token that ARM rejects with 401 (revoked, or issued by an
// authority that restarted) is dropped and replaced within the call; a
// service that keeps refusing fresh tokens is a real refusal.
func TestRejectedCachedTokenIsRenewed(t *testing.T) {
	sim, reg := env(t)
	a := azure.New(reg)
	in := peering("rg-kafka", "hdi-vnet", "reauth", "rg-aks", "aks-vnet")
	mustRun(t, activities.Typed(a.CreatePeering), call(catalog.AzureNetworkCreatePeering, in)) // caches a token
	tokens := sim.Faults.MustAdd(faults.Rule{Op: "azure.aad.token", Kind: faults.Latency})     // counts token requests
	hits := func(id string) int {
		for _, r := range sim.Faults.Rules() {
			if r.ID == id {
				return r.Hits
			}
		}
		return -1
	}
	cases := []struct {
		name       string
		times      int
		wantType   string
		wantTokens int
	}{
		{"rejected once: a new token is fetched and the call succeeds", 1, "", 1},
		{"rejected always: Unauthorized after the SDK's retries", 0, plan.ErrUnauthorized, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := hits(tokens)
			rej := sim.Faults.MustAdd(faults.Rule{Op: "azure.network.peerings.get", Kind: faults.Error, Status: 401,
				Code: "InvalidAuthenticationToken", Message: "The access token is invalid.", Times: tc.times})
			defer sim.Faults.Remove(rej)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := activities.Typed(a.GetPeering)(ctx, call(catalog.AzureNetworkGetPeering, in))
			if errType(err) != tc.wantType || (tc.wantType == "" && err != nil) {
				t.Fatalf("error %v (type %q), want type %q", err, errType(err), tc.wantType)
			}
			if got := hits(tokens) - before; got != tc.wantTokens {
				t.Errorf("%d token requests, want %d", got, tc.wantTokens)
			}
		})
	}
}

// TestSameTenant: peering across Azure tenants is refused before any call
// (it would need auxiliary-tenant tokens); one tenant is fine.
func TestSameTenant(t *testing.T) {
	acct := func(name, tenant string) *accounts.Account {
		return &accounts.Account{Name: name, Azure: &accounts.Azure{TenantID: tenant}}
	}
	tests := []struct {
		a, b    *accounts.Account
		refused bool
	}{
		{acct("x", "t1"), acct("y", "t1"), false},
		{acct("x", "t1"), acct("y", "T1"), false},
		{acct("x", "t1"), acct("y", "t2"), true},
		{acct("x", ""), acct("y", "t2"), false},
	}
	for _, tc := range tests {
		err := azure.SameTenant(tc.a, tc.b)
		if (err != nil) != tc.refused || (err != nil && !strings.Contains(err.Error(), "auxiliary-tenant tokens")) {
			t.Errorf("%s/%s: %v, refused want %v", tc.a.Azure.TenantID, tc.b.Azure.TenantID, err, tc.refused)
		}
	}
}
