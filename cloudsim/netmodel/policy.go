package netmodel

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// This file is the network's admission policy: whether the cloud would let a
// TCP connection from a host through to an address and port. Addresses of
// the simulator are loopback addresses (inventory.VPC.AddressBlock); the
// rules of the clouds (security groups, routes, network ACLs) name cloud
// CIDRs (inventory.VPC.CIDR). The policy translates every loopback address
// to its cloud address (same offset in the subnet's, else the VPC's, block)
// and evaluates the rules on cloud addresses only.

// VPCEPSourceRange is the range Huawei/OTC VPC endpoint traffic reaches a
// backend from ("198.19.128.0/17 is the network segment allocated to the
// VPCEP service", runbook 001; https://support.huaweicloud.com/intl/en-us/usermanual-dms/kafka-ug-0001.html).
const VPCEPSourceRange = "198.19.128.0/17"

// Hops name the part of the path a verdict is about.
const (
	HopSecurityGroup = "security group"
	HopRoute         = "route"
	HopPeering       = "peering"
	HopNetworkACL    = "network ACL"
	HopEndpoint      = "endpoint"
)

// Verdict is the policy's decision on one connection.
type Verdict struct {
	Allowed bool   `json:"allowed"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Hop and Reason say what refused the connection (empty when allowed).
	Hop    string `json:"hop,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Path lists what was checked, in order (for the diagnosis).
	Path []string `json:"path,omitempty"`
}

// source is the sending side of a connection.
type source struct {
	vpc    *inventory.VPC
	subnet *inventory.Subnet // nil: the packets come from outside every subnet (e.g. the VPCEP range)
	prefix netip.Prefix      // the cloud address(es) packets come from; a rule must cover all of it
	groups []string          // security groups of the sender (egress rules, group references)
	what   string
}

// target is the receiving side.
type target struct {
	vpc    *inventory.VPC
	subnet *inventory.Subnet
	addr   netip.Addr // cloud address
	groups []string
	what   string
}

// toCloud translates a loopback address to its cloud address: the same
// offset in the subnet's (else the VPC's) CIDR as in its address block.
func (n *Network) toCloud(ip netip.Addr) (netip.Addr, *inventory.Subnet, *inventory.VPC, bool) {
	for _, sn := range inventory.List[*inventory.Subnet](n.inv, inventory.Filter{}) {
		if a, ok := translate(ip, sn.AddressBlock, sn.CIDR); ok {
			v, _ := inventory.Get[*inventory.VPC](n.inv, sn.VPCID)
			return a, sn, v, v != nil
		}
	}
	for _, v := range inventory.List[*inventory.VPC](n.inv, inventory.Filter{}) {
		if a, ok := translate(ip, v.AddressBlock, v.CIDR); ok {
			return a, nil, v, true
		}
	}
	return netip.Addr{}, nil, nil, false
}

// translate maps ip from block to the same offset in cidr (a network
// without a declared CIDR uses its block's addresses as cloud addresses).
func translate(ip netip.Addr, block, cidr string) (netip.Addr, bool) {
	if cidr == "" {
		cidr = block
	}
	b, err1 := netip.ParsePrefix(block)
	c, err2 := netip.ParsePrefix(cidr)
	if err1 != nil || err2 != nil || !b.Masked().Contains(ip) || !ip.Is4() {
		return netip.Addr{}, false
	}
	off := u32(ip) - u32(b.Masked().Addr())
	return fromU32(u32(c.Masked().Addr()) + off), true
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func fromU32(x uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// clientHost is the host DialFrom dials as: it sits in the VPC's first
// subnet (lowest ID) at the subnet's last usable address, and carries the
// VPC's security group named "default" if the inventory has one (its egress
// rules apply; without one, egress is open as in a default security group:
// https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html,
// https://support.huaweicloud.com/intl/en-us/usermanual-vpc/SecurityGroup_0003.html).
func (n *Network) clientHost(vpcID string) (source, error) {
	v, err := inventory.Get[*inventory.VPC](n.inv, vpcID)
	if err != nil {
		return source{}, fmt.Errorf("client network %s: %w", vpcID, err)
	}
	src := source{vpc: v}
	var subs []*inventory.Subnet
	for _, sn := range inventory.List[*inventory.Subnet](n.inv, inventory.Filter{}) {
		if sn.VPCID == v.ID {
			subs = append(subs, sn)
		}
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	cidr := orBlock(v.CIDR, v.AddressBlock)
	if len(subs) > 0 {
		src.subnet = subs[0]
		cidr = orBlock(subs[0].CIDR, subs[0].AddressBlock)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return source{}, fmt.Errorf("client network %s: cidr %q: %w", vpcID, cidr, err)
	}
	p = p.Masked()
	last := fromU32(u32(p.Addr()) | (^uint32(0) >> p.Bits()) - 1)
	src.prefix = netip.PrefixFrom(last, 32)
	for _, g := range inventory.List[*inventory.SecurityGroup](n.inv, inventory.Filter{}) {
		if g.VPCID == v.ID && g.Name == "default" {
			src.groups = append(src.groups, g.ID)
		}
	}
	src.what = fmt.Sprintf("client host %s in VPC %s", last, vpcID)
	return src, nil
}

// hostAt is the sending side of a connection from the port holding
// loopback address ip: its own cloud address, its subnet and its security
// groups (egress rules apply; none: egress open, as for clientHost).
func (n *Network) hostAt(ip string) (source, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return source{}, fmt.Errorf("host %q is not an IP address", ip)
	}
	for _, p := range inventory.List[*inventory.Port](n.inv, inventory.Filter{}) {
		if p.IP != ip {
			continue
		}
		cloud, sn, v, ok := n.toCloud(a)
		if !ok {
			return source{}, fmt.Errorf("port %s (%s) is in no VPC", p.ID, ip)
		}
		return source{vpc: v, subnet: sn, prefix: netip.PrefixFrom(cloud, 32), groups: p.SecurityGroups,
			what: fmt.Sprintf("port %s (%s) in VPC %s", p.ID, cloud, v.ID)}, nil
	}
	return source{}, fmt.Errorf("no port holds %s", ip)
}

func orBlock(cidr, block string) string {
	if cidr == "" {
		return block
	}
	return cidr
}

// targetAt describes what holds a loopback address: a broker (its
// instance's security group and subnet), a port (its security groups), or
// an endpoint.
func (n *Network) targetAt(ip netip.Addr) (target, bool) {
	cloud, sn, v, ok := n.toCloud(ip)
	if !ok {
		return target{}, false
	}
	t := target{vpc: v, subnet: sn, addr: cloud, what: "address " + cloud.String()}
	s := ip.String()
	for _, k := range inventory.List[*inventory.KafkaInstance](n.inv, inventory.Filter{}) {
		for _, b := range k.Brokers {
			if b.ListenerIP != s {
				continue
			}
			t.what = fmt.Sprintf("broker %d of %s (%s)", b.ID, nameOr(k.Meta), cloud)
			if k.SecurityGroupID != "" {
				t.groups = []string{k.SecurityGroupID}
			}
			if k.SubnetID != "" {
				if x, err := inventory.Get[*inventory.Subnet](n.inv, k.SubnetID); err == nil {
					t.subnet = x
				}
			}
			return t, true
		}
	}
	for _, p := range inventory.List[*inventory.Port](n.inv, inventory.Filter{}) {
		if p.IP == s {
			t.what = fmt.Sprintf("port %s (%s)", p.ID, cloud)
			t.groups = p.SecurityGroups
			return t, true
		}
	}
	for _, ep := range inventory.List[*inventory.Endpoint](n.inv, inventory.Filter{}) {
		if ep.IP == s {
			t.what = fmt.Sprintf("endpoint %s (%s)", ep.ID, cloud)
			return t, true
		}
	}
	return t, true
}

func nameOr(m inventory.Meta) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

// Check reports whether a client host of vpcID (see clientHost) may open a
// TCP connection to ip:port, and if not, which hop refuses it.
func (n *Network) Check(vpcID, ip string, port int) Verdict {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return Verdict{From: vpcID, To: ip, Hop: HopRoute, Reason: fmt.Sprintf("%q is not an IP address", ip)}
	}
	src, err := n.clientHost(vpcID)
	if err != nil {
		return Verdict{From: vpcID, To: ip, Hop: HopRoute, Reason: err.Error()}
	}
	return n.evaluate(src, a, port)
}

// evaluate decides one connection from src to the loopback address dst.
func (n *Network) evaluate(src source, dst netip.Addr, port int) Verdict {
	v := Verdict{From: src.what, To: netip.AddrPortFrom(dst, uint16(port)).String()}
	t, ok := n.targetAt(dst)
	if !ok {
		// Not inside any simulated network (the host itself, e.g. the sim's API).
		v.Allowed = true
		return v
	}
	v.To = fmt.Sprintf("%s tcp/%d", t.what, port)
	deny := func(hop, format string, a ...any) Verdict {
		v.Hop, v.Reason = hop, fmt.Sprintf(format, a...)
		return v
	}
	// 1. The sender's security groups must allow the connection out
	// (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html,
	// https://support.huaweicloud.com/intl/en-us/usermanual-vpc/SecurityGroup_0001.html).
	for _, gid := range src.groups {
		g, err := inventory.Get[*inventory.SecurityGroup](n.inv, gid)
		if err != nil {
			continue
		}
		if !n.sgAllows(g, "egress", t.addr, netip.Prefix{}, t.groups, port) {
			return deny(HopSecurityGroup, "security group %s of %s has no egress rule to %s tcp/%d", g.ID, src.what, t.addr, port)
		}
	}
	v.Path = append(v.Path, "egress of "+src.what+": allowed")
	// 2. The path between the VPCs.
	if src.vpc.ID != t.vpc.ID {
		if why, hop := n.path(src, t); why != "" {
			return deny(hop, "%s", why)
		}
		v.Path = append(v.Path, fmt.Sprintf("path %s -> %s: routed", src.vpc.ID, t.vpc.ID))
	}
	// 3. Network ACLs of the subnets crossed: the sender's outbound rules,
	// the receiver's inbound rules. Huawei network ACLs filter traffic in and
	// out of their subnets, first matching rule wins, default deny; they are
	// stateful, so replies need no rule
	// (https://support.huaweicloud.com/intl/en-us/usermanual-vpc/vpc_acl_0001.html).
	sameSubnet := src.subnet != nil && t.subnet != nil && src.subnet.ID == t.subnet.ID
	if !sameSubnet {
		if src.subnet != nil {
			if acl := n.aclOf(src.subnet.ID); acl != nil {
				if ok, why := aclAllows(acl.EgressRules, src.prefix, t.addr, port); !ok {
					return deny(HopNetworkACL, "network ACL %s of subnet %s (%s) denies outbound %s -> %s tcp/%d: %s", acl.ID, src.subnet.ID, src.subnet.CIDR, src.prefix, t.addr, port, why)
				}
				v.Path = append(v.Path, "outbound network ACL "+acl.ID+": allowed")
			}
		}
		if t.subnet != nil {
			if acl := n.aclOf(t.subnet.ID); acl != nil {
				if ok, why := aclAllows(acl.IngressRules, src.prefix, t.addr, port); !ok {
					return deny(HopNetworkACL, "network ACL %s of subnet %s (%s) denies inbound %s -> %s tcp/%d: %s", acl.ID, t.subnet.ID, t.subnet.CIDR, src.prefix, t.addr, port, why)
				}
				v.Path = append(v.Path, "inbound network ACL "+acl.ID+": allowed")
			}
		}
	}
	// 4. The receiver's security groups must allow the connection in;
	// security groups are stateful, so replies need no rule (same sources as 1).
	for _, gid := range t.groups {
		g, err := inventory.Get[*inventory.SecurityGroup](n.inv, gid)
		if err != nil {
			continue
		}
		if n.sgAllows(g, "ingress", netip.Addr{}, src.prefix, src.groups, port) {
			v.Path = append(v.Path, "ingress of security group "+g.ID+": allowed")
			v.Allowed = true
			return v
		}
	}
	if len(t.groups) > 0 {
		return deny(HopSecurityGroup, "security group %s of %s has no ingress rule for %s tcp/%d", strings.Join(t.groups, ","), t.what, src.prefix, port)
	}
	v.Allowed = true
	return v
}

// sgAllows reports whether a rule of g in direction admits the connection.
// For ingress, peer is the sender's prefix and peerGroups its groups; for
// egress, addr is the receiver's address and peerGroups its groups.
func (n *Network) sgAllows(g *inventory.SecurityGroup, direction string, addr netip.Addr, peer netip.Prefix, peerGroups []string, port int) bool {
	for _, r := range g.Rules {
		if !strings.EqualFold(r.Direction, direction) || strings.EqualFold(r.Ethertype, "IPv6") {
			continue
		}
		// Protocol: tcp, or any (empty, -1, all).
		if p := strings.ToLower(r.Protocol); p != "" && p != "-1" && p != "all" && p != "tcp" && p != "6" {
			continue
		}
		// Port range; 0/0 (or -1) means every port.
		if r.PortMin > 0 && (port < r.PortMin || port > max(r.PortMin, r.PortMax)) {
			continue
		}
		switch {
		case r.RemoteCIDR != "":
			c, err := netip.ParsePrefix(r.RemoteCIDR)
			if err != nil {
				continue
			}
			if direction == "ingress" && covers(c, peer) || direction == "egress" && c.Masked().Contains(addr) {
				return true
			}
		case r.RemoteGroupID != "":
			if n.groupRefMatches(g, r.RemoteGroupID, peerGroups) {
				return true
			}
		default:
			// No remote: every source/destination (Huawei rules without
			// remote_ip_prefix and remote_group_id; AWS egress "all").
			return true
		}
	}
	return false
}

// groupRefMatches reports whether a rule of g referencing ref ("sg-x" in g's
// account, or "<account>/sg-x" across accounts) admits a peer carrying one
// of peerGroups. A reference works across accounts within a region, never
// across regions (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html:
// "You cannot reference the security group of a peer VPC that's in a different Region").
func (n *Network) groupRefMatches(g *inventory.SecurityGroup, ref string, peerGroups []string) bool {
	acct, id, cross := strings.Cut(ref, "/")
	if !cross {
		id, acct = acct, ""
	}
	for _, pg := range peerGroups {
		if pg != id {
			continue
		}
		ref0, err := inventory.Get[*inventory.SecurityGroup](n.inv, id)
		if err != nil {
			return false
		}
		if g.Region != "" && ref0.Region != "" && g.Region != ref0.Region {
			return false
		}
		if !cross && ref0.Account != g.Account {
			return false // an unqualified reference names a group of the rule's own account
		}
		if cross && !n.accountIs(ref0.Account, acct) {
			return false
		}
		return true
	}
	return false
}

// accountIs reports whether the inventory account id is the one the cloud
// calls key (its ID, AWS account ID, Huawei domain/project ID).
func (n *Network) accountIs(id, key string) bool {
	if id == key {
		return true
	}
	a, err := inventory.Get[*inventory.Account](n.inv, id)
	return err == nil && (a.AccountID == key || a.DomainID == key || a.ProjectID == key || a.SubscriptionID == key)
}

// covers reports whether rule prefix c contains all of p.
func covers(c, p netip.Prefix) bool {
	c = c.Masked()
	return c.Bits() <= p.Bits() && c.Contains(p.Addr())
}

// aclOf returns the network ACL associated with a subnet, if any.
func (n *Network) aclOf(subnetID string) *inventory.NetworkACL {
	for _, acl := range inventory.List[*inventory.NetworkACL](n.inv, inventory.Filter{}) {
		if !strings.EqualFold(acl.Status, "ACTIVE") && acl.Status != "" {
			continue // an ACL that is not ACTIVE (admin state down) does not filter
		}
		for _, s := range acl.Subnets {
			if s == subnetID {
				return acl
			}
		}
	}
	return nil
}

// aclAllows evaluates network ACL rules in order: the first enabled rule
// matching the traffic decides; none matching denies (Huawei's default
// rule "*: deny all", https://support.huaweicloud.com/intl/en-us/usermanual-vpc/vpc_acl_0001.html).
func aclAllows(rules []inventory.ACLRule, from netip.Prefix, to netip.Addr, port int) (bool, string) {
	for _, r := range rules {
		if r.Disabled {
			continue
		}
		if p := strings.ToLower(r.Protocol); p != "" && p != "any" && p != "tcp" {
			continue
		}
		if r.DestinationPort != "" && !portIn(r.DestinationPort, port) {
			continue
		}
		if r.DestinationIPAddress != "" {
			c, err := netip.ParsePrefix(r.DestinationIPAddress)
			if err != nil || !c.Masked().Contains(to) {
				continue
			}
		}
		allow := strings.EqualFold(r.Action, "allow")
		if r.SourceIPAddress != "" {
			c, err := netip.ParsePrefix(r.SourceIPAddress)
			if err != nil {
				continue
			}
			// An allow rule must cover every source address; a deny rule
			// applies as soon as it overlaps them.
			if allow && !covers(c, from) || !allow && !c.Masked().Overlaps(from) {
				continue
			}
		}
		if allow {
			return true, ""
		}
		return false, "rule " + orID(r) + " denies it"
	}
	return false, "no rule allows it (default rule: deny)"
}

func orID(r inventory.ACLRule) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// portIn matches a port against "80", "80-90" or "80,443,1000-2000".
func portIn(spec string, port int) bool {
	for _, part := range strings.Split(spec, ",") {
		lo, hi, rng := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if rng {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if port >= a && port <= b {
			return true
		}
	}
	return false
}

// providerOf returns the provider of a VPC's account.
func (n *Network) providerOf(v *inventory.VPC) string {
	a, err := inventory.Get[*inventory.Account](n.inv, v.Account)
	if err != nil {
		return ""
	}
	return a.Provider
}

// path checks the way between two VPCs; it returns why and which hop
// refuses, or "" when the path exists.
func (n *Network) path(src source, t target) (string, string) {
	if n.providerOf(t.vpc) == "azure" {
		// Azure: traffic flows once the peering is Connected on both sides;
		// system routes follow (https://learn.microsoft.com/azure/virtual-network/virtual-network-peering-overview,
		// https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-peering).
		there, back := n.vnetPeering(src.vpc.ID, t.vpc.ID), n.vnetPeering(t.vpc.ID, src.vpc.ID)
		switch {
		case there == nil && back == nil:
			return fmt.Sprintf("no VNet peering joins %s and %s", src.vpc.ID, t.vpc.ID), HopPeering
		case there == nil || there.Status != inventory.PeeringActive:
			return fmt.Sprintf("the VNet peering from %s to %s is not Connected (%s)", src.vpc.ID, t.vpc.ID, statusOf(there)), HopPeering
		case back == nil || back.Status != inventory.PeeringActive:
			return fmt.Sprintf("the VNet peering from %s to %s is not Connected (%s)", t.vpc.ID, src.vpc.ID, statusOf(back)), HopPeering
		}
		return "", ""
	}
	// AWS and Huawei: the sender's route table must send the destination
	// through a peering or transit gateway, and the receiver's route table
	// must send the reply back the same way
	// (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-routing.html,
	// https://docs.aws.amazon.com/vpc/latest/tgw/how-transit-gateways-work.html,
	// https://support.huaweicloud.com/intl/en-us/usermanual-vpc/en-us_topic_0046655037.html).
	r, rt := n.bestRoute(src.vpc, netip.PrefixFrom(t.addr, 32))
	if r == nil && n.ccnJoins(src.vpc.ID, t.vpc.ID) != "" {
		return "", "" // Tencent CCN-learned routes both ways (ccn.go)
	}
	if r == nil {
		return fmt.Sprintf("the route table of VPC %s has no route to %s", src.vpc.ID, t.addr), HopRoute
	}
	back, brt := n.bestRoute(t.vpc, src.prefix)
	switch r.NextHopType {
	// Alibaba Cloud's next hop to a VPC peering is "VpcPeer" (vpc-20160428
	// create_route_entry_request_model.go NextHopType).
	case "vpc-peering-connection", "peering", "VpcPeer":
		p, err := inventory.Get[*inventory.Peering](n.inv, r.NextHop)
		if err != nil || !strings.EqualFold(p.Status, inventory.PeeringActive) {
			return fmt.Sprintf("route %s in %s goes to peering %s, which is not active (%s)", r.Destination, rt, r.NextHop, statusOf(p)), HopPeering
		}
		if !joins(p, src.vpc.ID, t.vpc.ID) {
			return fmt.Sprintf("route %s in %s goes to peering %s, which does not join %s and %s", r.Destination, rt, p.ID, src.vpc.ID, t.vpc.ID), HopRoute
		}
		if back == nil || back.NextHop != p.ID {
			return fmt.Sprintf("the route table of VPC %s has no return route to %s through peering %s%s", t.vpc.ID, src.prefix, p.ID, via(back, brt)), HopRoute
		}
		return "", ""
	case "transit-gateway":
		tgw := r.NextHop
		att := n.tgwAttachment(src.vpc.ID, tgw)
		if att == nil {
			return fmt.Sprintf("VPC %s has no available attachment to transit gateway %s", src.vpc.ID, tgw), HopRoute
		}
		dstAtt := n.tgwAttachment(t.vpc.ID, tgw)
		if dstAtt == nil {
			return fmt.Sprintf("VPC %s has no available attachment to transit gateway %s", t.vpc.ID, tgw), HopRoute
		}
		if tr := n.tgwRoute(tgw, netip.PrefixFrom(t.addr, 32)); tr == nil || tr.NextHop != dstAtt.ID {
			return fmt.Sprintf("the route table of transit gateway %s has no route to %s through attachment %s", tgw, t.addr, dstAtt.ID), HopRoute
		}
		if back == nil || back.NextHopType != "transit-gateway" || back.NextHop != tgw {
			return fmt.Sprintf("the route table of VPC %s has no return route to %s through transit gateway %s%s", t.vpc.ID, src.prefix, tgw, via(back, brt)), HopRoute
		}
		if tr := n.tgwRoute(tgw, src.prefix); tr == nil || tr.NextHop != att.ID {
			return fmt.Sprintf("the route table of transit gateway %s has no return route to %s through attachment %s", tgw, src.prefix, att.ID), HopRoute
		}
		return "", ""
	}
	return fmt.Sprintf("route %s in %s goes to %s %s, which does not reach VPC %s", r.Destination, rt, r.NextHopType, r.NextHop, t.vpc.ID), HopRoute
}

func via(r *inventory.Route, rt string) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf(" (%s sends it to %s %s)", rt, r.NextHopType, r.NextHop)
}

func statusOf(p *inventory.Peering) string {
	if p == nil {
		return "missing"
	}
	return p.Status
}

func joins(p *inventory.Peering, a, b string) bool {
	return p.VPCID == a && p.PeerVPCID == b || p.VPCID == b && p.PeerVPCID == a
}

// vnetPeering returns the peering of VNet from towards to (Azure keeps one per side).
func (n *Network) vnetPeering(from, to string) *inventory.Peering {
	for _, p := range inventory.List[*inventory.Peering](n.inv, inventory.Filter{}) {
		if p.VPCID == from && p.PeerVPCID == to {
			return p
		}
	}
	return nil
}

// bestRoute is the longest-prefix route of a VPC's route tables covering
// dst (all of it); the VPC's own CIDR is the implicit local route (every
// route table has it: https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html).
func (n *Network) bestRoute(v *inventory.VPC, dst netip.Prefix) (*inventory.Route, string) {
	var best *inventory.Route
	where := ""
	bits := -1
	if c, err := netip.ParsePrefix(orBlock(v.CIDR, v.AddressBlock)); err == nil && covers(c, dst) {
		best, where, bits = &inventory.Route{Destination: c.String(), NextHopType: "local", NextHop: "local"}, "VPC "+v.ID, c.Bits()
	}
	for _, rt := range inventory.List[*inventory.RouteTable](n.inv, inventory.Filter{}) {
		if rt.VPCID != v.ID {
			continue
		}
		for i := range rt.Routes {
			r := rt.Routes[i]
			if r.Status == inventory.RoutePending {
				continue // not applied yet (Alibaba CreateRouteEntry is asynchronous)
			}
			c, err := netip.ParsePrefix(r.Destination)
			if err != nil || !covers(c, dst) || c.Bits() <= bits {
				continue
			}
			best, where, bits = &r, "route table "+rt.ID, c.Bits()
		}
	}
	if best != nil && best.NextHopType == "local" {
		return nil, where
	}
	return best, where
}

// tgwAttachment returns the available attachment of a VPC to a transit
// gateway: a VPC attachment, or for a network outside AWS (an on-premises
// network behind a VPN/Direct Connect attachment) the attachment its Attrs
// name (transitGateway, transitGatewayAttachment).
func (n *Network) tgwAttachment(vpcID, tgw string) *inventory.Peering {
	for _, p := range inventory.List[*inventory.Peering](n.inv, inventory.Filter{}) {
		if p.Attrs["awsType"] == "transit-gateway-attachment" && p.VPCID == vpcID && p.PeerVPCID == tgw && p.Status == "available" {
			return p
		}
	}
	if v, err := inventory.Get[*inventory.VPC](n.inv, vpcID); err == nil && v.Attrs["transitGateway"] == tgw && v.Attrs["transitGatewayAttachment"] != "" {
		return &inventory.Peering{Meta: inventory.Meta{ID: v.Attrs["transitGatewayAttachment"], Status: "available"}, VPCID: vpcID, PeerVPCID: tgw}
	}
	return nil
}

// tgwRoute is the longest-prefix route of a transit gateway's route tables covering dst.
func (n *Network) tgwRoute(tgw string, dst netip.Prefix) *inventory.Route {
	var best *inventory.Route
	bits := -1
	for _, rt := range inventory.List[*inventory.RouteTable](n.inv, inventory.Filter{}) {
		if rt.VPCID != tgw {
			continue
		}
		for i := range rt.Routes {
			r := rt.Routes[i]
			c, err := netip.ParsePrefix(r.Destination)
			if err != nil || !covers(c, dst) || c.Bits() <= bits {
				continue
			}
			best, bits = &r, c.Bits()
		}
	}
	return best
}

// endpointCheck returns the admission check of the hop from an endpoint
// (listening on clientPort) to its service's backend, evaluated for every
// connection (rules may change while the endpoint forwards):
//   - Huawei/OTC VPC endpoints reach the backend from the VPCEP range
//     198.19.128.0/17, so the backend's security group (and its subnet's
//     network ACL) must allow that range on the server port (runbooks 000/001;
//     https://support.huaweicloud.com/intl/en-us/usermanual-dms/kafka-ug-0001.html);
//   - AWS PrivateLink reaches the targets from the network load balancer's
//     private addresses in the service VPC (client IP preservation off:
//     https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#client-ip-preservation),
//     modelled as the service VPC's CIDR;
//   - MSK multi-VPC listeners are MSK's own path to its brokers: not checked.
func (n *Network) endpointCheck(endpointID string, clientPort int) func() Verdict {
	return func() Verdict {
		ep, err := inventory.Get[*inventory.Endpoint](n.inv, endpointID)
		if err != nil {
			return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: "endpoint is gone"}
		}
		if ep.Status != inventory.EndpointAccepted {
			return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: "endpoint is not accepted (" + ep.Status + ")"}
		}
		svc, err := inventory.Get[*inventory.EndpointService](n.inv, ep.ServiceID)
		if err != nil {
			return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: "endpoint service " + ep.ServiceID + " is gone"}
		}
		if svc.Attrs["awsType"] == "msk-vpc-connection-listener" {
			return Verdict{Allowed: true, From: "endpoint " + endpointID}
		}
		ip, err := n.backend(svc)
		if err != nil {
			return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: err.Error()}
		}
		serverPort := 0
		for _, pm := range svc.Ports {
			if pm.ClientPort == clientPort {
				serverPort = pm.ServerPort
			}
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: "backend address " + ip + " is not an IP"}
		}
		_, _, bvpc, ok := n.toCloud(a)
		if !ok {
			return Verdict{Allowed: true, From: "endpoint " + endpointID}
		}
		src := source{vpc: bvpc}
		if a, err := inventory.Get[*inventory.Account](n.inv, svc.Account); err == nil && a.Provider == "huawei" {
			src.prefix = netip.MustParsePrefix(VPCEPSourceRange)
			src.what = fmt.Sprintf("VPC endpoint %s (from the VPCEP range %s)", endpointID, VPCEPSourceRange)
		} else {
			p, err := netip.ParsePrefix(orBlock(bvpc.CIDR, bvpc.AddressBlock))
			if err != nil {
				return Verdict{From: "endpoint " + endpointID, Hop: HopEndpoint, Reason: "service VPC CIDR " + bvpc.CIDR + " is not a prefix"}
			}
			src.prefix = p.Masked()
			src.what = fmt.Sprintf("load balancer of endpoint service %s (%s)", svc.ID, p.Masked())
		}
		return n.evaluate(src, a, serverPort)
	}
}
