package kafka_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/plan"
)

func verifyWith(t *testing.T, opts kafka.Options) activities.Func {
	t.Helper()
	reg := activities.NewRegistry()
	kafka.Register(reg, opts)
	fn, _ := reg.Get(kafka.ActionVerify)
	return fn
}

// socksProbe is a probe in network dialing through the sim's SOCKS5 endpoint of it.
func socksProbe(t *testing.T, s *cloudsim.Sim, network string) *kafka.Probe {
	t.Helper()
	addr, err := s.SOCKS.Addr(network)
	if err != nil {
		t.Fatal(err)
	}
	return &kafka.Probe{Name: "p1", Network: network, TaskQueue: "topoflow-probe-test", Host: "probe-host", Via: "socks5 " + addr,
		Dialer: func(context.Context) (kafka.DialFunc, string, error) {
			d, err := kafka.SOCKS5Dialer(addr)
			return d, "", err
		}}
}

func TestSOCKS5DialerGivesTheErrorsOfADirectDial(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	addr, err := s.SOCKS.Addr(aksVNet)
	if err != nil {
		t.Fatal(err)
	}
	dial, err := kafka.SOCKS5Dialer(addr)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := inventory.Get[*inventory.KafkaInstance](s.Inventory, hdiID)
	if err != nil {
		t.Fatal(err)
	}
	aks, err := inventory.Get[*inventory.VPC](s.Inventory, aksVNet)
	if err != nil {
		t.Fatal(err)
	}
	unused := strings.TrimSuffix(aks.AddressBlock, "0.0/16") + "9.9:9092" // an address of the AKS VNet nobody listens on
	var dnsErr *net.DNSError
	tests := []struct {
		name, target string
		check        func(error) bool
	}{
		{"broker name of another VNet: not resolved", net.JoinHostPort(inst.Brokers[0].Host, "9092"), func(err error) bool { return errors.As(err, &dnsErr) && dnsErr.IsNotFound }},
		// The strict network drops what no peering carries: the dial times
		// out (as a dropped SYN does), it is never refused or reset.
		{"broker IP without peering: dropped", net.JoinHostPort(inst.Brokers[0].ListenerIP, "9092"), func(err error) bool {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET)
		}},
		{"nothing listening: refused", unused, func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			c, err := dial(ctx, "tcp", tc.target)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			if !tc.check(err) {
				t.Fatalf("error %v (%T)", err, errors.Unwrap(err))
			}
		})
	}
}

func TestVerifySaysWhereItDialedFrom(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	addrs := crossVPC(t, s, nil)
	ctx := context.Background()
	host, _ := os.Hostname()
	in := map[string]any{"bootstrap": addrs, "clientNetwork": clientVPC}

	t.Run("probe in the client network", func(t *testing.T) {
		out, err := verifyWith(t, kafka.Options{Probe: socksProbe(t, s, clientVPC)})(ctx, call(in))
		if err != nil {
			t.Fatal(err)
		}
		want := "from probe p1 in network " + clientVPC + " (task queue topoflow-probe-test, host probe-host, via socks5 "
		if from := out["dialedFrom"].(string); !strings.HasPrefix(from, want) {
			t.Errorf("dialedFrom %q, want %q...", from, want)
		}
		if o := out["origin"].(map[string]any); o["kind"] != "probe" || o["network"] != clientVPC {
			t.Errorf("origin %v", o)
		}
	})
	t.Run("probe in another network refuses the step", func(t *testing.T) {
		_, err := verifyWith(t, kafka.Options{Probe: socksProbe(t, s, aksVNet)})(ctx, call(in))
		if err == nil || appErr(t, err).Type() != plan.ErrInvalid || !strings.Contains(err.Error(), "but probe p1 sits in network "+aksVNet) {
			t.Fatalf("want an invalid-input error naming both networks, got %v", err)
		}
	})
	t.Run("probe in a network that cannot reach the endpoints", func(t *testing.T) {
		_, err := verifyWith(t, kafka.Options{Probe: socksProbe(t, s, aksVNet)})(ctx, call(map[string]any{"bootstrap": addrs}))
		// The strict network drops what no route carries: timeouts, and the hint to check the path.
		if err == nil || !strings.Contains(err.Error(), kafka.DropHint) ||
			!strings.HasSuffix(appErr(t, err).Message(), "[dialed from probe p1 in network "+aksVNet+" (task queue topoflow-probe-test, host probe-host, via socks5 "+strings.TrimPrefix(socksProbe(t, s, aksVNet).Via, "socks5 ")+")]") {
			t.Fatalf("want dropped connections, naming the probe, got %v", err)
		}
	})
	t.Run("worker without probe", func(t *testing.T) {
		out, err := verifyWith(t, kafka.Options{})(ctx, call(in))
		if err != nil {
			t.Fatal(err)
		}
		want := "from the worker's network, host " + host + "; not from the client network " + clientVPC
		if from := out["dialedFrom"].(string); !strings.HasPrefix(from, want) {
			t.Errorf("dialedFrom %q, want %q", from, want)
		}
	})
}
