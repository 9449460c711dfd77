package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/net/proxy"
)

// Probe configures kafka.verify in a probe worker: a worker deployed inside
// a client network, polling its own task queue, so that verification dials
// from where the client is.
type Probe struct {
	// Name identifies the probe in outputs and errors (default: its task queue).
	Name string
	// Network is the label of the network the probe sits in (a VPC/VNet ID).
	Network string
	// TaskQueue is the task queue the probe polls.
	TaskQueue string
	// Host is the probe's host name (default: os.Hostname).
	Host string
	// Via describes how it dials: "direct" or "socks5 <addr>" (for outputs).
	Via string
	// Dialer returns the dialer of one verification (e.g. through the SOCKS5
	// endpoint of the twin's network, looked up at each call); nil dials
	// directly from the probe's host.
	Dialer func(ctx context.Context) (DialFunc, string, error)
}

// Origin says where a verification dialed from.
type Origin struct {
	// Kind is "probe", "network-model" (an in-process twin network, tests
	// only) or "worker" (the main worker's own network).
	Kind      string `json:"kind"`
	Host      string `json:"host,omitempty"`
	Probe     string `json:"probe,omitempty"`
	Network   string `json:"network,omitempty"`
	TaskQueue string `json:"taskQueue,omitempty"`
	Via       string `json:"via,omitempty"`
}

// Sentence is the origin in words, as shown by outputs and `status`.
func (o Origin) Sentence() string {
	switch o.Kind {
	case "probe":
		return fmt.Sprintf("from probe %s in network %s (task queue %s, host %s, via %s)", o.Probe, o.Network, o.TaskQueue, o.Host, o.Via)
	case "network-model":
		return fmt.Sprintf("from network %s (in-process network model)", o.Network)
	}
	s := fmt.Sprintf("from the worker's network, host %s; not from the client network", o.Host)
	if o.Network != "" {
		s += " " + o.Network
	}
	return s + " (no probe is registered for it)"
}

// Map is the origin as an output value.
func (o Origin) Map() map[string]any {
	m := map[string]any{"kind": o.Kind}
	for k, v := range map[string]string{"host": o.Host, "probe": o.Probe, "network": o.Network, "taskQueue": o.TaskQueue, "via": o.Via} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// origin returns where this call dials from and its dialer (before TLS).
func (v *verifier) origin(ctx context.Context, in verifyInputs) (Origin, DialFunc, error) {
	return ResolveOrigin(ctx, v.opts, ActionVerify, in.ClientNetwork)
}

// ResolveOrigin returns where a verification of action from clientNetwork
// dials from and its dialer, under opts (a probe's network, the network
// model of activity-level tests, or the worker's own network). mqtt.verify
// shares it with kafka.verify.
func ResolveOrigin(ctx context.Context, opts Options, action, clientNetwork string) (Origin, DialFunc, error) {
	direct := (&net.Dialer{Timeout: 3 * time.Second}).DialContext
	if p := opts.Probe; p != nil {
		o := Origin{Kind: "probe", Host: p.Host, Probe: p.Name, Network: p.Network, TaskQueue: p.TaskQueue, Via: p.Via}
		if o.Host == "" {
			o.Host = hostname()
		}
		if o.Probe == "" {
			o.Probe = p.TaskQueue
		}
		if o.Via == "" {
			o.Via = "direct"
		}
		if clientNetwork != "" && p.Network != "" && clientNetwork != p.Network {
			return o, nil, invalid(fmt.Errorf("%s: the step verifies from network %s, but probe %s sits in network %s: fix the probes of the client account in the account registry",
				action, clientNetwork, o.Probe, p.Network))
		}
		if p.Dialer == nil {
			return o, direct, nil
		}
		d, via, err := p.Dialer(ctx)
		if err != nil {
			return o, nil, temporal.NewApplicationError(fmt.Sprintf("%s: probe %s cannot dial from network %s: %v", action, o.Probe, p.Network, err), "ProbeUnavailable")
		}
		if via != "" {
			o.Via = via
		}
		return o, d, nil
	}
	if clientNetwork != "" && opts.DialFrom != nil {
		// The same connect timeout as the direct dialer: a dropped SYN fails
		// this address after 3 s, not the whole verification.
		from := opts.DialFrom(clientNetwork)
		dial := func(ctx context.Context, network, address string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			return from(ctx, network, address)
		}
		return Origin{Kind: "network-model", Network: clientNetwork}, dial, nil
	}
	return Origin{Kind: "worker", Host: hostname(), Network: clientNetwork}, direct, nil
}

// withOrigin appends where the verification dialed from to an application
// error's message, keeping its type and retryability.
func withOrigin(err error, o Origin) error {
	var ae *temporal.ApplicationError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(ae.Message()+" [dialed "+o.Sentence()+"]", ae.Type(),
		temporal.ApplicationErrorOptions{NonRetryable: ae.NonRetryable()})
}

// SOCKS5Dialer dials through the SOCKS5 proxy at addr (host:port): host
// names go to the proxy unresolved (the proxy's network resolves them), and
// the proxy's reply codes come back as the errors a direct dial would give
// (cloudsim/netmodel/socks.go documents the codes):
// network unreachable → "no route to host", host unreachable for a name →
// *net.DNSError, connection refused → ECONNREFUSED, TTL expired → a timeout.
func SOCKS5Dialer(addr string) (DialFunc, error) {
	d, err := proxy.SOCKS5("tcp", addr, nil, &net.Dialer{Timeout: 3 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("socks5 proxy %s: %w", addr, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("socks5 proxy %s: dialer without context", addr)
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := cd.DialContext(ctx, network, address)
		if err == nil {
			return c, nil
		}
		return nil, socksError(network, address, addr, err)
	}, nil
}

// socksTimeout is a dial timeout reported by the proxy.
type socksTimeout struct{ proxy string }

func (e socksTimeout) Error() string {
	return "i/o timeout (the connection attempt got no answer; SOCKS5 proxy " + e.proxy + ": TTL expired)"
}
func (socksTimeout) Timeout() bool   { return true }
func (socksTimeout) Temporary() bool { return true }

func socksError(network, address, proxyAddr string, err error) error {
	host, _, _ := net.SplitHostPort(address)
	_, ipErr := netip.ParseAddr(host)
	msg := err.Error()
	var cause error
	switch {
	case strings.HasSuffix(msg, "host unreachable") && ipErr != nil:
		cause = &net.DNSError{Err: "no such host in the client network (SOCKS5 host unreachable)", Name: host, IsNotFound: true}
	case strings.HasSuffix(msg, "host unreachable"):
		cause = fmt.Errorf("%w (SOCKS5 host unreachable)", syscall.EHOSTUNREACH)
	case strings.HasSuffix(msg, "network unreachable"):
		cause = fmt.Errorf("%w (SOCKS5 network unreachable: not routed from the client network)", syscall.EHOSTUNREACH)
	case strings.HasSuffix(msg, "connection refused"):
		cause = syscall.ECONNREFUSED
	case strings.HasSuffix(msg, "TTL expired"):
		cause = socksTimeout{proxy: proxyAddr}
	default:
		return err
	}
	return &net.OpError{Op: "dial", Net: network, Addr: socksAddr(address), Err: cause}
}

// socksAddr is a net.Addr of a host:port that may be a name.
type socksAddr string

func (a socksAddr) Network() string { return "tcp" }
func (a socksAddr) String() string  { return string(a) }
