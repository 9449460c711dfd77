package azure

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The VNet peering resource (Microsoft.Network virtualNetworkPeerings) and
// the asynchronous operations of its PUT and DELETE.

func init() { resources = append(resources, (*Server).peeringRoutes) }

func (srv *Server) peeringRoutes() {
	const vnet = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}"
	srv.mux.Handle("PUT "+vnet+"/virtualNetworkPeerings/{name}", srv.arm("Microsoft.Network", srv.putPeering))
	srv.mux.Handle("GET "+vnet+"/virtualNetworkPeerings/{name}", srv.arm("Microsoft.Network", srv.getPeering))
	srv.mux.Handle("DELETE "+vnet+"/virtualNetworkPeerings/{name}", srv.arm("Microsoft.Network", srv.deletePeering))
	srv.mux.Handle("GET "+vnet+"/virtualNetworkPeerings", srv.arm("Microsoft.Network", srv.listPeerings))
	srv.mux.Handle("GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/operations/{op}", srv.arm("Microsoft.Network", srv.getOperation))
}

// peeringBody is the part of an ARM VirtualNetworkPeering request we read.
type peeringBody struct {
	Properties struct {
		RemoteVirtualNetwork *struct {
			ID string `json:"id"`
		} `json:"remoteVirtualNetwork"`
		AllowVirtualNetworkAccess *bool `json:"allowVirtualNetworkAccess"`
		AllowForwardedTraffic     *bool `json:"allowForwardedTraffic"`
		AllowGatewayTransit       *bool `json:"allowGatewayTransit"`
		UseRemoteGateways         *bool `json:"useRemoteGateways"`
	} `json:"properties"`
}

func boolAttr(p *bool, def bool) string {
	if p == nil {
		return strconv.FormatBool(def)
	}
	return strconv.FormatBool(*p)
}

// PeeringState maps an inventory status to ARM's peeringState.
func PeeringState(status string) string {
	switch status {
	case StatusConnected:
		return "Connected"
	case StatusDisconnected:
		return "Disconnected"
	default:
		return "Initiated"
	}
}

func (srv *Server) renderPeering(p *inventory.Peering) map[string]any {
	props := map[string]any{
		"provisioningState":    p.Attrs["provisioningState"],
		"peeringState":         PeeringState(p.Status),
		"remoteVirtualNetwork": map[string]string{"id": p.PeerVPCID},
		"resourceGuid":         p.Attrs["resourceGuid"],
	}
	for _, k := range []string{"allowVirtualNetworkAccess", "allowForwardedTraffic", "allowGatewayTransit", "useRemoteGateways"} {
		props[k] = p.Attrs[k] == "true"
	}
	switch p.Status {
	case StatusConnected:
		props["peeringSyncLevel"] = "FullyInSync"
	default:
		props["peeringSyncLevel"] = "RemoteNotInSync"
	}
	if remote, ok := srv.findVNet(p.PeerVPCID); ok {
		space := map[string]any{"addressPrefixes": []string{remote.CIDR}}
		props["remoteAddressSpace"] = space
		props["remoteVirtualNetworkAddressSpace"] = space
	}
	if local, ok := srv.findVNet(p.VPCID); ok {
		props["localAddressSpace"] = map[string]any{"addressPrefixes": []string{local.CIDR}}
		props["localVirtualNetworkAddressSpace"] = map[string]any{"addressPrefixes": []string{local.CIDR}}
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "etag": `W/"` + p.Attrs["etag"] + `"`,
		"type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "properties": props,
	}
}

func overlaps(a, b string) bool {
	pa, err1 := netip.ParsePrefix(a)
	pb, err2 := netip.ParsePrefix(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return pa.Overlaps(pb)
}

// startOp marks vnet busy with a new operation; it fails when another runs
// on vnet, or (notBusy, the peering's remote VNet) on notBusy: then
// remoteBusy is true.
func (srv *Server) startOp(vnet, peeringID string, del bool, notBusy ...string) (op *operation, running string, remoteBusy bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	key := strings.ToLower(vnet)
	if running, ok := srv.busy[key]; ok {
		return nil, running, false
	}
	for _, other := range notBusy {
		if running, ok := srv.busy[strings.ToLower(other)]; ok {
			return nil, running, true
		}
	}
	op = &operation{ID: newID(), Status: "InProgress", VNet: vnet, PeeringID: peeringID, Delete: del, Started: time.Now().UTC()}
	srv.ops[op.ID] = op
	srv.busy[key] = op.ID
	return op, "", false
}

// schedule arms op's completion after OperationDelay. Call it once the
// operation's effect is stored: a completion that ran before the peering was
// written would find nothing to settle, and the peering would then stay
// Updating (and Initiated) forever.
func (srv *Server) schedule(op *operation) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if op.Status != "InProgress" {
		return
	}
	srv.completeLater(srv.opts.OperationDelay, op.ID)
}

func (srv *Server) finish(op *operation, status, code, msg string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	op.Status, op.ErrCode, op.ErrMsg = status, code, msg
	if srv.busy[strings.ToLower(op.VNet)] == op.ID {
		delete(srv.busy, strings.ToLower(op.VNet))
	}
}

// complete ends a peering operation (or keeps it running under a stuck fault).
func (srv *Server) complete(opID string) {
	srv.mu.Lock()
	op := srv.ops[opID]
	srv.mu.Unlock()
	if op == nil || op.Status != "InProgress" {
		return
	}
	inv := srv.sim.Inventory
	switch kind, state := srv.sim.Faults.Outcome("azure.network.peering.provision"); kind {
	case faults.Stuck:
		srv.completeLater(srv.opts.OperationDelay, op.ID)
		return
	case faults.Reject:
		code := state
		if code == "" || code == "rejected" {
			code = "InternalServerError"
		}
		_, _ = inventory.Update[*inventory.Peering](inv, op.PeeringID, func(p *inventory.Peering) error {
			p.Attrs["provisioningState"] = ProvFailed
			return nil
		})
		srv.finish(op, "Failed", code, "The peering operation failed.")
		return
	}
	srv.peeringMu.Lock()
	defer srv.peeringMu.Unlock()
	p, err := inventory.Get[*inventory.Peering](inv, op.PeeringID)
	if err != nil {
		srv.finish(op, "Succeeded", "", "")
		return
	}
	recip := srv.reciprocal(p)
	if op.Delete {
		_ = inv.Delete(inventory.KindPeering, p.ID)
		if recip != nil {
			_, _ = inventory.Update[*inventory.Peering](inv, recip.ID, func(r *inventory.Peering) error {
				r.Status = StatusDisconnected
				r.Attrs["etag"] = newID()
				return nil
			})
		}
		srv.finish(op, "Succeeded", "", "")
		return
	}
	if srv.settling != nil {
		srv.settling()
	}
	status := StatusInitiated
	if recip != nil && recip.Status != StatusDisconnected && recip.Attrs["provisioningState"] == ProvSucceeded {
		status = StatusConnected
		_, _ = inventory.Update[*inventory.Peering](inv, recip.ID, func(r *inventory.Peering) error {
			r.Status = StatusConnected
			r.Attrs["etag"] = newID()
			return nil
		})
	}
	_, _ = inventory.Update[*inventory.Peering](inv, p.ID, func(q *inventory.Peering) error {
		q.Status = status
		q.Attrs["provisioningState"] = ProvSucceeded
		q.Attrs["etag"] = newID()
		return nil
	})
	srv.finish(op, "Succeeded", "", "")
}

// reciprocal returns the peering of p's remote VNet that points back at p's VNet.
func (srv *Server) reciprocal(p *inventory.Peering) *inventory.Peering {
	for _, q := range inventory.List[*inventory.Peering](srv.sim.Inventory, inventory.Filter{}) {
		if strings.EqualFold(q.VPCID, p.PeerVPCID) && strings.EqualFold(q.PeerVPCID, p.VPCID) && q.Attrs["provisioningState"] != ProvDeleting {
			return q
		}
	}
	return nil
}

func (srv *Server) conflict(w http.ResponseWriter, r *http.Request, region, running string) {
	armError(w, http.StatusConflict, "AnotherOperationInProgress",
		fmt.Sprintf("Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: %s", srv.asyncURL(r, region, running)))
}

func (srv *Server) putPeering(w http.ResponseWriter, r *http.Request) {
	if f := srv.sim.Faults.Check(r.Context(), "azure.network.peerings.createOrUpdate"); f != nil {
		renderFault(w, f)
		return
	}
	local, ok := srv.findVNet(vnetID(r))
	if !ok {
		srv.vnetNotFound(w, r)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body peeringBody
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		armError(w, http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request: "+err.Error())
		return
	}
	if body.Properties.RemoteVirtualNetwork == nil || body.Properties.RemoteVirtualNetwork.ID == "" {
		armError(w, http.StatusBadRequest, "InvalidRequestFormat", "Value for properties.remoteVirtualNetwork.id is required.")
		return
	}
	remote, ok := srv.findVNet(body.Properties.RemoteVirtualNetwork.ID)
	if !ok {
		armError(w, http.StatusBadRequest, "InvalidResourceReference", fmt.Sprintf("Resource %s referenced by resource %s/virtualNetworkPeerings/%s was not found.", body.Properties.RemoteVirtualNetwork.ID, local.ID, r.PathValue("name")))
		return
	}
	if remote.ID == local.ID {
		armError(w, http.StatusBadRequest, "CannotPeerVirtualNetworkWithItself", "A virtual network cannot be peered with itself.")
		return
	}
	if caller, ok := srv.caller(r); ok && !srv.mayPeerWith(r, caller, remote) {
		// Peering needs Microsoft.Network/virtualNetworks/peer/action on the remote VNet, and across
		// tenants a token of the remote tenant in x-ms-authorization-auxiliary
		// (https://learn.microsoft.com/en-us/azure/virtual-network/create-peering-different-subscriptions,
		// https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/authenticate-multi-tenant).
		armError(w, http.StatusForbidden, "LinkedAuthorizationFailed", fmt.Sprintf(
			"The client '%s' has permission to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write' on scope '%s/virtualNetworkPeerings/%s'; "+
				"however, it does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/peer/action' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
			caller.ID, local.ID, r.PathValue("name"), remote.ID))
		return
	}
	if overlaps(local.CIDR, remote.CIDR) {
		armError(w, http.StatusBadRequest, "VnetAddressSpacesOverlap", fmt.Sprintf("Cannot create or update peering %s. Virtual networks %s and %s cannot be peered because their address spaces overlap.", r.PathValue("name"), local.ID, remote.ID))
		return
	}
	id := local.ID + "/virtualNetworkPeerings/" + r.PathValue("name")
	existing, exists := srv.findPeering(id)
	if exists {
		id = existing.ID
		if !strings.EqualFold(existing.PeerVPCID, remote.ID) {
			armError(w, http.StatusBadRequest, "CannotChangeRemoteVirtualNetworkOfPeering", "The remote virtual network of an existing peering cannot be changed; delete the peering and create it again.")
			return
		}
		if existing.Status == StatusDisconnected {
			armError(w, http.StatusBadRequest, "PeeringIsDisconnected", fmt.Sprintf("Peering %s is Disconnected because its remote peering was deleted; delete it and create it again.", existing.ID))
			return
		}
	}
	op, running, remoteBusy := srv.startOp(local.ID, id, false, remote.ID)
	if remoteBusy {
		// A peering PUT while the remote VNet is Updating (e.g. its own peering PUT) answers 400
		// ReferencedResourceNotProvisioned; azurerm retries it
		// (terraform-provider-azurerm internal/services/network/virtual_network_peering_resource.go, resourceVirtualNetworkPeeringCreate).
		armError(w, http.StatusBadRequest, "ReferencedResourceNotProvisioned", fmt.Sprintf(
			"Cannot proceed with operation because resource %s used by resource %s is not in Succeeded state. "+
				"Resource is in Updating state and the last operation that updated/is updating the resource is PutVirtualNetworkPeeringOperation.", remote.ID, id))
		return
	}
	if op == nil {
		srv.conflict(w, r, local.Region, running)
		return
	}
	b := body.Properties
	attrs := map[string]string{
		"provisioningState":         ProvUpdating,
		"allowVirtualNetworkAccess": boolAttr(b.AllowVirtualNetworkAccess, true),
		"allowForwardedTraffic":     boolAttr(b.AllowForwardedTraffic, false),
		"allowGatewayTransit":       boolAttr(b.AllowGatewayTransit, false),
		"useRemoteGateways":         boolAttr(b.UseRemoteGateways, false),
		"etag":                      newID(),
		"operation":                 op.ID,
	}
	var p *inventory.Peering
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
		p, err = inventory.Update[*inventory.Peering](srv.sim.Inventory, id, func(q *inventory.Peering) error {
			attrs["resourceGuid"] = q.Attrs["resourceGuid"]
			q.Attrs = attrs
			return nil
		})
	} else {
		attrs["resourceGuid"] = newID()
		p, err = inventory.Create(srv.sim.Inventory, &inventory.Peering{
			Meta:  inventory.Meta{ID: id, Account: local.Account, Region: local.Region, Name: r.PathValue("name"), Status: StatusInitiated},
			VPCID: local.ID, PeerVPCID: remote.ID, PeerAccount: remote.Account, Attrs: attrs,
		})
	}
	if err != nil {
		srv.finish(op, "Failed", "InternalServerError", err.Error())
		armError(w, http.StatusInternalServerError, "InternalServerError", "store peering: "+err.Error())
		return
	}
	srv.schedule(op)
	w.Header().Set("Azure-AsyncOperation", srv.asyncURL(r, local.Region, op.ID))
	w.Header().Set("Retry-After-Ms", strconv.Itoa(int(srv.opts.RetryAfter/time.Millisecond)))
	writeJSON(w, status, srv.renderPeering(p))
}

// AttrNetworkContributors on a VNet lists (comma-separated) the inventory
// accounts other than its owner that hold peer rights on it (a Network
// Contributor role assignment on the VNet).
const AttrNetworkContributors = "networkContributors"

// mayPeerWith reports whether caller may peer a VNet with remote: remote is
// the caller's own, or lists the caller in AttrNetworkContributors; across
// tenants the request must also carry, in x-ms-authorization-auxiliary, a
// token minted in the remote account's tenant.
func (srv *Server) mayPeerWith(r *http.Request, caller *inventory.Account, remote *inventory.VPC) bool {
	if remote.Account == caller.ID {
		return true
	}
	granted := false
	for _, a := range strings.Split(remote.Attrs[AttrNetworkContributors], ",") {
		granted = granted || strings.TrimSpace(a) == caller.ID
	}
	if !granted {
		return false
	}
	owner, err := inventory.Get[*inventory.Account](srv.sim.Inventory, remote.Account)
	if err != nil || owner.TenantID == "" || strings.EqualFold(owner.TenantID, caller.TenantID) {
		return true
	}
	for _, tok := range strings.Split(r.Header.Get("x-ms-authorization-auxiliary"), ",") {
		aux := r.Clone(r.Context())
		aux.Header.Set("Authorization", strings.TrimSpace(tok))
		if a, ok := srv.caller(aux); ok && strings.EqualFold(a.TenantID, owner.TenantID) {
			return true
		}
	}
	return false
}

func (srv *Server) getPeering(w http.ResponseWriter, r *http.Request) {
	if f := srv.sim.Faults.Check(r.Context(), "azure.network.peerings.get"); f != nil {
		renderFault(w, f)
		return
	}
	if _, ok := srv.findVNet(vnetID(r)); !ok {
		srv.vnetNotFound(w, r)
		return
	}
	p, ok := srv.findPeering(vnetID(r) + "/virtualNetworkPeerings/" + r.PathValue("name"))
	if !ok {
		armError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Resource %s/virtualNetworkPeerings/%s not found.", vnetID(r), r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, srv.renderPeering(p))
}

func (srv *Server) listPeerings(w http.ResponseWriter, r *http.Request) {
	if f := srv.sim.Faults.Check(r.Context(), "azure.network.peerings.list"); f != nil {
		renderFault(w, f)
		return
	}
	local, ok := srv.findVNet(vnetID(r))
	if !ok {
		srv.vnetNotFound(w, r)
		return
	}
	out := []any{}
	for _, p := range inventory.List[*inventory.Peering](srv.sim.Inventory, inventory.Filter{}) {
		if strings.EqualFold(p.VPCID, local.ID) {
			out = append(out, srv.renderPeering(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (srv *Server) deletePeering(w http.ResponseWriter, r *http.Request) {
	if f := srv.sim.Faults.Check(r.Context(), "azure.network.peerings.delete"); f != nil {
		renderFault(w, f)
		return
	}
	local, ok := srv.findVNet(vnetID(r))
	if !ok {
		srv.vnetNotFound(w, r)
		return
	}
	p, ok := srv.findPeering(local.ID + "/virtualNetworkPeerings/" + r.PathValue("name"))
	if !ok {
		w.Header().Set("x-ms-request-id", newID())
		w.WriteHeader(http.StatusNoContent)
		return
	}
	op, running, _ := srv.startOp(local.ID, p.ID, true)
	if op == nil {
		srv.conflict(w, r, local.Region, running)
		return
	}
	_, _ = inventory.Update[*inventory.Peering](srv.sim.Inventory, p.ID, func(q *inventory.Peering) error {
		q.Attrs["provisioningState"] = ProvDeleting
		q.Attrs["operation"] = op.ID
		return nil
	})
	srv.schedule(op)
	u := srv.asyncURL(r, local.Region, op.ID)
	w.Header().Set("Azure-AsyncOperation", u)
	w.Header().Set("Location", strings.Replace(u, "/operations/", "/operationResults/", 1))
	w.Header().Set("Retry-After-Ms", strconv.Itoa(int(srv.opts.RetryAfter/time.Millisecond)))
	w.Header().Set("x-ms-request-id", newID())
	w.WriteHeader(http.StatusAccepted)
}

func (srv *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	srv.mu.Lock()
	op, ok := srv.ops[r.PathValue("op")]
	var cp operation
	if ok {
		cp = *op
	}
	srv.mu.Unlock()
	if !ok {
		armError(w, http.StatusNotFound, "OperationNotFound", "Operation "+r.PathValue("op")+" was not found.")
		return
	}
	body := map[string]any{"name": cp.ID, "status": cp.Status, "startTime": cp.Started.Format(time.RFC3339Nano)}
	if cp.Status == "Failed" {
		body["error"] = map[string]string{"code": cp.ErrCode, "message": cp.ErrMsg}
	}
	if cp.Status == "InProgress" {
		w.Header().Set("Retry-After-Ms", strconv.Itoa(int(srv.opts.RetryAfter/time.Millisecond)))
	}
	writeJSON(w, http.StatusOK, body)
}

// Operations returns the IDs of the operations still in progress (tests).
func (srv *Server) Operations() []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var out []string
	for id, op := range srv.ops {
		if op.Status == "InProgress" {
			out = append(out, id)
		}
	}
	return out
}
