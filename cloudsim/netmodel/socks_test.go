package netmodel

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/plan"
)

// echoOnce listens on addr and writes "hi" to every connection.
func echoOnce(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	return ln
}

func socksDial(t *testing.T, socksAddr, target string) (net.Conn, error) {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", socksAddr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
}

func TestSOCKSConnectsAsAHostOfItsNetwork(t *testing.T) {
	inv := inventory.New()
	n := New(inv)
	defer n.Close()
	s := NewSOCKS(n, "127.0.0.1")
	// A dropped SYN is answered TTL expired once the dial times out.
	s.DialTimeout = time.Second
	defer s.Close()
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "a"}, AddressBlock: "127.253.1.0/24"})
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "b"}, AddressBlock: "127.253.2.0/24"})
	target := echoOnce(t, "127.253.2.9:0").Addr().String()
	_, port, _ := net.SplitHostPort(target)
	// A broker host name of a cluster in b resolves only inside b.
	if _, err := inventory.Create(inv, &inventory.KafkaInstance{Meta: inventory.Meta{ID: "k"}, VPCID: "b",
		Brokers: []inventory.Broker{{ID: 0, Host: "b-1.k.internal", ListenerIP: "127.253.2.10", Port: 9092}}}); err != nil {
		t.Fatal(err)
	}
	if errs := n.Errors(); len(errs) > 0 {
		t.Fatalf("cluster: %v", errs)
	}
	addrs, err := s.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 || addrs["a"] == "" || addrs["b"] == "" || addrs["a"] == addrs["b"] {
		t.Fatalf("addrs %v: want one distinct listener per network", addrs)
	}
	if again, _ := s.Addr("a"); again != addrs["a"] {
		t.Errorf("address of a changed: %s then %s", addrs["a"], again)
	}
	if _, err := s.Addr("nope"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}

	tests := []struct {
		name, from, target string
		want               string // "" = connects; else the reply's text
	}{
		{"same network by IP", "b", target, ""},
		// The strict network drops what no route carries: a timeout, not a refusal.
		{"other network without peering", "a", target, "TTL expired"},
		{"broker name inside its network", "b", "b-1.k.internal:9092", ""},
		{"broker name from another network", "a", "b-1.k.internal:9092", "host unreachable"},
		{"unknown name", "b", "nope.internal:" + port, "host unreachable"},
		{"nothing listening", "b", "127.253.2.11:" + port, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := socksDial(t, addrs[tc.from], tc.target)
			if tc.want != "" {
				if err == nil {
					c.Close()
					t.Fatalf("connected, want %q", tc.want)
				}
				if !strings.HasSuffix(err.Error(), tc.want) {
					t.Fatalf("error %v, want reply %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !strings.HasPrefix(tc.target, "b-1.") {
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				got, _ := io.ReadAll(c)
				if string(got) != "hi" {
					t.Errorf("relayed %q, want hi", got)
				}
			}
		})
	}

	// The twin remembers why it refused, for diagnosis.
	if fs := s.Failures("a", target); len(fs) != 1 || fs[0].Reply != SOCKSTTLExpired || !strings.Contains(fs[0].Error, "cloudsim dropped it: route") {
		t.Errorf("failures of a -> %s: %+v", target, fs)
	}

	// A peering with its routes on both sides makes the other network
	// reachable through the same endpoint.
	if _, err := inventory.Create(inv, &inventory.Peering{Meta: inventory.Meta{ID: "pcx-ab", Status: inventory.PeeringActive}, VPCID: "a", PeerVPCID: "b"}); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []*inventory.RouteTable{
		{Meta: inventory.Meta{ID: "rt-a"}, VPCID: "a", Routes: []inventory.Route{{Destination: "127.253.2.0/24", NextHopType: "peering", NextHop: "pcx-ab"}}},
		{Meta: inventory.Meta{ID: "rt-b"}, VPCID: "b", Routes: []inventory.Route{{Destination: "127.253.1.0/24", NextHopType: "peering", NextHop: "pcx-ab"}}},
	} {
		if _, err := inventory.Create(inv, rt); err != nil {
			t.Fatal(err)
		}
	}
	c, err := socksDial(t, addrs["a"], target)
	if err != nil {
		t.Fatalf("over an active peering: %v", err)
	}
	c.Close()
}

func TestSOCKSRefusesWhatItDoesNotServe(t *testing.T) {
	inv := inventory.New()
	n := New(inv)
	defer n.Close()
	s := NewSOCKS(n, "127.0.0.1")
	defer s.Close()
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "a"}, AddressBlock: "127.253.3.0/24"})
	addr, err := s.Addr("a")
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(t *testing.T, msgs ...[]byte) []byte {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, m := range msgs {
			if _, err := c.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(c)
		return b
	}
	tests := []struct {
		name string
		msgs [][]byte
		want []byte
	}{
		{"username/password only", [][]byte{{5, 1, 2}}, []byte{5, 0xff}},
		{"BIND", [][]byte{{5, 1, 0}, {5, 2, 0, 1, 127, 0, 0, 1, 0, 80}}, []byte{5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"unknown address type", [][]byte{{5, 1, 0}, {5, 1, 0, 9}}, []byte{5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exchange(t, tc.msgs...); string(got) != string(tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
		})
	}
}

func TestReplyCode(t *testing.T) {
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: &timeoutErr{}}
	tests := []struct {
		name string
		err  error
		want byte
	}{
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, SOCKSHostUnreachable},
		{"no route", &net.OpError{Op: "dial", Err: ErrUnreachable}, SOCKSNetworkUnreachable},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, SOCKSConnectionRefused},
		{"timeout", timeout, SOCKSTTLExpired},
		{"deadline", context.DeadlineExceeded, SOCKSTTLExpired},
		{"other", errors.New("boom"), SOCKSGeneralFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplyCode(tc.err); got != tc.want {
				t.Errorf("ReplyCode(%v) = %#x, want %#x", tc.err, got, tc.want)
			}
		})
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

func TestSOCKSKeepsBytesSentBeforeTheReply(t *testing.T) {
	inv := inventory.New()
	n := New(inv)
	defer n.Close()
	s := NewSOCKS(n, "127.0.0.1")
	defer s.Close()
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "a"}, AddressBlock: "127.253.4.0/24"})
	ln, err := net.Listen("tcp", "127.253.4.9:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	addr, _ := s.Addr("a")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ta := ln.Addr().(*net.TCPAddr)
	msg := []byte{5, 1, 0, 5, 1, 0, 1}
	msg = append(msg, ta.IP.To4()...)
	msg = append(msg, byte(ta.Port>>8), byte(ta.Port), 'p', 'i', 'n', 'g')
	if _, err := c.Write(msg); err != nil { // greeting, CONNECT and data in one write
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, 2+10+4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %q: %v", got, err)
	}
	if got[0] != 5 || got[1] != 0 || got[3] != SOCKSSucceeded || string(got[12:]) != "ping" {
		t.Fatalf("got % x, want the method and CONNECT replies then the echoed ping", got)
	}
}

// TestSOCKSConnectFaults checks the fault rules on a network's CONNECTs: a
// held CONNECT goes on when its rule is removed, a timeout is answered TTL
// expired, an error connection refused, and other networks are untouched.
func TestSOCKSConnectFaults(t *testing.T) {
	inv := inventory.New()
	n := New(inv)
	defer n.Close()
	s := NewSOCKS(n, "127.0.0.1")
	in := faults.New()
	s.Faults = in
	defer s.Close()
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "a"}, AddressBlock: "127.253.3.0/24"})
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "b"}, AddressBlock: "127.253.4.0/24"})
	target := echoOnce(t, "127.253.3.9:0").Addr().String()
	inB := echoOnce(t, "127.253.4.9:0").Addr().String()
	addrs, err := s.Addrs()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		kind faults.Kind
		want string
	}{{faults.Timeout, "TTL expired"}, {faults.Error, "connection refused"}} {
		id := in.MustAdd(faults.Rule{Op: ConnectFaultOp + "a", Kind: tc.kind, Latency: plan.D(10 * time.Millisecond)})
		if c, err := socksDial(t, addrs["a"], target); err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s fault: error %v, want reply %q", tc.kind, err, tc.want)
		}
		in.Remove(id)
	}

	// A hold: the CONNECT waits until its rule is removed, then connects.
	id := in.MustAdd(faults.Rule{Op: ConnectFaultOp + "a", Kind: faults.Latency, Latency: plan.D(time.Hour)})
	type result struct {
		c   net.Conn
		err error
	}
	got := make(chan result, 1)
	go func() { c, err := socksDial(t, addrs["a"], target); got <- result{c, err} }()
	for in.Rules()[0].Hits == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-got:
		t.Fatalf("a held CONNECT returned before its rule was removed: %v", r.err)
	case <-time.After(200 * time.Millisecond):
	}
	// Another network's CONNECTs are not held meanwhile.
	if c, err := socksDial(t, addrs["b"], inB); err != nil {
		t.Errorf("b while a is held: %v", err)
	} else {
		c.Close()
	}
	in.Remove(id)
	r := <-got
	if r.err != nil {
		t.Fatalf("after the hold was removed: %v", r.err)
	}
	defer r.c.Close()
	_ = r.c.SetDeadline(time.Now().Add(2 * time.Second))
	if b, _ := io.ReadAll(r.c); string(b) != "hi" {
		t.Errorf("relayed %q after the hold, want hi", b)
	}
}
