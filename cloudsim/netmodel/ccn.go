package netmodel

import (
	"net/netip"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Tencent Cloud CCN (云联网): VPCs attached to one CCN learn each other's
// CIDRs as routes with the CCN as next hop, without custom route entries
// (https://cloud.tencent.com/document/product/877/18675). cloudsim/tencent
// keeps an attachment as a Peering from the VPC (VPCID) to the CCN
// (PeerVPCID) with Attrs["tencentType"] = "ccn-attachment"; only ACTIVE
// attachments carry traffic (PENDING, EXPIRED, REJECTED do not: vpc/v20170312
// models.go CcnAttachedInstance.State).

// ccnJoins returns the CCN to which both VPCs are ACTIVE-attached ("" when none).
func (n *Network) ccnJoins(a, b string) string {
	of := map[string]map[string]bool{}
	for _, p := range inventory.List[*inventory.Peering](n.inv, inventory.Filter{}) {
		if p.Attrs["tencentType"] != "ccn-attachment" || p.Status != "ACTIVE" {
			continue
		}
		if of[p.PeerVPCID] == nil {
			of[p.PeerVPCID] = map[string]bool{}
		}
		of[p.PeerVPCID][p.VPCID] = true
	}
	for ccn, vpcs := range of {
		if vpcs[a] && vpcs[b] && a != b {
			return ccn
		}
	}
	return ""
}

// ccnNetwork returns the VPC holding cloud address ip that a CCN joins to vpcID.
func (n *Network) ccnNetwork(vpcID string, ip netip.Addr) *inventory.VPC {
	for _, v := range inventory.List[*inventory.VPC](n.inv, inventory.Filter{}) {
		c, err := netip.ParsePrefix(v.CIDR)
		if err != nil || !c.Masked().Contains(ip) || v.ID == vpcID {
			continue
		}
		if n.ccnJoins(vpcID, v.ID) != "" {
			return v
		}
	}
	return nil
}
