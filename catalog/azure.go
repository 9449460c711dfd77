package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Azure actions: VNet peering (Resource Manager) and HDInsight clusters.
const (
	AzureNetworkCreatePeering = "azure.network.createPeering"
	AzureNetworkGetPeering    = "azure.network.getPeering"
	AzureNetworkDeletePeering = "azure.network.deletePeering"
	AzureHDInsightGetCluster  = "azure.hdinsight.getCluster"
)

func init() {
	peeringKey := []Param{
		{Name: "resourceGroup", Type: "string", Required: true, Doc: "resource group of the local VNet"},
		{Name: "vnet", Type: "string", Required: true, Doc: "local VNet name"},
		{Name: "name", Type: "string", Required: true, Doc: "peering name"},
	}
	Register(Action{
		Name: AzureNetworkCreatePeering, Provider: "azure",
		Title: "Peer a VNet with a remote VNet (one direction)",
		Doc: "VirtualNetworkPeerings.BeginCreateOrUpdate on the local VNet towards the remote VNet (subscription from " +
			"remoteAccount in the account registry), waiting for the long-running operation. A peering is two resources: " +
			"the first side stays Initiated until the other side exists, then both are Connected. PUT is idempotent.",
		Inputs: append(append([]Param(nil), peeringKey...),
			Param{Name: "remoteAccount", Type: "string", Doc: "account-registry name owning the remote VNet (default: same)"},
			Param{Name: "remoteResourceGroup", Type: "string", Required: true, Doc: "resource group of the remote VNet"},
			Param{Name: "remoteVnet", Type: "string", Required: true, Doc: "remote VNet name"},
			Param{Name: "allowForwardedTraffic", Type: "boolean", Doc: "allow forwarded traffic"},
			Param{Name: "useRemoteGateways", Type: "boolean", Doc: "use the remote VNet's gateways"},
		),
		Outputs: []string{"peeringId", "peeringState", "provisioningState", "peeringSyncLevel", "remoteVnetId"},
		Inverse: &Inverse{
			Action: AzureNetworkDeletePeering, Title: "Delete the VNet peering",
			Inputs: map[string]plan.Value{
				"resourceGroup": plan.Expr("input.resourceGroup"), "vnet": plan.Expr("input.vnet"), "name": plan.Expr("input.name"),
			},
			WaitAction: AzureNetworkGetPeering,
			Wait: &plan.Wait{StatusPath: "peeringState", Target: []string{"deleted"}, Pending: []string{"Initiated", "Connected", "Disconnected"}, Gone: true,
				PollInterval: plan.D(5 * time.Second), Timeout: plan.D(15 * time.Minute)},
		},
		Locks: []string{`"azure:vnet:" + input.resourceGroup + "/" + input.vnet`},
	})
	Register(Action{
		Name: AzureNetworkGetPeering, Provider: "azure", Read: true,
		Title:   "Get a VNet peering",
		Inputs:  append([]Param(nil), peeringKey...),
		Outputs: []string{"peeringId", "peeringState", "provisioningState", "peeringSyncLevel", "remoteVnetId"},
		Wait: &plan.Wait{StatusPath: "peeringState", Pending: []string{"Initiated"}, Target: []string{"Connected"},
			Failure: []string{"Disconnected"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
	Register(Action{
		Name: AzureNetworkDeletePeering, Provider: "azure",
		Title:   "Delete a VNet peering",
		Doc:     "VirtualNetworkPeerings.BeginDelete; a missing peering counts as done.",
		Inputs:  append([]Param(nil), peeringKey...),
		Outputs: []string{"deleted"},
	})
	Register(Action{
		Name: AzureHDInsightGetCluster, Provider: "azure", Read: true,
		Title: "Get the HDInsight cluster",
		Doc:   "Clusters.Get: state, kind and connectivity endpoints (the Ambari URL derives from the HTTPS endpoint).",
		Inputs: []Param{
			{Name: "resourceGroup", Type: "string", Required: true, Doc: "resource group of the cluster"},
			{Name: "cluster", Type: "string", Required: true, Doc: "cluster name"},
		},
		Outputs: []string{"clusterState", "provisioningState", "kind", "ambariUrl", "endpoints", "clusterId", "vnetId"},
		Wait: &plan.Wait{StatusPath: "clusterState", Pending: []string{"Accepted", "InProgress", "Provisioning", "AzureVMConfiguration", "HdInsightConfiguration", "Operational"},
			Target: []string{"Running"}, Failure: []string{"Error", "Deleting", "TimedOut"}, PollInterval: plan.D(30 * time.Second), Timeout: plan.D(time.Hour)},
	})
}
