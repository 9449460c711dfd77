package azure

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VNet peering resource (armnetwork VirtualNetworkPeeringsClient, one
// side of a peering): create, read and delete, each waiting for its
// long-running operation.

func init() {
	typed[catalog.AzureNetworkCreatePeering] = func(a *Actions) activities.Func { return activities.Typed(a.CreatePeering) }
	typed[catalog.AzureNetworkGetPeering] = func(a *Actions) activities.Func { return activities.Typed(a.GetPeering) }
	typed[catalog.AzureNetworkDeletePeering] = func(a *Actions) activities.Func { return activities.Typed(a.DeletePeering) }
}

// SameTenant refuses a peering between accounts of different Azure tenants:
// ARM then needs a token of the remote tenant in x-ms-authorization-auxiliary
// (arm.ClientOptions.AuxiliaryTenants, with an application registered in
// both tenants), which Topoflow does not send; without it Azure answers 403
// LinkedAuthorizationFailed
// (https://learn.microsoft.com/en-us/azure/virtual-network/create-peering-different-subscriptions).
// Across subscriptions of one tenant the account needs peer rights (Network
// Contributor) on the remote VNet.
func SameTenant(local, remote *accounts.Account) error {
	if local.Azure == nil || remote.Azure == nil || local.Azure.TenantID == "" || remote.Azure.TenantID == "" ||
		strings.EqualFold(local.Azure.TenantID, remote.Azure.TenantID) {
		return nil
	}
	return fmt.Errorf("account %q is in Azure tenant %s and account %q in tenant %s: VNet peering across tenants needs "+
		"auxiliary-tenant tokens, which Topoflow does not send; use accounts of one tenant with Network Contributor rights on both VNets",
		local.Name, local.Azure.TenantID, remote.Name, remote.Azure.TenantID)
}

// VNetID returns the ARM resource ID of a VNet.
func VNetID(sub, rg, vnet string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s", sub, rg, vnet)
}

func (a *Actions) peerings(s *session) (*armnetwork.VirtualNetworkPeeringsClient, error) {
	c, err := armnetwork.NewVirtualNetworkPeeringsClient(s.acct.Azure.SubscriptionID, s.cred, s.opts)
	if err != nil {
		return nil, activities.Fail(plan.ErrInvalid, "build peering client for account %q: %v", s.acct.Name, err)
	}
	return c, nil
}

func peeringOutputs(p armnetwork.VirtualNetworkPeering) catalog.AzurePeeringOut {
	var out catalog.AzurePeeringOut
	if p.ID != nil {
		out.PeeringID = *p.ID
	}
	if pr := p.Properties; pr != nil {
		if pr.PeeringState != nil {
			out.PeeringState = string(*pr.PeeringState)
		}
		if pr.ProvisioningState != nil {
			out.ProvisioningState = string(*pr.ProvisioningState)
		}
		if pr.PeeringSyncLevel != nil {
			out.PeeringSyncLevel = string(*pr.PeeringSyncLevel)
		}
		if pr.RemoteVirtualNetwork != nil && pr.RemoteVirtualNetwork.ID != nil {
			out.RemoteVNetID = pr.RemoteVirtualNetwork.ID
		}
	}
	return out
}

// CreatePeering creates (or updates) the peering of a VNet towards a remote
// VNet and waits for the long-running operation. PUT is idempotent; a
// Disconnected peering of the same name (its remote side was deleted) is
// deleted and created again, as Azure requires.
func (a *Actions) CreatePeering(ctx context.Context, call plan.Call, in catalog.AzureCreatePeeringIn) (catalog.AzurePeeringOut, error) {
	var none catalog.AzurePeeringOut
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return none, err
	}
	remoteSub := s.acct.Azure.SubscriptionID
	if ra := in.RemoteAccount; ra != "" && ra != call.Account {
		racct, ok := a.accts.Get(ra)
		if !ok || racct.Azure == nil {
			return none, activities.Fail(plan.ErrInvalid, "%s: remoteAccount %q is not an azure account of the worker's registry", call.Action, ra)
		}
		if err := SameTenant(s.acct, racct); err != nil {
			return none, activities.Fail(plan.ErrInvalid, "%s: %v", call.Action, err)
		}
		remoteSub = racct.Azure.SubscriptionID
	}
	c, err := a.peerings(s)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in.Name, in.ResourceGroup, in.VNet)
	remoteID := VNetID(remoteSub, in.RemoteResourceGroup, in.RemoteVNet)
	if got, err := c.Get(ctx, in.ResourceGroup, in.VNet, in.Name, nil); err == nil {
		pr := got.Properties
		if pr != nil && pr.PeeringState != nil && *pr.PeeringState == armnetwork.VirtualNetworkPeeringStateDisconnected {
			if err := a.deletePeering(ctx, c, in.ResourceGroup, in.VNet, in.Name); err != nil {
				return none, classify(what+" (delete Disconnected peering)", err)
			}
		}
	} else if code, status := errorCode(err); status != http.StatusNotFound || code == "" {
		return none, classify(what, err) // a 404 with no ARM code is a wrong endpoint, not a missing peering
	}
	body := armnetwork.VirtualNetworkPeering{Properties: &armnetwork.VirtualNetworkPeeringPropertiesFormat{
		AllowVirtualNetworkAccess: to.Ptr(true),
		AllowForwardedTraffic:     to.Ptr(in.AllowForwardedTraffic),
		UseRemoteGateways:         to.Ptr(in.UseRemoteGateways),
		RemoteVirtualNetwork:      &armnetwork.SubResource{ID: to.Ptr(remoteID)},
	}}
	var res armnetwork.VirtualNetworkPeeringsClientCreateOrUpdateResponse
	err = a.onConflict(ctx, func() error {
		poller, err := c.BeginCreateOrUpdate(ctx, in.ResourceGroup, in.VNet, in.Name, body, nil)
		if err != nil {
			return err
		}
		res, err = poller.PollUntilDone(ctx, a.pollOpts())
		return err
	})
	if err != nil {
		return none, classify(what, err)
	}
	return peeringOutputs(res.VirtualNetworkPeering), nil
}

// GetPeering reads a peering: peeringState Initiated, Connected or Disconnected.
func (a *Actions) GetPeering(ctx context.Context, call plan.Call, in catalog.AzurePeeringIn) (catalog.AzurePeeringOut, error) {
	var none catalog.AzurePeeringOut
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return none, err
	}
	c, err := a.peerings(s)
	if err != nil {
		return none, err
	}
	got, err := c.Get(ctx, in.ResourceGroup, in.VNet, in.Name, nil)
	if err != nil {
		return none, classify(fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in.Name, in.ResourceGroup, in.VNet), err)
	}
	return peeringOutputs(got.VirtualNetworkPeering), nil
}

func (a *Actions) deletePeering(ctx context.Context, c *armnetwork.VirtualNetworkPeeringsClient, rg, vnet, name string) error {
	return a.onConflict(ctx, func() error {
		poller, err := c.BeginDelete(ctx, rg, vnet, name, nil)
		if err != nil {
			return err
		}
		_, err = poller.PollUntilDone(ctx, a.pollOpts())
		return err
	})
}

// DeletePeering deletes a peering and waits for the operation; a missing
// peering counts as deleted.
func (a *Actions) DeletePeering(ctx context.Context, call plan.Call, in catalog.AzurePeeringIn) (catalog.AzureDeletePeeringOut, error) {
	var none catalog.AzureDeletePeeringOut
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return none, err
	}
	c, err := a.peerings(s)
	if err != nil {
		return none, err
	}
	if err := a.deletePeering(ctx, c, in.ResourceGroup, in.VNet, in.Name); err != nil {
		if code, status := errorCode(err); status == http.StatusNotFound && code != "" {
			return catalog.AzureDeletePeeringOut{Deleted: true}, nil // gone; a 404 with no ARM code is a wrong endpoint
		}
		return none, classify(fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in.Name, in.ResourceGroup, in.VNet), err)
	}
	return catalog.AzureDeletePeeringOut{Deleted: true}, nil
}
