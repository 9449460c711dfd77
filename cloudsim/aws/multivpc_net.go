package aws

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
)

// Client-side broker addresses of MSK multi-VPC private connectivity. MSK
// serves a listener of its own per VPC connection and authentication scheme
// (the VPC-connectivity bootstrap strings of GetBootstrapBrokers,
// BootstrapBrokerStringVpcConnectivity* in
// aws-sdk-go-v2/service/kafka/api_op_GetBootstrapBrokers.go; ports 14001+:
// https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html),
// so the metadata a client reads through it names the client-side
// addresses. The network model does this with Kafka-aware forwarders
// (inventory.Endpoint.Advertised) and endpoint DNS names
// (inventory.Endpoint.DNSNames). PrivateLink through a network load
// balancer has no such thing: an NLB forwards bytes unchanged.
//
//   - multi-VPC: an AVAILABLE VPC connection gets, per broker, an address
//     in the client subnet on which port 14001+N forwards to broker N, the
//     cluster's multi-VPC name b-N.<scheme>.<cluster>… resolving to it in the
//     client VPC, and metadata naming those addresses (the multi-VPC
//     bootstrap string of GetBootstrapBrokers). Any other state removes them.
//
// The listeners of an iam VPC connection authenticate clients with MSK IAM
// themselves (msk_iam.go, netmodel kafkasasl.go) and forward authenticated
// connections to the brokers' own listener; the scram and tls ones forward
// to it and authenticate as it does (the cluster's SASL users).

const typeVpcConnListener = "msk-vpc-connection-listener"

// vpcBrokerHost is broker index i's multi-VPC host name for an auth scheme (iam, scram, tls).
func vpcBrokerHost(clusterName, scheme, region string, i int) string {
	return fmt.Sprintf("b-%d.%s.%s.x1y2z3.c2.kafka.%s.amazonaws.com", i+1, scheme, clusterName, region)
}

// vpcPort is broker index i's multi-VPC port.
func vpcPort(i int) int { return 14001 + i }

// schemeOf maps a VPC connection's authentication to the bootstrap scheme.
func schemeOf(auth string) string {
	switch auth {
	case "SASL_SCRAM":
		return "scram"
	case "TLS":
		return "tls"
	}
	return "iam"
}

// watchVpcConnections keeps the client-side listeners of VPC connections in
// line with their state.
func (a *api) watchVpcConnections() {
	a.inv.Watch(func(ev inventory.Event) {
		if ev.Kind != inventory.KindEndpoint {
			return
		}
		ep, _ := ev.New.(*inventory.Endpoint)
		if ep == nil {
			ep, _ = ev.Old.(*inventory.Endpoint)
		}
		if ep == nil || !isType(ep.Attrs, typeVpcConnection) {
			return
		}
		if ev.New != nil && ep.Status == "AVAILABLE" {
			a.vpcConnectionListeners(ep)
		} else {
			a.removeVpcConnectionListeners(ep.ID)
		}
	})
}

// vpcConnectionListeners creates the per-broker listeners of an AVAILABLE
// VPC connection (once).
func (a *api) vpcConnectionListeners(conn *inventory.Endpoint) {
	a.lmu.Lock()
	defer a.lmu.Unlock()
	for _, x := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if isType(x.Attrs, typeVpcConnListener) && x.Attrs["parent"] == conn.ID {
			return // already there
		}
	}
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, conn.Attrs["targetClusterArn"])
	if err != nil {
		return
	}
	region := k.Region
	if region == "" {
		region = conn.Region
	}
	scheme := schemeOf(conn.Attrs["authentication"])
	bs := append([]inventory.Broker(nil), k.Brokers...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	adv := map[int32]string{}
	var names []string
	for i, b := range bs {
		adv[b.ID] = vpcBrokerHost(k.Name, scheme, region, i) + ":" + strconv.Itoa(vpcPort(i))
		names = append(names, vpcBrokerHost(k.Name, scheme, region, i))
	}
	for i, b := range bs {
		if b.PortID == "" {
			continue // no network interface to forward to
		}
		ip, err := a.inv.AllocateIP(conn.SubnetID)
		if err != nil {
			continue // subnet full: this broker stays unreachable from the client VPC
		}
		id := conn.ID + ":broker-" + strconv.Itoa(int(b.ID))
		if _, err := inventory.Create(a.inv, &inventory.EndpointService{
			Meta:  inventory.Meta{ID: id, Account: k.Account, Region: k.Region, Status: "available"},
			VPCID: k.VPCID, PortID: b.PortID,
			Ports: []inventory.PortMapping{{ClientPort: vpcPort(i), ServerPort: b.Port, Protocol: "TCP"}},
			Attrs: map[string]string{attrType: typeVpcConnListener, "parent": conn.ID},
		}); err != nil {
			a.inv.ReleaseIP(ip)
			continue
		}
		if _, err := inventory.Create(a.inv, &inventory.Endpoint{
			Meta:      inventory.Meta{ID: id, Account: conn.Account, Region: conn.Region, Status: inventory.EndpointAccepted},
			ServiceID: id, VPCID: conn.VPCID, SubnetID: conn.SubnetID, IP: ip,
			DNSNames: []string{vpcBrokerHost(k.Name, scheme, region, i)}, Advertised: adv,
			Attrs: listenerAttrs(conn.ID, k, scheme, names),
		}); err != nil {
			_ = a.inv.Delete(inventory.KindEndpointService, id)
			a.inv.ReleaseIP(ip)
		}
	}
}

// removeVpcConnectionListeners removes a VPC connection's listeners and frees their addresses.
func (a *api) removeVpcConnectionListeners(connID string) {
	for _, x := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if isType(x.Attrs, typeVpcConnListener) && x.Attrs["parent"] == connID {
			_ = a.inv.Delete(inventory.KindEndpoint, x.ID)
			if x.IP != "" && a.inv.Owner(x.IP) == "reserved" {
				a.inv.ReleaseIP(x.IP)
			}
		}
	}
	for _, x := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{}) {
		if isType(x.Attrs, typeVpcConnListener) && x.Attrs["parent"] == connID {
			_ = a.inv.Delete(inventory.KindEndpointService, x.ID)
		}
	}
}

// listenerAttrs are the attributes of a VPC connection's client-side
// listener; an iam one authenticates with MSK IAM (SASL/OAUTHBEARER; the
// VPC-connectivity SASL/IAM bootstrap string of GetBootstrapBrokers).
func listenerAttrs(connID string, k *inventory.KafkaInstance, scheme string, names []string) map[string]string {
	m := map[string]string{attrType: typeVpcConnListener, "parent": connID, "clusterArn": k.ID}
	if scheme == "iam" {
		m[netmodel.AttrKafkaAuth] = saslIAM
	}
	if !k.TLS {
		// Multi-VPC private connectivity encrypts in transit, whatever the
		// scheme (https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html:
		// "TLS encryption in transit"); the twin terminates TLS here when
		// the brokers behind it are plaintext (netmodel/tls.go), and passes
		// the brokers' own TLS through when they have it.
		m[netmodel.AttrTLS] = "true"
		m[netmodel.AttrTLSNames] = strings.Join(names, ",")
	}
	return m
}
