package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Azure VNet peering (Resource Manager): the contracts and descriptors of
// azure.network.{create,get,delete}Peering.

// AzurePeeringIn names one side of a VNet peering.
type AzurePeeringIn struct {
	ResourceGroup string `json:"resourceGroup" required:"true" doc:"resource group of the local VNet"`
	VNet          string `json:"vnet" required:"true" doc:"local VNet name"`
	Name          string `json:"name" required:"true" doc:"peering name"`
}

// AzureCreatePeeringIn are the inputs of azure.network.createPeering.
type AzureCreatePeeringIn struct {
	ResourceGroup         string `json:"resourceGroup" required:"true" doc:"resource group of the local VNet"`
	VNet                  string `json:"vnet" required:"true" doc:"local VNet name"`
	Name                  string `json:"name" required:"true" doc:"peering name"`
	RemoteAccount         string `json:"remoteAccount" doc:"account-registry name owning the remote VNet (default: same)"`
	RemoteResourceGroup   string `json:"remoteResourceGroup" required:"true" doc:"resource group of the remote VNet"`
	RemoteVNet            string `json:"remoteVnet" required:"true" doc:"remote VNet name"`
	AllowForwardedTraffic bool   `json:"allowForwardedTraffic" doc:"allow forwarded traffic"`
	UseRemoteGateways     bool   `json:"useRemoteGateways" doc:"use the remote VNet's gateways"`
}

// AzurePeeringOut is one side of a VNet peering as the peering actions return it.
type AzurePeeringOut struct {
	PeeringID         string  `json:"peeringId" doc:"ARM resource ID of the peering"`
	PeeringState      string  `json:"peeringState" doc:"Initiated, Connected or Disconnected"`
	ProvisioningState string  `json:"provisioningState" doc:"Succeeded, Updating, Deleting, Failed"`
	PeeringSyncLevel  string  `json:"peeringSyncLevel" doc:"FullyInSync, LocalNotInSync, RemoteNotInSync, ..."`
	RemoteVNetID      *string `json:"remoteVnetId,omitempty" doc:"ARM resource ID of the remote VNet"`
}

// AzureDeletePeeringOut is the result of azure.network.deletePeering.
type AzureDeletePeeringOut struct {
	Deleted bool `json:"deleted" doc:"true once the peering is gone"`
}

func init() {
	Register(Typed[AzureCreatePeeringIn, AzurePeeringOut](Action{
		Name: AzureNetworkCreatePeering, Provider: "azure",
		Title: "Peer a VNet with a remote VNet (one direction)",
		Doc: "VirtualNetworkPeerings.BeginCreateOrUpdate on the local VNet towards the remote VNet (subscription from " +
			"remoteAccount in the account registry), waiting for the long-running operation. A peering is two resources: " +
			"the first side stays Initiated until the other side exists, then both are Connected. PUT is idempotent.",
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
	}))
	Register(Typed[AzurePeeringIn, AzurePeeringOut](Action{
		Name: AzureNetworkGetPeering, Provider: "azure", Read: true,
		Title: "Get a VNet peering",
		Wait: &plan.Wait{StatusPath: "peeringState", Pending: []string{"Initiated"}, Target: []string{"Connected"},
			Failure: []string{"Disconnected"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
	Register(Typed[AzurePeeringIn, AzureDeletePeeringOut](Action{
		Name: AzureNetworkDeletePeering, Provider: "azure",
		Title: "Delete a VNet peering",
		Doc:   "VirtualNetworkPeerings.BeginDelete; a missing peering counts as done.",
	}))
}
