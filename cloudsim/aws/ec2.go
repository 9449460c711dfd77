package aws

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
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
