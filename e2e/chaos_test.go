package e2e

// The chaos suite (runChaos): TestChaos is `make chaos` (chaos_long_test.go,
// build tag chaos), TestChaosShort its short variant inside `make test`.
//
// TestChaos: the production shape (scripts/prod-local.sh:
// PostgreSQL, Temporal as four services, two Topoflow workers, the probes,
// the twin) driven through bin/topoflow with renamed copies of every example
// at once, their gates opened as their people (specs/trust/dev.yaml), while a
// monkey SIGKILLs a worker at random moments (CHAOS_WORKER_KILLS, default
// 24), the history service, the frontend, the matching service, the whole
// Temporal server and PostgreSQL, and injects the twin's faults (5xx bursts,
// throttling, 2 s latency, responses lost after the call took effect, stuck
// and rejected states). Two requests in three run to Done, their verify
// step passing, and are revoked (topoflow revoke as the on-call operator,
// the grant's gates opened as their people) before the next request of their
// chain; the third is rolled back deliberately at a random step (one that
// ends Done first is revoked too). The twin is SIGKILLed mid-wave too
// (in the same rotation as the Temporal services and PostgreSQL) and
// restarted by its supervisor with its state directory (cloudsim -state):
// it resumes with the same inventory and its pending transitions, requests
// in flight carrying on. Between waves, when no request is in flight, the
// inventory must be the seed world. At the end, through the twin's inventory: 0 duplicated, 0 leaked, 0 stuck,
// the inventory equals the seed world; every workflow history is exported and
// the histories, the logs and the CLI's errors are searched for every
// credential value of the run: 0 hits. A rolling worker upgrade to a second
// build runs in the middle of the run (same task queue).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/topoflow/topoflow/internal/worldshift"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/topoflow/topoflow/internal/stack"
)

// prodEnv is a devEnv whose stack is scripts/prod-local.sh.
type prodEnv struct {
	*devEnv
	temporalCLI string
	cliErrs     syncBuffer // every error output of bin/topoflow (searched for secrets)
	workerBin   string     // the symlink the workers' supervisors run (the upgrade swaps it)
}

func newProdEnv(t *testing.T, dev bool) *prodEnv {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	temporalBin, err := stack.TemporalBin()
	if err != nil {
		t.Fatal(err)
	}
	tools := os.Getenv("TOOLS_BIN")
	if tools == "" {
		tools = filepath.Join(root, ".tools", "bin")
	}
	// Under the repository (not t.TempDir: PostgreSQL's user must reach it), kept for the logs.
	if err := os.MkdirAll(filepath.Join(root, ".run"), 0o755); err != nil {
		t.Fatal(err)
	}
	runDir, err := os.MkdirTemp(filepath.Join(root, ".run"), "chaos-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(runDir, 0o755)
	ports := map[string]int{}
	for _, k := range []string{"PROD_PG_PORT", "TEMPORAL_FRONTEND_PORT", "TEMPORAL_FRONTEND_HTTP_PORT", "TEMPORAL_HISTORY_PORT",
		"TEMPORAL_MATCHING_PORT", "TEMPORAL_WORKER_PORT", "TEMPORAL_UI_PORT", "CLOUDSIM"} {
		if ports[k], err = stack.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	// Membership ports must be below 32768: Temporal's SQL schema keeps them
	// in a smallint column (cluster_membership.rpc_port), and the kernel's
	// free ports are above.
	for _, k := range []string{"TEMPORAL_FRONTEND_MEMBERSHIP_PORT", "TEMPORAL_HISTORY_MEMBERSHIP_PORT",
		"TEMPORAL_MATCHING_MEMBERSHIP_PORT", "TEMPORAL_WORKER_MEMBERSHIP_PORT"} {
		for {
			port := 10000 + rand.IntN(20000)
			if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				ln.Close()
				ports[k] = port
				break
			}
		}
	}
	base := 40000 + rand.IntN(15000) // metrics ports: base..base+3 (Temporal), base+11.. (workers)
	shift, releaseShift := worldshift.Take()
	t.Cleanup(releaseShift)
	bin := devBinaries(t)
	p := &prodEnv{devEnv: &devEnv{root: root, bin: bin, runDir: runDir, temporalPort: ports["TEMPORAL_FRONTEND_PORT"],
		uiPort: ports["TEMPORAL_UI_PORT"], cloudsimAddr: fmt.Sprintf("127.0.0.1:%d", ports["CLOUDSIM"]), shift: shift},
		temporalCLI: temporalBin, workerBin: filepath.Join(runDir, "topoflow-worker")}
	if err := os.Symlink(filepath.Join(bin, "topoflow-worker"), p.workerBin); err != nil {
		t.Fatal(err)
	}
	p.env = append(os.Environ(),
		"TOPOFLOW_RUN_DIR="+runDir, "TOPOFLOW_BIN_DIR="+bin, "TOPOFLOW_TEMPORAL_BIN="+temporalBin, "TOOLS_BIN="+tools,
		"TOPOFLOW_WORKER_BIN="+p.workerBin, "TOPOFLOW_WORKERS=2",
		fmt.Sprintf("PROD_METRICS_PORT_BASE=%d", base), fmt.Sprintf("WORKER_METRICS_PORT_BASE=%d", base+10),
		fmt.Sprintf("CLOUDSIM_ADDR=%s", p.cloudsimAddr), fmt.Sprintf("CLOUDSIM_SHIFT=%d", shift),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", p.temporalPort),
		"TOPOFLOW_TASK_QUEUE=topoflow", "TOPOFLOW_ACCOUNTS=specs/accounts.yaml", "CI=true")
	if dev {
		p.env = append(p.env, "PROD_TEMPORAL=dev")
	}
	for k, v := range ports {
		if k != "CLOUDSIM" {
			p.env = append(p.env, fmt.Sprintf("%s=%d", k, v))
		}
	}
	return p
}

func (p *prodEnv) start(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		stop := exec.Command("bash", "scripts/prod-local.sh", "--stop")
		stop.Dir, stop.Env = p.root, p.env
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("prod-local.sh --stop: %v\n%s", err, out)
		}
	})
	cmd := exec.Command("bash", "scripts/prod-local.sh", "--background")
	cmd.Dir, cmd.Env = p.root, p.env
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("production stack is up")) {
		t.Fatalf("prod-local.sh --background: %v\n%s", err, out)
	}
	t.Logf("CHAOS stack up in %s", p.runDir)
}

// try runs bin/topoflow with a time limit; error outputs are kept.
func (p *prodEnv) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "topoflow"), args...)
	cmd.Dir, cmd.Env = p.root, p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(&p.cliErrs, "topoflow %s: %v\n%s\n", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// pid reads the pid file of a supervised process of the stack.
func (p *prodEnv) pid(name string) int {
	b, err := os.ReadFile(filepath.Join(p.runDir, name+".pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// kill SIGKILLs the named processes; their supervisors restart them.
func (p *prodEnv) kill(names ...string) error {
	for _, n := range names {
		pid := p.pid(n)
		if pid <= 0 {
			return fmt.Errorf("no pid for %s", n)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %s (%d): %w", n, pid, err)
		}
	}
	return nil
}

// waitRestarted waits until every named process runs under a new pid.
func (p *prodEnv) waitRestarted(old map[string]int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for n, pid := range old {
		for {
			if np := p.pid(n); np > 0 && np != pid && syscall.Kill(np, 0) == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not restarted within %s", n, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// healthy reports whether the twin answers.
func (p *prodEnv) twinHealthy() bool {
	resp, err := http.Get("http://" + p.cloudsimAddr + "/_cloudsim/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// chaosFigures are the run's counters.
type chaosFigures struct {
	mu                   sync.Mutex
	kills                map[string]int
	faults               map[string]int // rules added by kind
	hits                 map[string]int // calls hit by kind
	outcomes             map[string]int
	parked               int
	duplicated           map[string]string
	upgrades             int
	rejectHitsAtBarriers int
}

func (f *chaosFigures) add(m map[string]int, k string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m[k] += n
}

// copySpec writes a renamed copy of an example (metadata.name gets a suffix,
// so copies are separate requests) and returns its path.
func (p *prodEnv) copySpec(t *testing.T, ex *example, suffix string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(p.root, ex.path))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(metadata:\n(?:\s+#.*\n)*\s+name:\s*)([A-Za-z0-9._-]+)`)
	if !re.Match(src) {
		t.Fatalf("%s: no metadata.name to rename", ex.path)
	}
	out := re.ReplaceAll(src, []byte("${1}${2}-"+suffix))
	dir := filepath.Join(p.runDir, "specs")
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, strings.TrimSuffix(ex.file, ".yaml")+"-"+suffix+".yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// request drives one renamed copy: apply, gates opened as their people;
// when rollback is set, a deliberate rollback once rollbackAt of its steps
// (before verify) are done; any request that parks or makes no progress
// for 2 minutes is rolled back by an operator. It returns when the request's
// workflow ends, with its outcome ("done" with the verify step's check in
// detail, "rolled back", ...) and its last status.
func (p *prodEnv) request(t *testing.T, f *chaosFigures, ex *example, path string, rollback bool, rollbackAt int) (id, outcome, detail string) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		out, err := p.try("apply", path, "-o", "json", "--as", "e2e-requester@example.com")
		if err == nil {
			var res struct {
				WorkflowID string `json:"workflowId"`
			}
			if json.Unmarshal([]byte(out), &res) == nil && res.WorkflowID != "" {
				id = res.WorkflowID
				break
			}
		}
		if time.Now().After(deadline) {
			return "", "stuck", "apply never succeeded: " + out
		}
		time.Sleep(time.Second)
	}
	sent, why, consoleDeleted := false, "", false
	historyTries := 0
	lastChange, lastSteps := time.Now(), ""
	for {
		if time.Now().After(deadline) {
			return id, "stuck", "not ended within 10m"
		}
		out, err := p.try("status", id, "-o", "json")
		var st exStatus
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			time.Sleep(time.Second)
			continue
		}
		if st.Status != "Running" && st.Source == "history" && historyTries < 5 {
			// The CLI rebuilt the status from the history (its query timed
			// out under load): no step outputs to judge the verify by. Ask
			// again, as TestExamples' status() does.
			historyTries++
			time.Sleep(time.Second)
			continue
		}
		if st.Status != "Running" {
			switch {
			case st.Phase == "RolledBack" && sent && why == "":
				return id, "rolled back deliberately", ""
			case st.Phase == "RolledBack" && sent:
				return id, "rolled back (" + why + ")", ""
			case st.Phase == "RolledBack":
				return id, "rolled back unasked", stepTable(st)
			case st.Phase == "Done":
				if msg := verifiedProblem(ex, st); msg != "" {
					return id, "done, not verified", msg + "\n" + stepTable(st)
				}
				return id, "done", ""
			}
			return id, "failed", st.Status + " " + st.Phase + "\n" + stepTable(st)
		}
		done := 0
		for _, s := range st.Steps {
			if !isVerifyAction(s.Action) && (s.State == "done" || s.State == "skipped") {
				done++
			}
		}
		if st.Phase == "Parked" && !sent && why == "" {
			why = "parked"
			f.mu.Lock()
			f.parked++
			f.mu.Unlock()
			t.Logf("CHAOS %s parked (rolling back): %s", id, strings.TrimSpace(stepTable(st)))
		}
		if steps := stepTable(st); steps != lastSteps {
			lastChange, lastSteps = time.Now(), steps
		}
		// An operator rolls back a request that made no progress for 2 minutes
		// (a resource stuck in a pending state by an injected fault).
		if time.Since(lastChange) > 2*time.Minute && !sent && why == "" {
			why = "no progress for 2m"
			t.Logf("CHAOS %s made no progress for 2m (rolling back):\n%s", id, stepTable(st))
		}
		if !sent && ((rollback && done >= rollbackAt) || why != "") {
			out, err := p.try("rollback", id, "--reason", "chaos: deliberate rollback", "--as", exampleOperator)
			if err == nil || strings.Contains(out, "rolling back") || strings.Contains(out, "already") {
				sent = true
			}
			continue
		}
		if sent && !consoleDeleted && ex.isSaaS() {
			// Runbook 003 删除对等连接: the deployment's side goes in the EMQX
			// console, so our rollback can delete the peering.
			consoleDeleted = p.emqxConsoleDeleteTolerant(ex, st)
		}
		if st.Phase == "WaitingApproval" || st.Phase == "WaitingManual" {
			p.openGatesTolerant(t, ex, id, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// errNothingToRevoke is revokeTolerant's answer for a Done request that
// created nothing to undo.
const errNothingToRevoke = "nothing to revoke"

// revokeTolerant revokes a Done request with topoflow revoke as the on-call
// operator (sent again while a kill or a fault keeps it from landing), opens
// the grant's gates as their people, and waits for the grant to end. It
// returns "" once the grant ended Revoked, errNothingToRevoke when the
// request created nothing to undo (no step with a compensation: the
// emqx example's manual steps), else what went wrong.
func (p *prodEnv) revokeTolerant(t *testing.T, ex *example, id string) string {
	gid := id + "/grant"
	deadline := time.Now().Add(6 * time.Minute)
	sent, consoleDeleted := false, false
	for {
		if time.Now().After(deadline) {
			return "not revoked within 6m"
		}
		if !consoleDeleted && ex.isSaaS() {
			// Runbook 003: the peering is deleted in the EMQX console first
			// (its side's route holds an Alibaba peering).
			if out, err := p.try("status", id, "-o", "json"); err == nil {
				var st exStatus
				if json.Unmarshal([]byte(out), &st) == nil {
					consoleDeleted = p.emqxConsoleDeleteTolerant(ex, st)
				}
			}
		}
		if !sent {
			// Without --wait: the CLI returns once the grant took the revoke;
			// a kill in between is answered by sending it again.
			out, err := p.try("revoke", id, "--reason", "chaos: revoke", "--as", exampleOperator)
			if err == nil || strings.Contains(out, "already being revoked") || strings.Contains(out, "already revoked") {
				sent = true
			}
			// starter/revoke.go revocable: a Done request with no grant.
			if strings.Contains(out, "has nothing to revoke") {
				return errNothingToRevoke
			}
		}
		out, err := p.try("status", gid, "-o", "json")
		var st exStatus
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			time.Sleep(time.Second)
			continue
		}
		switch {
		case st.Status != "Running" && st.Phase == "Revoked":
			return ""
		case st.Status != "Running":
			return fmt.Sprintf("grant ended %s (%s)\n%s", st.Phase, st.Status, stepTable(st))
		case st.Phase == "WaitingApproval" || st.Phase == "WaitingManual":
			p.openGatesTolerant(t, ex, gid, st)
		case st.Phase == "Granted":
			// The revoke was refused (a gate's refusal is audited, the grant
			// waits again) or lost with a killed frontend: send it again.
			sent = false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// openGatesTolerant is openGates where an error (a killed server or
// worker) is left for the next round instead of failing the test.
func (p *prodEnv) openGatesTolerant(t *testing.T, ex *example, id string, st exStatus) {
	for _, s := range st.Steps {
		if s.State != "waiting" || len(s.Awaiting) == 0 {
			continue
		}
		for _, who := range p.people(t, s.Awaiting) {
			args := []string{"--step", s.ID, "--as", who, "--comment", "chaos"}
			switch s.Action {
			case "approval":
				_, _ = p.try(append([]string{"approve", id}, args...)...)
			case "manual":
				data := manualData[ex.file][s.ID]
				if data == nil && ex.isSaaS() && s.ID == "console-confirm" {
					// The person at the EMQX console enters the peering first
					// (e2e/saas_test.go consoleEntry); a refusal or a twin
					// being killed is tried again next round. 409: an earlier
					// round's entry was taken (the deployment's side is done).
					entry, deployment, err := consoleEntry(ex, st)
					if err != nil {
						continue
					}
					if code, _, err := p.emqxDo("POST", "/emqx-platform/v1/peerings", consoleBody(entry, deployment)); err != nil || code >= 300 && code != http.StatusConflict {
						continue
					}
					data = entry
				}
				if data != nil {
					b, _ := json.Marshal(data)
					args = append(args, "--data-json", string(b))
				}
				_, _ = p.try(append([]string{"complete", id}, args...)...)
			}
		}
	}
}

// emqxConsoleDeleteTolerant is emqxConsoleDelete for the chaos driver: it
// tells whether the deployment's side is gone (deleted now, never entered,
// or already detached by our rollback: 404/409 on Tencent), false to try
// again (a killed twin, a peering not running yet).
func (p *prodEnv) emqxConsoleDeleteTolerant(ex *example, st exStatus) bool {
	peering := consolePeering(st, true) // a round may have entered it in the console and not completed the step yet
	if peering == "" {
		return true
	}
	code, _, err := p.emqxDo("DELETE", "/emqx-platform/v1/peerings/"+peering, nil)
	switch {
	case err != nil:
		return false
	case code < 300, code == http.StatusNotFound:
		return true
	case code == http.StatusConflict:
		return ex.planInput("create-ccn", "name") != ""
	}
	return false
}

// adminTry calls cloudsim's admin API, returning an error instead of failing.
func (p *prodEnv) adminTry(method, path string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, "http://"+p.cloudsimAddr+"/_cloudsim"+path, rd)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, buf.String())
	}
	if out != nil {
		return json.Unmarshal(buf.Bytes(), out)
	}
	return nil
}

// faultMenu is what the monkey injects, one rule at a time, each limited in
// calls so that the retry budgets (issue 15) are what carries requests over.
var faultMenu = []struct {
	kind string
	rule map[string]any
}{
	{"5xx burst", map[string]any{"op": "huawei.*", "kind": "error", "rate": 0.5, "times": 8}},
	{"5xx burst", map[string]any{"op": "aws.*", "kind": "error", "status": 503, "code": "ServiceUnavailable", "rate": 0.5, "times": 8}},
	{"5xx burst", map[string]any{"op": "azure.*", "kind": "error", "rate": 0.5, "times": 6}},
	{"throttling", map[string]any{"op": "huawei.*", "kind": "throttle", "rate": 0.5, "retryAfter": "2s", "times": 8}},
	{"throttling", map[string]any{"op": "aws.*", "kind": "throttle", "rate": 0.5, "retryAfter": "2s", "times": 8}},
	{"2s latency", map[string]any{"op": "*.*", "kind": "latency", "latency": "2s", "rate": 0.3, "times": 20}},
	// Huawei's twin can lose an answer after the call took effect (cloudsim/huawei ResponseSuffix).
	{"lost response", map[string]any{"op": "huawei.*/response", "kind": "error", "rate": 0.5, "times": 6}},
	// Every twin's response phase (cloudsim faults.ResponseSuffix): the call takes effect, the connection closes.
	{"lost response", map[string]any{"op": "aws.*/response", "kind": "error", "rate": 0.5, "times": 4}},
	{"lost response", map[string]any{"op": "azure.*/response", "kind": "error", "rate": 0.5, "times": 3}},
	{"stuck state", map[string]any{"op": "azure.network.peering.provision", "kind": "stuck", "times": 2}},
	// AWS keeps a stuck peering in initiating-request for good: the request is rolled back after 2m without progress.
	{"stuck state", map[string]any{"op": "aws.ec2.peering.request", "kind": "stuck", "times": 1}},
	{"rejected state", map[string]any{"op": "aws.ec2.peering.accept", "kind": "reject", "times": 1}},
}

// chaosKill is a component the monkey SIGKILLs in turn: its supervised processes.
type chaosKill struct {
	kind  string
	names []string
}

// chaosConfig is one chaos run's shape: TestChaos (make chaos) or TestChaosShort (make test).
type chaosConfig struct {
	dev         bool // PROD_TEMPORAL=dev: the Temporal dev server instead of the cluster
	waves       int
	workerKills int // at least
	examples    func(t *testing.T, d *devEnv) []*example
	special     []chaosKill   // killed in turn, one every specialEvery ticks
	every       int           // specialEvery
	tick, jump  time.Duration // the monkey's tick: tick + up to jump
	faults      []int         // indexes of faultMenu injected in turn (nil: all)
	// once: each special component and each fault is used once, and the
	// worker kills stop at workerKills (the short variant); else all go on
	// until the end.
	once bool
	// probes, when set, are the only client networks whose probes run (PROD_PROBES).
	probes []string
}

// runChaos is the chaos suite (see TestChaos).
func runChaos(t *testing.T, cfg chaosConfig) {
	start := time.Now()
	waves := cfg.waves
	wantWorkerKills := cfg.workerKills
	p := newProdEnv(t, cfg.dev)
	if len(cfg.probes) > 0 {
		p.env = append(p.env, "PROD_PROBES="+strings.Join(cfg.probes, " "))
	}
	p.start(t)
	exs := cfg.examples(t, p.devEnv)
	seed, seedConfigs := p.chaosInventory(t), p.desiredConfigs(t)
	seedIDs := idsOf(seed)
	f := &chaosFigures{kills: map[string]int{}, faults: map[string]int{}, hits: map[string]int{},
		outcomes: map[string]int{}, duplicated: map[string]string{}}

	// A second build of the worker for the rolling upgrade: the same code,
	// another binary (its own ELF build ID, so its own SDK binary checksum,
	// the worker's build identity), relinked from the build cache.
	buildB := filepath.Join(p.runDir, "topoflow-worker-b")
	if waves > 1 {
		build := exec.Command("go", "build", "-ldflags", fmt.Sprintf("-B 0x%016x", rand.Uint64()), "-o", buildB, "./worker")
		build.Dir = p.root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build B of the worker: %v\n%s", err, out)
		}
	}

	// The monkey: worker kills at random moments, the other components once
	// each per wave, fault rules; twinMu keeps it off the twin while the
	// twin restarts between waves.
	var twinMu sync.RWMutex
	stop := make(chan struct{})
	var monkeyWG sync.WaitGroup
	var workerKills atomic.Int64
	ruleKinds := map[string]string{} // rule id → menu kind
	var rulesMu sync.Mutex
	special := cfg.special
	menu := faultMenu
	if cfg.faults != nil {
		menu = nil
		for _, i := range cfg.faults {
			menu = append(menu, faultMenu[i])
		}
	}
	collectHits := func() {
		var rules []struct {
			ID   string `json:"id"`
			Hits int    `json:"hits"`
		}
		if err := p.adminTry("GET", "/faults", nil, &rules); err != nil {
			t.Logf("CHAOS read fault hits: %v", err)
			return
		}
		rulesMu.Lock()
		defer rulesMu.Unlock()
		for _, r := range rules {
			if k, ok := ruleKinds[r.ID]; ok {
				f.add(f.hits, k, r.Hits)
				if k == "rejected state" {
					f.rejectHitsAtBarriers += r.Hits
				}
				delete(ruleKinds, r.ID)
				_ = p.adminTry("DELETE", "/faults/"+r.ID, nil, nil)
			}
		}
	}

	monkeyWG.Add(1)
	go func() {
		defer monkeyWG.Done()
		tick := 0
		for {
			select {
			case <-stop:
				return
			case <-time.After(cfg.tick + time.Duration(rand.Int64N(int64(cfg.jump)))):
			}
			tick++
			w := fmt.Sprintf("worker-%d", 1+rand.IntN(2))
			if cfg.once && workerKills.Load() >= int64(wantWorkerKills) {
				// Enough worker kills.
			} else if err := p.kill(w); err == nil {
				workerKills.Add(1)
				f.add(f.kills, "worker", 1)
			}
			if tick%cfg.every == 0 && (!cfg.once || tick/cfg.every <= len(special)) {
				s := special[(tick/cfg.every-1)%len(special)]
				old := map[string]int{}
				for _, n := range s.names {
					old[n] = p.pid(n)
				}
				if err := p.kill(s.names...); err != nil {
					t.Logf("CHAOS kill %s: %v", s.kind, err)
				} else {
					f.add(f.kills, s.kind, 1)
					if err := p.waitRestarted(old, 90*time.Second); err != nil {
						t.Errorf("CHAOS %s: %v", s.kind, err)
					}
					if s.names[0] == "cloudsim" {
						for i := 0; i < 600 && !p.twinHealthy(); i++ {
							time.Sleep(100 * time.Millisecond)
						}
						if !p.twinHealthy() {
							t.Errorf("CHAOS the twin did not come back within 60s of its kill")
						}
					}
				}
			}
			if tick%2 == 0 && (!cfg.once || tick/2 <= len(menu)) {
				// One fault rule at a time, for about two ticks (a burst), the
				// menu in turn so that every kind is injected.
				m := menu[(tick/2-1)%len(menu)]
				twinMu.RLock()
				collectHits()
				var res struct{ ID string }
				if err := p.adminTry("POST", "/faults", m.rule, &res); err == nil {
					rulesMu.Lock()
					ruleKinds[res.ID] = m.kind
					rulesMu.Unlock()
					f.add(f.faults, m.kind, 1)
				}
				twinMu.RUnlock()
			}
		}
	}()
	// The duplicate watcher: two live objects of one kind with one name that
	// is not the seed world's, at any moment, are a duplicate.
	monkeyWG.Add(1)
	go func() {
		defer monkeyWG.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			twinMu.RLock() // held while seedIDs is read: the barrier replaces it
			var inv map[string][]map[string]any
			if err := p.adminTry("GET", "/inventory", nil, &inv); err != nil {
				twinMu.RUnlock()
				continue
			}
			for kind, objs := range inv {
				if kind == "config" {
					continue
				}
				byName := map[string][]string{}
				for _, o := range objs {
					id := fmt.Sprint(o["id"])
					name, _ := o["name"].(string)
					if name == "" || seedIDs[kind+" "+id] || o["status"] == "deleted" {
						continue
					}
					// One name under one parent (an Azure peering is named alike
					// on both VNets, each its own resource) in one account.
					parent := ""
					if i := strings.LastIndex(id, "/"); i > 0 {
						parent = id[:i]
					}
					key := fmt.Sprint(o["account"], " ", o["region"], " ", o["vpcId"], " ", parent, " ", name)
					byName[key] = append(byName[key], id)
				}
				for name, ids := range byName {
					if len(ids) > 1 {
						f.mu.Lock()
						f.duplicated[kind+" "+name] = strings.Join(ids, ", ")
						f.mu.Unlock()
					}
				}
			}
			twinMu.RUnlock()
		}
	}()
	total := 0
	var failures []string
	var reqN atomic.Int64
	for wave := 0; wave < waves; wave++ {
		if wave == waves/2 && waves > 1 {
			// A rolling upgrade to build B, requests of this wave in flight.
			go func() {
				time.Sleep(10 * time.Second)
				if err := os.Remove(p.workerBin); err == nil {
					_ = os.Symlink(buildB, p.workerBin)
				}
				for _, w := range []string{"worker-1", "worker-2"} {
					old := map[string]int{w: p.pid(w)}
					// ESRCH: the monkey has just killed it; its supervisor
					// starts it again, from build B all the same.
					if err := syscall.Kill(old[w], syscall.SIGTERM); err != nil && err != syscall.ESRCH {
						t.Errorf("CHAOS upgrade %s: %v", w, err)
						continue
					}
					if err := p.waitRestarted(old, 90*time.Second); err != nil {
						t.Errorf("CHAOS upgrade %s: %v", w, err)
					}
					// The restarted worker runs build B. The supervisor writes
					// the pid of its forked subshell, which runs bash until it
					// execs the worker: wait for the exec (or a kill and another
					// restart by the monkey meanwhile).
					exe := ""
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
						var err error
						if exe, err = os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid(w))); err == nil && exe == buildB {
							break
						}
					}
					if exe != buildB {
						t.Errorf("CHAOS upgrade %s: it runs %s, not build B %s", w, exe, buildB)
					}
					time.Sleep(5 * time.Second)
				}
				f.mu.Lock()
				f.upgrades++
				f.mu.Unlock()
				t.Logf("CHAOS rolling upgrade of both workers to build B (%s) done", buildB)
			}()
		}
		phase := time.Now()
		var wg sync.WaitGroup
		for _, chain := range chains(exs, false) {
			wg.Add(1)
			go func(chain []*example) {
				defer wg.Done()
				for _, ex := range chain {
					n := 0
					for _, s := range ex.plan.Steps {
						if !isVerifyAction(s.Action) {
							n++
						}
					}
					// One request in three is rolled back deliberately at a
					// random step: at least one step done (a request refuses
					// decisions until it has loaded the worker's trust, "retry
					// in a few seconds", workflows/auth.go), at least two left
					// before verify. The others run to Done, verify passing,
					// and are revoked before the next request of the chain.
					rollback := reqN.Add(1)%3 == 0
					at := 1
					if n > 4 {
						at = 1 + rand.IntN(n-3)
					}
					path := p.copySpec(t, ex, fmt.Sprintf("c%d", wave+1))
					id, outcome, detail := p.request(t, f, ex, path, rollback, at)
					if outcome == "done" || outcome == "done, not verified" {
						if rollback {
							// The rollback was sent too late: the request ended Done first.
							outcome = "done before its rollback landed"
						}
						switch msg := p.revokeTolerant(t, ex, id); msg {
						case "":
							outcome += ", revoked"
						case errNothingToRevoke:
							// Checked by the inventory: it must have created nothing.
							outcome += ", nothing to revoke"
						default:
							outcome, detail = outcome+", revoke failed", detail+"\n"+msg
						}
					}
					f.add(f.outcomes, outcome, 1)
					switch outcome {
					case "done, revoked", "done, nothing to revoke", "rolled back deliberately", "done before its rollback landed, revoked",
						"rolled back (parked)", "rolled back (no progress for 2m)":
					default:
						f.mu.Lock()
						failures = append(failures, fmt.Sprintf("%s (%s): %s %s", id, ex.file, outcome, detail))
						f.mu.Unlock()
					}
					plan := fmt.Sprintf("meant to run to Done, %d steps", n)
					if rollback {
						plan = fmt.Sprintf("meant to be rolled back after %d of %d steps", at, n)
					}
					t.Logf("CHAOS wave %d %s: %s (%s)", wave+1, id, outcome, plan)
				}
			}(chain)
			total += len(chain)
		}
		wg.Wait()
		t.Logf("CHAOS wave %d: %d requests in %s", wave+1, len(exs), time.Since(phase).Round(time.Second))

		// Quiet point: no request in flight. The inventory is the seed world.
		twinMu.Lock()
		collectHits()
		if diff := inventoryDiff(seed, p.chaosInventory(t)); diff != "" && wave < waves-1 {
			// Reported here, counted by the final check (the twin keeps them).
			t.Errorf("CHAOS after wave %d the inventory is not the seed world:\n%s", wave+1, chaosLines(diff))
		}
		twinMu.Unlock()
	}
	close(stop)
	monkeyWG.Wait()

	// The end: through the twin's inventory.
	final := p.chaosInventory(t)
	diff := inventoryDiff(seed, final)
	leaked := leakCount(diff)
	configsOK := reflect.DeepEqual(p.desiredConfigs(t), seedConfigs)
	if !configsOK {
		leaked++
	}

	// Secrets: every credential value of the run, in histories, logs and CLI errors.
	secrets := p.credentialValues(t)
	hits, searched := p.searchSecrets(t, secrets)

	wall := time.Since(start).Round(time.Second)
	f.mu.Lock()
	kinds := sortedKeys(f.kills)
	var killFig []string
	for _, k := range kinds {
		killFig = append(killFig, fmt.Sprintf("%s %d", k, f.kills[k]))
	}
	var faultFig []string
	for _, k := range sortedKeys(f.faults) {
		faultFig = append(faultFig, fmt.Sprintf("%s %d rules/%d calls hit", k, f.faults[k], f.hits[k]))
	}
	var outFig []string
	for _, k := range sortedKeys(f.outcomes) {
		outFig = append(outFig, fmt.Sprintf("%s %d", k, f.outcomes[k]))
	}
	dups := len(f.duplicated)
	stuck := f.outcomes["stuck"]
	t.Logf("CHAOS requests %d (%d examples x %d waves, up to %d at once): %s; parked then rolled back %d",
		total, len(exs), waves, len(chains(exs, false)), strings.Join(outFig, ", "), f.parked)
	t.Logf("CHAOS Done (verified) then revoked %d, Done with nothing to revoke %d, rolled back deliberately %d, other rollbacks %d",
		f.outcomes["done, revoked"], f.outcomes["done, nothing to revoke"], f.outcomes["rolled back deliberately"],
		f.outcomes["rolled back (parked)"]+f.outcomes["rolled back (no progress for 2m)"]+f.outcomes["rolled back unasked"])
	t.Logf("CHAOS kills (SIGKILL): %s; rolling worker upgrades to a second build %d", strings.Join(killFig, ", "), f.upgrades)
	t.Logf("CHAOS faults: %s", strings.Join(faultFig, "; "))
	t.Logf("CHAOS duplicated %d, leaked %d, stuck %d, inventory equals the seed world: %v", dups, leaked, stuck, diff == "" && configsOK)
	t.Logf("CHAOS secrets: %d credential values searched in %d files and the CLI errors: %d hits", len(secrets), searched, hits)
	t.Logf("CHAOS wall time %s (run directory %s)", wall, p.runDir)
	for k, v := range f.duplicated {
		t.Errorf("CHAOS duplicated %s: %s", k, v)
	}
	f.mu.Unlock()

	if diff != "" {
		t.Errorf("CHAOS the final inventory is not the seed world:\n%s", chaosLines(diff))
	}
	if !configsOK {
		t.Error("CHAOS the desired configurations are not the seed world's")
	}
	for _, fl := range failures {
		// A rejected state ends a request in a rollback it did not ask for: as many as the rejections injected.
		t.Logf("CHAOS not rolled back deliberately: %s", fl)
	}
	if unasked := f.outcomes["rolled back unasked"]; unasked > f.rejectHitsAtBarriers {
		t.Errorf("CHAOS %d requests rolled back without being asked, more than the %d injected rejections", unasked, f.rejectHitsAtBarriers)
	}
	// Anything else than Done (verified) then revoked, or a rollback (deliberate,
	// of a parked request, of one without progress, or by a rejection), is a loss.
	if n := len(failures) - f.outcomes["rolled back unasked"]; n > 0 {
		t.Errorf("CHAOS %d requests stuck, failed, not verified or not revoked", n)
	}
	// Most requests (two in three are meant to) run to Done and are revoked.
	if n := f.outcomes["done, revoked"] + f.outcomes["done, nothing to revoke"]; 2*n <= total {
		t.Errorf("CHAOS only %d of %d requests ran to Done and were revoked, want most", n, total)
	}
	if got := int(workerKills.Load()); got < wantWorkerKills {
		t.Errorf("CHAOS only %d worker kills, want at least %d (CHAOS_WORKER_KILLS)", got, wantWorkerKills)
	}
	for _, s := range special {
		if f.kills[s.kind] == 0 {
			t.Errorf("CHAOS the %s was never killed", s.kind)
		}
	}
	if hits > 0 {
		t.Errorf("CHAOS %d credential hits", hits)
	}
}

// leakCount counts the objects an inventoryDiff reports left, gone or changed.
func leakCount(diff string) int {
	n := 0
	for _, l := range strings.Split(diff, "\n") {
		if strings.Contains(l, " is left") || strings.Contains(l, " is gone") || strings.Contains(l, " changed:") {
			n++
		}
	}
	return n
}

// chaosLines prefixes every line with CHAOS (make chaos keeps those lines).
func chaosLines(s string) string {
	return "CHAOS " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\nCHAOS ")
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// chaosInventory is inventory without the AWS peering records that a
// rejected or failed peering leaves: AWS keeps failed peerings visible for 2
// hours and rejected or expired ones for 2 days, as it does deleted ones
// (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-lifecycle).
func (p *prodEnv) chaosInventory(t *testing.T) any {
	t.Helper()
	inv := p.inventory(t).(map[string][]map[string]any)
	kept := []map[string]any{}
	for _, o := range inv["peering"] {
		if st := o["status"]; st != "failed" && st != "rejected" && st != "expired" {
			kept = append(kept, o)
		}
	}
	inv["peering"] = kept
	if len(kept) == 0 {
		delete(inv, "peering")
	}
	// A broker whose staged advertised host is the one it advertises has no
	// pending change (cloudsim/ambari stages one on every configuration
	// write, a rollback's restoring write too). Ambari still shows those
	// brokers "restart required" after such a rollback (it compares config
	// versions, not values): not a resource, and not counted as a leak.
	for _, k := range inv["kafka"] {
		brokers, _ := k["brokers"].([]any)
		for _, b := range brokers {
			if m, ok := b.(map[string]any); ok && m["pendingAdvertised"] != nil && m["pendingAdvertised"] == m["advertised"] {
				delete(m, "pendingAdvertised")
			}
		}
	}
	return inv
}

func idsOf(inv any) map[string]bool {
	out := map[string]bool{}
	m, _ := inv.(map[string][]map[string]any)
	for kind, objs := range m {
		for _, o := range objs {
			out[kind+" "+fmt.Sprint(o["id"])] = true
		}
	}
	return out
}

// credentialValues are the secrets of the run: every credential the
// workers were given (topoflow-devenv's exports for the world) and
// PostgreSQL's password.
func (p *prodEnv) credentialValues(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "topoflow-devenv"), "-world", "cloudsim/worlds/examples.yaml")
	cmd.Dir = p.root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("topoflow-devenv: %v", err)
	}
	secretKey := regexp.MustCompile(`_(AK|SK|SECURITY_TOKEN|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CLIENT_SECRET|PASSWORD|USERNAME)$`)
	line := regexp.MustCompile(`^export ([A-Z0-9_]+)=(.*)$`)
	var vals []string
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || !secretKey.MatchString(m[1]) {
			continue
		}
		v := strings.Trim(m[2], `'"`)
		if len(v) >= 6 {
			vals = append(vals, v)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.runDir, "pg-password")); err == nil {
		vals = append(vals, strings.TrimSpace(string(b)))
	}
	if len(vals) < 3 {
		t.Fatalf("only %d credential values found in topoflow-devenv's output", len(vals))
	}
	return vals
}

// searchSecrets exports every workflow history of the run and counts the
// credential values found in them, in the stack's logs and in the CLI's errors.
func (p *prodEnv) searchSecrets(t *testing.T, secrets []string) (hits, files int) {
	t.Helper()
	dir := filepath.Join(p.runDir, "histories")
	_ = os.MkdirAll(dir, 0o755)
	addr := fmt.Sprintf("127.0.0.1:%d", p.temporalPort)
	out, err := exec.Command(p.temporalCLI, "workflow", "list", "--address", addr, "-n", "default", "-o", "json", "--limit", "100000").Output()
	if err != nil {
		t.Fatalf("temporal workflow list: %v", err)
	}
	var wfs []struct {
		Execution struct {
			WorkflowID string `json:"workflowId"`
			RunID      string `json:"runId"`
		} `json:"execution"`
	}
	if err := json.Unmarshal(out, &wfs); err != nil {
		// One JSON object per line on some CLI versions.
		for _, l := range strings.Split(string(out), "\n") {
			var w struct {
				Execution struct {
					WorkflowID string `json:"workflowId"`
					RunID      string `json:"runId"`
				} `json:"execution"`
			}
			if json.Unmarshal([]byte(l), &w) == nil && w.Execution.WorkflowID != "" {
				wfs = append(wfs, w)
			}
		}
	}
	if len(wfs) == 0 {
		t.Fatalf("no workflow histories to export")
	}
	for i, w := range wfs {
		h, err := exec.Command(p.temporalCLI, "workflow", "show", "--address", addr, "-n", "default", "-w", w.Execution.WorkflowID,
			"-r", w.Execution.RunID, "-o", "json").Output()
		if err != nil {
			t.Errorf("export history of %s: %v", w.Execution.WorkflowID, err)
			continue
		}
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d-%s.json", i, strings.ReplaceAll(w.Execution.WorkflowID, "/", "_"))), h, 0o644)
	}
	t.Logf("CHAOS exported %d workflow histories to %s", len(wfs), dir)
	var paths []string
	hs, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	logs, _ := filepath.Glob(filepath.Join(p.runDir, "*.log"))
	paths = append(append(paths, hs...), logs...)
	scan := func(what string, b []byte) {
		for _, s := range secrets {
			if n := bytes.Count(b, []byte(s)); n > 0 {
				hits += n
				t.Errorf("CHAOS a credential value appears %d times in %s", n, what)
			}
		}
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		files++
		scan(path, b)
	}
	scan("the CLI's error outputs", []byte(p.cliErrs.String()))
	return hits, files
}
