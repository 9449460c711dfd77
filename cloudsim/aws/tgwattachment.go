package aws

import (
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Transit gateways: a transit gateway exists when a route table of it (ID
// tgw-rtb-..., vpc = the transit gateway ID) is in the inventory; its owner
// is that route table's account. Attachments are inventory peerings with
// awsType transit-gateway-attachment (VPCID = the VPC, PeerVPCID = the
// transit gateway); their states are lowerCamel (pendingAcceptance, pending,
// available, deleting).

// tgwOwner returns the account owning a transit gateway.
func (a *api) tgwOwner(id string) (string, bool) {
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{}) {
		if rt.VPCID == id && isTGWRouteTable(rt) {
			return rt.Account, true
		}
	}
	return "", false
}

func (a *api) tgwExists(id string) bool { _, ok := a.tgwOwner(id); return ok }

func isAttachment(p *inventory.Peering) bool { return p.Attrs[attrType] == typeAttachment }

func (a *api) attachmentNode(name string, p *inventory.Peering) node {
	var subnets []string
	if s := p.Attrs["subnetIds"]; s != "" {
		subnets = strings.Split(s, ",")
	}
	return el(name, tx("transitGatewayAttachmentId", p.ID), tx("transitGatewayId", p.PeerVPCID), tx("vpcId", p.VPCID),
		tx("vpcOwnerId", a.awsID(p.Account)), tx("state", p.Status), strSet("subnetIds", subnets), tx("creationTime", ts(p.CreatedAt)),
		el("options", tx("dnsSupport", "enable"), tx("ipv6Support", "disable"), tx("applianceModeSupport", "disable")), tagSet(p.Tags))
}

// visibleAttachment returns an attachment the caller owns or whose transit gateway it owns.
func (a *api) visibleAttachment(c *caller, id string) (*inventory.Peering, *ec2Error) {
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	if err != nil || !isAttachment(p) || p.Region != c.region || (p.Account != c.acct.ID && p.PeerAccount != c.acct.ID) {
		return nil, errf("InvalidTransitGatewayAttachmentID.NotFound", "Transit Gateway Attachment %s was deleted or does not exist.", id)
	}
	return p, nil
}

func (a *api) createAttachment(c *caller, f form) ([]node, *ec2Error) {
	vpc, e := a.ownVPC(c, f.str("VpcId"))
	if e != nil {
		return nil, e
	}
	tgw := f.str("TransitGatewayId")
	owner, ok := a.tgwOwner(tgw)
	if !ok {
		return nil, errf("InvalidTransitGatewayID.NotFound", "Transit Gateway %s was deleted or does not exist.", tgw)
	}
	subnets := f.list("SubnetIds")
	if len(subnets) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter SubnetIds")
	}
	for _, s := range subnets {
		sn, err := inventory.Get[*inventory.Subnet](a.inv, s)
		if err != nil || sn.VPCID != vpc.ID {
			return nil, errf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist in %s", s, vpc.ID)
		}
	}
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if isAttachment(p) && p.VPCID == vpc.ID && p.PeerVPCID == tgw && p.Status != "deleting" {
			return nil, errf("DuplicateTransitGatewayAttachment", "%s has non-deleted Transit Gateway Attachments with same VPC ID.", tgw)
		}
	}
	tags := f.tagSpecsKey("TagSpecifications", "transit-gateway-attachment")
	state := "pending"
	if owner != c.acct.ID {
		state = "pendingAcceptance"
	}
	p, err := inventory.Create(a.inv, &inventory.Peering{
		Meta:  inventory.Meta{ID: newID("tgw-attach-"), Account: c.acct.ID, Region: c.region, Name: tags["Name"], Status: state, Tags: tags},
		VPCID: vpc.ID, PeerVPCID: tgw, PeerAccount: owner,
		Attrs: map[string]string{attrType: typeAttachment, "subnetIds": strings.Join(subnets, ",")},
	})
	if err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	if state == "pending" {
		a.makeAvailable(p.ID)
	}
	return []node{a.attachmentNode("transitGatewayVpcAttachment", p)}, nil
}

// makeAvailable moves a pending attachment to available after the attachment delay.
func (a *api) makeAvailable(id string) {
	a.attachmentCreated(a.timing.AttachmentCreate, id)
}

func (a *api) setAttachment(id, state string, only ...string) bool {
	ok := true
	_, err := inventory.Update(a.inv, id, func(p *inventory.Peering) error {
		if len(only) > 0 && !contains(only, p.Status) {
			ok = false
			return nil
		}
		p.Status = state
		return nil
	})
	return err == nil && ok
}

func (a *api) acceptAttachment(c *caller, f form) ([]node, *ec2Error) {
	id := f.str("TransitGatewayAttachmentId")
	p, e := a.visibleAttachment(c, id)
	if e != nil {
		return nil, e
	}
	if p.PeerAccount != c.acct.ID {
		return nil, errf("InvalidTransitGatewayAttachmentID.NotFound", "Transit Gateway Attachment %s was deleted or does not exist.", id)
	}
	if !a.setAttachment(id, "pending", "pendingAcceptance") {
		return nil, errf("IncorrectState", "tgw-attachment %s is in invalid state %s", id, p.Status)
	}
	a.makeAvailable(id)
	p, _ = inventory.Get[*inventory.Peering](a.inv, id)
	return []node{a.attachmentNode("transitGatewayVpcAttachment", p)}, nil
}

func (a *api) describeAttachments(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("TransitGatewayAttachmentIds"), f.filters()
	var items []node
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{Region: c.region}) {
		if !isAttachment(p) || (p.Account != c.acct.ID && p.PeerAccount != c.acct.ID) || (len(ids) > 0 && !contains(ids, p.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"transit-gateway-attachment-id": p.ID, "state": p.Status, "vpc-id": p.VPCID, "transit-gateway-id": p.PeerVPCID}, p.Tags) {
			continue
		}
		items = append(items, a.attachmentNode("item", p))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidTransitGatewayAttachmentID.NotFound", "Transit Gateway Attachment %s was deleted or does not exist.", strings.Join(ids, ", "))
	}
	return []node{set("transitGatewayVpcAttachments", items...)}, nil
}

func (a *api) deleteAttachment(c *caller, f form) ([]node, *ec2Error) {
	id := f.str("TransitGatewayAttachmentId")
	p, e := a.visibleAttachment(c, id)
	if e != nil {
		return nil, e
	}
	if p.Status != "deleting" {
		a.setAttachment(id, "deleting")
		a.deleteLater(a.timing.Delete, objectRef{Kind: inventory.KindPeering, ID: id})
	}
	p.Status = "deleting"
	return []node{a.attachmentNode("transitGatewayVpcAttachment", p)}, nil
}
