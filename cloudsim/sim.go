// Package cloudsim is a digital twin of the clouds Topoflow drives, on
// loopback: provider HTTP APIs (in sub-packages such as cloudsim/huawei) over
// one shared [inventory.Store], a fault [faults.Injector], and a network
// model ([netmodel.Network]) in which every Kafka broker is a real
// Kafka-protocol broker (franz-go kfake) on its own 127.x address, accepted
// endpoints really forward TCP and active peerings make peer VPCs reachable.
//
// # Plugging in a provider
//
// A provider package registers itself once, usually from init:
//
//	func init() { cloudsim.RegisterProvider("huawei", Mount) }
//	func Mount(s *cloudsim.Sim) error {
//		s.Mount("/v1/{project_id}/vpc-endpoints", vpcepHandler(s)) // net/http ServeMux patterns
//		s.MountFunc(func(r *http.Request) bool { ... }, h)          // or any matcher (e.g. on headers)
//		return nil
//	}
//
// [New] mounts every registered provider. All providers share one listener
// ([Sim.Start], default 127.0.0.1:8700 in `make dev`); the admin API lives
// under /_cloudsim/ on it (and optionally on its own port). Handlers use
// s.Inventory for state, s.Faults.Check(ctx, op) at the start of each
// operation, s.Faults.Outcome(op) when a state machine advances, and
// s.Inventory.FindCredential to learn which account a key belongs to
// (cloudsim/auth verifies signatures). The network model follows the
// inventory by itself: a provider only writes resources (an endpoint with
// status "accepted" and an IP, a peering with status "active", a Kafka
// instance's brokers' Advertised hosts) and the sim starts forwarders,
// updates reachability and re-advertises brokers. See README.md.
package cloudsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// AdminPrefix is the path prefix of the admin API on the provider listener.
const AdminPrefix = "/_cloudsim"

var (
	provMu    sync.Mutex
	providers = map[string]func(*Sim) error{}
)

// RegisterProvider makes New mount a provider's handlers. It panics on a duplicate name.
func RegisterProvider(name string, mount func(*Sim) error) {
	provMu.Lock()
	defer provMu.Unlock()
	if _, dup := providers[name]; dup {
		panic(fmt.Sprintf("cloudsim: provider %q registered twice", name))
	}
	providers[name] = mount
}

// Providers returns the registered provider names, sorted.
func Providers() []string {
	provMu.Lock()
	defer provMu.Unlock()
	var out []string
	for n := range providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type matcher struct {
	match func(*http.Request) bool
	h     http.Handler
}

// Sim is one simulated world with its provider APIs.
type Sim struct {
	// Inventory holds every resource.
	Inventory *inventory.Store
	// Faults is the fault injector every provider consults.
	Faults *faults.Injector
	// Net is the loopback network model (brokers, forwarders, reachability).
	Net *netmodel.Network
	// SOCKS serves a SOCKS5 endpoint per network (a host inside that VPC/VNet).
	SOCKS *netmodel.SOCKS

	mux      *http.ServeMux
	mu       sync.Mutex
	matchers []matcher
	srv      *http.Server
	ln       net.Listener
	adminSrv *http.Server
	adminLn  net.Listener
	worlds   []*world.World
	st       durable
	closers  []func() // OnClose
}

// OnClose registers fn to run when the sim closes: what a provider serves
// besides the sim's own listeners (the EMQX deployments' MQTT brokers), so
// that a closed sim leaves no address bound.
func (s *Sim) OnClose(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, fn)
}

// Options configure New.
type Options struct {
	// Providers limits which registered providers are mounted (nil = all).
	Providers []string
}

// New returns a sim with an empty world and every registered provider mounted.
func New(opts Options) (*Sim, error) {
	s := &Sim{
		Inventory: inventory.New(),
		Faults:    faults.New(),
		mux:       http.NewServeMux(),
	}
	s.st.init()
	s.Faults.SetSleep(s.sleepHeld)
	s.Net = netmodel.New(s.Inventory)
	s.SOCKS = netmodel.NewSOCKS(s.Net, "127.0.0.1")
	s.SOCKS.Faults = s.Faults
	s.Inventory.VisibilityDelay = func(kind inventory.Kind, _ inventory.Object) time.Duration {
		return s.Faults.VisibilityDelay("visible." + string(kind))
	}
	s.mux.Handle(AdminPrefix+"/", http.StripPrefix(AdminPrefix, s.AdminHandler()))
	names := opts.Providers
	if names == nil {
		names = Providers()
	}
	for _, n := range names {
		provMu.Lock()
		mount, ok := providers[n]
		provMu.Unlock()
		if !ok {
			return nil, fmt.Errorf("cloudsim: unknown provider %q (registered: %v)", n, Providers())
		}
		if err := mount(s); err != nil {
			return nil, fmt.Errorf("cloudsim: mount provider %s: %w", n, err)
		}
	}
	return s, nil
}

// Mount routes requests matching a net/http ServeMux pattern (e.g.
// "/v1/{project_id}/vpc-endpoints/" or "POST /v2/{project_id}/instances/{id}/crossvpc/modify")
// to h. Path values are available through r.PathValue.
func (s *Sim) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// MountFunc routes requests for which match returns true to h. Matchers are
// tried in registration order before the ServeMux patterns.
func (s *Sim) MountFunc(match func(*http.Request) bool, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.matchers = append(s.matchers, matcher{match, h})
}

// Handler returns the router of every provider API and the admin API.
func (s *Sim) Handler() http.Handler {
	return s.durably(s.router(), func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, AdminPrefix+"/") })
}

func (s *Sim) router() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, AdminPrefix+"/") && s.Faults.HasResponseRules() {
			s.respond(w, r)
			return
		}
		s.route(w, r)
	})
}

// respond is route with a response phase: a provider call that took effect
// (no fault at its start) asks the rules of "<op>/response", which may
// delay its answer (latency) or lose it (error, throttle, timeout: the
// connection closes without a response, after the change), as a real cloud
// can: AWS asks clients to retry such calls with the same client token
// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html),
// Azure's SDKs retry transport errors of PUT and DELETE, which are
// idempotent (https://learn.microsoft.com/en-us/azure/architecture/best-practices/retry-service-specific).
// Providers with their own response phase (Huawei) are left alone.
func (s *Sim) respond(w http.ResponseWriter, r *http.Request) {
	ctx, call := faults.WithCall(r.Context())
	buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	s.route(buf, r.WithContext(ctx))
	if op := call.Effective(); op != "" {
		if f := s.Faults.Check(ctx, op+faults.ResponseSuffix); f != nil {
			panic(http.ErrAbortHandler)
		}
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// route sends a request to the provider that serves it.
func (s *Sim) route(w http.ResponseWriter, r *http.Request) {
	{
		if !strings.HasPrefix(r.URL.Path, AdminPrefix+"/") {
			s.mu.Lock()
			ms := s.matchers
			s.mu.Unlock()
			for _, m := range ms {
				if m.match(r) {
					m.h.ServeHTTP(w, r)
					return
				}
			}
		}
		s.mux.ServeHTTP(w, r)
	}
}

// Start serves Handler on addr ("127.0.0.1:0" picks a port) and, when
// adminAddr is not empty, the admin API alone on adminAddr. It returns the
// provider base URL.
func (s *Sim) Start(addr, adminAddr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("cloudsim: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	if adminAddr != "" {
		aln, err := net.Listen("tcp", adminAddr)
		if err != nil {
			_ = s.srv.Close()
			return "", fmt.Errorf("cloudsim: listen admin %s: %w", adminAddr, err)
		}
		s.adminLn = aln
		s.adminSrv = &http.Server{Handler: s.durably(s.AdminHandler(), func(*http.Request) bool { return true }), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.adminSrv.Serve(aln) }()
	}
	return s.URL(), nil
}

// URL is the base URL of the provider listener ("" before Start).
func (s *Sim) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// AdminURL is the base URL of the admin API (the separate port if any, else URL()+AdminPrefix).
func (s *Sim) AdminURL() string {
	if s.adminLn != nil {
		return "http://" + s.adminLn.Addr().String()
	}
	if s.ln == nil {
		return ""
	}
	return s.URL() + AdminPrefix
}

// Close stops the listeners, every broker and every forwarder.
func (s *Sim) Close() error {
	var errs []error
	if s.st.dir != "" {
		// A durable twin saves once more, then neither saves nor runs
		// transitions any more (a restart with the directory resumes them).
		errs = append(errs, s.Persist())
		s.stopDurable()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.srv != nil {
		errs = append(errs, s.srv.Shutdown(ctx))
	}
	if s.adminSrv != nil {
		errs = append(errs, s.adminSrv.Shutdown(ctx))
	}
	s.SOCKS.Close()
	s.Net.Close()
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, fn := range closers {
		fn()
	}
	return errors.Join(errs...)
}

// Reset empties the world: every resource, broker, forwarder and fault rule.
func (s *Sim) Reset() {
	s.Faults.Reset()
	s.Inventory.Reset()
}
