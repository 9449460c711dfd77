//go:build faults

// The fault matrix and the recovery measurement (issue 15): many requests on
// the real Temporal server and the twin, with cloud faults on every
// operation, and with a worker process killed (SIGKILL) every 30 s. Run with
// `make faults` (FAULTS_N requests per scenario, FAULTS_RUN a -run filter);
// not part of `make test` (minutes).
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// TestFaultMatrix runs FAULTS_N requests (default 10) per scenario, one
// after another on one stack, each from the same cloud state, with a fault
// on every Huawei operation: a 5xx or a throttle before the operation, or
// (third scenario) a 500 after it took effect, its answer lost. Target
// (issue 15): at least 95% Done, none rolled back for a transient error;
// nothing duplicated.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	n := envInt("FAULTS_N", 10)
	s := newStack(t)
	inv := s.Sim().Inventory
	for _, sc := range []struct {
		name string
		rule faults.Rule
	}{
		{"30% 5xx on every operation", faults.Rule{Op: "huawei.*", Kind: faults.Error, Rate: 0.3}},
		{"50% throttling with Retry-After 2s", faults.Rule{Op: "huawei.*", Kind: faults.Throttle, Rate: 0.5, RetryAfter: plan.D(2 * time.Second)}},
		{"30% lost responses after every change", faults.Rule{Op: "huawei.*" + hwsim.ResponseSuffix, Kind: faults.Error, Rate: 0.3}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			id := s.Sim().Faults.MustAdd(sc.rule)
			done, rolledBack := 0, 0
			var took []time.Duration
			for i := 0; i < n; i++ {
				snap := takeSnapshot(inv)
				o := runOne(t, s, fmt.Sprintf("faults-%d-%d", time.Now().UnixNano()%1e6, i), 40*time.Minute)
				if o.done {
					// Idempotent creates: one endpoint service and one endpoint per broker, whatever answers were lost.
					k, _ := inventory.Get[*inventory.KafkaInstance](inv, hwKafka)
					if ns, ne := len(inv.List(inventory.KindEndpointService, inventory.Filter{})), len(inv.List(inventory.KindEndpoint, inventory.Filter{})); ns != len(k.Brokers) || ne != len(k.Brokers) {
						t.Errorf("request %d: %d endpoint services and %d endpoints for %d brokers", i, ns, ne, len(k.Brokers))
					}
				}
				took = append(took, o.took)
				if o.done {
					done++
				} else {
					if o.phase == workflows.PhaseRolledBack || o.phase == workflows.PhaseFailed {
						rolledBack++
					}
					t.Logf("request %d: %s after %s: %s", i, o.phase, o.took.Round(time.Second), o.failures)
				}
				// Start the next request from the same cloud, without faults on the restore.
				snap.restore(t, inv)
			}
			hits := ruleHits(s, id)
			s.Sim().Faults.Remove(id)
			t.Logf("FAULTS %s: %d/%d Done (%.0f%%), %d rolled back; median %s, max %s; %d faults injected",
				sc.name, done, n, 100*float64(done)/float64(n), rolledBack, median(took).Round(time.Second), slices.Max(took).Round(time.Second), hits)
			if done*100 < 95*n || rolledBack > 0 {
				t.Errorf("%d/%d Done and %d rolled back, want at least 95%% Done and none rolled back", done, n, rolledBack)
			}
		})
	}
}

// workerProc is a topoflow-worker process against the stack.
type workerProc struct {
	t      *testing.T
	bin    string
	s      *stack.Stack
	mu     sync.Mutex
	cmd    *exec.Cmd
	killed int
	logs   *os.File
}

func (w *workerProc) start() {
	w.t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.bin, "--address", w.s.Temporal.Address, "--task-queue", w.s.TaskQueue,
		"--accounts", filepath.Join(root, "specs", "accounts.yaml"), "--cloudsim-url", w.s.CloudsimURL,
		"--metrics-addr", "127.0.0.1:0", "--shutdown-timeout", "1s")
	cmd.Env = os.Environ() // the twin's simulator-only credentials (internal/stack exports them)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		w.t.Fatalf("start worker: %v", err)
	}
	w.mu.Lock()
	w.cmd = cmd
	w.mu.Unlock()
}

// kills counts the SIGKILLs sent so far.
func (w *workerProc) kills() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.killed
}

// kill sends SIGKILL to the worker and waits for it to die.
func (w *workerProc) kill() {
	w.mu.Lock()
	cmd := w.cmd
	w.cmd = nil
	if cmd != nil {
		w.killed++
	}
	w.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// TestRecoveryUnderWorkerKills measures the median request time with one
// worker process (bin/topoflow-worker's code) SIGKILLed every 30 s and
// restarted at once, against the same without kills. Target (issue 15): at
// most 2×.
func TestRecoveryUnderWorkerKills(t *testing.T) {
	n := envInt("FAULTS_N", 10)
	bin := filepath.Join(devBinaries(t), "topoflow-worker")
	// Cloud-like durations (an endpoint service or endpoint takes seconds to
	// become available), so that a request lasts about as long as issue 15's
	// (13 s) and kills every 30 s hit many of them mid-flight.
	saved := hwsim.DefaultTiming
	hwsim.DefaultTiming.ServiceCreate, hwsim.DefaultTiming.EndpointCreate = 4*time.Second, 4*time.Second
	defer func() { hwsim.DefaultTiming = saved }()
	s := stack.New(t, stack.Options{Cloudsim: true})
	logs, err := os.Create(filepath.Join(t.TempDir(), "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	w := &workerProc{t: t, bin: bin, s: s, logs: logs}
	w.start()
	defer w.kill()
	inv := s.Sim().Inventory

	measure := func(label string, kills bool) []time.Duration {
		slug := "calm"
		if kills {
			slug = "kills"
		}
		stop := make(chan struct{})
		var killed int
		var wg sync.WaitGroup
		if kills {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(30 * time.Second)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						w.kill()
						killed++
						w.start()
					}
				}
			}()
		}
		var took, hit []time.Duration
		for i := 0; i < n; i++ {
			snap := takeSnapshot(inv)
			before := w.kills()
			o := runOne(t, s, fmt.Sprintf("recovery-%s-%d-%d", slug, time.Now().UnixNano()%1e6, i), 20*time.Minute)
			if !o.done {
				t.Errorf("%s request %d: %s after %s: %s", label, i, o.phase, o.took.Round(time.Second), o.failures)
			}
			took = append(took, o.took)
			if w.kills() > before {
				hit = append(hit, o.took)
			}
			snap.restore(t, inv)
		}
		close(stop)
		wg.Wait()
		t.Logf("RECOVERY %s: %d requests, median %s, max %s; %d worker kills, %d requests ran through one (median %s)", label, n,
			median(took).Round(100*time.Millisecond), slices.Max(took).Round(100*time.Millisecond), killed, len(hit), median(hit).Round(100*time.Millisecond))
		return took
	}
	calm := median(measure("without kills", false))
	killed := median(measure("kill -9 every 30s", true))
	t.Logf("RECOVERY ratio: %.2f× (median %s with kills, %s without)", float64(killed)/float64(calm), killed.Round(100*time.Millisecond), calm.Round(100*time.Millisecond))
	if killed > 2*calm {
		t.Errorf("median %s under kills, more than 2× the %s without", killed, calm)
	}
}
