package aws

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// EC2 security groups: ingress rules authorized and revoked (from a CIDR or
// a group, across accounts through a peering), the groups and their rules
// described.

// permission is one parsed IpPermissions.N entry, expanded to one rule per source.
type permission struct {
	protocol         string
	fromPort, toPort int
	cidr             string
	group            string // sg-x or <account>/sg-x
	description      string
}

// parsePermissions reads IpPermissions.N.* (and the legacy flat keys).
func parsePermissions(f form) ([]permission, *ec2Error) {
	var out []permission
	for i := 1; i <= f.count("IpPermissions"); i++ {
		p := "IpPermissions." + strconv.Itoa(i)
		proto := f.str(p + ".IpProtocol")
		from, _ := strconv.Atoi(f.str(p + ".FromPort"))
		to, _ := strconv.Atoi(f.str(p + ".ToPort"))
		if proto == "" {
			return nil, errf("MissingParameter", "The request must contain the parameter ipProtocol")
		}
		base := permission{protocol: normProto(proto), fromPort: from, toPort: to}
		n := 0
		for j := 1; j <= f.count(p+".IpRanges"); j++ {
			q := p + ".IpRanges." + strconv.Itoa(j)
			x := base
			x.cidr, x.description = f.str(q+".CidrIp"), f.str(q+".Description")
			if _, err := netip.ParsePrefix(x.cidr); err != nil {
				return nil, errf("InvalidParameterValue", "CIDR block %s is malformed", x.cidr)
			}
			out, n = append(out, x), n+1
		}
		for j := 1; j <= f.count(p+".Groups"); j++ {
			q := p + ".Groups." + strconv.Itoa(j)
			x := base
			x.group, x.description = f.str(q+".GroupId"), f.str(q+".Description")
			if u := f.str(q + ".UserId"); u != "" {
				x.group = u + "/" + x.group
			}
			out, n = append(out, x), n+1
		}
		if n == 0 {
			return nil, errf("InvalidPermission.Malformed", "The IP permission must name an IP range or a security group")
		}
	}
	if cidr := f.str("CidrIp"); cidr != "" {
		from, _ := strconv.Atoi(f.str("FromPort"))
		to, _ := strconv.Atoi(f.str("ToPort"))
		out = append(out, permission{protocol: normProto(f.str("IpProtocol")), fromPort: from, toPort: to, cidr: cidr})
	}
	return out, nil
}

func normProto(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all", "":
		return ""
	case "6":
		return "tcp"
	case "17":
		return "udp"
	}
	return strings.ToLower(p)
}

func (p permission) same(r inventory.SGRule) bool {
	return r.Direction == "ingress" && r.Protocol == p.protocol && r.PortMin == p.fromPort && r.PortMax == p.toPort &&
		r.RemoteCIDR == p.cidr && sameGroupRef(r.RemoteGroupID, p.group)
}

// sameGroupRef compares sg-x with <owner>/sg-x forms by group ID.
func sameGroupRef(a, b string) bool {
	_, ga, _ := cutGroup(a)
	_, gb, _ := cutGroup(b)
	return ga == gb
}

// cutGroup splits "<account>/sg-x" into account and group.
func cutGroup(ref string) (account, group string, cross bool) {
	if acct, g, ok := strings.Cut(ref, "/"); ok {
		return acct, g, true
	}
	return "", ref, false
}

// checkGroupRef validates a referenced group: it must exist (in the given
// account), be in the same region, and in the same VPC or a VPC joined by
// an active peering.
func (a *api) checkGroupRef(c *caller, g *inventory.SecurityGroup, ref string) *ec2Error {
	acct, id, cross := cutGroup(ref)
	ref0, err := inventory.Get[*inventory.SecurityGroup](a.inv, id)
	owner := ""
	if err == nil {
		owner = a.awsID(ref0.Account)
	}
	if err != nil || (cross && owner != acct) || (!cross && ref0.Account != c.acct.ID) {
		return errf("InvalidGroup.NotFound", "You have specified a security group %s that does not exist", ref)
	}
	if ref0.Region != "" && ref0.Region != c.region {
		return errf("InvalidGroup.NotFound", "You cannot reference security group %s: it is in region %s, referencing groups across regions is not supported", ref, ref0.Region)
	}
	if ref0.VPCID != g.VPCID && !a.peered(g.VPCID, ref0.VPCID) {
		return errf("InvalidGroup.NotFound", "You have specified two resources that belong to different networks (%s, %s).", g.VPCID, ref0.VPCID)
	}
	return nil
}

// peered reports whether an active peering joins two VPCs.
func (a *api) peered(v1, v2 string) bool {
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if p.Status == inventory.PeeringActive && isVPCPeering(p) &&
			((p.VPCID == v1 && p.PeerVPCID == v2) || (p.VPCID == v2 && p.PeerVPCID == v1)) {
			return true
		}
	}
	return false
}

func (a *api) ruleNode(g *inventory.SecurityGroup, r inventory.SGRule) node {
	proto := r.Protocol
	if proto == "" {
		proto = "-1"
	}
	kids := []node{tx("securityGroupRuleId", r.ID), tx("groupId", g.ID), tx("groupOwnerId", a.awsID(g.Account)),
		boolx("isEgress", r.Direction == "egress"), tx("ipProtocol", proto), tx("fromPort", strconv.Itoa(ports(r.PortMin, proto))), tx("toPort", strconv.Itoa(ports(r.PortMax, proto)))}
	if r.RemoteCIDR != "" {
		kids = append(kids, tx("cidrIpv4", r.RemoteCIDR))
	}
	if r.RemoteGroupID != "" {
		acct, id, _ := cutGroup(r.RemoteGroupID)
		if acct == "" {
			acct = a.awsID(g.Account)
		}
		kids = append(kids, el("referencedGroupInfo", tx("groupId", id), tx("userId", acct)))
	}
	kids = append(kids, opt("description", r.Description), tagSet(r.Tags))
	return el("item", kids...)
}

func ports(p int, proto string) int {
	if proto == "-1" {
		return -1
	}
	return p
}

func (a *api) authorizeIngress(c *caller, f form) ([]node, *ec2Error) {
	perms, e := parsePermissions(f)
	if e != nil {
		return nil, e
	}
	if len(perms) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter ipPermissions")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, e := a.ownGroup(c, f.str("GroupId"))
	if e != nil {
		return nil, e
	}
	// TagSpecification.N (ResourceType security-group-rule) tags the new
	// rules (aws-sdk-go-v2 service/ec2 api_op_AuthorizeSecurityGroupIngress.go, TagSpecifications).
	tags, e := applyTags(nil, f.tagSpecs("security-group-rule"))
	if e != nil {
		return nil, e
	}
	if len(tags) == 0 {
		tags = nil
	}
	var added []inventory.SGRule
	for _, p := range perms {
		if p.group != "" {
			if e := a.checkGroupRef(c, g, p.group); e != nil {
				return nil, e
			}
		}
		for _, r := range g.Rules {
			if p.same(r) {
				src := p.cidr
				if src == "" {
					src = p.group
				}
				return nil, errf("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists", src, strings.ToUpper(p.protocol), p.fromPort, p.toPort)
			}
		}
		added = append(added, inventory.SGRule{ID: newID("sgr-"), Direction: "ingress", Ethertype: "IPv4", Protocol: p.protocol,
			PortMin: p.fromPort, PortMax: p.toPort, RemoteCIDR: p.cidr, RemoteGroupID: p.group, Description: p.description, Tags: copyTags(tags)})
	}
	if _, err := inventory.Update(a.inv, g.ID, func(x *inventory.SecurityGroup) error {
		x.Rules = append(x.Rules, added...)
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	var items []node
	for _, r := range added {
		items = append(items, a.ruleNode(g, r))
	}
	return []node{boolx("return", true), set("securityGroupRuleSet", items...)}, nil
}

func (a *api) revokeIngress(c *caller, f form) ([]node, *ec2Error) {
	ruleIDs := f.list("SecurityGroupRuleId")
	perms, e := parsePermissions(f)
	if e != nil {
		return nil, e
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, e := a.ownGroup(c, f.str("GroupId"))
	if e != nil {
		return nil, e
	}
	drop := map[string]bool{}
	for _, id := range ruleIDs {
		found := false
		for _, r := range g.Rules {
			if r.ID == id && r.Direction == "ingress" {
				drop[id], found = true, true
			}
		}
		if !found {
			return nil, errf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	for _, p := range perms {
		found := false
		for _, r := range g.Rules {
			if p.same(r) {
				drop[r.ID], found = true, true
			}
		}
		if !found {
			return nil, errf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
	}
	if len(drop) == 0 {
		return nil, errf("MissingParameter", "The request must contain either ipPermissions or securityGroupRuleIds")
	}
	var gone []inventory.SGRule
	// No inventory reads inside Update: the store is locked there.
	if _, err := inventory.Update(a.inv, g.ID, func(x *inventory.SecurityGroup) error {
		kept := x.Rules[:0]
		for _, r := range x.Rules {
			if drop[r.ID] {
				gone = append(gone, r)
				continue
			}
			kept = append(kept, r)
		}
		x.Rules = kept
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	var revoked []node
	for _, r := range gone {
		revoked = append(revoked, a.ruleNode(g, r))
	}
	return []node{boolx("return", true), set("revokedSecurityGroupRuleSet", revoked...)}, nil
}

func (a *api) describeSecurityGroups(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("GroupId"), f.filters()
	var items []node
	for _, g := range inventory.List[*inventory.SecurityGroup](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if (g.Region != "" && g.Region != c.region) || (len(ids) > 0 && !contains(ids, g.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"group-id": g.ID, "vpc-id": g.VPCID, "group-name": g.Name}, g.Tags) {
			continue
		}
		var perms []node
		for _, r := range g.Rules {
			if r.Direction != "ingress" {
				continue
			}
			proto := r.Protocol
			if proto == "" {
				proto = "-1"
			}
			var ranges, groups []node
			if r.RemoteCIDR != "" {
				ranges = append(ranges, el("item", tx("cidrIp", r.RemoteCIDR), opt("description", r.Description)))
			}
			if r.RemoteGroupID != "" {
				acct, id, _ := cutGroup(r.RemoteGroupID)
				if acct == "" {
					acct = c.acct.AccountID
				}
				groups = append(groups, el("item", tx("groupId", id), tx("userId", acct), opt("description", r.Description)))
			}
			perms = append(perms, el("item", tx("ipProtocol", proto), tx("fromPort", strconv.Itoa(ports(r.PortMin, proto))), tx("toPort", strconv.Itoa(ports(r.PortMax, proto))),
				set("groups", groups...), set("ipRanges", ranges...), set("ipv6Ranges"), set("prefixListIds")))
		}
		items = append(items, el("item", tx("ownerId", c.acct.AccountID), tx("groupId", g.ID), tx("groupName", g.Name), tx("groupDescription", g.Name),
			tx("vpcId", g.VPCID), set("ipPermissions", perms...), set("ipPermissionsEgress"), tagSet(g.Tags)))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("securityGroupInfo", items...)}, nil
}

func (a *api) describeSecurityGroupRules(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("SecurityGroupRuleId"), f.filters()
	var items []node
	groups := inventory.List[*inventory.SecurityGroup](a.inv, inventory.Filter{Account: c.acct.ID})
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	for _, g := range groups {
		if g.Region != "" && g.Region != c.region {
			continue
		}
		for _, r := range g.Rules {
			if len(ids) > 0 && !contains(ids, r.ID) {
				continue
			}
			if !matchFilters(fs, map[string]string{"group-id": g.ID, "security-group-rule-id": r.ID}, r.Tags) {
				continue
			}
			items = append(items, a.ruleNode(g, r))
		}
	}
	return []node{set("securityGroupRuleSet", items...)}, nil
}
