// Package stack runs Topoflow's local stack for tests and tools: the real
// Temporal dev server (the pinned Temporal CLI built by `make tools`, with
// SQLite persistence and Topoflow's search attributes), cloudsim in-process,
// and a worker in-process with every activity registered. End-to-end tests
// of every package reuse it.
package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/internal/portlease"
	"github.com/topoflow/topoflow/workflows"
)

// EnvTemporalBin names the environment variable that points at the temporal
// CLI binary; the default is .tools/bin/temporal at the repository root.
const EnvTemporalBin = "TOPOFLOW_TEMPORAL_BIN"

// SearchAttributes are the typed search attributes the interpreter sets; the
// local server registers them at start.
var SearchAttributes = []temporal.SearchAttributeKey{
	workflows.SASpec, workflows.SAKind, workflows.SAProvider, workflows.SAPhase, workflows.SAAwaiting,
}

// SearchAttributeFlags returns the dev server's --search-attribute values
// (Name=Type) for [SearchAttributes].
func SearchAttributeFlags() []string {
	out := make([]string, 0, len(SearchAttributes))
	for _, k := range SearchAttributes {
		out = append(out, k.GetName()+"="+indexedTypeName(k.GetValueType()))
	}
	return out
}

func indexedTypeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return "KeywordList"
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		return "Text"
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return "Double"
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		return "Bool"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	}
	return t.String()
}

// RepoRoot returns the directory holding the module's go.mod, searching
// upwards from the working directory (tests run in their package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module github.com/topoflow/topoflow\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of github.com/topoflow/topoflow above the working directory")
		}
		dir = parent
	}
}

// TemporalBin returns the temporal CLI to run: $TOPOFLOW_TEMPORAL_BIN, else
// .tools/bin/temporal at the repository root. The error says how to build it.
func TemporalBin() (string, error) {
	bin := os.Getenv(EnvTemporalBin)
	if bin == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(root, ".tools", "bin", "temporal")
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("temporal CLI not found at %s: run `make tools` (or set %s)", bin, EnvTemporalBin)
	}
	return bin, nil
}

// TemporalOptions configure a local Temporal dev server.
type TemporalOptions struct {
	// Bin is the temporal CLI (default [TemporalBin]).
	Bin string
	// DBFile is the SQLite file; empty means a new file in Dir. Reusing a file
	// keeps workflows across restarts.
	DBFile string
	// Dir holds the database and the server log (default: a new temp dir,
	// removed by Stop unless DBFile or Dir was given).
	Dir string
	// Port is the frontend gRPC port (0: a free port).
	Port int
	// UI starts the Web UI; UIPort is its port (0: a free port).
	UI     bool
	UIPort int
	// Namespaces are created besides "default".
	Namespaces []string
	// StartTimeout bounds the wait for the server to answer (default 60s).
	StartTimeout time.Duration
}

// Temporal is a running dev server.
type Temporal struct {
	// Address is the frontend host:port.
	Address string
	// UIURL is the Web UI base URL ("" when headless).
	UIURL string
	// DBFile is the SQLite database.
	DBFile string
	// LogFile receives the server's output.
	LogFile string

	opts    TemporalOptions
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	tempDir string
	stopped sync.Once
}

// StartTemporal starts a dev server and waits until its frontend answers.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Bin == "" {
		bin, err := TemporalBin()
		if err != nil {
			return nil, err
		}
		opts.Bin = bin
	}
	t := &Temporal{opts: opts}
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "topoflow-temporal-")
		if err != nil {
			return nil, fmt.Errorf("temporal dir: %w", err)
		}
		opts.Dir = dir
		if opts.DBFile == "" {
			t.tempDir = dir
		}
	}
	if opts.DBFile == "" {
		opts.DBFile = filepath.Join(opts.Dir, "temporal.db")
	}
	t.DBFile, t.LogFile = opts.DBFile, filepath.Join(opts.Dir, "temporal.log")
	t.opts = opts
	err := t.start(ctx)
	// A port chosen free can be taken by another process before the server
	// binds it (and the dev server picks more ports itself): when the server
	// exits at start and the ports were ours to choose, choose again.
	for attempt := 1; err != nil && errors.Is(err, errExitedEarly) && opts.Port == 0 && (!opts.UI || opts.UIPort == 0) && attempt < 3; attempt++ {
		err = t.start(ctx)
	}
	return t, err
}

// errExitedEarly marks a dev server that exited before it was ready.
var errExitedEarly = errors.New("exited early")

func (t *Temporal) start(ctx context.Context) error {
	opts := t.opts
	port := opts.Port
	var err error
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return err
		}
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--db-filename", opts.DBFile,
		"--log-level", "warn",
	}
	for _, sa := range SearchAttributeFlags() {
		args = append(args, "--search-attribute", sa)
	}
	for _, ns := range opts.Namespaces {
		args = append(args, "--namespace", ns)
	}
	if opts.UI {
		uiPort := opts.UIPort
		if uiPort == 0 {
			if uiPort, err = FreePort(); err != nil {
				return err
			}
		}
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		t.UIURL = fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	} else {
		args = append(args, "--headless")
	}
	logf, err := os.OpenFile(t.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("temporal log: %w", err)
	}
	cmd := exec.Command(opts.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group (signals reach the server only from us), and killed
	// with us if the test binary dies without cleaning up (timeout, panic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start temporal dev server: %w", err)
	}
	t.cmd, t.done = cmd, make(chan struct{})
	t.stopped = sync.Once{}
	go func() {
		t.waitErr = cmd.Wait()
		logf.Close()
		close(t.done)
	}()
	t.Address = fmt.Sprintf("127.0.0.1:%d", port)

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := t.waitReady(ctx, timeout); err != nil {
		t.kill()
		return fmt.Errorf("temporal dev server on %s: %w\n%s", t.Address, err, t.LogTail(20))
	}
	return nil
}

// waitReady polls the frontend until it answers a health check and the
// search attributes are visible.
func (t *Temporal) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-t.done:
			return fmt.Errorf("%w: %v", errExitedEarly, t.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := client.DialContext(cctx, client.Options{HostPort: t.Address, Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}

// Client dials the server in namespace ns ("" means default).
func (t *Temporal) Client(ctx context.Context, ns string) (client.Client, error) {
	if ns == "" {
		ns = "default"
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Namespace: ns, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s: %w", t.Address, err)
	}
	return c, nil
}

// Restart stops the server (SIGTERM) and starts it again on the same port
// and database: workflows in flight survive.
func (t *Temporal) Restart(ctx context.Context) error {
	if err := t.stop(false); err != nil {
		return err
	}
	_, portStr, _ := net.SplitHostPort(t.Address)
	t.opts.Port, _ = strconv.Atoi(portStr)
	if t.UIURL != "" {
		_, uiPort, _ := net.SplitHostPort(strings.TrimPrefix(t.UIURL, "http://"))
		t.opts.UIPort, _ = strconv.Atoi(uiPort)
	}
	return t.start(ctx)
}

// Stop stops the server with SIGTERM (SIGKILL after 15s) and removes its
// temp dir when StartTemporal created it.
func (t *Temporal) Stop() error { return t.stop(true) }

func (t *Temporal) stop(cleanup bool) error {
	var err error
	t.stopped.Do(func() {
		if t.cmd == nil || t.cmd.Process == nil {
			return
		}
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-t.done:
		case <-time.After(15 * time.Second):
			t.kill()
			err = errors.New("temporal dev server did not stop within 15s; killed")
		}
	})
	if cleanup && t.tempDir != "" {
		_ = os.RemoveAll(t.tempDir)
	}
	return err
}

// kill sends SIGKILL to the server's process group and waits for it.
func (t *Temporal) kill() {
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	<-t.done
}

// LogTail returns the last n lines of the server log.
func (t *Temporal) LogTail(n int) string {
	b, err := os.ReadFile(t.LogFile)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port on 127.0.0.1, leased for the life of the
// process from below the ephemeral range (internal/portlease), so a server
// killed and restarted on it does not find it taken by a client connection.
func FreePort() (int, error) {
	return portlease.Take()
}

// quietLogger drops the SDK's logs (readiness polling is noisy by design).
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
