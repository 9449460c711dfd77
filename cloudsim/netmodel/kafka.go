package netmodel

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Cluster is a running Kafka instance: one kfake cluster whose brokers each
// listen on their own loopback address and advertise their configured host.
type Cluster struct {
	ID      string
	kf      *kfake.Cluster
	brokers []*clusterBroker // indexed by broker ID
	caPEM   []byte
	// private are the brokers' private listeners (KafkaInstance.PrivatePort),
	// indexed by broker ID; nil without one.
	private []*Forwarder
	// next is the next listener kfake's ListenFn hands out; inst is the
	// instance as started (for brokers added later).
	next int
	inst *inventory.KafkaInstance
}

type clusterBroker struct {
	id int32
	ln *brokerListener
}

// StartCluster starts the brokers of a Kafka instance. Broker IDs must be
// 0..n-1 (kfake numbers its nodes in order).
func StartCluster(inst *inventory.KafkaInstance) (*Cluster, error) {
	bs := append([]inventory.Broker(nil), inst.Brokers...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	if len(bs) == 0 {
		return nil, fmt.Errorf("kafka instance %s has no brokers", inst.ID)
	}
	c := &Cluster{ID: inst.ID, inst: inst}
	for i, b := range bs {
		if b.ID != int32(i) {
			return nil, fmt.Errorf("kafka instance %s: broker IDs must be 0..%d, got %d", inst.ID, len(bs)-1, b.ID)
		}
		if _, err := netip.ParseAddr(b.ListenerIP); err != nil {
			return nil, fmt.Errorf("kafka instance %s broker %d: listener IP %q: %w", inst.ID, b.ID, b.ListenerIP, err)
		}
		ln := newBrokerListener(net.JoinHostPort(b.ListenerIP, strconv.Itoa(b.Port)))
		ln.setAdvertised(advertisedAddr(b))
		c.brokers = append(c.brokers, &clusterBroker{id: b.ID, ln: ln})
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(len(bs)),
		kfake.ClusterID("cloudsim-" + inst.ID),
		kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(_, _ string) (net.Listener, error) {
			// kfake asks for its brokers' listeners in order, at the start
			// and for each node added later (kafka_grow.go).
			if c.next >= len(c.brokers) {
				return nil, fmt.Errorf("kafka instance %s: unexpected extra listener", inst.ID)
			}
			l := c.brokers[c.next].ln
			c.next++
			return l, nil
		}),
	}
	if len(inst.SASLUsers) > 0 {
		mech := inst.SASLMechanism
		if mech == "" {
			mech = "PLAIN"
		}
		opts = append(opts, kfake.EnableSASL())
		for u, p := range inst.SASLUsers {
			opts = append(opts, kfake.Superuser(mech, u, p))
		}
	}
	if inst.TLS {
		cfg, caPEM, err := selfSigned(inst)
		if err != nil {
			return nil, err
		}
		c.caPEM = caPEM
		opts = append(opts, kfake.TLS(cfg))
	}
	// Bring the listeners up before kfake starts accepting on them.
	for i, b := range bs {
		if b.Down {
			continue
		}
		if err := c.brokers[i].ln.up(); err != nil {
			c.closeListeners()
			return nil, fmt.Errorf("kafka instance %s broker %d: %w", inst.ID, b.ID, err)
		}
	}
	kf, err := kfake.NewCluster(opts...)
	if err != nil {
		c.closeListeners()
		return nil, fmt.Errorf("kafka instance %s: start brokers: %w", inst.ID, err)
	}
	c.kf = kf
	if len(inst.SASLUsers) > 0 && (inst.SASLMechanism == "" || inst.SASLMechanism == "PLAIN") {
		c.rejectBadPlain(inst.SASLUsers)
	}
	if err := c.startPrivate(inst, bs); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// startPrivate starts the private listeners of an instance with a
// PrivatePort: per broker, a Kafka-aware forwarder ListenerIP:PrivatePort →
// the broker's listener that answers metadata with every broker's
// ListenerIP:PrivatePort, as a listener dedicated to in-VPC clients does
// (TLS connections pass through unchanged, so over TLS metadata names the
// brokers' own listener).
func (c *Cluster) startPrivate(inst *inventory.KafkaInstance, bs []inventory.Broker) error {
	if inst.PrivatePort == 0 {
		return nil
	}
	adv := map[int32]string{}
	for _, b := range bs {
		if b.Port == inst.PrivatePort {
			return nil // the brokers' own listener is the private one
		}
		adv[b.ID] = net.JoinHostPort(b.ListenerIP, strconv.Itoa(inst.PrivatePort))
	}
	for _, b := range bs {
		f, err := Forward(adv[b.ID], net.JoinHostPort(b.ListenerIP, strconv.Itoa(b.Port)))
		if err != nil {
			return fmt.Errorf("kafka instance %s broker %d: private listener: %w", inst.ID, b.ID, err)
		}
		c.private = append(c.private, f)
		if err := f.SetAdvertised(adv); err != nil {
			return fmt.Errorf("kafka instance %s broker %d: private listener: %w", inst.ID, b.ID, err)
		}
	}
	return nil
}

// rejectBadPlain answers a SASL/PLAIN authentication with wrong credentials
// as Kafka does (SASL_AUTHENTICATION_FAILED) instead of kfake's bare
// connection close, so clients can tell refused credentials from a network
// fault. (kfake still closes on bad SCRAM proofs.)
func (c *Cluster) rejectBadPlain(users map[string]string) {
	users = maps.Clone(users)
	c.kf.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.kf.KeepControl()
		r := req.(*kmsg.SASLAuthenticateRequest)
		parts := bytes.Split(r.SASLAuthBytes, []byte{0})
		if len(parts) != 3 {
			return nil, nil, false
		}
		if pass, ok := users[string(parts[1])]; ok && pass == string(parts[2]) {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
}

func (c *Cluster) closeListeners() {
	for _, b := range c.brokers {
		_ = b.ln.Close()
	}
}

func advertisedAddr(b inventory.Broker) string {
	h := b.AdvertisedHost()
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	return net.JoinHostPort(h, strconv.Itoa(b.Port))
}

// Apply brings the running brokers in line with the instance: advertised
// hosts and up/down. Listener addresses cannot change.
func (c *Cluster) Apply(inst *inventory.KafkaInstance) error {
	if err := c.grow(inst); err != nil { // kafka_grow.go
		return err
	}
	for _, b := range inst.Brokers {
		if b.ID < 0 || int(b.ID) >= len(c.brokers) {
			return fmt.Errorf("broker %d: not part of the running cluster", b.ID)
		}
		cb := c.brokers[b.ID]
		if want := net.JoinHostPort(b.ListenerIP, strconv.Itoa(b.Port)); want != cb.ln.listen {
			return fmt.Errorf("broker %d: listener cannot move from %s to %s", b.ID, cb.ln.listen, want)
		}
		cb.ln.setAdvertised(advertisedAddr(b))
		if b.Down {
			cb.ln.down()
		} else if err := cb.ln.up(); err != nil {
			return fmt.Errorf("broker %d: %w", b.ID, err)
		}
	}
	return nil
}

// Kfake returns the underlying kfake cluster (for tests that need its controls).
func (c *Cluster) Kfake() *kfake.Cluster { return c.kf }

// CACertPEM returns the CA certificate of a TLS instance (nil without TLS).
func (c *Cluster) CACertPEM() []byte { return c.caPEM }

// Close stops every broker and private listener.
func (c *Cluster) Close() {
	for _, f := range c.private {
		f.Close()
	}
	if c.kf != nil {
		c.kf.Close()
	}
	c.closeListeners()
}

// advertisedAddrT is a net.Addr whose String is the advertised host:port.
type advertisedAddrT string

func (a advertisedAddrT) Network() string { return "tcp" }
func (a advertisedAddrT) String() string  { return string(a) }

// brokerListener is the listener kfake accepts on. Its Addr is what the
// broker advertises (kfake reads it for every metadata response), and the
// real socket on listen can be closed and reopened (broker down/up) while
// kfake keeps accepting from the same listener.
type brokerListener struct {
	listen string
	adv    sync.Mutex
	addr   advertisedAddrT

	mu     sync.Mutex
	real   net.Listener
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	open   map[net.Conn]struct{}
}

func newBrokerListener(listen string) *brokerListener {
	return &brokerListener{listen: listen, conns: make(chan net.Conn), closed: make(chan struct{}), open: map[net.Conn]struct{}{}}
}

func (l *brokerListener) setAdvertised(a string) {
	l.adv.Lock()
	l.addr = advertisedAddrT(a)
	l.adv.Unlock()
}

func (l *brokerListener) isUp() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.real != nil
}

func (l *brokerListener) up() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.real != nil {
		return nil
	}
	select {
	case <-l.closed:
		return net.ErrClosed
	default:
	}
	rl, err := net.Listen("tcp", l.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", l.listen, err)
	}
	l.real = rl
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.open[c] = struct{}{}
			l.mu.Unlock()
			select {
			case l.conns <- &trackedConn{Conn: c, l: l}:
			case <-l.closed:
				_ = c.Close()
				return
			}
		}
	}()
	return nil
}

// down closes the socket and cuts the broker's open connections.
func (l *brokerListener) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.real == nil {
		return
	}
	_ = l.real.Close()
	l.real = nil
	for c := range l.open {
		_ = c.Close()
	}
	l.open = map[net.Conn]struct{}{}
}

type trackedConn struct {
	net.Conn
	l *brokerListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.open, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Accept implements net.Listener.
func (l *brokerListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *brokerListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	l.down()
	return nil
}

// Addr implements net.Listener: the advertised address.
func (l *brokerListener) Addr() net.Addr {
	l.adv.Lock()
	defer l.adv.Unlock()
	return l.addr
}

// selfSigned returns a TLS config for an instance's brokers and the CA PEM
// clients trust. The certificate names every listener IP and broker host
// name plus "kafka.<instance>.cloudsim".
func selfSigned(inst *inventory.KafkaInstance) (*tls.Config, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kafka." + inst.ID + ".cloudsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"kafka." + inst.ID + ".cloudsim"},
	}
	for _, b := range inst.Brokers {
		if ip := net.ParseIP(b.ListenerIP); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
		if b.Host != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, b.Host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if err != nil {
		return nil, nil, fmt.Errorf("tls key pair: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, certPEM, nil
}
