package netmodel

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// policyWorld has, per provider, a Kafka-like target and client VPCs:
//
//	AWS eu-west-1: msk (10.20.0.0/16, account 111) peered with cli (10.21.0.0/16,
//	account 222); fra (10.40.0.0/16, eu-central-1, account 111).
//	Huawei: kafka (192.168.0.0/16, subnet with a network ACL) and client (10.1.0.0/16).
//	Azure: hdi (10.30.0.0/16) and aks (10.31.0.0/16).
const policyWorld = `
accounts:
  - {id: aws-a, provider: aws, region: eu-west-1, accountId: "111111111111"}
  - {id: aws-b, provider: aws, region: eu-west-1, accountId: "222222222222"}
  - {id: hw, provider: huawei, region: cn-north-4, domainId: d1}
  - {id: az, provider: azure, region: westeurope}
vpcs:
  - {id: msk, account: aws-a, region: eu-west-1, cidr: 10.20.0.0/16, addressBlock: 127.240.0.0/16}
  - {id: cli, account: aws-b, region: eu-west-1, cidr: 10.21.0.0/16, addressBlock: 127.241.0.0/16}
  - {id: fra, account: aws-a, region: eu-central-1, cidr: 10.40.0.0/16, addressBlock: 127.242.0.0/16}
  - {id: kafka, account: hw, region: cn-north-4, cidr: 192.168.0.0/16, addressBlock: 127.243.0.0/16}
  - {id: client, account: hw, region: cn-north-4, cidr: 10.1.0.0/16, addressBlock: 127.244.0.0/16}
  - {id: hdi, account: az, region: westeurope, cidr: 10.30.0.0/16, addressBlock: 127.245.0.0/16}
  - {id: aks, account: az, region: westeurope, cidr: 10.31.0.0/16, addressBlock: 127.246.0.0/16}
  - {id: dc, account: dc, cidr: 172.16.0.0/12, addressBlock: 127.247.0.0/16, attrs: {transitGateway: tgw-1, transitGatewayAttachment: att-vpn}}
subnets:
  - {id: msk-a, vpc: msk, cidr: 10.20.1.0/24, addressBlock: 127.240.1.0/24}
  - {id: cli-a, vpc: cli, cidr: 10.21.1.0/24, addressBlock: 127.241.1.0/24}
  - {id: fra-a, vpc: fra, cidr: 10.40.1.0/24, addressBlock: 127.242.1.0/24}
  - {id: kafka-a, vpc: kafka, cidr: 192.168.0.0/24, addressBlock: 127.243.0.0/24}
  - {id: client-a, vpc: client, cidr: 10.1.0.0/24, addressBlock: 127.244.0.0/24}
securityGroups:
  - id: sg-msk
    vpc: msk
    rules:
      - {direction: ingress, protocol: tcp, portMin: 9092, portMax: 9098, remoteCidr: 10.21.0.0/16}
      - {direction: ingress, protocol: tcp, portMin: 9092, portMax: 9092, remoteGroupId: sg-same}
      - {direction: ingress, protocol: tcp, portMin: 9094, portMax: 9094, remoteGroupId: 222222222222/sg-cli}
      - {direction: ingress, protocol: tcp, portMin: 9096, portMax: 9096, remoteGroupId: 111111111111/sg-fra}
      - {direction: ingress, protocol: tcp, portMin: 9092, portMax: 9092, remoteCidr: 172.16.0.0/12}
  - {id: sg-same, vpc: msk, name: default, rules: [{direction: egress}]}
  - {id: sg-cli, vpc: cli, name: default, rules: [{direction: egress, protocol: tcp, portMin: 9092, portMax: 9099, remoteCidr: 10.20.0.0/16}]}
  - {id: sg-fra, vpc: fra, name: default, rules: [{direction: egress}]}
  - id: sg-kafka
    vpc: kafka
    rules:
      - {direction: ingress, protocol: tcp, portMin: 9011, portMax: 9011, remoteCidr: 198.19.128.0/17}
      - {direction: ingress, protocol: tcp, portMin: 9092, portMax: 9092, remoteCidr: 10.1.0.0/16}
ports:
  - {id: msk-eni, vpc: msk, subnet: msk-a, ip: 127.240.1.11, securityGroups: [sg-msk]}
kafka:
  - id: dms
    vpc: kafka
    subnet: kafka-a
    securityGroup: sg-kafka
    brokers: [{id: 0, listenerIp: 127.243.0.61, port: 9011, portId: dms-port}]
  - id: hdinsight
    vpc: hdi
    brokers: [{id: 0, listenerIp: 127.245.0.10, port: 9092}]
peerings:
  - {id: pcx-1, vpc: msk, peerVpc: cli, status: active}
  - {id: pcx-fra, vpc: msk, peerVpc: fra, status: active}
  - {id: hw-peer, vpc: kafka, peerVpc: client, status: active}
  - {id: att-msk, vpc: msk, peerVpc: tgw-1, status: available, attrs: {awsType: transit-gateway-attachment}}
routeTables:
  - {id: rtb-msk, vpc: msk, routes: [{destination: 10.21.0.0/16, nextHopType: vpc-peering-connection, nextHop: pcx-1}, {destination: 10.40.0.0/16, nextHopType: vpc-peering-connection, nextHop: pcx-fra}, {destination: 172.16.0.0/12, nextHopType: transit-gateway, nextHop: tgw-1}]}
  - {id: tgw-rtb-1, vpc: tgw-1, routes: [{destination: 10.20.0.0/16, nextHopType: transit-gateway-attachment, nextHop: att-msk}, {destination: 172.16.0.0/12, nextHopType: transit-gateway-attachment, nextHop: att-vpn}]}
  - {id: rtb-dc, vpc: dc, routes: [{destination: 10.0.0.0/8, nextHopType: transit-gateway, nextHop: tgw-1}]}
  - {id: rtb-cli, vpc: cli, routes: [{destination: 10.20.0.0/16, nextHopType: vpc-peering-connection, nextHop: pcx-1}]}
  - {id: rtb-fra, vpc: fra, routes: [{destination: 10.20.0.0/16, nextHopType: vpc-peering-connection, nextHop: pcx-fra}]}
  - {id: rtb-kafka, vpc: kafka, routes: [{destination: 10.1.0.0/16, nextHopType: peering, nextHop: hw-peer}]}
  - {id: rtb-client, vpc: client, routes: [{destination: 192.168.0.0/16, nextHopType: peering, nextHop: hw-peer}]}
networkACLs:
  - id: acl-kafka
    subnets: [kafka-a]
    ingressRules:
      - {action: allow, protocol: tcp, sourceIpAddress: 198.19.128.0/17, destinationPort: "9011"}
      - {action: deny, protocol: tcp, sourceIpAddress: 10.1.5.0/24}
      - {action: allow, protocol: tcp, sourceIpAddress: 10.1.0.0/16, destinationPort: "9092"}
    egressRules:
      - {action: allow, protocol: any}
endpointServices:
  - {id: svc, vpc: kafka, portId: dms-port, ports: [{clientPort: 9011, serverPort: 9011, protocol: TCP}]}
endpoints:
  - {id: ep, serviceId: svc, vpc: client, subnet: client-a, ip: 127.244.0.50, status: accepted}
`

func policyNet(t *testing.T, change func(inv *inventory.Store)) *Network {
	t.Helper()
	w, err := world.Parse([]byte(policyWorld))
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	n := &Network{inv: inv}
	if err := w.Apply(inv); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(inv)
	}
	return n
}

func sgUpdate(id string, fn func(g *inventory.SecurityGroup)) func(*inventory.Store) {
	return func(inv *inventory.Store) {
		_, _ = inventory.Update(inv, id, func(g *inventory.SecurityGroup) error { fn(g); return nil })
	}
}

func routeUpdate(id string, routes []inventory.Route) func(*inventory.Store) {
	return func(inv *inventory.Store) {
		_, _ = inventory.Update(inv, id, func(rt *inventory.RouteTable) error { rt.Routes = routes; return nil })
	}
}

func TestPolicy(t *testing.T) {
	const mskENI, dmsBroker, hdiBroker = "127.240.1.11", "127.243.0.61", "127.245.0.10"
	for _, tc := range []struct {
		name     string
		change   func(*inventory.Store)
		from, ip string
		port     int
		hop      string // "" = allowed
		reason   string // substring of the reason
	}{
		{name: "SG CIDR rule across a peering with routes both ways", from: "cli", ip: mskENI, port: 9093},
		{name: "SG has no rule for the port", from: "cli", ip: mskENI, port: 9099, hop: HopSecurityGroup, reason: "no ingress rule for 10.21.1.254/32 tcp/9099"},
		{name: "group reference, same account and VPC", from: "msk", ip: mskENI, port: 9092},
		{name: "group reference across accounts in one region", from: "cli", ip: mskENI, port: 9094,
			change: sgUpdate("sg-msk", func(g *inventory.SecurityGroup) { g.Rules = g.Rules[2:3] })},
		{name: "group reference across regions does not match", from: "fra", ip: mskENI, port: 9096, hop: HopSecurityGroup, reason: "sg-msk"},
		{name: "unqualified reference to another account's group does not match", from: "cli", ip: mskENI, port: 9094, hop: HopSecurityGroup,
			change: sgUpdate("sg-msk", func(g *inventory.SecurityGroup) {
				g.Rules = []inventory.SGRule{{Direction: "ingress", Protocol: "tcp", PortMin: 9094, PortMax: 9094, RemoteGroupID: "sg-cli"}}
			})},
		{name: "client egress rule does not allow the port", from: "cli", ip: mskENI, port: 9100, hop: HopSecurityGroup, reason: "sg-cli of client host 10.21.1.254 in VPC cli has no egress rule"},
		{name: "missing route in the client VPC", from: "cli", ip: mskENI, port: 9093, hop: HopRoute, reason: "route table of VPC cli has no route to 10.20.1.11",
			change: routeUpdate("rtb-cli", nil)},
		{name: "missing return route", from: "cli", ip: mskENI, port: 9093, hop: HopRoute, reason: "VPC msk has no return route to 10.21.1.254/32 through peering pcx-1",
			change: routeUpdate("rtb-msk", []inventory.Route{{Destination: "10.40.0.0/16", NextHopType: "vpc-peering-connection", NextHop: "pcx-fra"}})},
		{name: "route to a peering that is not active", from: "cli", ip: mskENI, port: 9093, hop: HopPeering, reason: "not active (pending-acceptance)",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Update(inv, "pcx-1", func(p *inventory.Peering) error { p.Status = "pending-acceptance"; return nil })
			}},
		{name: "on-premises through a transit gateway, routes both ways", from: "dc", ip: mskENI, port: 9092},
		{name: "transit gateway without a route to the destination", from: "dc", ip: mskENI, port: 9092, hop: HopRoute, reason: "route table of transit gateway tgw-1 has no route to 10.20.1.11 through attachment att-msk",
			change: routeUpdate("tgw-rtb-1", []inventory.Route{{Destination: "172.16.0.0/12", NextHopType: "transit-gateway-attachment", NextHop: "att-vpn"}})},
		{name: "transit gateway attachment not available", from: "dc", ip: mskENI, port: 9092, hop: HopRoute, reason: "VPC msk has no available attachment to transit gateway tgw-1",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Update(inv, "att-msk", func(p *inventory.Peering) error { p.Status = "pendingAcceptance"; return nil })
			}},
		{name: "no path between unpeered VPCs", from: "client", ip: "127.242.1.20", port: 9092, hop: HopRoute},
		{name: "Huawei peering allowed by the network ACL", from: "client", ip: dmsBroker, port: 9092},
		{name: "Huawei network ACL default deny", from: "client", ip: dmsBroker, port: 9011, hop: HopNetworkACL, reason: "default rule: deny"},
		{name: "Huawei network ACL deny rule first", from: "client", ip: dmsBroker, port: 9092, hop: HopNetworkACL, reason: "denies it",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Update(inv, "client-a", func(s *inventory.Subnet) error { s.CIDR = "10.1.5.0/24"; return nil })
			}},
		{name: "Azure peering Connected on both sides", from: "aks", ip: hdiBroker, port: 9092,
			change: func(inv *inventory.Store) {
				_, _ = inventory.Create(inv, &inventory.Peering{Meta: inventory.Meta{ID: "hdi-aks", Status: inventory.PeeringActive}, VPCID: "hdi", PeerVPCID: "aks"})
				_, _ = inventory.Create(inv, &inventory.Peering{Meta: inventory.Meta{ID: "aks-hdi", Status: inventory.PeeringActive}, VPCID: "aks", PeerVPCID: "hdi"})
			}},
		{name: "Azure peering on one side only", from: "aks", ip: hdiBroker, port: 9092, hop: HopPeering, reason: "from hdi to aks is not Connected (missing)",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Create(inv, &inventory.Peering{Meta: inventory.Meta{ID: "aks-hdi", Status: inventory.PeeringActive}, VPCID: "aks", PeerVPCID: "hdi"})
			}},
		{name: "an address outside every VPC", from: "cli", ip: "127.0.0.1", port: 8700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := policyNet(t, tc.change)
			v := n.Check(tc.from, tc.ip, tc.port)
			if tc.hop == "" {
				if !v.Allowed {
					t.Fatalf("refused: %s: %s", v.Hop, v.Reason)
				}
				return
			}
			if v.Allowed || v.Hop != tc.hop || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("verdict %+v, want refused at %s with %q", v, tc.hop, tc.reason)
			}
		})
	}
}

// TestPolicyEndpointHop checks the hop from a Huawei VPC endpoint to its
// backend: the VPCEP range must pass the backend's security group and its
// subnet's network ACL, and only an accepted endpoint forwards.
func TestPolicyEndpointHop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*inventory.Store)
		reason string // "" = allowed
	}{
		{name: "VPCEP range allowed by the security group and the network ACL"},
		{name: "security group lacks the VPCEP range", reason: "sg-kafka of broker 0 of dms (192.168.0.61) has no ingress rule for 198.19.128.0/17 tcp/9011",
			change: sgUpdate("sg-kafka", func(g *inventory.SecurityGroup) { g.Rules = g.Rules[1:] })},
		{name: "security group allows only part of the VPCEP range", reason: "no ingress rule for 198.19.128.0/17",
			change: sgUpdate("sg-kafka", func(g *inventory.SecurityGroup) { g.Rules[0].RemoteCIDR = "198.19.128.0/24" })},
		{name: "network ACL lacks the VPCEP range", reason: "network ACL acl-kafka of subnet kafka-a (192.168.0.0/24) denies inbound 198.19.128.0/17",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Update(inv, "acl-kafka", func(a *inventory.NetworkACL) error { a.IngressRules = a.IngressRules[1:]; return nil })
			}},
		{name: "endpoint not accepted", reason: "endpoint is not accepted (pendingAcceptance)",
			change: func(inv *inventory.Store) {
				_, _ = inventory.Update(inv, "ep", func(e *inventory.Endpoint) error { e.Status = "pendingAcceptance"; return nil })
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := policyNet(t, tc.change)
			v := n.endpointCheck("ep", 9011)()
			if tc.reason == "" {
				if !v.Allowed {
					t.Fatalf("refused: %s: %s", v.Hop, v.Reason)
				}
				return
			}
			if v.Allowed || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("verdict %+v, want refused with %q", v, tc.reason)
			}
		})
	}
}

// TestHostSource: a connection from a port (DialFromHost) leaves from the
// port's own cloud address under the port's security groups, not the VPC's
// client host: sg-msk has no egress rule, so msk-eni cannot open anything
// until it gets one; then the peering's routes decide.
func TestHostSource(t *testing.T) {
	n := policyNet(t, nil)
	src, err := n.hostAt("127.240.1.11")
	if err != nil || src.prefix.String() != "10.20.1.11/32" || len(src.groups) != 1 || src.groups[0] != "sg-msk" || src.vpc.ID != "msk" {
		t.Fatalf("hostAt: %+v %v", src, err)
	}
	if _, err := n.hostAt("127.240.1.99"); err == nil || !strings.Contains(err.Error(), "no port holds 127.240.1.99") {
		t.Fatalf("hostAt of an address no port holds: %v", err)
	}
	dst := mustAddr(t, "127.241.1.20") // 10.21.1.20 in cli, through pcx-1
	if v := n.evaluate(src, dst, 9092); v.Allowed || v.Hop != HopSecurityGroup || !strings.Contains(v.Reason, "security group sg-msk of port msk-eni (10.20.1.11) in VPC msk has no egress rule") {
		t.Fatalf("from msk-eni without an egress rule: %+v", v)
	}
	n = policyNet(t, sgUpdate("sg-msk", func(g *inventory.SecurityGroup) {
		g.Rules = append(g.Rules, inventory.SGRule{Direction: "egress", RemoteCIDR: "0.0.0.0/0"})
	}))
	src, _ = n.hostAt("127.240.1.11")
	if v := n.evaluate(src, dst, 9092); !v.Allowed {
		t.Fatalf("from msk-eni with an egress rule: %+v", v)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
