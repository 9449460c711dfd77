package netmodel

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func TestStartClusterRejectsBadBrokers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		brokers []inventory.Broker
		want    string
	}{
		{"none", nil, "no brokers"},
		{"gap", []inventory.Broker{{ID: 0, ListenerIP: "127.251.0.2"}, {ID: 2, ListenerIP: "127.251.0.3"}}, "broker IDs must be 0..1"},
		{"bad ip", []inventory.Broker{{ID: 0, ListenerIP: "wn0"}}, "listener IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StartCluster(&inventory.KafkaInstance{Meta: inventory.Meta{ID: "k"}, Brokers: tc.brokers})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDialFromAndForwarder(t *testing.T) {
	inv := inventory.New()
	n := New(inv)
	defer n.Close()
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "a"}, AddressBlock: "127.252.1.0/24"})
	inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "b"}, AddressBlock: "127.252.2.0/24"})
	ln, err := net.Listen("tcp", "127.252.2.9:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
	ctx, cancelAll := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelAll()
	// Without a peering the SYN is dropped: the dial hangs until the deadline.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	_, err = n.DialFrom("a")(short, "tcp", ln.Addr().String())
	cancel()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) < 150*time.Millisecond {
		t.Errorf("dial across VPCs without peering: %v after %s, want a timeout at the deadline", err, time.Since(start))
	}
	if d := n.Drops(); len(d) != 1 || d[0].Hop != HopRoute {
		t.Errorf("drops: %+v", d)
	}
	if _, err := n.DialFrom("nowhere")(ctx, "tcp", ln.Addr().String()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("dial from a network that does not exist: %v", err)
	}
	if c, err := n.DialFrom("b")(ctx, "tcp", ln.Addr().String()); err != nil {
		t.Errorf("dial inside the VPC: %v", err)
	} else {
		c.Close()
	}
	p, _ := inventory.Create(inv, &inventory.Peering{Meta: inventory.Meta{Status: inventory.PeeringActive}, VPCID: "b", PeerVPCID: "a"})
	for _, rt := range []*inventory.RouteTable{
		{VPCID: "a", Routes: []inventory.Route{{Destination: "127.252.2.0/24", NextHopType: "peering", NextHop: p.ID}}},
		{VPCID: "b", Routes: []inventory.Route{{Destination: "127.252.1.0/24", NextHopType: "peering", NextHop: p.ID}}},
	} {
		if _, err := inventory.Create(inv, rt); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := n.DialFrom("a")(ctx, "tcp", ln.Addr().String()); err != nil {
		t.Errorf("dial over an active peering with routes both ways: %v", err)
	} else {
		c.Close()
	}
	inv.Delete(inventory.KindPeering, p.ID)
	var dnsErr *net.DNSError
	if _, err := n.DialFrom("a")(ctx, "tcp", "wn0-kafka.internal.cloudapp.net:9092"); !errors.As(err, &dnsErr) {
		t.Errorf("unknown host name: %v", err)
	}

	f, err := Forward("127.252.1.5:0", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", f.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "hi" {
		t.Errorf("forwarded %q", got)
	}
	addr := f.ln.Addr().String()
	f.Close()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("closed forwarder still accepts")
	}
}
