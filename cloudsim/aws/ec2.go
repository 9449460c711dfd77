package aws

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/auth"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// ec2Handler answers one EC2 action with the response's child elements.
type ec2Handler func(c *caller, f form) ([]node, *ec2Error)

func (a *api) ec2Actions() map[string]ec2Handler {
	return map[string]ec2Handler{
		"DescribeRegions":                          a.describeRegions,
		"DescribeVpcs":                             a.describeVpcs,
		"DescribeSubnets":                          a.describeSubnets,
		"DescribeSecurityGroups":                   a.describeSecurityGroups,
		"DescribeSecurityGroupRules":               a.describeSecurityGroupRules,
		"AuthorizeSecurityGroupIngress":            a.authorizeIngress,
		"RevokeSecurityGroupIngress":               a.revokeIngress,
		"CreateTags":                               a.createTags,
		"DeleteTags":                               a.deleteTags,
		"DescribeRouteTables":                      a.describeRouteTables,
		"CreateRoute":                              a.createRoute,
		"DeleteRoute":                              a.deleteRoute,
		"CreateVpcPeeringConnection":               a.createPeering,
		"AcceptVpcPeeringConnection":               a.acceptPeering,
		"RejectVpcPeeringConnection":               a.rejectPeering,
		"DescribeVpcPeeringConnections":            a.describePeerings,
		"DeleteVpcPeeringConnection":               a.deletePeering,
		"CreateVpcEndpointServiceConfiguration":    a.createEndpointService,
		"DescribeVpcEndpointServiceConfigurations": a.describeEndpointServices,
		"DeleteVpcEndpointServiceConfigurations":   a.deleteEndpointServices,
		"ModifyVpcEndpointServicePermissions":      a.modifyServicePermissions,
		"DescribeVpcEndpointServicePermissions":    a.describeServicePermissions,
		"CreateVpcEndpoint":                        a.createEndpoint,
		"DescribeVpcEndpoints":                     a.describeEndpoints,
		"DeleteVpcEndpoints":                       a.deleteEndpoints,
		"AcceptVpcEndpointConnections":             a.acceptEndpointConnections,
		"RejectVpcEndpointConnections":             a.rejectEndpointConnections,
		"DescribeVpcEndpointConnections":           a.describeEndpointConnections,
		"CreateTransitGatewayVpcAttachment":        a.createAttachment,
		"AcceptTransitGatewayVpcAttachment":        a.acceptAttachment,
		"DescribeTransitGatewayVpcAttachments":     a.describeAttachments,
		"DeleteTransitGatewayVpcAttachment":        a.deleteAttachment,
		"CreateTransitGatewayRoute":                a.createTGWRoute,
		"DeleteTransitGatewayRoute":                a.deleteTGWRoute,
		"SearchTransitGatewayRoutes":               a.searchTGWRoutes,
	}
}

// serveEC2 dispatches a form-encoded EC2 request on its Action.
func (a *api) serveEC2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeEC2Error(w, &ec2Error{status: http.StatusBadRequest, code: "InvalidAction", message: "EC2 accepts POST form requests"})
		return
	}
	c, aerr := a.authenticate(r)
	if aerr != nil {
		writeEC2Error(w, ec2AuthError(aerr))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeEC2Error(w, errf("InvalidParameterValue", "read body: %v", err))
		return
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		writeEC2Error(w, errf("InvalidParameterValue", "malformed form body: %v", err))
		return
	}
	f := form{vals}
	action := f.str("Action")
	h, ok := a.ec2Actions()[action]
	if !ok {
		writeEC2Error(w, errf("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if ft := a.faults.Check(r.Context(), "aws.ec2."+action); ft != nil {
		writeEC2Error(w, &ec2Error{status: ft.Status, code: ft.Code, message: ft.Message})
		return
	}
	kids, e := h(c, f)
	if e != nil {
		writeEC2Error(w, e)
		return
	}
	ec2Response(w, action, kids...)
}

func ec2AuthError(e *auth.Error) *ec2Error {
	switch e.Reason {
	case auth.BadSignature:
		return &ec2Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: e.Message}
	case auth.Expired:
		return &ec2Error{status: http.StatusBadRequest, code: "RequestExpired", message: e.Message}
	case auth.Missing:
		return &ec2Error{status: http.StatusUnauthorized, code: "MissingAuthenticationToken", message: e.Message}
	default:
		return &ec2Error{status: http.StatusUnauthorized, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials"}
	}
}

// --- look-ups scoped to the caller ---

// ownVPC returns a VPC of the caller's account and region.
func (a *api) ownVPC(c *caller, id string) (*inventory.VPC, *ec2Error) {
	v, err := inventory.Get[*inventory.VPC](a.inv, id)
	if err != nil || v.Account != c.acct.ID || v.Region != c.region {
		return nil, errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	return v, nil
}

// ownGroup returns a security group of the caller's account and region.
func (a *api) ownGroup(c *caller, id string) (*inventory.SecurityGroup, *ec2Error) {
	g, err := inventory.Get[*inventory.SecurityGroup](a.inv, id)
	if err != nil || g.Account != c.acct.ID || (g.Region != "" && g.Region != c.region) {
		return nil, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	return g, nil
}

// ownRouteTable returns a VPC route table of the caller's account and region.
func (a *api) ownRouteTable(c *caller, id string) (*inventory.RouteTable, *ec2Error) {
	rt, err := inventory.Get[*inventory.RouteTable](a.inv, id)
	if err != nil || rt.Account != c.acct.ID || rt.Region != c.region || isTGWRouteTable(rt) {
		return nil, errf("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
	}
	return rt, nil
}

// --- regions, VPCs and subnets (read-only, for look-ups and the CLI) ---

// describeRegions lists the regions the simulated AWS world uses.
func (a *api) describeRegions(c *caller, f form) ([]node, *ec2Error) {
	seen := map[string]bool{}
	for _, acct := range inventory.List[*inventory.Account](a.inv, inventory.Filter{}) {
		if acct.Provider == "aws" && acct.Region != "" {
			seen[acct.Region] = true
		}
	}
	for _, v := range inventory.List[*inventory.VPC](a.inv, inventory.Filter{}) {
		if acct, err := inventory.Get[*inventory.Account](a.inv, v.Account); err == nil && acct.Provider == "aws" && v.Region != "" {
			seen[v.Region] = true
		}
	}
	names := f.list("RegionName")
	var regions []string
	for r := range seen {
		if len(names) == 0 || contains(names, r) {
			regions = append(regions, r)
		}
	}
	sort.Strings(regions)
	var items []node
	for _, r := range regions {
		items = append(items, el("item", tx("regionName", r), tx("regionEndpoint", "ec2."+r+".amazonaws.com"), tx("optInStatus", "opt-in-not-required")))
	}
	return []node{set("regionInfo", items...)}, nil
}

func (a *api) describeVpcs(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("VpcId"), f.filters()
	var items []node
	for _, v := range inventory.List[*inventory.VPC](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if len(ids) > 0 && !contains(ids, v.ID) {
			continue
		}
		if !matchFilters(fs, map[string]string{"vpc-id": v.ID, "cidr": v.CIDR, "cidr-block-association.cidr-block": v.CIDR, "state": "available", "owner-id": c.acct.AccountID}, v.Tags) {
			continue
		}
		items = append(items, el("item", tx("vpcId", v.ID), tx("ownerId", c.acct.AccountID), tx("state", "available"), tx("cidrBlock", v.CIDR),
			set("cidrBlockAssociationSet", el("item", tx("associationId", "vpc-cidr-assoc-"+strings.TrimPrefix(v.ID, "vpc-")), tx("cidrBlock", v.CIDR), el("cidrBlockState", tx("state", "associated")))),
			tx("dhcpOptionsId", "default"), tx("instanceTenancy", "default"), boolx("isDefault", false), tagSet(nameTags(v.Meta))))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("vpcSet", items...)}, nil
}

func (a *api) describeSubnets(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("SubnetId"), f.filters()
	var items []node
	for _, s := range inventory.List[*inventory.Subnet](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if len(ids) > 0 && !contains(ids, s.ID) {
			continue
		}
		if !matchFilters(fs, map[string]string{"subnet-id": s.ID, "vpc-id": s.VPCID, "cidr-block": s.CIDR, "state": "available"}, s.Tags) {
			continue
		}
		items = append(items, el("item", tx("subnetId", s.ID), tx("state", "available"), tx("vpcId", s.VPCID), tx("cidrBlock", s.CIDR),
			tx("availabilityZone", c.region+"a"), tx("ownerId", c.acct.AccountID), tagSet(nameTags(s.Meta))))
	}
	return []node{set("subnetSet", items...)}, nil
}

// nameTags returns a resource's tags with its Name.
func nameTags(m inventory.Meta) map[string]string {
	t := map[string]string{}
	for k, v := range m.Tags {
		t[k] = v
	}
	if m.Name != "" {
		if _, ok := t["Name"]; !ok {
			t["Name"] = m.Name
		}
	}
	return t
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cidrOverlap reports whether two CIDRs overlap.
func cidrOverlap(a, b string) bool {
	pa, err1 := netip.ParsePrefix(a)
	pb, err2 := netip.ParsePrefix(b)
	return err1 == nil && err2 == nil && pa.Overlaps(pb)
}

// --- route tables ---

// isTGWRouteTable reports whether a route table belongs to a transit gateway.
func isTGWRouteTable(rt *inventory.RouteTable) bool {
	return strings.HasPrefix(rt.ID, "tgw-rtb-") || strings.HasPrefix(rt.VPCID, "tgw-")
}

func (a *api) describeRouteTables(c *caller, f form) ([]node, *ec2Error) {
	ids, fs := f.list("RouteTableId"), f.filters()
	var items []node
	for _, rt := range inventory.List[*inventory.RouteTable](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if isTGWRouteTable(rt) || (len(ids) > 0 && !contains(ids, rt.ID)) {
			continue
		}
		if !matchFilters(fs, map[string]string{"route-table-id": rt.ID, "vpc-id": rt.VPCID}, rt.Tags) {
			continue
		}
		var routes []node
		if v, err := inventory.Get[*inventory.VPC](a.inv, rt.VPCID); err == nil {
			routes = append(routes, el("item", tx("destinationCidrBlock", v.CIDR), tx("gatewayId", "local"), tx("state", "active"), tx("origin", "CreateRouteTable")))
		}
		for _, r := range rt.Routes {
			routes = append(routes, a.routeNode(r))
		}
		items = append(items, el("item", tx("routeTableId", rt.ID), tx("vpcId", rt.VPCID), tx("ownerId", c.acct.AccountID), set("routeSet", routes...), set("associationSet"), tagSet(nameTags(rt.Meta))))
	}
	if len(ids) > 0 && len(items) < len(ids) {
		return nil, errf("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", strings.Join(ids, ", "))
	}
	return []node{set("routeTableSet", items...)}, nil
}

// routeNode renders a route with its target and state (blackhole when the target is gone or not active).
func (a *api) routeNode(r inventory.Route) node {
	state := "active"
	target := node{}
	switch r.NextHopType {
	case "vpc-peering-connection":
		target = tx("vpcPeeringConnectionId", r.NextHop)
		if p, err := inventory.Get[*inventory.Peering](a.inv, r.NextHop); err != nil || p.Status != inventory.PeeringActive {
			state = "blackhole"
		}
	case "transit-gateway":
		target = tx("transitGatewayId", r.NextHop)
	default:
		target = tx("gatewayId", r.NextHop)
	}
	return el("item", tx("destinationCidrBlock", r.Destination), target, tx("state", state), tx("origin", "CreateRoute"))
}

func (a *api) createRoute(c *caller, f form) ([]node, *ec2Error) {
	dest := f.str("DestinationCidrBlock")
	if _, err := netip.ParsePrefix(dest); err != nil {
		return nil, errf("InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dest)
	}
	route := inventory.Route{Destination: dest}
	switch {
	case f.str("VpcPeeringConnectionId") != "":
		route.NextHopType, route.NextHop = "vpc-peering-connection", f.str("VpcPeeringConnectionId")
		if _, e := a.visiblePeering(c, route.NextHop); e != nil {
			return nil, e
		}
	case f.str("TransitGatewayId") != "":
		route.NextHopType, route.NextHop = "transit-gateway", f.str("TransitGatewayId")
		if !a.tgwExists(route.NextHop) {
			return nil, errf("InvalidTransitGatewayID.NotFound", "The transitGateway ID '%s' does not exist.", route.NextHop)
		}
	case f.str("GatewayId") != "":
		route.NextHopType, route.NextHop = "gateway", f.str("GatewayId")
	default:
		return nil, errf("MissingParameter", "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, transitGatewayId or instanceId")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownRouteTable(c, f.str("RouteTableId"))
	if e != nil {
		return nil, e
	}
	for _, r := range rt.Routes {
		if r.Destination == dest {
			return nil, errf("RouteAlreadyExists", "The route identified by %s already exists.", dest)
		}
	}
	if v, err := inventory.Get[*inventory.VPC](a.inv, rt.VPCID); err == nil && v.CIDR == dest {
		return nil, errf("InvalidParameterValue", "The destination CIDR block %s is equal to or more specific than one of this VPC's CIDR blocks.", dest)
	}
	if _, err := inventory.Update(a.inv, rt.ID, func(x *inventory.RouteTable) error {
		x.Routes = append(x.Routes, route)
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return []node{boolx("return", true)}, nil
}

func (a *api) deleteRoute(c *caller, f form) ([]node, *ec2Error) {
	dest := f.str("DestinationCidrBlock")
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, e := a.ownRouteTable(c, f.str("RouteTableId"))
	if e != nil {
		return nil, e
	}
	found := false
	for _, r := range rt.Routes {
		found = found || r.Destination == dest
	}
	if !found {
		return nil, errf("InvalidRoute.NotFound", "no route with destination-cidr-block %s in route table %s", dest, rt.ID)
	}
	if _, err := inventory.Update(a.inv, rt.ID, func(x *inventory.RouteTable) error {
		kept := x.Routes[:0]
		for _, r := range x.Routes {
			if r.Destination != dest {
				kept = append(kept, r)
			}
		}
		x.Routes = kept
		return nil
	}); err != nil {
		return nil, errf("InternalError", "%v", err)
	}
	return nil, nil
}

// --- security groups ---

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
