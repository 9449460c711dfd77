package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/worker/app"
)

// Options configure a local stack.
type Options struct {
	// Temporal configures the dev server.
	Temporal TemporalOptions
	// Cloudsim starts cloudsim in-process on a free port and points the
	// worker's ${CLOUDSIM_URL} endpoints at it.
	Cloudsim bool
	// Worker starts a worker in-process.
	Worker bool
	// TaskQueue is the worker's task queue (default: a unique name per stack,
	// so tests sharing a server do not steal each other's tasks).
	TaskQueue string
	// Accounts is the worker's account registry file ("" means none; with
	// Cloudsim, specs/accounts.yaml at the repository root).
	Accounts string
	// Trust is the worker's trust file ("" means none: dev mode).
	Trust string
	// Register registers test-only workflows or actions on the worker.
	Register func(w worker.Registry, reg *activities.Registry)
	// Log receives the worker's logs (default: discarded; set TOPOFLOW_TEST_LOG=1 for stderr).
	Log io.Writer
	// SkipProbes lists probe task queues of the account registry that the
	// stack does not start (to test a probe nobody runs).
	SkipProbes []string
}

// Stack is a running local stack.
type Stack struct {
	// Temporal is the dev server.
	Temporal *Temporal
	// Client is connected to the default namespace.
	Client client.Client
	// TaskQueue is the worker's task queue.
	TaskQueue string
	// CloudsimURL is cloudsim's base URL ("" without cloudsim).
	CloudsimURL string
	// MetricsAddr is the in-process worker's /metrics and /healthz address.
	MetricsAddr string

	// Probes maps the task queue of each running probe worker to its network.
	Probes map[string]string

	opts         Options
	cloud        *cloud
	workerCancel context.CancelFunc
	workerDone   chan error
	probeStops   []func() error
}

// Start starts the stack: Temporal, then cloudsim, then the worker.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{opts: opts, TaskQueue: opts.TaskQueue}
	if s.TaskQueue == "" {
		s.TaskQueue = fmt.Sprintf("topoflow-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.Temporal, err = StartTemporal(ctx, opts.Temporal); err != nil {
		return nil, err
	}
	if s.Client, err = s.Temporal.Client(ctx, "default"); err != nil {
		return nil, err
	}
	if opts.Cloudsim {
		if s.cloud, err = startCloud(); err != nil {
			return nil, err
		}
		s.CloudsimURL = s.cloud.url
		if s.opts.Accounts == "" {
			root, err := RepoRoot()
			if err != nil {
				return nil, err
			}
			s.opts.Accounts = root + "/specs/accounts.yaml"
		}
	}
	if opts.Worker {
		if err = s.StartWorker(ctx); err != nil {
			return nil, err
		}
		if s.cloud != nil {
			if err = s.startProbes(ctx); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// startProbes starts a probe worker (the worker's probe mode, in-process)
// for every probe the account registry names, each dialing through the
// in-process cloudsim's SOCKS5 endpoint of its network, as `make dev` does
// with the binaries.
func (s *Stack) startProbes(ctx context.Context) error {
	if s.opts.Accounts == "" {
		return nil
	}
	reg, err := app.LoadAccounts(s.WorkerConfig())
	if err != nil {
		return err
	}
	probes, err := reg.Probes()
	if err != nil {
		return err
	}
	for _, p := range probes {
		if slices.Contains(s.opts.SkipProbes, p.TaskQueue) {
			continue
		}
		if err := s.StartProbe(ctx, p.TaskQueue, p.Network); err != nil {
			return err
		}
	}
	return nil
}

// StartProbe starts a probe worker in-process (the worker's probe mode) on
// taskQueue, sitting in network: it dials through the in-process cloudsim's
// SOCKS5 endpoint of that network. The stack stops it on Close.
func (s *Stack) StartProbe(ctx context.Context, taskQueue, network string) error {
	if s.cloud == nil {
		return errors.New("start probe: the stack has no cloudsim")
	}
	cfg := s.WorkerConfig()
	cfg.TaskQueue = taskQueue
	cfg.Probe = &app.ProbeConfig{Network: network, SOCKS5: app.SOCKS5Cloudsim}
	stop, _, err := s.runWorker(ctx, cfg, app.Options{})
	if err != nil {
		return fmt.Errorf("start probe %s (network %s): %w", taskQueue, network, err)
	}
	s.probeStops = append(s.probeStops, stop)
	if s.Probes == nil {
		s.Probes = map[string]string{}
	}
	s.Probes[taskQueue] = network
	return nil
}

// runWorker runs app.Run in-process until the returned stop is called.
func (s *Stack) runWorker(ctx context.Context, cfg app.Config, opts app.Options) (stop func() error, metricsAddr string, err error) {
	w := s.opts.Log
	if w == nil {
		w = io.Discard
		if os.Getenv("TOPOFLOW_TEST_LOG") != "" {
			w = os.Stderr
		}
	}
	opts.Logger = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts.DialWait = 30 * time.Second
	ready := make(chan string, 1)
	opts.Ready = func(addr string) { ready <- addr }
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(wctx, cfg, opts) }()
	select {
	case addr := <-ready:
		return func() error { cancel(); return <-done }, addr, nil
	case err := <-done:
		cancel()
		return nil, "", err
	case <-ctx.Done():
		cancel()
		<-done
		return nil, "", ctx.Err()
	}
}

// WorkerConfig returns the configuration of the in-process worker.
func (s *Stack) WorkerConfig() app.Config {
	return app.Config{
		Conn:            app.Conn{Address: s.Temporal.Address, Namespace: "default"},
		TaskQueue:       s.TaskQueue,
		Accounts:        s.opts.Accounts,
		Trust:           s.opts.Trust,
		CloudsimURL:     s.CloudsimURL,
		MetricsAddr:     "127.0.0.1:0",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 5 * time.Second,
	}
}

// checkContracts makes the worker's actions fail when they return outputs
// their descriptors do not declare (every test run against the twin checks
// the implementations against the catalog), then calls register.
func checkContracts(register func(w worker.Registry, reg *activities.Registry)) func(w worker.Registry, reg *activities.Registry) {
	return func(w worker.Registry, reg *activities.Registry) {
		reg.CheckOutputs(contract.CheckOutputs)
		if register != nil {
			register(w, reg)
		}
	}
}

// StartWorker starts the in-process worker (again, after StopWorker).
func (s *Stack) StartWorker(ctx context.Context) error {
	if s.workerCancel != nil {
		return errors.New("worker already running")
	}
	stop, addr, err := s.runWorker(ctx, s.WorkerConfig(), app.Options{Register: checkContracts(s.opts.Register)})
	if err != nil {
		return fmt.Errorf("start in-process worker: %w", err)
	}
	s.MetricsAddr = addr
	done := make(chan error, 1)
	s.workerCancel = func() { done <- stop() }
	s.workerDone = done
	return nil
}

// StopWorker stops the in-process worker gracefully.
func (s *Stack) StopWorker() error {
	if s.workerCancel == nil {
		return nil
	}
	s.workerCancel()
	err := <-s.workerDone
	s.workerCancel, s.workerDone = nil, nil
	return err
}

// Close stops the worker, cloudsim and Temporal, in that order.
func (s *Stack) Close() error {
	var errs []error
	errs = append(errs, s.StopWorker())
	for _, stop := range s.probeStops {
		errs = append(errs, stop())
	}
	s.probeStops = nil
	if s.Client != nil {
		s.Client.Close()
	}
	if s.cloud != nil {
		errs = append(errs, s.cloud.close())
	}
	if s.Temporal != nil {
		errs = append(errs, s.Temporal.Stop())
	}
	return errors.Join(errs...)
}

// UIWorkflowURL is the Web UI link of a workflow ("" when headless).
func (s *Stack) UIWorkflowURL(workflowID string) string {
	if s.Temporal.UIURL == "" {
		return ""
	}
	// The workflow ID is a path segment: its "/" are escaped, as the Web UI's routes need.
	return strings.TrimSuffix(s.Temporal.UIURL, "/") + "/namespaces/default/workflows/" + url.PathEscape(workflowID)
}

// New starts a stack for a test and stops it when the test ends; it fails
// the test (never skips it) when a piece cannot start.
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop local stack: %v", err)
		}
	})
	return s
}
