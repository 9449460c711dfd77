package e2e

// Tests of `make dev` (scripts/dev.sh) and `make run` (scripts/run.sh) with
// the real binaries: the stack survives being killed, Ctrl-C stops all it
// started, and the demo ends with a verified connection.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/topoflow/topoflow/internal/worldshift"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/topoflow/topoflow/internal/stack"
)

// shippedBinaries are the binaries of `make build` (bin/<name> from <package>);
// TestShippedBinariesAsMakefile keeps them in step with the Makefile.
var shippedBinaries = map[string]string{
	"topoflow": "./starter", "topoflow-worker": "./worker", "cloudsim": "./cmd/cloudsim", "topoflow-devenv": "./scripts/devenv",
}

var (
	devBinOnce sync.Once
	devBinDir  string
	devBinErr  error
)

// devBinaries builds the CLI, the worker, cloudsim and devenv once per test binary.
func devBinaries(t *testing.T) string {
	t.Helper()
	devBinOnce.Do(func() {
		root, err := stack.RepoRoot()
		if err != nil {
			devBinErr = err
			return
		}
		dir, err := os.MkdirTemp("", "topoflow-e2e-bin-")
		if err != nil {
			devBinErr = err
			return
		}
		devBinDir = dir
		for name, pkg := range shippedBinaries {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				devBinErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if devBinErr != nil {
		t.Fatal(devBinErr)
	}
	return devBinDir
}

// devEnv is the environment of scripts/dev.sh and run.sh on free ports.
type devEnv struct {
	root, bin, runDir    string
	temporalPort, uiPort int
	cloudsimAddr         string // host:port of cloudsim's provider and admin API
	shift                int    // CLOUDSIM_SHIFT: how far the world's 127.x addresses moved
	env                  []string
}

func newDevEnv(t *testing.T) *devEnv {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	temporalBin, err := stack.TemporalBin()
	if err != nil {
		t.Fatal(err)
	}
	// The world moves to a random part of 127/8 (as internal/stack's does), so
	// the test's stack does not collide with a make dev on the same machine,
	// whose world stays at its written addresses (127.16-127.31).
	shift, release := worldshift.Take()
	t.Cleanup(release)
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = stack.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	d := &devEnv{root: root, bin: devBinaries(t), runDir: t.TempDir(), temporalPort: ports[0], uiPort: ports[1],
		cloudsimAddr: fmt.Sprintf("127.0.0.1:%d", ports[2]), shift: shift}
	d.env = append(os.Environ(),
		"TOPOFLOW_RUN_DIR="+d.runDir,
		"TOPOFLOW_BIN_DIR="+d.bin,
		"TOPOFLOW_TEMPORAL_BIN="+temporalBin,
		fmt.Sprintf("TEMPORAL_PORT=%d", ports[0]),
		fmt.Sprintf("TEMPORAL_UI_PORT=%d", ports[1]),
		fmt.Sprintf("CLOUDSIM_ADDR=127.0.0.1:%d", ports[2]),
		fmt.Sprintf("WORKER_METRICS_ADDR=127.0.0.1:%d", ports[3]),
		fmt.Sprintf("CLOUDSIM_SHIFT=%d", shift),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", ports[0]),
		"TOPOFLOW_TASK_QUEUE=topoflow",
		"TOPOFLOW_ACCOUNTS=",
		"CI=true",
	)
	return d
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDev runs scripts/dev.sh in the foreground and waits until it says the stack is up.
func (d *devEnv) startDev(t *testing.T) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command("bash", "scripts/dev.sh")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = d.root, d.env, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever happened, stop what the script and its runs started.
		stop := exec.Command("bash", "scripts/dev.sh", "--stop")
		stop.Dir, stop.Env = d.root, d.env
		_ = stop.Run()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "Topoflow local stack is up") {
		if time.Now().After(deadline) {
			t.Fatalf("dev.sh did not come up:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cmd, out
}

// cli runs bin/topoflow.
func (d *devEnv) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(d.bin, "topoflow"), args...)
	cmd.Dir, cmd.Env = d.root, d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("topoflow %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cliResult runs bin/topoflow and returns its combined output and error
// (for commands expected to fail).
func (d *devEnv) cliResult(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(d.bin, "topoflow"), args...)
	cmd.Dir, cmd.Env = d.root, d.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *devEnv) phase(t *testing.T, id string) (status, phase string) {
	t.Helper()
	var s struct{ Status, Phase string }
	if err := json.Unmarshal([]byte(d.cli(t, "status", id, "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	return s.Status, s.Phase
}

func (d *devEnv) waitPhase(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, ph := d.phase(t, id)
		if ph == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %s phase %s, want phase %s", id, st, ph, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestDevStackKeepsInFlightWorkflowAcrossKill(t *testing.T) {
	t.Parallel()
	d := newDevEnv(t)
	dev, _ := d.startDev(t)

	specFile := filepath.Join(t.TempDir(), "manual.yaml")
	if err := os.WriteFile(specFile, []byte(`apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: dev-restart}
spec:
  steps:
  - id: patch-cable
    action: manual
    gate: {who: [ops], instructions: "Patch the cable"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := "topoflow/Workflow/dev-restart"
	d.cli(t, "apply", specFile)
	d.waitPhase(t, id, "WaitingManual")

	// Kill make dev hard: its children survive it; the next start must clean them up.
	if err := dev.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = dev.Wait()
	dev2, out2 := d.startDev(t)

	if st, ph := d.phase(t, id); st != "Running" || ph != "WaitingManual" {
		t.Fatalf("after restart: status %s phase %s, want Running WaitingManual", st, ph)
	}
	d.cli(t, "complete", id, "--as", "ops")
	d.waitPhase(t, id, "Done")

	// Ctrl-C stops everything.
	if err := dev2.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- dev2.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("dev.sh did not stop on SIGINT:\n%s", out2.String())
	}
	if !strings.Contains(out2.String(), "dev: stopped") {
		t.Errorf("dev.sh output lacks its stop message:\n%s", out2.String())
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", d.temporalPort), time.Second); err == nil {
		c.Close()
		t.Error("Temporal still listens after Ctrl-C")
	}
	wlog, _ := os.ReadFile(filepath.Join(d.runDir, "worker.log"))
	if !strings.Contains(string(wlog), `"msg":"topoflow worker stopped"`) {
		t.Errorf("worker did not log a graceful stop:\n%s", wlog)
	}
	if pids, _ := filepath.Glob(filepath.Join(d.runDir, "*.pid")); len(pids) > 0 {
		t.Errorf("pid files left: %v", pids)
	}
}

func TestMakeRunDemo(t *testing.T) {
	t.Parallel()
	d := newDevEnv(t)
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir, cmd.Env = d.root, d.env
	t.Cleanup(func() {
		stop := exec.Command("bash", "scripts/dev.sh", "--stop")
		stop.Dir, stop.Env = d.root, d.env
		_ = stop.Run()
	})
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	ui := fmt.Sprintf("Web UI: http://127.0.0.1:%d/namespaces/default/workflows/topoflow%%2FKafkaAccess%%2Fhw-orders-to-client-b", d.uiPort)
	for _, want := range []string{
		"Approved step approve-connection",
		"Request topoflow/KafkaAccess/hw-orders-to-client-b succeeded.",
		"kafka.verify produced and consumed through the VPC endpoints: bootstrap 127.",
		// The binaries' path: the probe dev.sh started in the client VPC, through cloudsim's SOCKS5 endpoint.
		"verify: dialed from probe topoflow-probe-hw-vpc-client-b in network 4f1a0c3e-0000-4000-8000-00000000b001 (task queue topoflow-probe-hw-vpc-client-b, host ",
		"via socks5 127.0.0.1:",
		"3 brokers:",
		ui,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make run output lacks %q:\n%s", want, out)
		}
	}
}

// TestShippedBinariesAsMakefile checks that the tests build the binaries
// `make build` ships, under the same names.
func TestShippedBinariesAsMakefile(t *testing.T) {
	t.Parallel()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\t\$\(GO\) build -o bin/(\S+) (\S+)$`).FindAllStringSubmatch(string(mk), -1) {
		got[m[1]] = m[2]
	}
	if !reflect.DeepEqual(got, shippedBinaries) {
		t.Fatalf("make build ships %v; the tests build %v", got, shippedBinaries)
	}
}
