package alibaba

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Peering statuses of the VpcPeer API (vpcpeer-20220101 client.go,
// GetVpcPeerConnectionAttributeResponseBody.Status: Creating, Accepting,
// Updating, Rejected, Expired, Activated, Deleting, Deleted). Activated is
// stored as inventory.PeeringActive so the network model routes over it.
const (
	StatusCreating  = "Creating"
	StatusAccepting = "Accepting"
	StatusUpdating  = "Updating"
	StatusActivated = "Activated"
	StatusDeleting  = "Deleting"
	StatusRejected  = "Rejected"
	StatusExpired   = "Expired"
)

// Attributes of a peering in the inventory.
const (
	attrType        = "alibabaType"
	typeVpcPeer     = "vpcpeer"
	attrAcceptRgn   = "acceptingRegionId"
	attrDescription = "description"
	tagClientToken  = "alibaba:clientToken"
)

func apiStatus(st string) string {
	if st == inventory.PeeringActive {
		return StatusActivated
	}
	return st
}

func (a *api) vpcpeerRoutes() {
	a.op(VersionVpcPeer, "CreateVpcPeerConnection", a.createPeer)
	a.op(VersionVpcPeer, "AcceptVpcPeerConnection", a.acceptPeer)
	a.op(VersionVpcPeer, "RejectVpcPeerConnection", a.rejectPeer)
	a.op(VersionVpcPeer, "GetVpcPeerConnectionAttribute", a.getPeer)
	a.op(VersionVpcPeer, "DeleteVpcPeerConnection", a.deletePeer)
}

func uid(acct *inventory.Account) int64 {
	n, _ := strconv.ParseInt(acct.AccountID, 10, 64)
	return n
}

// vpcOf returns an Alibaba VPC of an account in a region.
func (a *api) vpcOf(id, account, region string) (*inventory.VPC, bool) {
	v, err := inventory.Get[*inventory.VPC](a.inv, id)
	if err != nil || v.Account != account || (region != "" && v.Region != region) {
		return nil, false
	}
	return v, true
}

// busy reports whether a peering of either VPC is mid-operation:
// "Conflict.Operation: There are other peering operations on the requester
// VPC or accepter VPC, try again later"
// (https://alibabacloud.com/help/en/vpc/developer-reference/api-vpcpeer-2022-01-01-errorcodes).
func (a *api) busy(vpcs ...string) bool {
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if p.Attrs[attrType] != typeVpcPeer {
			continue
		}
		if p.Status != StatusCreating && p.Status != StatusUpdating && p.Status != StatusDeleting {
			continue
		}
		for _, v := range vpcs {
			if p.VPCID == v || p.PeerVPCID == v {
				return true
			}
		}
	}
	return false
}

// createPeer: CreateVpcPeerConnection. VpcId, AcceptingAliUid,
// AcceptingRegionId and AcceptingVpcId are required (terraform-provider-alicloud
// website/docs/r/vpc_peer_connection.html.markdown: all four Required);
// ClientToken makes a retry return the first attempt's InstanceId
// (vpcpeer-20220101 client.go CreateVpcPeerConnectionRequest.ClientToken).
func (a *api) createPeer(c *caller) (any, *apiError) {
	region, e := c.region()
	if e != nil {
		return nil, e
	}
	vpcID, e := c.str("VpcId", true)
	if e != nil {
		return nil, e
	}
	peerVpcID, e := c.str("AcceptingVpcId", true)
	if e != nil {
		return nil, e
	}
	peerUID, e := c.str("AcceptingAliUid", true)
	if e != nil {
		return nil, e
	}
	peerRegion, e := c.str("AcceptingRegionId", true)
	if e != nil {
		return nil, e
	}
	token, _ := c.str("ClientToken", false)
	if len(token) > 64 {
		return nil, errf(http.StatusBadRequest, "IllegalParam.ClientToken", "The param of ClientToken is illegal.")
	}
	if token != "" {
		if o, ok := a.inv.FindByTag(inventory.KindPeering, tagClientToken, c.acct.ID+"/"+token); ok {
			return map[string]any{"InstanceId": o.GetMeta().ID}, nil
		}
	}
	name, _ := c.str("Name", false)
	desc, _ := c.str("Description", false)
	// Name: 2-128 characters, letters, digits, _ and -, starting with a letter;
	// Description: 2-256 characters starting with a letter (vpcpeer-20220101 client.go
	// CreateVpcPeerConnectionRequest).
	if name != "" && !validName(name, 128) {
		return nil, errf(http.StatusBadRequest, "IllegalParam.Name", "The param of Name is illegal.")
	}
	if desc != "" && (len(desc) < 2 || len(desc) > 256 || !isLetter(desc[0]) || strings.HasPrefix(desc, "http://") || strings.HasPrefix(desc, "https://")) {
		return nil, errf(http.StatusBadRequest, "IllegalParam.Description", "The param of Description is illegal.")
	}
	v, ok := a.vpcOf(vpcID, c.acct.ID, region)
	if !ok {
		return nil, errf(http.StatusBadRequest, "ResourceNotFound.VpcId", "The specified resource of %s is not found.", vpcID)
	}
	peerAcct, err := a.inv.AccountBy(peerUID)
	if err != nil || peerAcct.Provider != "alibaba" || peerAcct.AccountID != peerUID {
		return nil, errf(http.StatusBadRequest, "IllegalParam.AcceptingAliUid", "The param of AcceptingAliUid is illegal.")
	}
	pv, ok := a.vpcOf(peerVpcID, peerAcct.ID, peerRegion)
	if !ok {
		return nil, errf(http.StatusBadRequest, "ResourceNotFound.AcceptingVpcId", "The specified resource of %s is not found.", peerVpcID)
	}
	if a.busy(v.ID, pv.ID) {
		return nil, errf(http.StatusBadRequest, "Conflict.Operation", "There are other peering operations on the requester VPC or accepter VPC, try again later.")
	}
	p := &inventory.Peering{
		Meta:        inventory.Meta{ID: newID("pcc-"), Account: c.acct.ID, Region: region, Name: name, Status: StatusCreating, Tags: map[string]string{}},
		VPCID:       v.ID,
		PeerVPCID:   pv.ID,
		PeerAccount: peerAcct.ID,
		Attrs:       map[string]string{attrType: typeVpcPeer, attrAcceptRgn: peerRegion, attrDescription: desc},
	}
	if token != "" {
		p.Tags[tagClientToken] = c.acct.ID + "/" + token
	}
	if _, err := inventory.Create(a.inv, p); err != nil {
		return nil, errf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
	}
	// Creating → Accepting across accounts ("the connection is activated only
	// after the accepter VPC accepts"), Activated within one account
	// (vpcpeer-20220101 client.go CreateVpcPeerConnection / AcceptVpcPeerConnection docs).
	next := inventory.PeeringActive
	if peerAcct.ID != c.acct.ID {
		next = StatusAccepting
	}
	id := p.ID
	a.peeringSet(a.timing.Create, peeringStep{ID: id, From: StatusCreating, To: next})
	return map[string]any{"InstanceId": id}, nil
}

func validName(s string, max int) bool {
	if len(s) < 2 || len(s) > max || !isLetter(s[0]) {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r < 128 && isLetter(byte(r)) || r >= 128) {
			return false
		}
	}
	return true
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// peer returns a peering visible to the caller (owner or accepter):
// ResourceNotFound.InstanceId otherwise (https://help.aliyun.com/document_detail/426098.html).
func (a *api) peer(c *caller) (*inventory.Peering, *apiError) {
	id, e := c.str("InstanceId", true)
	if e != nil {
		return nil, e
	}
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	if err != nil || p.Attrs[attrType] != typeVpcPeer || (p.Account != c.acct.ID && p.PeerAccount != c.acct.ID) {
		return nil, errf(http.StatusBadRequest, "ResourceNotFound.InstanceId", "The specified resource of %s is not found.", id)
	}
	return p, nil
}

// acceptPeer: AcceptVpcPeerConnection, by the accepter account only, from
// Accepting; the peering goes Updating → Activated (vpcpeer-20220101
// client.go AcceptVpcPeerConnection doc).
func (a *api) acceptPeer(c *caller) (any, *apiError) {
	return a.decide(c, true)
}

// rejectPeer: RejectVpcPeerConnection, by the accepter, from Accepting → Rejected.
func (a *api) rejectPeer(c *caller) (any, *apiError) {
	return a.decide(c, false)
}

func (a *api) decide(c *caller, accept bool) (any, *apiError) {
	p, e := a.peer(c)
	if e != nil {
		return nil, e
	}
	if p.PeerAccount != c.acct.ID {
		// The requester cannot accept its own cross-account request
		// (Forbidden.NoPermission, vpcpeer error codes page).
		return nil, errf(http.StatusBadRequest, "Forbidden.NoPermission", "Authentication is failed for %s.", p.ID)
	}
	if p.Status != StatusAccepting {
		// IncorrectStatus.VpcPeer "The status of %s [%s] is incorrect."
		// (https://help.aliyun.com/document_detail/426098.html error codes).
		return nil, errf(http.StatusBadRequest, "IncorrectStatus.VpcPeer", "The status of %s [%s] is incorrect.", p.ID, apiStatus(p.Status))
	}
	next := StatusRejected
	if accept {
		next = StatusUpdating
	}
	id := p.ID
	_, _ = inventory.Update(a.inv, id, func(p *inventory.Peering) error { p.Status = next; return nil })
	if accept {
		a.peeringSet(a.timing.Accept, peeringStep{ID: id, From: StatusUpdating, To: inventory.PeeringActive})
	}
	return nil, nil
}

func (a *api) vpcJSON(id string) map[string]any {
	out := map[string]any{"VpcId": id}
	if v, err := inventory.Get[*inventory.VPC](a.inv, id); err == nil && v.CIDR != "" {
		out["Ipv4Cidrs"] = []string{v.CIDR}
	}
	return out
}

// getPeer: GetVpcPeerConnectionAttribute (response fields of
// vpcpeer-20220101 client.go GetVpcPeerConnectionAttributeResponseBody).
func (a *api) getPeer(c *caller) (any, *apiError) {
	p, e := a.peer(c)
	if e != nil {
		return nil, e
	}
	owner, _ := inventory.Get[*inventory.Account](a.inv, p.Account)
	peerAcct, _ := inventory.Get[*inventory.Account](a.inv, p.PeerAccount)
	out := map[string]any{
		"InstanceId": p.ID, "Name": p.Name, "Description": p.Attrs[attrDescription],
		"Status": apiStatus(p.Status), "BizStatus": "Normal", "RegionId": p.Region,
		"VpcId": a.vpcJSON(p.VPCID), "AcceptingVpc": a.vpcJSON(p.PeerVPCID),
		"AcceptingRegionId": p.Attrs[attrAcceptRgn],
		"GmtCreate":         ts(p.CreatedAt), "GmtModified": ts(p.UpdatedAt),
	}
	if owner != nil {
		out["OwnerId"] = uid(owner)
	}
	if peerAcct != nil {
		out["AcceptingOwnerUid"] = uid(peerAcct)
	}
	if p.Status == StatusAccepting {
		// GmtExpired is returned only while Accepting or Expired (vpcpeer-20220101 client.go).
		// The period is not documented in the SDK: the twin reports 7 days and never
		// expires a request itself (a test can set Status Expired through the admin API).
		out["GmtExpired"] = ts(p.CreatedAt.Add(7 * 24 * time.Hour))
	}
	return out, nil
}

// deletePeer: DeleteVpcPeerConnection. Refused with IncorrectStatus.VpcPeer
// while an operation is running (Creating, Updating, Deleting: "does not
// support deleting the same instance concurrently"), and with
// OperationDenied.RouteEntryExist while route entries point to it unless
// Force=true, which removes them (https://help.aliyun.com/document_detail/426098.html).
// Deleting → gone after Timing.Delete.
func (a *api) deletePeer(c *caller) (any, *apiError) {
	p, e := a.peer(c)
	if e != nil {
		return nil, e
	}
	switch p.Status {
	case StatusCreating, StatusUpdating, StatusDeleting:
		return nil, errf(http.StatusBadRequest, "IncorrectStatus.VpcPeer", "The status of %s [%s] is incorrect.", p.ID, apiStatus(p.Status))
	}
	force := strings.EqualFold(c.params.Get("Force"), "true")
	var tables []string
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{}) {
		for _, r := range rt.Routes {
			if r.NextHop == p.ID {
				tables = append(tables, rt.ID)
				break
			}
		}
	}
	if len(tables) > 0 && !force {
		return nil, errf(http.StatusBadRequest, "OperationDenied.RouteEntryExist", "The operation is not allowed because of existing routeEntry point to VpcPeer.")
	}
	for _, id := range tables {
		_, _ = inventory.Update(a.inv, id, func(rt *inventory.RouteTable) error {
			kept := rt.Routes[:0]
			for _, r := range rt.Routes {
				if r.NextHop != p.ID {
					kept = append(kept, r)
				} else {
					delete(rt.Tags, tagEntryName+r.Destination)
				}
			}
			rt.Routes = kept
			return nil
		})
	}
	id := p.ID
	_, _ = inventory.Update(a.inv, id, func(p *inventory.Peering) error { p.Status = StatusDeleting; return nil })
	a.deleteLater(a.timing.Delete, id)
	return nil, nil
}
