package aws

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// ELBv2 network load balancers (see elbv2.go): create, describe, delete.

func (a *api) lbNode(p *inventory.Port) node {
	name, scheme, subnets := p.Name, p.Tags["elbv2:scheme"], p.DeviceID
	if scheme == "" {
		scheme = "internal" // a load balancer seeded by a world file
	}
	if subnets == "" {
		subnets = p.SubnetID
	}
	var azs []node
	for _, s := range strings.Split(subnets, ",") {
		azs = append(azs, el("member", tx("ZoneName", p.Region+"a"), tx("SubnetId", s)))
	}
	return el("member", tx("LoadBalancerArn", p.ID), tx("DNSName", fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", name, p.ID[len(p.ID)-16:], p.Region)),
		tx("CanonicalHostedZoneId", nlbHostedZone), tx("CreatedTime", ts(p.CreatedAt)), tx("LoadBalancerName", name),
		tx("Scheme", scheme), tx("VpcId", p.VPCID), el("State", tx("Code", p.Status)), tx("Type", "network"),
		members("AvailabilityZones", azs...), tx("IpAddressType", "ipv4"))
}

// ownLB returns a load balancer of the caller.
func (a *api) ownLB(c *caller, arn string) (*inventory.Port, *ec2Error) {
	p, err := inventory.Get[*inventory.Port](a.inv, arn)
	if err != nil || p.DeviceOwner != nlbOwner || p.Account != c.acct.ID || p.Region != c.region {
		return nil, errf("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return p, nil
}

func (a *api) createLoadBalancer(c *caller, f form) ([]node, *ec2Error) {
	name := f.str("Name")
	if len(name) > elbNameMaxSize || !elbNameRE.MatchString(name) || strings.HasPrefix(name, "internal-") {
		return nil, errf("ValidationError", "The load balancer name '%s' is not valid", name)
	}
	if t := f.str("Type"); t != "network" {
		return nil, errf("ValidationError", "only network load balancers are simulated, got Type '%s'", t)
	}
	scheme := f.str("Scheme")
	if scheme == "" {
		scheme = "internet-facing" // API default (api_op_CreateLoadBalancer.go Scheme)
	}
	if scheme != "internal" && scheme != "internet-facing" {
		return nil, errf("ValidationError", "Scheme must be internal or internet-facing")
	}
	subnets := f.list("Subnets.member")
	if len(subnets) == 0 {
		return nil, errf("ValidationError", "At least one subnet must be specified")
	}
	var vpc string
	for _, s := range subnets {
		sn, err := inventory.Get[*inventory.Subnet](a.inv, s)
		if err != nil || sn.Account != c.acct.ID || sn.Region != c.region {
			return nil, errf("SubnetNotFound", "The specified subnet does not exist: %s", s)
		}
		if vpc != "" && sn.VPCID != vpc {
			return nil, errf("InvalidConfigurationRequest", "The subnets must belong to the same VPC")
		}
		vpc = sn.VPCID
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range inventory.List[*inventory.Port](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if p.DeviceOwner != nlbOwner || p.Name != name {
			continue
		}
		// Idempotent on identical settings, DuplicateLoadBalancerName otherwise (api_op_CreateLoadBalancer.go).
		if p.DeviceID == strings.Join(subnets, ",") && p.Tags["elbv2:scheme"] == scheme {
			return []node{members("LoadBalancers", a.lbNode(p))}, nil
		}
		return nil, errf("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
	}
	ip, err := a.inv.AllocateIP(subnets[0])
	if err != nil {
		return nil, errf("InvalidSubnet", "%v", err)
	}
	tags := map[string]string{"elbv2:scheme": scheme}
	for i := 1; i <= f.count("Tags.member"); i++ {
		p := "Tags.member." + strconv.Itoa(i)
		tags[f.Get(p+".Key")] = f.Get(p + ".Value")
	}
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/net/%s/%s", c.region, c.acct.AccountID, name, elbSuffix())
	p, cerr := inventory.Create(a.inv, &inventory.Port{
		Meta:  inventory.Meta{ID: arn, Account: c.acct.ID, Region: c.region, Name: name, Status: "provisioning", Tags: tags},
		VPCID: vpc, SubnetID: subnets[0], IP: ip, DeviceOwner: nlbOwner, DeviceID: strings.Join(subnets, ","),
	})
	if cerr != nil {
		a.inv.ReleaseIP(ip)
		return nil, errf("InternalFailure", "%v", cerr)
	}
	// State provisioning → active (elasticloadbalancingv2 types/enums.go LoadBalancerStateEnum;
	// the SDK's LoadBalancerAvailableWaiter waits for active).
	a.loadBalancerActive(a.timing.LoadBalancerCreate, arn)
	return []node{members("LoadBalancers", a.lbNode(p))}, nil
}

func (a *api) describeLoadBalancers(c *caller, f form) ([]node, *ec2Error) {
	arns, names := f.list("LoadBalancerArns.member"), f.list("Names.member")
	var items []node
	found := 0
	for _, p := range inventory.List[*inventory.Port](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if p.DeviceOwner != nlbOwner {
			continue
		}
		if (len(arns) > 0 && !slices.Contains(arns, p.ID)) || (len(names) > 0 && !slices.Contains(names, p.Name)) {
			continue
		}
		found++
		items = append(items, a.lbNode(p))
	}
	// Named look-ups that miss answer LoadBalancerNotFound (api_op_DescribeLoadBalancers.go errors).
	if (len(arns) > 0 && found < len(arns)) || (len(names) > 0 && found < len(names)) {
		return nil, errf("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return []node{members("LoadBalancers", items...)}, nil
}

func (a *api) deleteLoadBalancer(c *caller, f form) ([]node, *ec2Error) {
	arn := f.str("LoadBalancerArn")
	p, e := a.ownLB(c, arn)
	if e != nil {
		return nil, nil // "If the load balancer does not exist or has already been deleted, the call succeeds" (api_op_DeleteLoadBalancer.go)
	}
	for _, s := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{}) {
		if isType(s.Attrs, typeService) && slices.Contains(strings.Split(s.Attrs["nlbs"], ","), arn) {
			// An NLB associated with an endpoint service cannot be deleted
			// (https://docs.aws.amazon.com/vpc/latest/privatelink/delete-endpoint-service.html).
			return nil, errf("ResourceInUse", "Load balancer '%s' cannot be deleted because it is currently associated with another service", arn)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if l.Type == typeELBListen && l.Target == arn {
			_ = a.inv.Delete(inventory.KindConfig, l.ID) // listeners go with their load balancer (api_op_DeleteListener.go)
		}
	}
	_ = a.inv.Delete(inventory.KindPort, arn)
	a.syncNLB(arn)
	if p.IP != "" && a.inv.Owner(p.IP) == "reserved" {
		a.inv.ReleaseIP(p.IP)
	}
	return nil, nil
}
