package spec

import (
	"net/netip"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Checks that no key of a KafkaAccess spec is silently ignored: each network
// method reads some keys of kafka and client, and any other key given is an
// error at its position (a key the compiler would drop is intent lost).

// usedKeys lists, by provider/method, the kafka and client keys the compiler
// reads (account, provider and region are read by every method), derived
// from [MethodTable].
var usedKeys = func() map[string]struct{ kafka, client []string } {
	m := map[string]struct{ kafka, client []string }{}
	for _, e := range MethodTable {
		m[e.Provider+"/"+e.Method] = struct{ kafka, client []string }{e.KafkaKeys, e.ClientKeys}
	}
	return m
}()

// why explains, for some unused keys, what the method does instead.
var why = map[string]string{
	"huawei/vpcEndpoint kafka.vpcId":           "the instance's VPC is read from the instance",
	"huawei/vpcEndpoint kafka.securityGroupId": "the instance's security group is read from the instance",
	"huawei/vpcEndpoint kafka.port":            "endpoint services listen on vpcEndpoint.port",
	"huawei/vpcEndpoint client.cidr":           "endpoint traffic comes from vpcEndpoint.sourceCidr",
	"huawei/vpcPeering kafka.vpcId":            "the instance's VPC is read from the instance",
	"huawei/vpcPeering kafka.securityGroupId":  "the instance's security group is read from the instance",
	"huawei/vpcPeering kafka.routeTableIds":    "routes go to the VPC's route table",
	"huawei/vpcPeering client.routeTableIds":   "routes go to the VPC's route table",
	"aws/privateLink kafka.vpcId":              "the brokers' VPC is read from the cluster",
	"aws/mskMultiVpc kafka.port":               "the port follows mskMultiVpc.authentication",
	"aws/mskMultiVpc client.cidr":              "the VPC connection admits its security group client.securityGroupId",
	"aws/transitGateway client.cidr":           "on-premises clients come from client.onPremCidr",
	"azure/vnetPeering client.vpcId":           "the client network is client.resourceGroup/client.vnet; verify.clientNetwork names the verification's network",
}

// unusedKeys reports every key of kafka and client the method does not read,
// and settings that only matter with another setting.
func (v *validator) unusedKeys(s *KafkaAccess) {
	method := s.Kafka.Provider + "/" + s.Method
	used, ok := usedKeys[method]
	if !ok {
		return
	}
	check := func(section string, keys []string, skip ...string) {
		allowed := map[string]bool{"provider": true, "account": true, "region": true}
		for _, k := range append(keys, skip...) {
			allowed[k] = true
		}
		var names []string
		for _, k := range keys {
			names = append(names, section+"."+k)
		}
		sort.Strings(names)
		for _, f := range fields(fieldTypeOf(section)) {
			path := "spec." + section + "." + f.key
			if allowed[f.key] || !v.has(path) || v.node(path).ShortTag() == "!!null" {
				continue // an explicit null is the same as leaving the key out
			}
			reason := why[method+" "+section+"."+f.key]
			if reason == "" {
				reason = "keys read: " + strings.Join(names, ", ")
			}
			v.d.errorf(v.key(path), "%s.%s is not used by method %s of provider %s (%s); remove it", section, f.key, s.Method, s.Kafka.Provider, reason)
		}
	}
	// instanceId, clusterArn and cluster across providers have their own messages.
	check("kafka", used.kafka, "instanceId", "clusterArn", "cluster")
	check("client", used.client)

	c := &s.Client
	if s.Method == MethodPrivateLink && c.CIDR != "" && c.SecurityGroupID == "" {
		v.d.errorf(v.key("spec.client.cidr"), "client.cidr is only used with client.securityGroupId by method privateLink (it is opened in the endpoints' security group); give the group or remove the range")
	}
	if s.Method == MethodTransitGateway && s.Kafka.CIDR != "" && (s.TransitGateway == nil || s.TransitGateway.RouteTableID == "") {
		v.d.errorf(v.key("spec.kafka.cidr"), "kafka.cidr is only used with transitGateway.routeTableId (the route to the MSK VPC in the transit gateway route table); give the route table or remove the range")
	}
	if p := s.Peering; p != nil && s.Kafka.Provider != ProviderAzure {
		for _, k := range []struct {
			key string
			set bool
		}{{"allowForwardedTraffic", v.has("spec.peering.allowForwardedTraffic")}, {"useRemoteGateways", v.has("spec.peering.useRemoteGateways")}} {
			if k.set {
				v.d.errorf(v.key("spec.peering."+k.key), "peering.%s is only used with provider azure (VNet peering); remove it", k.key)
			}
		}
	}
	if vf := s.Verify; vf != nil && vf.Enabled != nil && !*vf.Enabled {
		for _, k := range []string{"topic", "tls", "sasl", "clientNetwork"} {
			if v.has("spec.verify." + k) {
				v.d.errorf(v.key("spec.verify."+k), "verify.%s is not used: verify.enabled is false; remove it or turn the verification on", k)
			}
		}
	}
	if a := s.Approval; a != nil && a.Deadline == "" && v.has("spec.approval.onExpiry") {
		v.d.errorf(v.key("spec.approval.onExpiry"), "approval.onExpiry is not used without approval.deadline; set a deadline (e.g. 72h) or remove it")
	}
	if s.Kafka.Provider == ProviderHuawei && c.Region != "" && s.Kafka.Region != "" && c.Region != s.Kafka.Region {
		// VPC endpoints and VPC peerings are regional
		// (https://support.huaweicloud.com/intl/en-us/usermanual-vpc/vpc_peering_0000.html:
		// "VPC peering connections can only be created between VPCs in the same region").
		v.errorf("spec.client.region", "method %s needs the client in the instance's region %q (Huawei VPC endpoints and peerings do not cross regions)", s.Method, s.Kafka.Region)
	}
}

func fieldTypeOf(section string) reflect.Type {
	if section == "kafka" {
		return reflect.TypeOf(KafkaRef{})
	}
	return reflect.TypeOf(ClientNetwork{})
}

// securityGroupRef is a reference to the client's security group:
// sg-x, or <12-digit account ID>/sg-x across accounts (runbook 002 §4.4;
// EC2 UserIdGroupPair{UserId, GroupId}, aws-sdk-go-v2 service/ec2/types/types.go).
var securityGroupRef = regexp.MustCompile(`^(?:([0-9]{12})/)?(sg-[0-9A-Za-z]+)$`)

// clientSecurityGroup checks client.securityGroupId where the brokers'
// group admits it by reference (aws sameVpc and vpcPeering).
func (v *validator) clientSecurityGroup(s *KafkaAccess) {
	c := &s.Client
	if s.Kafka.Provider != ProviderAWS || (s.Method != MethodSameVPC && s.Method != MethodVPCPeering) || c.SecurityGroupID == "" {
		return
	}
	const path = "spec.client.securityGroupId"
	m := securityGroupRef.FindStringSubmatch(c.SecurityGroupID)
	if m == nil {
		v.errorf(path, "securityGroupId %q is not a security group reference: give sg-<id>, or <12-digit account ID>/sg-<id> for a group of another account (runbook 002 §4.4)", c.SecurityGroupID)
		return
	}
	owner, group := m[1], m[2]
	if c.Region != "" && s.Kafka.Region != "" && c.Region != s.Kafka.Region {
		// Security groups cannot be referenced across regions (runbook 002 §4.3;
		// https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html).
		v.errorf(path, "the brokers' security group cannot reference a group of region %q from region %q (runbook 002 §4.3); remove securityGroupId: client.cidr is opened instead", c.Region, s.Kafka.Region)
		return
	}
	id := ""
	if f := v.d.opts.AWSAccountID; f != nil {
		id = f(c.Account)
	}
	cross := c.Account != s.Kafka.Account
	switch {
	case cross && owner == "" && id != "":
		v.errorf(path, "the group is in account %q: a reference across accounts names the owner's account ID: %s/%s (runbook 002 §4.4)", c.Account, id, group)
	case cross && owner == "":
		v.errorf(path, "the group is in account %q: a reference across accounts names the owner's 12-digit account ID: <account ID>/%s (runbook 002 §4.4)", c.Account, group)
	case owner != "" && id != "" && owner != id:
		v.errorf(path, "account ID %s is not client account %q's (%s): write %s/%s", owner, c.Account, id, id, group)
	}
	if s.Method == MethodSameVPC && c.CIDR != "" {
		v.d.errorf(v.key(path), "give one of client.cidr and client.securityGroupId: the brokers' security group admits the clients by one of them")
	}
}

// cidrOverlaps refuses peered networks whose address ranges overlap:
// routes through the peering could not tell them apart (runbook 002 §4.2;
// https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html;
// https://learn.microsoft.com/en-us/azure/virtual-network/virtual-network-manage-peering#requirements-and-constraints).
func (v *validator) cidrOverlaps(s *KafkaAccess) {
	var path, what, client string
	switch s.Method {
	case MethodVPCPeering, MethodVNetPeering:
		path, what, client = "spec.client.cidr", "the peered networks", s.Client.CIDR
	case MethodTransitGateway:
		path, what, client = "spec.client.onPremCidr", "the on-premises range and the MSK VPC", s.Client.OnPremCIDR
	default:
		return
	}
	a, err1 := netip.ParsePrefix(s.Kafka.CIDR)
	b, err2 := netip.ParsePrefix(client)
	if err1 != nil || err2 != nil || !a.Overlaps(b) {
		return
	}
	v.errorf(path, "%s %s overlaps kafka.cidr %s: %s need address ranges that do not overlap (runbook 002 §4.2)", lastKey(path), client, s.Kafka.CIDR, what)
}
