package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	ambariacts "github.com/topoflow/topoflow/activities/ambari"
	azureacts "github.com/topoflow/topoflow/activities/azure"
	"github.com/topoflow/topoflow/catalog"
	azsim "github.com/topoflow/topoflow/cloudsim/azure"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// A second Azure subscription (same tenant) holding the client's AKS VNet.
const (
	sub2        = "00000000-0000-4000-8000-000000000002"
	sub2Account = "az-aks-sub2"
	sub2Secret  = "az-aks-sub2-client-secret-6a7b8c9d0e1f"
)

// sub2Stack is azStack with the account az-aks-sub2 (subscription sub2, the
// HDInsight account's tenant) in the worker's registry and in cloudsim, and
// its VNet aks2-vnet.
func sub2Stack(t *testing.T) *stack.Stack {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join(root, "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	extra := `
  ` + sub2Account + `:
    provider: azure
    region: westeurope
    azure:
      subscriptionId: ` + sub2 + `
      tenantId: 00000000-0000-4000-8000-0000000000aa
      clientId: 00000000-0000-4000-8000-0000000000c2
    endpoints:
      arm: ${CLOUDSIM_URL:-http://127.0.0.1:8700}
      login: ${CLOUDSIM_URL:-http://127.0.0.1:8700}
    credentials:
      clientSecret: {env: TOPOFLOW_AZ_AKS_SUB2_CLIENT_SECRET}
`
	doc := strings.Replace(string(base), "\n  # Ambari of the HDInsight Kafka cluster.\n", extra+"\n  # Ambari of the HDInsight Kafka cluster.\n", 1)
	if doc == string(base) {
		t.Fatal("specs/accounts.yaml changed: no Ambari section to insert before")
	}
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOPOFLOW_AZ_AKS_SUB2_CLIENT_SECRET", sub2Secret)
	s := stack.New(t, stack.Options{Cloudsim: true, Worker: true, Accounts: path, Register: func(_ worker.Registry, reg *activities.Registry) {
		accts, err := accounts.Load(path)
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
	inv := s.Sim().Inventory
	if _, err := inventory.Create(inv, &inventory.Account{Meta: inventory.Meta{ID: sub2Account, Region: "westeurope"}, Provider: "azure",
		SubscriptionID: sub2, TenantID: "00000000-0000-4000-8000-0000000000aa",
		Credentials: []inventory.Credential{{Type: "clientSecret", KeyID: "00000000-0000-4000-8000-0000000000c2", Secret: sub2Secret}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: sub2VNet(), Account: sub2Account, Region: "westeurope", Name: "aks2-vnet"},
		CIDR: "10.34.0.0/16", AddressBlock: fmt.Sprintf("127.%d.0.0/16", 34+s.WorldShift()), Attrs: map[string]string{"resourceGroup": "rg-aks2"}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func sub2VNet() string {
	return "/subscriptions/" + sub2 + "/resourceGroups/rg-aks2/providers/Microsoft.Network/virtualNetworks/aks2-vnet"
}

// TestAzurePeeringAcrossSubscriptionsNeedsRemoteRights peers the HDInsight
// VNet with a VNet of another subscription. Without peer rights on the
// remote VNet Azure answers 403 LinkedAuthorizationFailed (cloudsim too);
// the request rolls back. With the HDInsight account a Network Contributor
// on the client VNet (and the client account on the HDInsight VNet), the
// request completes.
func TestAzurePeeringAcrossSubscriptionsNeedsRemoteRights(t *testing.T) {
	s := sub2Stack(t)
	inv := s.Sim().Inventory
	spec := func(name string) string {
		doc := strings.Replace(azSpec(name, "rg-aks2", "aks2-vnet", "10.34.0.0/16"),
			"  client: {account: az-hdinsight,", "  client: {account: "+sub2Account+",", 1)
		return strings.Replace(doc, "clientNetwork: "+azVNetID("rg-aks2", "aks2-vnet"), "clientNetwork: "+sub2VNet(), 1) +
			"  approval: {approvers: [kafka-owner@example.com]}\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	run := startPlan(t, s, compile(t, spec("e2e-az-sub2-denied")))
	decide(t, s, run, workflows.UpdateApprove, "approve-peering")
	err := workflows.Wait(ctx, run)
	if err == nil || !strings.Contains(err.Error(), "LinkedAuthorizationFailed") {
		t.Fatalf("request without rights on the remote VNet: %v, want a failure on 403 LinkedAuthorizationFailed", err)
	}
	if ps := cloudPeerings(inv); len(ps) != 0 {
		t.Fatalf("peerings left after the refusal: %+v", ps)
	}

	grant := func(vnet, account string) {
		if _, err := inventory.Update(inv, vnet, func(v *inventory.VPC) error {
			v.Attrs[azsim.AttrNetworkContributors] = account
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	grant(sub2VNet(), "az-hdinsight")
	grant(azHDIVNet, sub2Account)
	run = startPlan(t, s, compile(t, spec("e2e-az-sub2-granted")))
	decide(t, s, run, workflows.UpdateApprove, "approve-peering")
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request with rights on both VNets: %v", err)
	}
}
