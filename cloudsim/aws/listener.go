package aws

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// ELBv2 TCP listeners (see elbv2.go): create, describe, delete, and the
// network model's forwarding of a load balancer's listeners.

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
