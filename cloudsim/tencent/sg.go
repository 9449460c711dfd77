package tencent

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func (a *api) sgRoutes() {
	a.ops[VersionVpc+"/CreateSecurityGroupPolicies"] = a.createPolicies
	a.ops[VersionVpc+"/DeleteSecurityGroupPolicies"] = a.deletePolicies
	a.ops[VersionVpc+"/DescribeSecurityGroupPolicies"] = a.describePolicies
}

// policy is a SecurityGroupPolicy (vpc/v20170312 models.go).
type policy struct {
	PolicyIndex       *int64 `json:"PolicyIndex,omitempty"`
	Protocol          string `json:"Protocol,omitempty"`
	Port              string `json:"Port,omitempty"`
	CidrBlock         string `json:"CidrBlock,omitempty"`
	Action            string `json:"Action,omitempty"`
	PolicyDescription string `json:"PolicyDescription,omitempty"`
}

type policySet struct {
	Version string   `json:"Version,omitempty"`
	Ingress []policy `json:"Ingress,omitempty"`
	Egress  []policy `json:"Egress,omitempty"`
}

type sgIn struct {
	SecurityGroupId        string
	SecurityGroupPolicySet *policySet
}

func (a *api) group(c *caller, id string) (*inventory.SecurityGroup, *apiError) {
	if id == "" {
		return nil, missing("SecurityGroupId")
	}
	g, err := inventory.Get[*inventory.SecurityGroup](a.inv, id)
	if err != nil || g.Account != c.acct.ID {
		return nil, errf("ResourceNotFound", "资源不存在。 The security group %s does not exist.", id)
	}
	return g, nil
}

// rule turns a policy into an inventory rule. Protocol TCP, UDP, ICMP,
// ICMPv6, GRE or ALL; Port a single port, a range "80-90", a list or ALL
// (models.go SecurityGroupPolicy); anything else InvalidParameterValue.Malformed.
func rule(direction string, p policy) (inventory.SGRule, *apiError) {
	proto := strings.ToLower(p.Protocol)
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6", "gre", "all":
	default:
		return inventory.SGRule{}, errf("InvalidParameterValue.Malformed", "入参格式不合法。 Protocol %q", p.Protocol)
	}
	if !strings.EqualFold(p.Action, "ACCEPT") {
		// DROP needs the policies' order, which the network model does not
		// evaluate: refused rather than let through.
		return inventory.SGRule{}, errf("InvalidParameterValue", "the twin models ACCEPT policies only")
	}
	r := inventory.SGRule{Direction: direction, Ethertype: "IPv4", Description: p.PolicyDescription}
	if proto != "all" {
		r.Protocol = proto
	}
	if port := strings.ToUpper(p.Port); port != "" && port != "ALL" {
		lo, hi, rng := strings.Cut(port, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if rng {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return inventory.SGRule{}, errf("InvalidParameterValue.Malformed", "入参格式不合法。 Port %q", p.Port)
		}
		r.PortMin, r.PortMax = a, b
	}
	pfx, err := netip.ParsePrefix(p.CidrBlock)
	if err != nil {
		if ad, err2 := netip.ParseAddr(p.CidrBlock); err2 == nil && ad.Is4() {
			pfx = netip.PrefixFrom(ad, 32)
		} else {
			return inventory.SGRule{}, errf("InvalidParameterValue.Malformed", "入参格式不合法。 CidrBlock %q", p.CidrBlock)
		}
	}
	r.RemoteCIDR = pfx.Masked().String()
	return r, nil
}

func same(a, b inventory.SGRule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.PortMin == b.PortMin && a.PortMax == b.PortMax && a.RemoteCIDR == b.RemoteCIDR
}

func rules(in sgIn) ([]inventory.SGRule, *apiError) {
	if in.SecurityGroupPolicySet == nil || len(in.SecurityGroupPolicySet.Ingress)+len(in.SecurityGroupPolicySet.Egress) == 0 {
		return nil, errf("InvalidParameterValue.Empty", "参数值不能为空。 SecurityGroupPolicySet")
	}
	var out []inventory.SGRule
	for dir, ps := range map[string][]policy{"ingress": in.SecurityGroupPolicySet.Ingress, "egress": in.SecurityGroupPolicySet.Egress} {
		for _, p := range ps {
			r, e := rule(dir, p)
			if e != nil {
				return nil, e
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// createPolicies: CreateSecurityGroupPolicies; a policy identical to an
// existing one answers UnsupportedOperation.DuplicatePolicy ("安全组规则重复",
// vpc/v20170312 errors.go).
func (a *api) createPolicies(c *caller) (any, *apiError) {
	var in sgIn
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	g, e := a.group(c, in.SecurityGroupId)
	if e != nil {
		return nil, e
	}
	add, e := rules(in)
	if e != nil {
		return nil, e
	}
	for _, r := range add {
		for _, x := range g.Rules {
			if same(x, r) {
				return nil, errf("UnsupportedOperation.DuplicatePolicy", "安全组规则重复。")
			}
		}
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		for _, r := range add {
			r.ID = newID("sgp-")
			g.Rules = append(g.Rules, r)
		}
		return nil
	})
	return nil, nil
}

// deletePolicies: DeleteSecurityGroupPolicies by content; a policy that is
// not there answers ResourceNotFound.
func (a *api) deletePolicies(c *caller) (any, *apiError) {
	var in sgIn
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	g, e := a.group(c, in.SecurityGroupId)
	if e != nil {
		return nil, e
	}
	drop, e := rules(in)
	if e != nil {
		return nil, e
	}
	for _, r := range drop {
		found := false
		for _, x := range g.Rules {
			found = found || same(x, r)
		}
		if !found {
			return nil, errf("ResourceNotFound", "资源不存在。 The policy does not exist.")
		}
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		kept := g.Rules[:0]
	next:
		for _, x := range g.Rules {
			for _, r := range drop {
				if same(x, r) {
					continue next
				}
			}
			kept = append(kept, x)
		}
		g.Rules = kept
		return nil
	})
	return nil, nil
}

// describePolicies: DescribeSecurityGroupPolicies.
func (a *api) describePolicies(c *caller) (any, *apiError) {
	var in sgIn
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	g, e := a.group(c, in.SecurityGroupId)
	if e != nil {
		return nil, e
	}
	set := policySet{Version: strconv.Itoa(len(g.Rules)), Ingress: []policy{}, Egress: []policy{}}
	var ni, ne int64
	for _, r := range g.Rules {
		proto, port := strings.ToUpper(r.Protocol), "ALL"
		if proto == "" {
			proto = "ALL"
		}
		if r.PortMin > 0 {
			port = strconv.Itoa(r.PortMin)
			if r.PortMax > r.PortMin {
				port += "-" + strconv.Itoa(r.PortMax)
			}
		}
		p := policy{Protocol: proto, Port: port, CidrBlock: r.RemoteCIDR, Action: "ACCEPT", PolicyDescription: r.Description}
		if r.Direction == "egress" {
			idx := ne
			p.PolicyIndex, ne = &idx, ne+1
			set.Egress = append(set.Egress, p)
		} else {
			idx := ni
			p.PolicyIndex, ni = &idx, ni+1
			set.Ingress = append(set.Ingress, p)
		}
	}
	return map[string]any{"SecurityGroupPolicySet": set}, nil
}
