package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

// Options are the parts of a worker that are not configuration: the logger
// and hooks used by tests and by the in-process harness.
type Options struct {
	// Logger is the structured logger (default: built from the Config).
	Logger *slog.Logger
	// Register, if set, registers extra workflows or activities (test-only
	// actions) after the standard ones.
	Register func(w worker.Registry, reg *activities.Registry)
	// Ready, if set, is called once the worker polls, with the actual address
	// of the metrics/health listener ("" when disabled).
	Ready func(metricsAddr string)
	// DialWait bounds how long start-up waits for Temporal (default 60s).
	DialWait time.Duration
}

// Run runs a worker until ctx is cancelled (SIGINT/SIGTERM in the binary),
// then shuts down gracefully: it stops polling, waits up to
// cfg.ShutdownTimeout for running activities, and closes the health and
// metrics listener last. It returns an error when start-up fails or the
// worker hits a fatal error.
func Run(ctx context.Context, cfg Config, opts Options) error {
	log := opts.Logger
	if log == nil {
		var err error
		if log, err = NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat); err != nil {
			return err
		}
	}
	log.Info("topoflow worker starting", "config", cfg)

	metrics, err := NewMetrics()
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = metrics.Shutdown(sctx)
	}()

	accts, err := LoadAccounts(cfg)
	if err != nil {
		return err
	}
	var reg *activities.Registry
	if cfg.Probe != nil {
		reg = BuildProbeActivities(accts, cfg)
	} else if reg, err = buildActivities(accts, cfg, opts); err != nil {
		return err
	}
	if cfg.Trust != "" {
		// Refuse to start with a broken trust file rather than fail every request.
		tc, err := trust.ReadConfig(cfg.Trust)
		if err != nil {
			return err
		}
		log.Info("trust configuration", "file", cfg.Trust, "mode", tc.Mode, "identities", len(tc.Identities), "oidcProviders", len(tc.OIDC))
	} else {
		log.Warn("no trust file (--trust / TOPOFLOW_TRUST): dev mode, decisions are accepted unsigned and recorded as unverified")
	}
	copts, err := cfg.ClientOptions(log, metrics.Handler)
	if err != nil {
		return err
	}
	if cfg.Identity != "" {
		copts.Identity = cfg.Identity
	}
	wait := opts.DialWait
	if wait == 0 {
		wait = 60 * time.Second
	}
	c, err := cfg.Dial(ctx, copts, wait)
	if err != nil {
		return err
	}
	defer c.Close()

	fatal := make(chan error, 1)
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:     cfg.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: cfg.MaxConcurrentWorkflowTasks,
		WorkerStopTimeout:                      cfg.ShutdownTimeout,
		// LockSignalsInterceptor keeps the lock replies out of the Web UI's Send a Signal.
		Interceptors: []interceptor.WorkerInterceptor{&actionMetrics{}, activities.HeartbeatInterceptor(), workflows.LockSignalsInterceptor()},
		OnFatalError: func(err error) {
			select {
			case fatal <- err:
			default:
			}
		},
	})
	if cfg.Probe != nil {
		// A probe runs kafka.verify and mqtt.verify only: no workflows, no waits.
		reg.RegisterWith(w)
	} else {
		if opts.Register != nil {
			opts.Register(w, reg)
		}
		RegisterAll(w, reg)
		RegisterTrust(w, cfg.Trust)
		RegisterCompile(w, accts)
		RegisterConflicts(w, c)
	}

	var missing []string
	if cfg.Probe == nil {
		missing = MissingActions(reg)
	}
	metrics.Handler.Gauge(MetricActionsMissing).Update(float64(len(missing)))
	if len(missing) > 0 {
		log.Error("catalog actions without an implementation: steps naming them will fail", "missing", missing, "strict", cfg.StrictCatalog)
		if cfg.StrictCatalog {
			return fmt.Errorf("%d catalog actions have no implementation: %s (start with --strict-catalog=false to run anyway)", len(missing), strings.Join(missing, ", "))
		}
	}

	var started atomic.Bool
	srv, addr, err := serveHTTP(cfg.MetricsAddr, metrics, func(ctx context.Context) error {
		if !started.Load() {
			return errors.New("worker not started")
		}
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if err != nil {
		return err
	}

	if err := w.Start(); err != nil {
		shutdownHTTP(srv)
		return fmt.Errorf("start worker on task queue %s: %w", cfg.TaskQueue, err)
	}
	started.Store(true)
	if cfg.Probe != nil {
		log.Info("topoflow probe polling: kafka.verify and mqtt.verify dial from its network", "taskQueue", cfg.TaskQueue,
			"network", cfg.Probe.Network, "socks5", cfg.Probe.SOCKS5, "namespace", cfg.Namespace, "metricsAddr", addr)
	} else {
		log.Info("topoflow worker polling", "taskQueue", cfg.TaskQueue, "namespace", cfg.Namespace,
			"actions", len(reg.Names()), "metricsAddr", addr)
	}
	if opts.Ready != nil {
		opts.Ready(addr)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("topoflow worker stopping: waiting for running activities", "timeout", cfg.ShutdownTimeout.String())
	case runErr = <-fatal:
		log.Error("topoflow worker fatal error", "error", runErr)
		runErr = fmt.Errorf("worker on task queue %s: %w", cfg.TaskQueue, runErr)
	}
	started.Store(false)
	w.Stop()
	shutdownHTTP(srv)
	log.Info("topoflow worker stopped")
	return runErr
}

// LoadAccounts loads the account registry of cfg (nil when none is
// configured), after exporting CLOUDSIM_URL and applying endpoint overrides.
func LoadAccounts(cfg Config) (*accounts.Registry, error) {
	if cfg.CloudsimURL != "" {
		if err := os.Setenv(EnvCloudsimURL, cfg.CloudsimURL); err != nil {
			return nil, fmt.Errorf("set %s: %w", EnvCloudsimURL, err)
		}
	}
	if cfg.Accounts == "" {
		if len(cfg.Endpoints) > 0 {
			return nil, errors.New("endpoint overrides need an account registry (--accounts)")
		}
		return nil, nil
	}
	reg, err := accounts.Load(cfg.Accounts)
	if err != nil {
		return nil, err
	}
	for key, url := range cfg.Endpoints {
		name, svc, _ := strings.Cut(key, ".")
		a, ok := reg.Get(name)
		if !ok {
			return nil, fmt.Errorf("endpoint override %s: no account %q in %s", key, name, cfg.Accounts)
		}
		a.Endpoints[svc] = url
	}
	return reg, nil
}

// serveHTTP starts the metrics and health listener; addr "" disables it.
func serveHTTP(addr string, m *Metrics, health func(context.Context) error) (*http.Server, string, error) {
	if addr == "" {
		return nil, "", nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.HTTPHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := health(ctx); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}

func shutdownHTTP(srv *http.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
