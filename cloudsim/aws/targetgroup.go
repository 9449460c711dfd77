package aws

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// ELBv2 target groups of IP targets (see elbv2.go): create, describe,
// delete, targets registered and deregistered.

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
