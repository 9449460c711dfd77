package netmodel

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Declared (cloud) addresses. The twin serves every address on loopback
// (a VPC's or subnet's addressBlock), while the world declares the cloud
// addresses (cidr) that specs, runbooks and people write, e.g. a broker at
// 10.20.1.11. A client host dialing an IPv4 address outside 127.0.0.0/8
// from a VPC means that cloud address as its VPC's routing reaches it: its
// own VPC when its CIDR holds it (the local route), else the VPC at the
// other end of the route its route table chooses (an active or inactive
// peering, or a transit gateway's attachment), as a cloud router forwards
// it (https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html,
// https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-routing.html).
// The address is then the loopback address at the same offset in the
// receiving subnet's (else VPC's) addressBlock, and the connection is
// admitted or dropped by the policy like any other. A cloud address that no
// route reaches, or that no subnet of the receiving VPC holds, is dropped
// (an unroutable destination gets no answer either).

// isDeclared reports whether ip is a cloud address (IPv4, not loopback).
func isDeclared(ip netip.Addr) bool { return ip.Is4() && !ip.IsLoopback() }

// fromDeclared maps a cloud address dialed from vpcID to the loopback
// address the twin serves it on; ok false with the reason when nothing
// reachable holds it.
func (n *Network) fromDeclared(vpcID string, ip netip.Addr) (netip.Addr, string, bool) {
	v, err := inventory.Get[*inventory.VPC](n.inv, vpcID)
	if err != nil {
		return netip.Addr{}, fmt.Sprintf("client network %s does not exist", vpcID), false
	}
	dst := v
	if c, err := netip.ParsePrefix(v.CIDR); err != nil || !c.Masked().Contains(ip) {
		r, rt := n.bestRoute(v, netip.PrefixFrom(ip, 32))
		if r == nil {
			if cv := n.ccnNetwork(vpcID, ip); cv != nil {
				return n.fromDeclaredIn(cv, ip) // a Tencent CCN-learned route (ccn.go)
			}
			return netip.Addr{}, fmt.Sprintf("the route table of VPC %s has no route to %s", vpcID, ip), false
		}
		other := ""
		switch r.NextHopType {
		case "vpc-peering-connection", "peering", "VpcPeer": // VpcPeer: Alibaba Cloud (see policy.go)
			if p, err := inventory.Get[*inventory.Peering](n.inv, r.NextHop); err == nil {
				other = otherSide(p, vpcID)
			}
		case "transit-gateway":
			if tr := n.tgwRoute(r.NextHop, netip.PrefixFrom(ip, 32)); tr != nil {
				other = n.attachedVPC(tr.NextHop)
			}
		}
		if other == "" {
			return netip.Addr{}, fmt.Sprintf("route %s in %s (%s %s) leads to no network holding %s", r.Destination, rt, r.NextHopType, r.NextHop, ip), false
		}
		if dst, err = inventory.Get[*inventory.VPC](n.inv, other); err != nil {
			return netip.Addr{}, fmt.Sprintf("network %s behind %s does not exist", other, r.NextHop), false
		}
	}
	return n.fromDeclaredIn(dst, ip)
}

// fromDeclaredIn maps cloud address ip inside VPC dst to its loopback address.
func (n *Network) fromDeclaredIn(dst *inventory.VPC, ip netip.Addr) (netip.Addr, string, bool) {
	for _, sn := range inventory.List[*inventory.Subnet](n.inv, inventory.Filter{}) {
		if sn.VPCID != dst.ID || sn.CIDR == "" {
			continue
		}
		if a, ok := translate(ip, sn.CIDR, sn.AddressBlock); ok {
			return a, "", true
		}
	}
	if dst.CIDR != "" {
		if a, ok := translate(ip, dst.CIDR, dst.AddressBlock); ok {
			return a, "", true
		}
	}
	return netip.Addr{}, fmt.Sprintf("no subnet of VPC %s holds %s", dst.ID, ip), false
}

// otherSide is the VPC a peering joins to vpcID ("" when it does not join it).
func otherSide(p *inventory.Peering, vpcID string) string {
	switch vpcID {
	case p.VPCID:
		return p.PeerVPCID
	case p.PeerVPCID:
		return p.VPCID
	}
	return ""
}

// attachedVPC is the network of a transit gateway attachment: a VPC
// attachment's VPC, or the network outside AWS whose Attrs name it.
func (n *Network) attachedVPC(attachment string) string {
	if p, err := inventory.Get[*inventory.Peering](n.inv, attachment); err == nil && p.Attrs["awsType"] == "transit-gateway-attachment" {
		return p.VPCID
	}
	for _, v := range inventory.List[*inventory.VPC](n.inv, inventory.Filter{}) {
		if strings.EqualFold(v.Attrs["transitGatewayAttachment"], attachment) {
			return v.ID
		}
	}
	return ""
}
