package azure

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hdinsight/armhdinsight"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// Option configures the Azure actions.
type Option func(*Actions)

// WithHTTPClient sets the HTTP client of the SDK and token requests.
func WithHTTPClient(hc *http.Client) Option { return func(a *Actions) { a.http = hc } }

// WithPollFrequency sets the long-running-operation poll frequency when the
// service sends no Retry-After (default 1s, azcore's minimum outside tests;
// cloudsim sends Retry-After-Ms so polls are fast anyway).
func WithPollFrequency(d time.Duration) Option { return func(a *Actions) { a.pollEvery = d } }

// WithConflictRetry bounds the in-activity retries of 409 AnotherOperationInProgress.
func WithConflictRetry(attempts int, delay time.Duration) Option {
	return func(a *Actions) { a.conflictAttempts, a.conflictDelay = attempts, delay }
}

// Actions holds what every Azure action needs.
type Actions struct {
	accts            *accounts.Registry
	http             *http.Client
	pollEvery        time.Duration
	conflictAttempts int
	conflictDelay    time.Duration

	mu    sync.Mutex
	creds map[string]*ClientSecretCredential
}

// New returns the Azure actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, pollEvery: time.Second, conflictAttempts: 20, conflictDelay: 250 * time.Millisecond,
		creds: map[string]*ClientSecretCredential{}}
	for _, o := range opts {
		o(a)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: 60 * time.Second}
	}
	return a
}

// Funcs returns every Azure action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	return map[string]activities.Func{
		catalog.AzureNetworkCreatePeering: a.CreatePeering,
		catalog.AzureNetworkGetPeering:    a.GetPeering,
		catalog.AzureNetworkDeletePeering: a.DeletePeering,
		catalog.AzureHDInsightGetCluster:  a.GetCluster,
	}
}

// Register adds every Azure action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

func str(in map[string]any, key string) string {
	s, _ := in[key].(string)
	return s
}

func need(call plan.Call, keys ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		v := str(call.Inputs, k)
		if v == "" {
			return nil, activities.Fail(plan.ErrInvalid, "%s: input %q is required", call.Action, k)
		}
		out[k] = v
	}
	return out, nil
}

func boolIn(in map[string]any, key string) bool {
	b, _ := in[key].(bool)
	return b
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

// busyCodes are the ARM answers that clear once another operation ends.
var busyCodes = map[string]bool{
	// 409: another peering operation runs on the VNet.
	"AnotherOperationInProgress": true,
	// 400: the remote VNet is Updating (its own peering PUT); azurerm retries the PUT
	// (terraform-provider-azurerm internal/services/network/virtual_network_peering_resource.go, resourceVirtualNetworkPeeringCreate).
	"ReferencedResourceNotProvisioned": true,
}

// onConflict runs op, retrying while Azure answers one of busyCodes, with a
// delay doubling from the configured one up to 15s (azurerm polls every 15s).
func (a *Actions) onConflict(ctx context.Context, op func() error) error {
	var err error
	delay := a.conflictDelay
	for i := 0; i < a.conflictAttempts; i++ {
		err = op()
		code, _ := errorCode(err)
		if !busyCodes[code] {
			return err
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, "waiting: "+code)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
	return err
}

func (a *Actions) pollOpts() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: a.pollEvery}
}

func peeringOutputs(p armnetwork.VirtualNetworkPeering) plan.Outputs {
	out := plan.Outputs{"peeringId": "", "peeringState": "", "provisioningState": "", "peeringSyncLevel": ""}
	if p.ID != nil {
		out["peeringId"] = *p.ID
	}
	if pr := p.Properties; pr != nil {
		if pr.PeeringState != nil {
			out["peeringState"] = string(*pr.PeeringState)
		}
		if pr.ProvisioningState != nil {
			out["provisioningState"] = string(*pr.ProvisioningState)
		}
		if pr.PeeringSyncLevel != nil {
			out["peeringSyncLevel"] = string(*pr.PeeringSyncLevel)
		}
		if pr.RemoteVirtualNetwork != nil && pr.RemoteVirtualNetwork.ID != nil {
			out["remoteVnetId"] = *pr.RemoteVirtualNetwork.ID
		}
	}
	return out
}

// CreatePeering creates (or updates) the peering of a VNet towards a remote
// VNet and waits for the long-running operation. PUT is idempotent; a
// Disconnected peering of the same name (its remote side was deleted) is
// deleted and created again, as Azure requires.
func (a *Actions) CreatePeering(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	in, err := need(call, "resourceGroup", "vnet", "name", "remoteResourceGroup", "remoteVnet")
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return nil, err
	}
	remoteSub := s.acct.Azure.SubscriptionID
	if ra := str(call.Inputs, "remoteAccount"); ra != "" && ra != call.Account {
		racct, ok := a.accts.Get(ra)
		if !ok || racct.Azure == nil {
			return nil, activities.Fail(plan.ErrInvalid, "%s: remoteAccount %q is not an azure account of the worker's registry", call.Action, ra)
		}
		if err := SameTenant(s.acct, racct); err != nil {
			return nil, activities.Fail(plan.ErrInvalid, "%s: %v", call.Action, err)
		}
		remoteSub = racct.Azure.SubscriptionID
	}
	c, err := a.peerings(s)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in["name"], in["resourceGroup"], in["vnet"])
	remoteID := VNetID(remoteSub, in["remoteResourceGroup"], in["remoteVnet"])
	if got, err := c.Get(ctx, in["resourceGroup"], in["vnet"], in["name"], nil); err == nil {
		pr := got.Properties
		if pr != nil && pr.PeeringState != nil && *pr.PeeringState == armnetwork.VirtualNetworkPeeringStateDisconnected {
			if err := a.deletePeering(ctx, c, in["resourceGroup"], in["vnet"], in["name"]); err != nil {
				return nil, classify(what+" (delete Disconnected peering)", err)
			}
		}
	} else if code, status := errorCode(err); status != http.StatusNotFound || code == "" {
		return nil, classify(what, err) // a 404 with no ARM code is a wrong endpoint, not a missing peering
	}
	body := armnetwork.VirtualNetworkPeering{Properties: &armnetwork.VirtualNetworkPeeringPropertiesFormat{
		AllowVirtualNetworkAccess: to.Ptr(true),
		AllowForwardedTraffic:     to.Ptr(boolIn(call.Inputs, "allowForwardedTraffic")),
		UseRemoteGateways:         to.Ptr(boolIn(call.Inputs, "useRemoteGateways")),
		RemoteVirtualNetwork:      &armnetwork.SubResource{ID: to.Ptr(remoteID)},
	}}
	var res armnetwork.VirtualNetworkPeeringsClientCreateOrUpdateResponse
	err = a.onConflict(ctx, func() error {
		poller, err := c.BeginCreateOrUpdate(ctx, in["resourceGroup"], in["vnet"], in["name"], body, nil)
		if err != nil {
			return err
		}
		res, err = poller.PollUntilDone(ctx, a.pollOpts())
		return err
	})
	if err != nil {
		return nil, classify(what, err)
	}
	return peeringOutputs(res.VirtualNetworkPeering), nil
}

// GetPeering reads a peering: peeringState Initiated, Connected or Disconnected.
func (a *Actions) GetPeering(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	in, err := need(call, "resourceGroup", "vnet", "name")
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return nil, err
	}
	c, err := a.peerings(s)
	if err != nil {
		return nil, err
	}
	got, err := c.Get(ctx, in["resourceGroup"], in["vnet"], in["name"], nil)
	if err != nil {
		return nil, classify(fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in["name"], in["resourceGroup"], in["vnet"]), err)
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
func (a *Actions) DeletePeering(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	in, err := need(call, "resourceGroup", "vnet", "name")
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return nil, err
	}
	c, err := a.peerings(s)
	if err != nil {
		return nil, err
	}
	if err := a.deletePeering(ctx, c, in["resourceGroup"], in["vnet"], in["name"]); err != nil {
		if code, status := errorCode(err); status == http.StatusNotFound && code != "" {
			return plan.Outputs{"deleted": true}, nil // gone; a 404 with no ARM code is a wrong endpoint
		}
		return nil, classify(fmt.Sprintf("%s: peering %s of VNet %s/%s", call.Action, in["name"], in["resourceGroup"], in["vnet"]), err)
	}
	return plan.Outputs{"deleted": true}, nil
}

// GetCluster reads an HDInsight cluster: state, kind, connectivity
// endpoints, and the Ambari URL (https://<HTTPS endpoint>).
func (a *Actions) GetCluster(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	in, err := need(call, "resourceGroup", "cluster")
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return nil, err
	}
	c, err := armhdinsight.NewClustersClient(s.acct.Azure.SubscriptionID, s.cred, s.opts)
	if err != nil {
		return nil, activities.Fail(plan.ErrInvalid, "%s: build HDInsight client: %v", call.Action, err)
	}
	got, err := c.Get(ctx, in["resourceGroup"], in["cluster"], nil)
	if err != nil {
		return nil, classify(fmt.Sprintf("%s: cluster %s/%s", call.Action, in["resourceGroup"], in["cluster"]), err)
	}
	out := plan.Outputs{"clusterState": "", "provisioningState": "", "kind": "", "ambariUrl": "", "endpoints": []any{}}
	if got.ID != nil {
		out["clusterId"] = *got.ID
	}
	p := got.Properties
	if p == nil {
		return out, nil
	}
	if p.ClusterState != nil {
		out["clusterState"] = *p.ClusterState
	}
	if p.ProvisioningState != nil {
		out["provisioningState"] = string(*p.ProvisioningState)
	}
	if p.ClusterDefinition != nil && p.ClusterDefinition.Kind != nil {
		out["kind"] = *p.ClusterDefinition.Kind
	}
	var eps []any
	for _, e := range p.ConnectivityEndpoints {
		if e == nil {
			continue
		}
		m := map[string]any{"name": deref(e.Name), "protocol": deref(e.Protocol), "location": deref(e.Location)}
		if e.Port != nil {
			m["port"] = int(*e.Port)
		}
		if e.PrivateIPAddress != nil {
			m["privateIPAddress"] = *e.PrivateIPAddress
		}
		eps = append(eps, m)
		if deref(e.Name) == "HTTPS" && e.Location != nil {
			u := "https://" + *e.Location
			if e.Port != nil && *e.Port != 443 {
				u += fmt.Sprintf(":%d", *e.Port)
			}
			out["ambariUrl"] = u
		}
	}
	if eps != nil {
		out["endpoints"] = eps
	}
	if cp := p.ComputeProfile; cp != nil {
		for _, r := range cp.Roles {
			if r != nil && r.VirtualNetworkProfile != nil && r.VirtualNetworkProfile.ID != nil {
				out["vnetId"] = *r.VirtualNetworkProfile.ID
				break
			}
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
