package aws

import (
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Peering status codes (EC2 VpcPeeringConnectionStateReasonCode).
const (
	pcxInitiating = "initiating-request"
	pcxPending    = "pending-acceptance"
	pcxProvision  = "provisioning"
	pcxActive     = inventory.PeeringActive
	pcxRejected   = "rejected"
	pcxFailed     = "failed"
	pcxExpired    = "expired"
	pcxDeleting   = "deleting"
	pcxDeleted    = "deleted"
)

// Attrs of a peering in the inventory.
const (
	attrType       = "awsType"
	typePeering    = "vpc-peering-connection"
	typeAttachment = "transit-gateway-attachment"
	attrPeerRegion = "peerRegion"
	attrMessage    = "statusMessage"
	attrExpires    = "expirationTime"
)

// isVPCPeering tells EC2 VPC peerings from other inventory peerings.
func isVPCPeering(p *inventory.Peering) bool { return p.Attrs[attrType] == typePeering }

// peerRegion is the accepter's region.
func peerRegion(p *inventory.Peering) string {
	if r := p.Attrs[attrPeerRegion]; r != "" {
		return r
	}
	return p.Region
}

// visiblePeering returns a peering the caller sees: it is the requester (in
// the requester's region) or the accepter (in the accepter's region).
func (a *api) visiblePeering(c *caller, id string) (*inventory.Peering, *ec2Error) {
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	if err != nil || !isVPCPeering(p) || !a.sees(c, p) {
		return nil, errf("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '%s' does not exist", id)
	}
	return p, nil
}

func (a *api) sees(c *caller, p *inventory.Peering) bool {
	return (p.Account == c.acct.ID && p.Region == c.region) || (p.PeerAccount == c.acct.ID && peerRegion(p) == c.region)
}

// setPeering moves a peering to status with a message.
func (a *api) setPeering(id, status, msg string, only ...string) bool {
	ok := true
	_, err := inventory.Update(a.inv, id, func(p *inventory.Peering) error {
		if len(only) > 0 && !contains(only, p.Status) {
			ok = false
			return nil
		}
		p.Status = status
		if p.Attrs == nil {
			p.Attrs = map[string]string{}
		}
		p.Attrs[attrMessage] = msg
		return nil
	})
	if err == nil && ok && peeringFinal[status] {
		// AWS keeps deleted, rejected, failed and expired peerings visible for
		// 2 hours to 2 days, then removes them
		// (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-lifecycle).
		a.forgetPeering(a.timing.PeeringVisible, peeringState{ID: id, Status: status})
	}
	return err == nil && ok
}

// peeringFinal are the peering states nothing leaves (the peering only disappears).
var peeringFinal = map[string]bool{pcxDeleted: true, pcxRejected: true, pcxFailed: true, pcxExpired: true}

func (a *api) peeringNode(p *inventory.Peering) node {
	reqAcct, accAcct := a.awsID(p.Account), a.awsID(p.PeerAccount)
	info := func(vpcID, owner, region string) []node {
		kids := []node{tx("ownerId", owner), tx("vpcId", vpcID), tx("region", region)}
		if v, err := inventory.Get[*inventory.VPC](a.inv, vpcID); err == nil {
			kids = append(kids, tx("cidrBlock", v.CIDR), set("cidrBlockSet", el("item", tx("cidrBlock", v.CIDR))))
		}
		return kids
	}
	req := info(p.VPCID, reqAcct, p.Region)
	acc := info(p.PeerVPCID, accAcct, peerRegion(p))
	if p.Status != pcxActive && p.Status != pcxProvision {
		acc = acc[:3] // the accepter's CIDR is shown once the peering is accepted
	}
	kids := []node{tx("vpcPeeringConnectionId", p.ID), el("requesterVpcInfo", req...), el("accepterVpcInfo", acc...),
		el("status", tx("code", p.Status), tx("message", p.Attrs[attrMessage]))}
	if e := p.Attrs[attrExpires]; e != "" && (p.Status == pcxPending || p.Status == pcxInitiating) {
		kids = append(kids, tx("expirationTime", e))
	}
	kids = append(kids, tagSet(p.Tags))
	return el("vpcPeeringConnection", kids...)
}

func (a *api) createPeering(c *caller, f form) ([]node, *ec2Error) {
	vpc, e := a.ownVPC(c, f.str("VpcId"))
	if e != nil {
		return nil, e
	}
	peerVPC := f.str("PeerVpcId")
	if peerVPC == "" {
		return nil, errf("MissingParameter", "The request must contain the parameter peerVpcId")
	}
	peerOwner := f.str("PeerOwnerId")
	peerAcct := c.acct
	if peerOwner != "" && peerOwner != c.acct.AccountID {
		acct, ok := a.accountByAWSID(peerOwner)
		if !ok {
			return nil, errf("InvalidParameterValue", "Invalid value '%s' for peerOwnerId: no such account", peerOwner)
		}
		peerAcct = acct
	}
	region := f.str("PeerRegion")
	if region == "" {
		region = c.region
	}
	// AWS allows one VPC peering connection between two VPCs at a time:
	// VpcPeeringConnectionAlreadyExists "A VPC peering connection between the
	// VPCs already exists" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html;
	// https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-limitations).
	// Counted: accepted peerings (provisioning, active), in either direction.
	for _, o := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if isVPCPeering(o) && (o.Status == pcxActive || o.Status == pcxProvision) &&
			((o.VPCID == vpc.ID && o.PeerVPCID == peerVPC) || (o.VPCID == peerVPC && o.PeerVPCID == vpc.ID)) {
			return nil, errf("VpcPeeringConnectionAlreadyExists", "A VPC peering connection between the VPCs already exists (%s).", o.ID)
		}
	}
	tags := f.tagSpecs("vpc-peering-connection")
	now := time.Now()
	p := &inventory.Peering{
		Meta:  inventory.Meta{ID: newID("pcx-"), Account: c.acct.ID, Region: c.region, Name: tags["Name"], Status: pcxInitiating, Tags: tags},
		VPCID: vpc.ID, PeerVPCID: peerVPC, PeerAccount: peerAcct.ID,
		Attrs: map[string]string{attrType: typePeering, attrPeerRegion: region, attrMessage: "Initiating Request to " + peerAcct.AccountID,
			attrExpires: ts(now.Add(a.timing.PeeringExpiry))},
	}
	created, err := inventory.Create(a.inv, p)
	if err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	id := created.ID
	a.peeringRequested(a.timing.PeeringRequest, peeringRequest{ID: id, CIDR: vpc.CIDR, PeerAccount: peerAcct.ID, PeerAccountID: peerAcct.AccountID, Region: region})
	return []node{a.peeringNode(created)}, nil
}

// advanceRequest moves a new request to pending-acceptance, or failed when
// the accepter VPC does not exist in that account and region or the CIDRs overlap.
func (a *api) advanceRequest(id string, vpc *inventory.VPC, peerAcct *inventory.Account, region string) {
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	if err != nil || p.Status != pcxInitiating {
		return
	}
	if kind, state := a.faults.Outcome("aws.ec2.peering.request"); kind == faults.Stuck {
		return
	} else if kind == faults.Reject {
		a.setPeering(id, state, "Failed due to an injected fault", pcxInitiating)
		return
	}
	peer, err := inventory.Get[*inventory.VPC](a.inv, p.PeerVPCID)
	switch {
	case err != nil || peer.Account != peerAcct.ID || peer.Region != region:
		a.setPeering(id, pcxFailed, "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range", pcxInitiating)
	case cidrOverlap(vpc.CIDR, peer.CIDR):
		a.setPeering(id, pcxFailed, "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range", pcxInitiating)
	default:
		a.setPeering(id, pcxPending, "Pending Acceptance by "+peerAcct.AccountID, pcxInitiating)
		a.peeringSet(a.timing.PeeringExpiry, peeringState{ID: id, Status: pcxExpired, Message: "Expired", Only: []string{pcxPending}})
	}
}

func (a *api) acceptPeering(c *caller, f form) ([]node, *ec2Error) {
	id := f.str("VpcPeeringConnectionId")
	p, e := a.visiblePeering(c, id)
	if e != nil {
		return nil, e
	}
	if p.PeerAccount != c.acct.ID || peerRegion(p) != c.region {
		return nil, errf("OperationNotPermitted", "User %s cannot accept peering %s: only the accepter account %s in %s can", c.acct.AccountID, id, a.awsID(p.PeerAccount), peerRegion(p))
	}
	if p.Status != pcxPending {
		return nil, errf("InvalidStateTransition", "Invalid state transition for pcx %s, attempted to transition from %s to active", id, p.Status)
	}
	if !a.setPeering(id, pcxProvision, "Provisioning", pcxPending) {
		return nil, errf("InvalidStateTransition", "Invalid state transition for pcx %s", id)
	}
	a.peeringAccepted(a.timing.PeeringProvision, id)
	p, _ = inventory.Get[*inventory.Peering](a.inv, id)
	return []node{a.peeringNode(p)}, nil
}

func (a *api) rejectPeering(c *caller, f form) ([]node, *ec2Error) {
	id := f.str("VpcPeeringConnectionId")
	p, e := a.visiblePeering(c, id)
	if e != nil {
		return nil, e
	}
	if p.PeerAccount != c.acct.ID || peerRegion(p) != c.region {
		return nil, errf("OperationNotPermitted", "User %s cannot reject peering %s", c.acct.AccountID, id)
	}
	if !a.setPeering(id, pcxRejected, "Rejected by "+c.acct.AccountID, pcxPending) {
		return nil, errf("InvalidStateTransition", "Invalid state transition for pcx %s, attempted to transition from %s to rejected", id, p.Status)
	}
	return []node{boolx("return", true)}, nil
}

func (a *api) describePeerings(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("VpcPeeringConnectionId"), f.filters()
	var items []node
	found := map[string]bool{}
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if !isVPCPeering(p) || !a.sees(c, p) || (len(ids) > 0 && !contains(ids, p.ID)) {
			continue
		}
		vals := map[string]string{
			"vpc-peering-connection-id": p.ID, "status-code": p.Status, "status-message": p.Attrs[attrMessage],
			"requester-vpc-info.vpc-id": p.VPCID, "requester-vpc-info.owner-id": a.awsID(p.Account),
			"accepter-vpc-info.vpc-id": p.PeerVPCID, "accepter-vpc-info.owner-id": a.awsID(p.PeerAccount),
		}
		if !matchFilters(fs, vals, p.Tags) {
			continue
		}
		found[p.ID] = true
		n := a.peeringNode(p)
		n.name = "item"
		items = append(items, n)
	}
	for _, id := range ids {
		if !found[id] {
			return nil, errf("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '%s' does not exist", id)
		}
	}
	return []node{set("vpcPeeringConnectionSet", items...)}, nil
}

func (a *api) deletePeering(c *caller, f form) ([]node, *ec2Error) {
	id := f.str("VpcPeeringConnectionId")
	p, e := a.visiblePeering(c, id)
	if e != nil {
		return nil, e
	}
	switch p.Status {
	case pcxRejected, pcxFailed, pcxExpired, pcxDeleted:
		return nil, errf("InvalidStateTransition", "Invalid state transition for pcx %s, attempted to transition from %s to deleted", id, p.Status)
	case pcxDeleting:
		return []node{boolx("return", true)}, nil
	}
	a.setPeering(id, pcxDeleting, "Deleting")
	// deleting → deleted, which stays visible ("the status is set to Deleting and then Deleted",
	// https://docs.aws.amazon.com/vpc/latest/peering/delete-vpc-peering-connection.html).
	a.peeringSet(a.timing.Delete, peeringState{ID: id, Status: pcxDeleted, Message: "Deleted by " + c.acct.AccountID, Only: []string{pcxDeleting}})
	return []node{boolx("return", true)}, nil
}
