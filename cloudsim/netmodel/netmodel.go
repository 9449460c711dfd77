// Package netmodel is cloudsim's network on loopback. Linux routes all of
// 127.0.0.0/8 to lo, so every simulated address is a real address:
//
//   - each VPC owns a loopback block (inventory.VPC.AddressBlock); ports,
//     brokers and endpoints get addresses from it;
//   - each broker of a Kafka instance is a real Kafka-protocol broker
//     (franz-go kfake) listening on its own ListenerIP:Port and advertising
//     exactly its configured host (Broker.Advertised, an IP or a host name);
//   - an endpoint whose status is "accepted" really forwards TCP from
//     its IP:clientPort to the endpoint service's backend port IP:serverPort;
//     nothing listens on an endpoint address before that, so it refuses;
//   - [Network.DialFrom] dials as a client host inside a VPC (policy.go's
//     clientHost: the VPC's first subnet, its "default" security group if
//     any). A connection goes through only when the clouds would let it
//     (policy.go: security groups, route tables on both sides of a peering
//     or transit gateway, Azure peering state on both sides, Huawei network
//     ACLs, and for an endpoint the hop from the endpoint to its backend);
//     a refused connection is a silently dropped SYN, so the dial hangs
//     until the caller's deadline, and the drop is logged with its reason
//     ([Network.Drops], [Network.Diagnose]). DialFrom resolves host names
//     as cloud DNS does for that VPC (see [Network.Resolve]: private DNS
//     zones associated with it, its endpoints' DNS names, public MSK broker
//     names, its own brokers' names);
//   - an endpoint with advertised addresses (inventory.Endpoint.Advertised)
//     has a Kafka-aware forwarder that answers metadata with the addresses
//     of the endpoint's network (per-network advertised listeners, only
//     where the real service serves them: MSK multi-VPC connectivity).
//
// The network follows the inventory: it watches every change and starts or
// stops clusters, brokers and forwarders accordingly.
package netmodel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Network is the loopback network model of one sim.
type Network struct {
	inv *inventory.Store
	log *slog.Logger

	mu         sync.Mutex
	clusters   map[string]*Cluster     // by Kafka instance ID
	forwarders map[string][]*Forwarder // by endpoint ID
	errs       []string
	drops      []Drop
	sasl       map[string]saslMech // by AttrKafkaAuth name (kafkasasl.go)
	ca         ca                  // signs the TLS listeners' certificates (tls.go)
}

// New returns a network that follows inv.
func New(inv *inventory.Store) *Network {
	n := &Network{
		inv:        inv,
		log:        slog.Default().With("component", "cloudsim/netmodel"),
		clusters:   map[string]*Cluster{},
		forwarders: map[string][]*Forwarder{},
	}
	inv.Watch(n.onEvent)
	return n
}

func (n *Network) fail(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	n.log.Warn(msg)
	n.mu.Lock()
	n.errs = append(n.errs, time.Now().UTC().Format(time.RFC3339)+" "+msg)
	if len(n.errs) > 100 {
		n.errs = n.errs[len(n.errs)-100:]
	}
	n.mu.Unlock()
}

// Errors returns the recent reconcile errors (e.g. an address already in use).
func (n *Network) Errors() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.errs...)
}

func (n *Network) onEvent(ev inventory.Event) {
	switch ev.Kind {
	case inventory.KindKafka:
		n.reconcileKafka(ev)
	case inventory.KindEndpoint:
		n.reconcileEndpoint(ev.ID, ev.New)
	}
}

func (n *Network) reconcileKafka(ev inventory.Event) {
	n.mu.Lock()
	c := n.clusters[ev.ID]
	n.mu.Unlock()
	if ev.New == nil {
		if c != nil {
			c.Close()
			n.mu.Lock()
			delete(n.clusters, ev.ID)
			n.mu.Unlock()
		}
		return
	}
	inst := ev.New.(*inventory.KafkaInstance)
	if c == nil {
		c, err := StartCluster(inst)
		if err != nil {
			n.fail("start kafka instance %s: %v", inst.ID, err)
			return
		}
		n.mu.Lock()
		n.clusters[ev.ID] = c
		n.mu.Unlock()
		return
	}
	if err := c.Apply(inst); err != nil {
		n.fail("update kafka instance %s: %v", inst.ID, err)
	}
}

// Cluster returns the running cluster of a Kafka instance.
func (n *Network) Cluster(instanceID string) (*Cluster, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.clusters[instanceID]
	return c, ok
}

// backend returns the IP behind an endpoint service's port ID: a port's IP,
// or the listener IP of the broker that carries that port ID.
func (n *Network) backend(svc *inventory.EndpointService) (string, error) {
	if p, err := inventory.Get[*inventory.Port](n.inv, svc.PortID); err == nil && p.IP != "" {
		return p.IP, nil
	}
	for _, k := range inventory.List[*inventory.KafkaInstance](n.inv, inventory.Filter{}) {
		for _, b := range k.Brokers {
			if b.PortID == svc.PortID {
				return b.ListenerIP, nil
			}
		}
	}
	return "", fmt.Errorf("backend port %s of endpoint service %s: %w", svc.PortID, svc.ID, inventory.ErrNotFound)
}

func (n *Network) reconcileEndpoint(id string, obj inventory.Object) {
	n.mu.Lock()
	old := n.forwarders[id]
	delete(n.forwarders, id)
	n.mu.Unlock()
	var want []forwardSpec
	if obj != nil {
		ep := obj.(*inventory.Endpoint)
		if ep.Status == inventory.EndpointAccepted && ep.IP != "" {
			svc, err := inventory.Get[*inventory.EndpointService](n.inv, ep.ServiceID)
			if err != nil {
				n.fail("endpoint %s: service %s: %v", id, ep.ServiceID, err)
			} else if ip, err := n.backend(svc); err != nil {
				n.fail("endpoint %s: %v", id, err)
			} else {
				for _, pm := range svc.Ports {
					want = append(want, forwardSpec{
						listen: net.JoinHostPort(ep.IP, strconv.Itoa(pm.ClientPort)),
						target: net.JoinHostPort(ip, strconv.Itoa(pm.ServerPort)),
						adv:    ep.Advertised,
						sasl:   n.saslFor(ep),
						tls:    n.tlsFor(ep),
						check:  n.endpointCheck(id, pm.ClientPort),
					})
				}
			}
		}
	}
	// Keep forwarders that did not change; stop the others.
	var keep []*Forwarder
	for _, f := range old {
		still := false
		for i, w := range want {
			if w.listen == f.Listen && w.target == f.Target {
				still = true
				f.setCheck(w.check, n.drop)
				n.setAdvertised(id, f, w.adv)
				f.setSASL(w.sasl)
				f.setTLS(w.tls)
				want = append(want[:i], want[i+1:]...)
				break
			}
		}
		if still {
			keep = append(keep, f)
		} else {
			f.Close()
		}
	}
	for _, w := range want {
		f, err := Forward(w.listen, w.target)
		if err != nil {
			n.fail("endpoint %s: %v", id, err)
			continue
		}
		f.setCheck(w.check, n.drop)
		n.setAdvertised(id, f, w.adv)
		f.setSASL(w.sasl)
		f.setTLS(w.tls)
		keep = append(keep, f)
	}
	if len(keep) > 0 {
		n.mu.Lock()
		n.forwarders[id] = keep
		n.mu.Unlock()
	}
}

type forwardSpec struct {
	listen, target string
	adv            map[int32]string
	sasl           *saslServer
	tls            *tls.Config
	check          func() Verdict
}

func (n *Network) setAdvertised(id string, f *Forwarder, adv map[int32]string) {
	if err := f.SetAdvertised(adv); err != nil {
		n.fail("endpoint %s: %v", id, err)
	}
}

// ForwarderInfo describes a running forwarder.
type ForwarderInfo struct {
	Endpoint string `json:"endpoint"`
	Listen   string `json:"listen"`
	Target   string `json:"target"`
	// Advertised is the broker ID → host:port map a Kafka-aware forwarder
	// answers metadata with (empty for plain TCP forwarding).
	Advertised map[int32]string `json:"advertised,omitempty"`
}

// BrokerInfo describes a running broker.
type BrokerInfo struct {
	Instance   string `json:"instance"`
	ID         int32  `json:"id"`
	Listen     string `json:"listen"`
	Advertised string `json:"advertised"`
	Up         bool   `json:"up"`
	// PrivateListen is the broker's private listener (KafkaInstance.PrivatePort), if any.
	PrivateListen string `json:"privateListen,omitempty"`
}

// State is what listens where.
type State struct {
	Brokers    []BrokerInfo    `json:"brokers"`
	Forwarders []ForwarderInfo `json:"forwarders"`
	Errors     []string        `json:"errors,omitempty"`
}

// State returns every running broker and forwarder.
func (n *Network) State() State {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := State{Errors: append([]string(nil), n.errs...)}
	for id, c := range n.clusters {
		for _, b := range c.brokers {
			bi := BrokerInfo{Instance: id, ID: b.id, Listen: b.ln.listen, Advertised: b.ln.Addr().String(), Up: b.ln.isUp()}
			if int(b.id) < len(c.private) {
				bi.PrivateListen = c.private[b.id].Listen
			}
			st.Brokers = append(st.Brokers, bi)
		}
	}
	for id, fs := range n.forwarders {
		for _, f := range fs {
			st.Forwarders = append(st.Forwarders, ForwarderInfo{Endpoint: id, Listen: f.Listen, Target: f.Target, Advertised: f.Advertised()})
		}
	}
	sort.Slice(st.Brokers, func(i, j int) bool { return st.Brokers[i].Listen < st.Brokers[j].Listen })
	sort.Slice(st.Forwarders, func(i, j int) bool { return st.Forwarders[i].Listen < st.Forwarders[j].Listen })
	return st
}

// Close stops every cluster and forwarder.
func (n *Network) Close() {
	n.mu.Lock()
	cs, fs := n.clusters, n.forwarders
	n.clusters, n.forwarders = map[string]*Cluster{}, map[string][]*Forwarder{}
	n.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	for _, l := range fs {
		for _, f := range l {
			f.Close()
		}
	}
}

// ErrUnreachable is returned by DialFrom for a client network that does not exist.
var ErrUnreachable = errors.New("no route to host")

// DialFunc dials like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Reachable reports whether a client host of vpcID may open a TCP
// connection to ip:port (see Check); addresses outside every VPC block (the
// host itself, e.g. the sim's API) are reachable.
func (n *Network) Reachable(vpcID, ip string, port int) bool {
	return n.Check(vpcID, ip, port).Allowed
}

// DNSZoneType is the inventory config type of a private DNS zone (a Route 53
// private hosted zone): Properties "name" (the zone's domain, lower case, no
// trailing dot), "vpcs" (comma-separated IDs of the associated VPCs) and one
// "record:<fqdn>" per record set, "A <ip>[,<ip>...]" or "CNAME <target>".
const DNSZoneType = "private-dns-zone"

// Resolve resolves a host name as cloud-internal DNS does for a client in
// vpcID:
//   - a private DNS zone associated with the VPC whose domain contains the
//     name answers for it alone (the most specific zone wins); a name it has
//     no record for does not exist (Route 53 Resolver does not fall back to
//     public DNS inside a private zone's namespace:
//     https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zone-private-considerations.html);
//   - the DNS names of accepted endpoints in that VPC resolve to the endpoint's IP;
//   - MSK broker names (b-N.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com)
//     are public DNS names resolving to the brokers' private IPs from
//     anywhere, so a client outside the cluster's VPC resolves them and
//     still needs a route to the IP (AWS blogs "How Goldman Sachs builds
//     cross-account connectivity to their Amazon MSK clusters with AWS
//     PrivateLink" and "Secure connectivity patterns to access Amazon MSK
//     across AWS Regions": the client VPC overrides them with a private
//     hosted zone);
//   - other broker host names resolve only inside their instance's VPC.
func (n *Network) Resolve(vpcID, host string) (string, error) {
	return n.resolve(vpcID, strings.TrimSuffix(strings.ToLower(host), "."), 0)
}

func (n *Network) resolve(vpcID, host string, depth int) (string, error) {
	notFound := &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	if depth > 8 {
		return "", &net.DNSError{Err: "CNAME loop", Name: host}
	}
	if zone := n.privateZone(vpcID, host); zone != nil {
		rec := zone.Properties["record:"+host]
		typ, val, _ := strings.Cut(rec, " ")
		switch typ {
		case "A":
			ip, _, _ := strings.Cut(val, ",")
			return ip, nil
		case "CNAME":
			return n.resolve(vpcID, strings.TrimSuffix(strings.ToLower(val), "."), depth+1)
		}
		return "", notFound
	}
	for _, ep := range inventory.List[*inventory.Endpoint](n.inv, inventory.Filter{}) {
		if ep.VPCID != vpcID || ep.Status != inventory.EndpointAccepted || ep.IP == "" {
			continue
		}
		for _, d := range ep.DNSNames {
			if strings.EqualFold(d, host) {
				return ep.IP, nil
			}
		}
	}
	for _, k := range inventory.List[*inventory.KafkaInstance](n.inv, inventory.Filter{}) {
		if k.VPCID != vpcID && k.Engine != "msk" {
			continue
		}
		for _, b := range k.Brokers {
			if strings.EqualFold(b.Host, host) {
				return b.ListenerIP, nil
			}
		}
	}
	return "", notFound
}

// privateZone returns the most specific private DNS zone associated with
// vpcID whose domain contains host (nil when none does).
func (n *Network) privateZone(vpcID, host string) *inventory.Config {
	var best *inventory.Config
	for _, z := range inventory.List[*inventory.Config](n.inv, inventory.Filter{}) {
		if z.Type != DNSZoneType {
			continue
		}
		name := z.Properties["name"]
		if name == "" || (host != name && !strings.HasSuffix(host, "."+name)) {
			continue
		}
		if !slices.Contains(strings.Split(z.Properties["vpcs"], ","), vpcID) {
			continue
		}
		if best == nil || len(name) > len(best.Properties["name"]) {
			best = z
		}
	}
	return best
}

// Diagnose evaluates a connection from a client host of vpcID to address
// (ip:port or host:port, resolved in that VPC) without dialing: the
// verdict of the path to the address and, for an endpoint, of the hop from
// the endpoint to its backend.
func (n *Network) Diagnose(vpcID, address string) (Verdict, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return Verdict{}, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return Verdict{}, fmt.Errorf("port %q: want 1..65535", port)
	}
	ip := host
	if _, perr := netip.ParseAddr(host); perr != nil {
		if ip, err = n.Resolve(vpcID, host); err != nil {
			return Verdict{From: vpcID, To: address, Hop: "dns", Reason: err.Error()}, nil
		}
	}
	_, v := n.verdictAt(vpcID, ip, p)
	return v, nil
}

// verdictAt is verdict for an address as a client of vpcID writes it: a
// declared (cloud) address is first mapped to the twin's loopback address
// its VPC's routing reaches (declared.go). It returns the address to dial.
func (n *Network) verdictAt(vpcID, ip string, port int) (string, Verdict) {
	if a, err := netip.ParseAddr(ip); err == nil && isDeclared(a) {
		lo, why, ok := n.fromDeclared(vpcID, a)
		if !ok {
			return ip, Verdict{From: vpcID, To: net.JoinHostPort(ip, strconv.Itoa(port)), Hop: HopRoute, Reason: why}
		}
		ip = lo.String()
	}
	return ip, n.verdict(vpcID, ip, port)
}

// verdict is Check plus, when ip:port is an endpoint's forwarder, the hop
// from the endpoint to its backend.
func (n *Network) verdict(vpcID, ip string, port int) Verdict {
	v := n.Check(vpcID, ip, port)
	if !v.Allowed {
		return v
	}
	if f := n.forwarderAt(net.JoinHostPort(ip, strconv.Itoa(port))); f != nil {
		if check := f.getCheck(); check != nil {
			hop := check()
			hop.Path = append(v.Path, hop.Path...)
			return hop
		}
	}
	return v
}

func (n *Network) forwarderAt(listen string) *Forwarder {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, fs := range n.forwarders {
		for _, f := range fs {
			if f.Listen == listen {
				return f
			}
		}
	}
	return nil
}

// Drop is a connection the network refused.
type Drop struct {
	Time   time.Time `json:"time"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Hop    string    `json:"hop"`
	Reason string    `json:"reason"`
}

func (n *Network) drop(v Verdict) {
	n.log.Info("connection dropped", "from", v.From, "to", v.To, "hop", v.Hop, "reason", v.Reason)
	n.mu.Lock()
	n.drops = append(n.drops, Drop{Time: time.Now().UTC(), From: v.From, To: v.To, Hop: v.Hop, Reason: v.Reason})
	if len(n.drops) > 200 {
		n.drops = n.drops[len(n.drops)-200:]
	}
	n.mu.Unlock()
}

// Drops returns the recently refused connections, oldest first.
func (n *Network) Drops() []Drop {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Drop(nil), n.drops...)
}

// ConnectTimeout bounds a dial through a dropping path when the caller's
// context has no deadline, as the OS connect timeout does (shorter than
// Linux's ~2 minutes of SYN retries, tcp_syn_retries(7), to keep tests quick).
var ConnectTimeout = 20 * time.Second

// timeoutError is what a dial to a silently dropping path returns once the
// caller gives up: a timeout, as a real SYN without an answer gives. The
// text adds the twin's diagnosis (only DialFrom, a twin dialer, returns it).
type timeoutError struct{ v Verdict }

func (e timeoutError) Error() string {
	return fmt.Sprintf("i/o timeout (cloudsim dropped it: %s: %s)", e.v.Hop, e.v.Reason)
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// DialFrom returns a dialer for a client host inside vpcID (see Check and
// Resolve). A connection the clouds would drop hangs until ctx ends and
// then fails with a timeout; an allowed connection to an address where
// nothing listens is refused (RST), as on a real network.
func (n *Network) DialFrom(vpcID string) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ip := host
		if _, perr := netip.ParseAddr(host); perr != nil {
			if ip, err = n.Resolve(vpcID, host); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
		}
		if _, err := inventory.Get[*inventory.VPC](n.inv, vpcID); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: tcpAddr(ip, port), Err: fmt.Errorf("%w (client network %s does not exist)", ErrUnreachable, vpcID)}
		}
		p, _ := strconv.Atoi(port)
		var v Verdict
		if ip, v = n.verdictAt(vpcID, ip, p); !v.Allowed {
			return n.dropDial(ctx, network, ip, port, v)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
	}
}

// dropDial is a dial the network drops: it hangs until ctx ends (or
// ConnectTimeout without a deadline) and fails with a timeout.
func (n *Network) dropDial(ctx context.Context, network, ip, port string, v Verdict) (net.Conn, error) {
	n.drop(v)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ConnectTimeout)
		defer cancel()
	}
	<-ctx.Done() // the SYN is dropped: nothing answers
	return nil, &net.OpError{Op: "dial", Net: network, Addr: tcpAddr(ip, port), Err: timeoutError{v}}
}

// DialFromHost returns a dialer for the host holding loopback address
// hostIP, a port of the inventory (e.g. a SaaS deployment's broker, whose
// connectors dial out from it): connections leave from its own cloud
// address, under its own security groups and its VPC's routes, and are
// admitted or dropped as DialFrom's are.
func (n *Network) DialFromHost(hostIP string) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		src, err := n.hostAt(hostIP)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%w (%v)", ErrUnreachable, err)}
		}
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ip := host
		if _, perr := netip.ParseAddr(host); perr != nil {
			if ip, err = n.Resolve(src.vpc.ID, host); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
		}
		p, _ := strconv.Atoi(port)
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%q is not an IP address", ip)}
		}
		if isDeclared(a) {
			lo, why, ok := n.fromDeclared(src.vpc.ID, a)
			if !ok {
				return n.dropDial(ctx, network, ip, port, Verdict{From: src.what, To: address, Hop: HopRoute, Reason: why})
			}
			a, ip = lo, lo.String()
		}
		v := n.evaluate(src, a, p)
		if v.Allowed {
			if f := n.forwarderAt(net.JoinHostPort(ip, port)); f != nil {
				if check := f.getCheck(); check != nil {
					v = check()
				}
			}
		}
		if !v.Allowed {
			return n.dropDial(ctx, network, ip, port, v)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
	}
}

func tcpAddr(ip, port string) net.Addr {
	p, _ := strconv.Atoi(port)
	a, _ := netip.ParseAddr(ip)
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(p)))
}

// Forwarder forwards TCP connections from Listen to Target. With
// advertised addresses (SetAdvertised) it is Kafka-aware: see kafkaproxy.go.
type Forwarder struct {
	Listen, Target string
	ln             net.Listener
	mu             sync.Mutex
	conns          map[net.Conn]struct{}
	closed         bool
	advRaw         map[int32]string
	adv            map[int32]hostPort
	sasl           *saslServer
	tls            *tls.Config // non-nil: terminate TLS first (tls.go)
	check          func() Verdict
	dropped        func(Verdict)
}

// setSASL makes the forwarder authenticate connections accepted from now on
// with s (nil: forward without authenticating).
func (f *Forwarder) setSASL(s *saslServer) {
	f.mu.Lock()
	f.sasl = s
	f.mu.Unlock()
}

// setTLS makes the forwarder terminate TLS with cfg (nil: plain TCP) on
// connections accepted from now on.
func (f *Forwarder) setTLS(cfg *tls.Config) {
	f.mu.Lock()
	f.tls = cfg
	f.mu.Unlock()
}

// setCheck sets the admission check run for each accepted connection and
// the function told about refused ones.
func (f *Forwarder) setCheck(check func() Verdict, dropped func(Verdict)) {
	f.mu.Lock()
	f.check, f.dropped = check, dropped
	f.mu.Unlock()
}

func (f *Forwarder) getCheck() func() Verdict {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.check
}

// SetAdvertised sets the broker ID → host:port addresses the forwarder
// answers Kafka metadata with, for connections accepted from now on; nil or
// empty makes it a plain TCP forwarder again. Malformed entries are skipped
// and reported.
func (f *Forwarder) SetAdvertised(adv map[int32]string) error {
	var parsed map[int32]hostPort
	var err error
	if len(adv) > 0 {
		parsed, err = parseAdvertised(adv)
	}
	f.mu.Lock()
	f.advRaw, f.adv = maps.Clone(adv), parsed
	f.mu.Unlock()
	return err
}

// Advertised returns the addresses set by SetAdvertised.
func (f *Forwarder) Advertised() map[int32]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.advRaw)
}

// Forward starts forwarding listen → target.
func Forward(listen, target string) (*Forwarder, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("forward %s -> %s: %w", listen, target, err)
	}
	f := &Forwarder{Listen: listen, Target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go f.serve()
	return f, nil
}

func (f *Forwarder) track(c net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		if f.closed {
			return false
		}
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
	return true
}

func (f *Forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.pipe(c)
	}
}

func (f *Forwarder) pipe(c net.Conn) {
	defer c.Close()
	if check := f.getCheck(); check != nil {
		if v := check(); !v.Allowed {
			// The backend hop drops the packets: the client's connection
			// stays silent (no data, no reset) until it gives up.
			f.mu.Lock()
			dropped := f.dropped
			f.mu.Unlock()
			if dropped != nil {
				dropped(v)
			}
			if f.track(c, true) {
				_, _ = io.Copy(io.Discard, c)
				f.track(c, false)
			}
			return
		}
	}
	f.mu.Lock()
	tcfg := f.tls
	f.mu.Unlock()
	raw := c
	if tcfg != nil {
		// A TLS-only listener: the handshake comes first; a plaintext
		// client fails it and is closed, as on the real service.
		tc := tls.Server(c, tcfg)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		_ = c.SetDeadline(time.Time{})
		c = tc
	}
	up, err := net.DialTimeout("tcp", f.Target, 5*time.Second)
	if err != nil {
		return // the target is down: the client sees the connection close
	}
	defer up.Close()
	if !f.track(raw, true) || !f.track(up, true) {
		return
	}
	defer f.track(raw, false)
	defer f.track(up, false)
	f.mu.Lock()
	adv, srv := f.adv, f.sasl
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn, copyFn func(io.Writer, io.Reader)) {
		copyFn(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok { // *net.TCPConn, *tls.Conn
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	if len(adv) > 0 || srv != nil {
		client := &lockedWriter{w: c}
		kc := &kafkaConn{adv: adv, pending: map[int32][2]int16{}, close: func() { _ = c.Close(); _ = up.Close() }}
		if srv != nil {
			kc.sasl = &saslState{srv: srv, client: client}
		}
		go cp(up, c, kc.requests)
		go cp(c, up, func(_ io.Writer, src io.Reader) { kc.responses(client, src) })
	} else {
		plain := func(dst io.Writer, src io.Reader) { _, _ = io.Copy(dst, src) }
		go cp(up, c, plain)
		go cp(c, up, plain)
	}
	<-done
	<-done
}

// Close stops listening and cuts every forwarded connection.
func (f *Forwarder) Close() {
	_ = f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
}
