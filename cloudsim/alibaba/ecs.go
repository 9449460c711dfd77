package alibaba

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func (a *api) ecsRoutes() {
	a.op(VersionEcs, "AuthorizeSecurityGroup", a.authorizeSG)
	a.op(VersionEcs, "RevokeSecurityGroup", a.revokeSG)
	a.op(VersionEcs, "DescribeSecurityGroupAttribute", a.describeSG)
}

// permission is one inbound rule as the ECS API names its fields
// (ecs-20140526 authorize_security_group_request_model.go Permissions).
type permission struct {
	IpProtocol, PortRange, SourceCidrIp, Policy, Description string
	Priority                                                 int
}

// permissions reads Permissions.N.* (and the deprecated top-level fields,
// still accepted: authorize_security_group_request_model.go "Deprecated").
func permissions(c *caller) []permission {
	var out []permission
	for n := 1; ; n++ {
		p := fmt.Sprintf("Permissions.%d.", n)
		if c.params.Get(p+"IpProtocol") == "" && c.params.Get(p+"PortRange") == "" && c.params.Get(p+"SourceCidrIp") == "" {
			break
		}
		out = append(out, readPerm(c, p))
	}
	if len(out) == 0 && c.params.Get("IpProtocol") != "" {
		out = append(out, readPerm(c, ""))
	}
	return out
}

func readPerm(c *caller, p string) permission {
	pr, _ := strconv.Atoi(c.params.Get(p + "Priority"))
	return permission{
		IpProtocol: c.params.Get(p + "IpProtocol"), PortRange: c.params.Get(p + "PortRange"),
		SourceCidrIp: c.params.Get(p + "SourceCidrIp"), Policy: c.params.Get(p + "Policy"),
		Description: c.params.Get(p + "Description"), Priority: pr,
	}
}

// rule validates a permission and turns it into an inventory rule. The codes
// are ECS's (https://help.aliyun.com/zh/ecs/developer-reference/api-ecs-2014-05-26-authorizesecuritygroup
// error codes): InvalidIpProtocol.Malformed, InvalidPortRange.Malformed,
// InvalidSourceCidrIp.Malformed. IpProtocol TCP, UDP, ICMP, GRE or ALL;
// PortRange "from/to" (1-65535 for TCP/UDP, -1/-1 otherwise).
func rule(p permission) (inventory.SGRule, *apiError) {
	proto := strings.ToLower(p.IpProtocol)
	switch proto {
	case "tcp", "udp", "icmp", "gre", "all":
	default:
		return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidIpProtocol.Malformed", "Specified IP protocol is not valid.")
	}
	lo, hi, ok := strings.Cut(p.PortRange, "/")
	from, err1 := strconv.Atoi(lo)
	to, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidPortRange.Malformed", "Specified port range is not valid.")
	}
	if proto == "tcp" || proto == "udp" {
		if from < 1 || to > 65535 || from > to {
			return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidPortRange.Malformed", "Specified port range is not valid.")
		}
	} else if from != -1 || to != -1 {
		return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidPortRange.Malformed", "Specified port range is not valid.")
	} else {
		from, to = 0, 0
	}
	pfx, err := netip.ParsePrefix(p.SourceCidrIp)
	if err != nil {
		if a, err2 := netip.ParseAddr(p.SourceCidrIp); err2 == nil && a.Is4() {
			pfx = netip.PrefixFrom(a, 32)
		} else {
			return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidSourceCidrIp.Malformed", "Specified source CIDR IP is not valid.")
		}
	}
	if pol := strings.ToLower(p.Policy); pol != "" && pol != "accept" {
		// Drop rules need priorities the network model does not evaluate:
		// the twin refuses them rather than letting traffic through.
		return inventory.SGRule{}, errf(http.StatusBadRequest, "InvalidPolicy.Malformed", "The twin models Accept rules only.")
	}
	if proto == "all" {
		proto = ""
	}
	return inventory.SGRule{Direction: "ingress", Ethertype: "IPv4", Protocol: proto, PortMin: from, PortMax: to,
		RemoteCIDR: pfx.Masked().String(), Description: p.Description}, nil
}

func same(a, b inventory.SGRule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.PortMin == b.PortMin && a.PortMax == b.PortMax && a.RemoteCIDR == b.RemoteCIDR
}

// group returns a security group of the caller: InvalidSecurityGroupId.NotFound otherwise.
func (a *api) group(c *caller) (*inventory.SecurityGroup, *apiError) {
	if _, e := c.region(); e != nil {
		return nil, e
	}
	id, e := c.str("SecurityGroupId", true)
	if e != nil {
		return nil, e
	}
	g, err := inventory.Get[*inventory.SecurityGroup](a.inv, id)
	if err != nil || !c.owned(g) {
		return nil, errf(http.StatusNotFound, "InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId does not exist.")
	}
	return g, nil
}

// authorizeSG: AuthorizeSecurityGroup. "If the security group rule that you
// call the AuthorizeSecurityGroup operation to create exists in the security
// group, the call is successful but no security group rule is created"
// (ecs-20140526 client.go AuthorizeSecurityGroup doc).
func (a *api) authorizeSG(c *caller) (any, *apiError) {
	g, e := a.group(c)
	if e != nil {
		return nil, e
	}
	perms := permissions(c)
	if len(perms) == 0 {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The input parameter \"Permissions\" that is mandatory for processing this request is not supplied.")
	}
	var add []inventory.SGRule
	for _, p := range perms {
		r, e := rule(p)
		if e != nil {
			return nil, e
		}
		add = append(add, r)
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
	next:
		for _, r := range add {
			for _, x := range g.Rules {
				if same(x, r) {
					continue next
				}
			}
			r.ID = newID("sgr-")
			g.Rules = append(g.Rules, r)
		}
		return nil
	})
	return nil, nil
}

// revokeSG: RevokeSecurityGroup by the rule's fields. A rule that is not
// there is left alone (the mirror of AuthorizeSecurityGroup's documented
// idempotence; the activity reads the rules first and does not rely on it).
func (a *api) revokeSG(c *caller) (any, *apiError) {
	g, e := a.group(c)
	if e != nil {
		return nil, e
	}
	var drop []inventory.SGRule
	for _, p := range permissions(c) {
		r, e := rule(p)
		if e != nil {
			return nil, e
		}
		drop = append(drop, r)
	}
	if len(drop) == 0 {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The input parameter \"Permissions\" that is mandatory for processing this request is not supplied.")
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		kept := g.Rules[:0]
	rules:
		for _, x := range g.Rules {
			for _, r := range drop {
				if same(x, r) {
					continue rules
				}
			}
			kept = append(kept, x)
		}
		g.Rules = kept
		return nil
	})
	return nil, nil
}

// describeSG: DescribeSecurityGroupAttribute (fields of ecs-20140526
// describe_security_group_attribute_response_body_model.go).
func (a *api) describeSG(c *caller) (any, *apiError) {
	g, e := a.group(c)
	if e != nil {
		return nil, e
	}
	perms := []map[string]any{}
	for _, r := range g.Rules {
		proto, pr := strings.ToUpper(r.Protocol), fmt.Sprintf("%d/%d", r.PortMin, max(r.PortMin, r.PortMax))
		if proto == "" {
			proto = "ALL"
		}
		if r.PortMin == 0 {
			pr = "-1/-1"
		}
		m := map[string]any{"SecurityGroupRuleId": r.ID, "Direction": r.Direction, "IpProtocol": proto, "PortRange": pr,
			"Policy": "Accept", "Priority": 1, "Description": r.Description}
		if r.Direction == "ingress" {
			m["SourceCidrIp"] = r.RemoteCIDR
		} else {
			m["DestCidrIp"] = r.RemoteCIDR
		}
		perms = append(perms, m)
	}
	return map[string]any{"SecurityGroupId": g.ID, "SecurityGroupName": g.Name, "VpcId": g.VPCID, "RegionId": g.Region,
		"Permissions": map[string]any{"Permission": perms}}, nil
}
