package netmodel

// SOCKS5 endpoints per network: a process outside the twin (a Topoflow probe
// worker, kcat, curl --socks5-hostname) acts as a host inside a VPC/VNet by
// connecting through that network's SOCKS5 listener. Each CONNECT is dialed
// with [Network.DialFrom] of that network, so host names resolve through
// the network's private DNS and reachability follows the network's rules,
// exactly as for in-process clients.
//
// One loopback listener per network, rather than one listener where the
// RFC 1929 user name selects the network: the listener itself is the host's
// identity (no credential doubles as an address), any SOCKS5 client works
// without authentication support, and Azure VNet IDs (long resource paths
// with slashes) need no escaping in proxy URLs. A listener is created the
// first time a network's address is asked for and keeps its port for the
// sim's life, so a probe keeps working across admin resets.
//
// Only the CONNECT command of RFC 1928 (https://www.rfc-editor.org/rfc/rfc1928)
// with "no authentication" is served. Dial failures are answered with the
// reply code of their cause, following the errno mapping of common servers
// (Dante: ENETUNREACH→0x03, EHOSTUNREACH→0x04, ECONNREFUSED→0x05,
// ETIMEDOUT→0x06):
//
//	0x03 network unreachable  the target is not routed from the network (ErrUnreachable)
//	0x04 host unreachable     a host name that the network's DNS does not resolve
//	0x05 connection refused   nothing listens at the target (RST)
//	0x06 TTL expired          the dial timed out (a silently dropped SYN): never shown as a reset
//	0x01 general failure      anything else
//
// Fault rules (cloudsim/faults) on op "net.connect.<network ID>" act on the
// CONNECTs of that network's listener before they are dialed: latency
// delays them (a slow path; past DialTimeout the dial times out as a dropped
// SYN would), timeout blocks them and answers TTL expired, error and
// throttle answer connection refused. Removing the rule releases the
// CONNECTs it holds. Tests use it to hold a probe's verification at a
// point of their choosing, whatever the clouds' rules allow.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// ConnectFaultOp is the prefix of the fault op of a network's CONNECTs: the
// op is ConnectFaultOp + the network's ID.
const ConnectFaultOp = "net.connect."

// FaultChecker is what SOCKS asks before dialing a CONNECT (a
// *faults.Injector).
type FaultChecker interface {
	Check(ctx context.Context, op string) *faults.Fault
}

// SOCKS5 reply codes (RFC 1928 section 6).
const (
	SOCKSSucceeded          byte = 0x00
	SOCKSGeneralFailure     byte = 0x01
	SOCKSNetworkUnreachable byte = 0x03
	SOCKSHostUnreachable    byte = 0x04
	SOCKSConnectionRefused  byte = 0x05
	SOCKSTTLExpired         byte = 0x06
	SOCKSCommandNotSupp     byte = 0x07
	SOCKSAddrTypeNotSupp    byte = 0x08
)

// SOCKSDialTimeout bounds one CONNECT's dial inside the twin; a longer
// silence is answered TTL expired.
const SOCKSDialTimeout = 30 * time.Second

// SOCKS serves a SOCKS5 listener per network of a [Network].
type SOCKS struct {
	net  *Network
	host string
	// DialTimeout bounds one CONNECT's dial (default SOCKSDialTimeout): a
	// dropped SYN is answered TTL expired when it passes.
	DialTimeout time.Duration
	// Faults, when set, is asked about every CONNECT (op ConnectFaultOp +
	// network ID) before it is dialed.
	Faults FaultChecker

	mu        sync.Mutex
	listeners map[string]*socksListener // by VPC ID
	closed    bool
	failures  []SOCKSFailure
}

// SOCKSFailure is a CONNECT the twin refused, with the twin's own reason
// (DialFrom's error): a twin-only diagnosis, the product must not need it.
type SOCKSFailure struct {
	At      time.Time `json:"at"`
	Network string    `json:"network"`
	Target  string    `json:"target"`
	Reply   byte      `json:"reply"`
	Error   string    `json:"error"`
}

// maxSOCKSFailures bounds the remembered failures.
const maxSOCKSFailures = 200

// Failures returns the remembered refused CONNECTs, oldest first, of network
// and target when given ("" matches any).
func (s *SOCKS) Failures(network, target string) []SOCKSFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SOCKSFailure
	for _, f := range s.failures {
		if (network == "" || f.Network == network) && (target == "" || f.Target == target) {
			out = append(out, f)
		}
	}
	return out
}

func (s *SOCKS) recordFailure(f SOCKSFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
	if len(s.failures) > maxSOCKSFailures {
		s.failures = s.failures[len(s.failures)-maxSOCKSFailures:]
	}
}

type socksListener struct {
	vpcID string
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// NewSOCKS returns the SOCKS5 endpoints of n, listening on host (e.g.
// 127.0.0.1) on ports chosen by the system.
func NewSOCKS(n *Network, host string) *SOCKS {
	return &SOCKS{net: n, host: host, DialTimeout: SOCKSDialTimeout, listeners: map[string]*socksListener{}}
}

// Addr returns the SOCKS5 address (host:port) of network vpcID, starting its
// listener if needed. The network must exist in the inventory.
func (s *SOCKS) Addr(vpcID string) (string, error) {
	if _, err := inventory.Get[*inventory.VPC](s.net.inv, vpcID); err != nil {
		return "", fmt.Errorf("socks5 endpoint of network %s: %w", vpcID, err)
	}
	return s.ensure(vpcID)
}

// Addrs returns the SOCKS5 address of every network in the inventory,
// starting the listeners that are not running yet.
func (s *SOCKS) Addrs() (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, v := range inventory.List[*inventory.VPC](s.net.inv, inventory.Filter{}) {
		a, err := s.ensure(v.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[v.ID] = a
	}
	return out, errors.Join(errs...)
}

// Networks returns the IDs of the networks with a running listener, sorted.
func (s *SOCKS) Networks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.listeners))
	for id := range s.listeners {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (s *SOCKS) ensure(vpcID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("socks5 endpoints are closed")
	}
	if l, ok := s.listeners[vpcID]; ok {
		return l.ln.Addr().String(), nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	if err != nil {
		return "", fmt.Errorf("socks5 endpoint of network %s: %w", vpcID, err)
	}
	l := &socksListener{vpcID: vpcID, ln: ln, conns: map[net.Conn]struct{}{}}
	s.listeners[vpcID] = l
	go s.serve(l)
	return ln.Addr().String(), nil
}

// Close stops every listener and cuts every relayed connection.
func (s *SOCKS) Close() {
	s.mu.Lock()
	ls := s.listeners
	s.listeners, s.closed = map[string]*socksListener{}, true
	s.mu.Unlock()
	for _, l := range ls {
		_ = l.ln.Close()
		l.mu.Lock()
		for c := range l.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
	}
}

func (s *SOCKS) serve(l *socksListener) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(l, c)
	}
}

func (l *socksListener) track(c net.Conn, add bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if add {
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
}

func (s *SOCKS) handle(l *socksListener, c net.Conn) {
	l.track(c, true)
	defer l.track(c, false)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(s.DialTimeout + 10*time.Second))
	target, err := readRequest(c)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) && re.reply != 0 {
			_ = writeReply(c, re.reply, nil)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.DialTimeout)
	// A client that gives up (hangs up) during the dial cancels it; bytes it
	// sends early are kept for the target.
	type early struct {
		b   []byte
		err error
	}
	ch := make(chan early, 1)
	go func() {
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			cancel()
		}
		ch <- early{buf[:n], err}
	}()
	var up net.Conn
	if f := s.connectFault(ctx, l.vpcID); f != nil {
		err = f
	} else {
		up, err = s.net.DialFrom(l.vpcID)(ctx, "tcp", target)
	}
	cancel()
	_ = c.SetReadDeadline(time.Now()) // stop the reader
	e := <-ch
	if err != nil {
		code := ReplyCode(err)
		var f *faults.Fault
		if errors.As(err, &f) {
			code = SOCKSConnectionRefused
			if f.Kind == faults.Timeout {
				code = SOCKSTTLExpired
			}
		}
		s.recordFailure(SOCKSFailure{At: time.Now().UTC(), Network: l.vpcID, Target: target, Reply: code, Error: err.Error()})
		_ = writeReply(c, code, nil)
		return
	}
	l.track(up, true)
	defer l.track(up, false)
	defer up.Close()
	var ne net.Error
	if e.err != nil && !(errors.As(e.err, &ne) && ne.Timeout()) {
		return // the client hung up
	}
	if len(e.b) > 0 {
		if _, err := up.Write(e.b); err != nil {
			return
		}
	}
	bound, _ := up.LocalAddr().(*net.TCPAddr)
	if err := writeReply(c, SOCKSSucceeded, bound); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

// connectFault asks the fault rules about a CONNECT from network vpcID (nil
// when it goes on).
func (s *SOCKS) connectFault(ctx context.Context, vpcID string) *faults.Fault {
	if s.Faults == nil {
		return nil
	}
	return s.Faults.Check(ctx, ConnectFaultOp+vpcID)
}

// ReplyCode is the SOCKS5 reply code of a dial error (see the table at the
// top of this file).
func ReplyCode(err error) byte {
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dnsErr):
		return SOCKSHostUnreachable
	case errors.Is(err, ErrUnreachable), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return SOCKSNetworkUnreachable
	case errors.Is(err, syscall.ECONNREFUSED):
		return SOCKSConnectionRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return SOCKSTTLExpired
	}
	return SOCKSGeneralFailure
}

type requestError struct {
	reply byte
	msg   string
}

func (e *requestError) Error() string { return e.msg }

// readRequest reads the method negotiation and a CONNECT request and returns
// the target host:port (host may be a name).
func readRequest(c net.Conn) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", err
	}
	if hdr[0] != 5 {
		return "", &requestError{msg: "not SOCKS version 5"}
	}
	methods := make([]byte, int(hdr[1]))
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", err
	}
	noAuth := false
	for _, m := range methods {
		noAuth = noAuth || m == 0x00
	}
	if !noAuth {
		_, _ = c.Write([]byte{5, 0xff}) // no acceptable methods
		return "", &requestError{msg: "client offers no 'no authentication' method"}
	}
	if _, err := c.Write([]byte{5, 0x00}); err != nil {
		return "", err
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return "", err
	}
	if req[0] != 5 {
		return "", &requestError{reply: SOCKSGeneralFailure, msg: "request is not SOCKS version 5"}
	}
	var host string
	switch req[3] {
	case 0x01:
		var ip [4]byte
		if _, err := io.ReadFull(c, ip[:]); err != nil {
			return "", err
		}
		host = net.IP(ip[:]).String()
	case 0x04:
		var ip [16]byte
		if _, err := io.ReadFull(c, ip[:]); err != nil {
			return "", err
		}
		host = net.IP(ip[:]).String()
	case 0x03:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return "", err
		}
		name := make([]byte, int(n[0]))
		if _, err := io.ReadFull(c, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		// The port is not read: the connection is closed after the reply.
		return "", &requestError{reply: SOCKSAddrTypeNotSupp, msg: "address type not supported"}
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return "", err
	}
	if req[1] != 0x01 {
		return "", &requestError{reply: SOCKSCommandNotSupp, msg: "only CONNECT is supported"}
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), nil
}

// writeReply writes a reply with the bound address (0.0.0.0:0 when nil).
func writeReply(c net.Conn, code byte, bound *net.TCPAddr) error {
	b := []byte{5, code, 0}
	if bound != nil && bound.IP.To4() == nil && bound.IP.To16() != nil {
		b = append(b, 0x04)
		b = append(b, bound.IP.To16()...)
	} else {
		b = append(b, 0x01)
		ip := net.IPv4zero.To4()
		if bound != nil && bound.IP.To4() != nil {
			ip = bound.IP.To4()
		}
		b = append(b, ip...)
	}
	port := 0
	if bound != nil {
		port = bound.Port
	}
	b = binary.BigEndian.AppendUint16(b, uint16(port))
	_, err := c.Write(b)
	return err
}
