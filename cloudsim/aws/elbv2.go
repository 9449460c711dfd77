package aws

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Elastic Load Balancing v2 (network load balancers only), AWS Query
// protocol, namespace 2015-12-01, as aws-sdk-go-v2/service/elasticloadbalancingv2
// serializes it (lists as Name.member.N; responses <XResponse><XResult>;
// errors <ErrorResponse><Error><Type/><Code/><Message/>).
//
// A load balancer is an inventory port with deviceOwner network-load-balancer
// (ID = ARN, Name = load balancer name, IP = its node's address in its first
// subnet, Status provisioning → active). A target group is an inventory
// config of type elbv2-target-group, its registered targets in Properties
// "targets" ("ip:port,..."); a listener a config of type elbv2-listener whose
// Target is the load balancer ARN. An endpoint service in front of the load
// balancer forwards each listener port to the listener's first registered
// target, bytes unchanged (see privatelink.go).

const (
	elbNS          = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	typeTargetGrp  = "elbv2-target-group"
	typeELBListen  = "elbv2-listener"
	typeNLBForward = "nlb-listener"
	nlbHostedZone  = "Z2IFOLAFXWLO4F" // eu-west-1 NLB canonical hosted zone (https://docs.aws.amazon.com/general/latest/gr/elb.html)
	elbNameMaxSize = 32
)

// elbNameRE: "up to 32 alphanumeric characters or hyphens, must not begin or end
// with a hyphen" (aws-sdk-go-v2/service/elasticloadbalancingv2/api_op_CreateLoadBalancer.go Name).
var elbNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)

type elbHandler func(c *caller, f form) ([]node, *ec2Error)

func (a *api) elbActions() map[string]elbHandler {
	return map[string]elbHandler{
		"CreateLoadBalancer":    a.createLoadBalancer,
		"DescribeLoadBalancers": a.describeLoadBalancers,
		"DeleteLoadBalancer":    a.deleteLoadBalancer,
		"CreateTargetGroup":     a.createTargetGroup,
		"DescribeTargetGroups":  a.describeTargetGroups,
		"DeleteTargetGroup":     a.deleteTargetGroup,
		"RegisterTargets":       a.registerTargets,
		"DeregisterTargets":     a.deregisterTargets,
		"CreateListener":        a.createListener,
		"DescribeListeners":     a.describeListeners,
		"DeleteListener":        a.deleteListener,
	}
}

// serveELB answers the ELBv2 Query API.
func (a *api) serveELB(w http.ResponseWriter, r *http.Request) {
	c, aerr := a.authenticate(r)
	if aerr != nil {
		e := ec2AuthError(aerr)
		if e.code == "AuthFailure" {
			e.code = "InvalidClientTokenId" // awsQuery services answer InvalidClientTokenId (as STS does)
		}
		writeELBError(w, e)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeELBError(w, errf("ValidationError", "read body: %v", err))
		return
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		writeELBError(w, errf("ValidationError", "malformed form body: %v", err))
		return
	}
	f := form{vals}
	action := f.str("Action")
	h, ok := a.elbActions()[action]
	if !ok {
		writeELBError(w, errf("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if ft := a.faults.Check(r.Context(), "aws.elbv2."+action); ft != nil {
		writeELBError(w, &ec2Error{status: ft.Status, code: ft.Code, message: ft.Message})
		return
	}
	kids, e := h(c, f)
	if e != nil {
		writeELBError(w, e)
		return
	}
	rid := requestID()
	w.Header().Set("X-Amzn-Requestid", rid)
	writeXML(w, http.StatusOK, el(action+"Response", el(action+"Result", kids...), el("ResponseMetadata", tx("RequestId", rid))), elbNS)
}

func writeELBError(w http.ResponseWriter, e *ec2Error) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, el("ErrorResponse", el("Error", tx("Type", typ), tx("Code", e.code), tx("Message", e.message)), tx("RequestId", requestID())), elbNS)
}

// members renders a list as <name><member>...</member></name>.
func members(name string, items ...node) node {
	out := node{name: name}
	for _, it := range items {
		it.name = "member"
		out.kids = append(out.kids, it)
	}
	return out
}

func strMembers(name string, vals []string) node {
	var items []node
	for _, v := range vals {
		items = append(items, tx("member", v))
	}
	return members(name, items...)
}

func elbSuffix() string { return randHex(8) }

// --- load balancers ---

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

// --- target groups ---

func targetList(tg *inventory.Config) []string {
	if tg.Properties["targets"] == "" {
		return nil
	}
	return strings.Split(tg.Properties["targets"], ",")
}

// tgLBs returns the load balancers whose listeners forward to a target group.
func (a *api) tgLBs(tg *inventory.Config) []string {
	var lbs []string
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if l.Type == typeELBListen && l.Properties["targetGroupArn"] == tg.ID && !slices.Contains(lbs, l.Target) {
			lbs = append(lbs, l.Target)
		}
	}
	return lbs
}

func (a *api) tgNode(tg *inventory.Config) node {
	pr := tg.Properties
	return el("member", tx("TargetGroupArn", tg.ID), tx("TargetGroupName", tg.Name), tx("Protocol", pr["protocol"]), tx("Port", pr["port"]),
		tx("VpcId", pr["vpcId"]), tx("HealthCheckProtocol", "TCP"), tx("HealthCheckPort", "traffic-port"), boolx("HealthCheckEnabled", true),
		tx("TargetType", pr["targetType"]), strMembers("LoadBalancerArns", a.tgLBs(tg)), tx("IpAddressType", "ipv4"))
}

func (a *api) ownTG(c *caller, arn string) (*inventory.Config, *ec2Error) {
	tg, err := inventory.Get[*inventory.Config](a.inv, arn)
	if err != nil || tg.Type != typeTargetGrp || tg.Account != c.acct.ID || tg.Region != c.region {
		return nil, errf("TargetGroupNotFound", "One or more target groups not found")
	}
	return tg, nil
}

func (a *api) createTargetGroup(c *caller, f form) ([]node, *ec2Error) {
	name := f.str("Name")
	if len(name) > elbNameMaxSize || !elbNameRE.MatchString(name) {
		return nil, errf("ValidationError", "The target group name '%s' is not valid", name)
	}
	proto, port, targetType := f.str("Protocol"), f.str("Port"), f.str("TargetType")
	if targetType == "" {
		targetType = "instance" // API default (api_op_CreateTargetGroup.go TargetType)
	}
	if targetType != "ip" {
		return nil, errf("ValidationError", "only ip target groups are simulated, got TargetType '%s'", targetType)
	}
	if proto != "TCP" && proto != "TLS" {
		return nil, errf("ValidationError", "only TCP and TLS target groups are simulated, got Protocol '%s'", proto)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, errf("ValidationError", "Port must be between 1 and 65535")
	}
	vpc, e := a.ownVPC(c, f.str("VpcId"))
	if e != nil {
		return nil, errf("ValidationError", "The VPC ID '%s' is not found", f.str("VpcId"))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tg := range inventory.List[*inventory.Config](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if tg.Type != typeTargetGrp || tg.Name != name {
			continue
		}
		// Idempotent on identical settings, DuplicateTargetGroupName otherwise (api_op_CreateTargetGroup.go).
		if pr := tg.Properties; pr["protocol"] == proto && pr["port"] == port && pr["vpcId"] == vpc.ID && pr["targetType"] == targetType {
			return []node{members("TargetGroups", a.tgNode(tg))}, nil
		}
		return nil, errf("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
	}
	tags := map[string]string{}
	for i := 1; i <= f.count("Tags.member"); i++ {
		p := "Tags.member." + strconv.Itoa(i)
		tags[f.Get(p+".Key")] = f.Get(p + ".Value")
	}
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", c.region, c.acct.AccountID, name, elbSuffix())
	tg, err := inventory.Create(a.inv, &inventory.Config{
		Meta: inventory.Meta{ID: arn, Account: c.acct.ID, Region: c.region, Name: name, Status: "active", Tags: tags},
		Type: typeTargetGrp, Version: 1,
		Properties: map[string]string{"protocol": proto, "port": port, "vpcId": vpc.ID, "targetType": targetType, "targets": ""},
	})
	if err != nil {
		return nil, errf("InternalFailure", "%v", err)
	}
	return []node{members("TargetGroups", a.tgNode(tg))}, nil
}

func (a *api) describeTargetGroups(c *caller, f form) ([]node, *ec2Error) {
	arns, names, lb := f.list("TargetGroupArns.member"), f.list("Names.member"), f.str("LoadBalancerArn")
	var items []node
	found := 0
	for _, tg := range inventory.List[*inventory.Config](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if tg.Type != typeTargetGrp || (len(arns) > 0 && !slices.Contains(arns, tg.ID)) || (len(names) > 0 && !slices.Contains(names, tg.Name)) {
			continue
		}
		if lb != "" && !slices.Contains(a.tgLBs(tg), lb) {
			continue
		}
		found++
		items = append(items, a.tgNode(tg))
	}
	if (len(arns) > 0 && found < len(arns)) || (len(names) > 0 && found < len(names)) {
		return nil, errf("TargetGroupNotFound", "One or more target groups not found")
	}
	return []node{members("TargetGroups", items...)}, nil
}

func (a *api) deleteTargetGroup(c *caller, f form) ([]node, *ec2Error) {
	tg, e := a.ownTG(c, f.str("TargetGroupArn"))
	if e != nil {
		return nil, e
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if l.Type == typeELBListen && l.Properties["targetGroupArn"] == tg.ID {
			// "You can delete a target group if it is not referenced by any actions" (api_op_DeleteTargetGroup.go).
			return nil, errf("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", tg.ID)
		}
	}
	_ = a.inv.Delete(inventory.KindConfig, tg.ID)
	return nil, nil
}

// targetsOf returns the ip:port targets of Targets.member.N.
func targetsOf(f form, defPort string) []string {
	var out []string
	for i := 1; i <= f.count("Targets.member"); i++ {
		p := "Targets.member." + strconv.Itoa(i)
		port := f.str(p + ".Port")
		if port == "" {
			port = defPort
		}
		out = append(out, f.str(p+".Id")+":"+port)
	}
	return out
}

func (a *api) registerTargets(c *caller, f form) ([]node, *ec2Error) {
	tg, e := a.ownTG(c, f.str("TargetGroupArn"))
	if e != nil {
		return nil, e
	}
	add := targetsOf(f, tg.Properties["port"])
	if len(add) == 0 {
		return nil, errf("ValidationError", "Targets must not be empty")
	}
	vpc, _ := inventory.Get[*inventory.VPC](a.inv, tg.Properties["vpcId"])
	for _, t := range add {
		ip := t[:strings.LastIndex(t, ":")]
		if v, err := a.inv.VPCOf(ip); err != nil || vpc == nil || v.ID != vpc.ID {
			// IP targets must be in the target group's VPC here (peered and on-premises
			// ranges are allowed by AWS but not simulated): api_op_RegisterTargets.go, InvalidTarget.
			return nil, errf("InvalidTarget", "The IP address '%s' is not within the VPC of target group '%s'", ip, tg.ID)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := inventory.Update(a.inv, tg.ID, func(x *inventory.Config) error {
		have := targetList(x)
		for _, t := range add {
			if !slices.Contains(have, t) {
				have = append(have, t) // registering a registered target is a no-op
			}
		}
		x.Properties["targets"] = strings.Join(have, ",")
		return nil
	})
	if err != nil {
		return nil, errf("InternalFailure", "%v", err)
	}
	for _, lb := range a.tgLBs(tg) {
		a.syncNLB(lb)
	}
	return nil, nil
}

func (a *api) deregisterTargets(c *caller, f form) ([]node, *ec2Error) {
	tg, e := a.ownTG(c, f.str("TargetGroupArn"))
	if e != nil {
		return nil, e
	}
	drop := targetsOf(f, tg.Properties["port"])
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = inventory.Update(a.inv, tg.ID, func(x *inventory.Config) error {
		var kept []string
		for _, t := range targetList(x) {
			if !slices.Contains(drop, t) {
				kept = append(kept, t)
			}
		}
		x.Properties["targets"] = strings.Join(kept, ",")
		return nil
	})
	for _, lb := range a.tgLBs(tg) {
		a.syncNLB(lb)
	}
	return nil, nil
}

// --- listeners ---

func listenerNode(l *inventory.Config) node {
	return el("member", tx("ListenerArn", l.ID), tx("LoadBalancerArn", l.Target), tx("Port", l.Properties["port"]), tx("Protocol", l.Properties["protocol"]),
		members("DefaultActions", el("member", tx("Type", "forward"), tx("TargetGroupArn", l.Properties["targetGroupArn"]))))
}

func (a *api) createListener(c *caller, f form) ([]node, *ec2Error) {
	lb, e := a.ownLB(c, f.str("LoadBalancerArn"))
	if e != nil {
		return nil, e
	}
	proto, port := f.str("Protocol"), f.str("Port")
	if proto != "TCP" {
		return nil, errf("UnsupportedProtocol", "only TCP listeners are simulated, got '%s'", proto)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, errf("ValidationError", "Port must be between 1 and 65535")
	}
	if f.str("DefaultActions.member.1.Type") != "forward" || f.str("DefaultActions.member.2.Type") != "" {
		return nil, errf("ValidationError", "exactly one forward default action is simulated")
	}
	tg, e := a.ownTG(c, f.str("DefaultActions.member.1.TargetGroupArn"))
	if e != nil {
		return nil, e
	}
	if tg.Properties["vpcId"] != lb.VPCID {
		return nil, errf("InvalidConfigurationRequest", "The target group and the load balancer must be in the same VPC")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if l.Type == typeELBListen && l.Properties["targetGroupArn"] == tg.ID && l.Target != lb.ID {
			// A target group of a network load balancer serves one load balancer
			// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html).
			return nil, errf("TargetGroupAssociationLimit", "The target group '%s' is already associated with another load balancer", tg.ID)
		}
		if l.Type != typeELBListen || l.Target != lb.ID || l.Properties["port"] != port {
			continue
		}
		// Idempotent on identical settings, DuplicateListener otherwise (api_op_CreateListener.go).
		if l.Properties["protocol"] == proto && l.Properties["targetGroupArn"] == tg.ID {
			return []node{members("Listeners", listenerNode(l))}, nil
		}
		return nil, errf("DuplicateListener", "A listener already exists on this port for this load balancer")
	}
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/net/%s/%s/%s", c.region, c.acct.AccountID, lb.Name, lb.ID[len(lb.ID)-16:], elbSuffix())
	l, err := inventory.Create(a.inv, &inventory.Config{
		Meta: inventory.Meta{ID: arn, Account: c.acct.ID, Region: c.region, Status: "active"}, Target: lb.ID, Type: typeELBListen, Version: 1,
		Properties: map[string]string{"protocol": proto, "port": port, "targetGroupArn": tg.ID},
	})
	if err != nil {
		return nil, errf("InternalFailure", "%v", err)
	}
	a.syncNLB(lb.ID)
	return []node{members("Listeners", listenerNode(l))}, nil
}

func (a *api) describeListeners(c *caller, f form) ([]node, *ec2Error) {
	lbArn, arns := f.str("LoadBalancerArn"), f.list("ListenerArns.member")
	if lbArn == "" && len(arns) == 0 {
		return nil, errf("ValidationError", "LoadBalancerArn or ListenerArns must be given")
	}
	if lbArn != "" {
		if _, e := a.ownLB(c, lbArn); e != nil {
			return nil, e
		}
	}
	var items []node
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if l.Type != typeELBListen || (lbArn != "" && l.Target != lbArn) || (len(arns) > 0 && !slices.Contains(arns, l.ID)) {
			continue
		}
		items = append(items, listenerNode(l))
	}
	if len(arns) > 0 && len(items) < len(arns) {
		return nil, errf("ListenerNotFound", "One or more listeners not found")
	}
	return []node{members("Listeners", items...)}, nil
}

func (a *api) deleteListener(c *caller, f form) ([]node, *ec2Error) {
	arn := f.str("ListenerArn")
	l, err := inventory.Get[*inventory.Config](a.inv, arn)
	if err != nil || l.Type != typeELBListen || l.Account != c.acct.ID || l.Region != c.region {
		return nil, errf("ListenerNotFound", "One or more listeners not found")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.inv.Delete(inventory.KindConfig, arn)
	a.syncNLB(l.Target)
	return nil, nil
}

// syncNLB makes an active load balancer's own address forward each listener
// port to the listener's target, bytes unchanged, and its DNS name resolve
// in its VPC (a hidden service/endpoint pair per listener, awsType
// nlb-listener); a load balancer that is not active, or gone, forwards nothing.
// The caller holds a.mu.
func (a *api) syncNLB(arn string) {
	want := map[string]listener{}
	lb, err := inventory.Get[*inventory.Port](a.inv, arn)
	if err == nil && lb.Status == "active" {
		for _, l := range a.createdListeners(arn) {
			want[fmt.Sprintf("%s:%d", arn, l.port)] = l
		}
	}
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if isType(ep.Attrs, typeNLBForward) && ep.Attrs["parent"] == arn {
			if l, ok := want[ep.ID]; ok && ep.Attrs["target"] == fmt.Sprintf("%s:%d", l.targetPort, l.targetTCP) {
				delete(want, ep.ID)
				continue
			}
			_ = a.inv.Delete(inventory.KindEndpoint, ep.ID)
			_ = a.inv.Delete(inventory.KindEndpointService, ep.ID)
		}
	}
	for id, l := range want {
		if _, err := inventory.Create(a.inv, &inventory.EndpointService{
			Meta:  inventory.Meta{ID: id, Account: lb.Account, Region: lb.Region, Status: "available"},
			VPCID: lb.VPCID, PortID: l.targetPort,
			Ports: []inventory.PortMapping{{ClientPort: l.port, ServerPort: l.targetTCP, Protocol: "TCP"}},
			Attrs: map[string]string{attrType: typeNLBForward, "parent": arn},
		}); err != nil {
			continue
		}
		_, _ = inventory.Create(a.inv, &inventory.Endpoint{
			Meta:      inventory.Meta{ID: id, Account: lb.Account, Region: lb.Region, Status: inventory.EndpointAccepted},
			ServiceID: id, VPCID: lb.VPCID, SubnetID: lb.SubnetID, IP: lb.IP,
			DNSNames: []string{fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", lb.Name, lb.ID[len(lb.ID)-16:], lb.Region)},
			Attrs:    map[string]string{attrType: typeNLBForward, "parent": arn, "target": fmt.Sprintf("%s:%d", l.targetPort, l.targetTCP)},
		})
	}
}

// createdListeners returns the listeners created through the API on a load
// balancer, each forwarding to its target group's first registered target
// (the port or broker interface carrying that IP).
func (a *api) createdListeners(arn string) []listener {
	var out []listener
	for _, l := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if l.Type != typeELBListen || l.Target != arn {
			continue
		}
		tg, err := inventory.Get[*inventory.Config](a.inv, l.Properties["targetGroupArn"])
		if err != nil || len(targetList(tg)) == 0 {
			continue
		}
		t := targetList(tg)[0]
		i := strings.LastIndex(t, ":")
		tport, _ := strconv.Atoi(t[i+1:])
		lport, _ := strconv.Atoi(l.Properties["port"])
		if pid := a.portIDOf(t[:i]); pid != "" {
			out = append(out, listener{port: lport, targetPort: pid, targetTCP: tport})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out
}

// portIDOf returns the network interface carrying ip: a port, or a broker's interface.
func (a *api) portIDOf(ip string) string {
	for _, p := range inventory.List[*inventory.Port](a.inv, inventory.Filter{}) {
		if p.IP == ip && p.DeviceOwner != nlbOwner {
			return p.ID
		}
	}
	for _, k := range inventory.List[*inventory.KafkaInstance](a.inv, inventory.Filter{}) {
		for _, b := range k.Brokers {
			if b.ListenerIP == ip && b.PortID != "" {
				return b.PortID
			}
		}
	}
	return ""
}
