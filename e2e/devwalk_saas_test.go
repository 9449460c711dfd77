//go:build devwalk

package e2e

// `make dev-walk-saas` (build tag devwalk; minutes, not part of make test):
// the four SaaSPeering examples of runbook 003 (specs/emqx-*-peering.yaml)
// walked on a live `make dev` stack, as a user walks them: the stack is the
// one `make dev` runs (scripts/dev.sh in the foreground, the seed world at
// its written addresses, the default ports), every step goes through
// bin/topoflow (apply, status, approve, complete --data-json, revoke) and the
// EMQX console stand-in on cloudsim (POST and DELETE /emqx-platform/v1/peerings,
// what the person does in the EMQX console), and the inventory is read from
// cloudsim's admin API. When a `make dev` already runs (cloudsim answers at
// $CLOUDSIM_ADDR, default 127.0.0.1:8700), the walk runs on it; otherwise it
// starts one with its run directory in .run/dev-walk (emptied first; the logs
// stay there).

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

func TestDevWalkSaaS(t *testing.T) {
	start := time.Now()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	d := &devEnv{root: root, bin: filepath.Join(root, "bin"), runDir: filepath.Join(root, ".run", "dev-walk"),
		cloudsimAddr: getenv("CLOUDSIM_ADDR", "127.0.0.1:8700")}
	for name := range shippedBinaries {
		if _, err := os.Stat(filepath.Join(d.bin, name)); err != nil {
			t.Fatalf("bin/%s is missing: run make build (make dev-walk-saas does)", name)
		}
	}
	temporal := "127.0.0.1:" + getenv("TEMPORAL_PORT", "7233")
	d.env = append(os.Environ(), "TEMPORAL_ADDRESS="+temporal, "TOPOFLOW_ACCOUNTS=specs/accounts.yaml")

	if resp, err := http.Get("http://" + d.cloudsimAddr + "/_cloudsim/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Logf("WALK a make dev runs (cloudsim %s, Temporal %s): walking on it", d.cloudsimAddr, temporal)
	} else {
		if err := os.RemoveAll(d.runDir); err != nil {
			t.Fatal(err)
		}
		d.env = append(d.env, "TOPOFLOW_RUN_DIR="+d.runDir)
		_, out := d.startDev(t) // make dev's scripts/dev.sh, in the foreground
		t.Logf("WALK started make dev (scripts/dev.sh, run directory %s) in %s:\n%s", d.runDir, time.Since(start).Round(time.Millisecond), out.String())
	}

	var exs []*example
	files, _ := filepath.Glob(filepath.Join(root, "specs", "emqx-*-peering.yaml"))
	for _, f := range files {
		ex := &example{file: filepath.Base(f), path: filepath.Join("specs", filepath.Base(f))}
		if err := json.Unmarshal([]byte(d.cli(t, "plan", ex.path, "-o", "json")), &ex.plan); err != nil {
			t.Fatalf("plan %s: %v", ex.path, err)
		}
		if ex.isSaaS() {
			exs = append(exs, ex)
		}
	}
	if len(exs) != 4 {
		t.Fatalf("want the four SaaSPeering examples in specs/emqx-*-peering.yaml, found %d", len(exs))
	}
	seed, seedConfigs := d.inventory(t), d.desiredConfigs(t)

	// Each example: apply, the approval and the EMQX console step answered
	// as their people would, Done with verify passing (and MQTT from our VPC
	// refused before the console step and after EMQX's side alone), revoke
	// with the console's 删除对等连接 first. The four run at once, as four
	// users would.
	var wg sync.WaitGroup
	for _, ex := range exs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(ex.file, func(t *testing.T) {
				began := time.Now()
				id := d.runToDone(t, ex)
				t.Logf("WALK %s: Done in %s; topoflow status %s:\n%s", ex.file, time.Since(began).Round(time.Millisecond), ex.path,
					d.cli(t, "status", ex.path))
				if ex.planInput("create-peering", "acceptingVpcId") != "" {
					d.revokeHeldByEMQX(t, ex, id) // Alibaba: the revoke waits for the console's delete
				} else {
					d.revoke(t, ex, id)
				}
				t.Logf("WALK %s: applied, verified and revoked in %s", ex.file, time.Since(began).Round(time.Millisecond))
			})
		}()
	}
	wg.Wait()
	if diff := inventoryDiff(seed, d.inventory(t)); diff != "" {
		t.Fatalf("after the walk the inventory is not the seed world:\n%s", diff)
	}
	if got := d.desiredConfigs(t); !reflect.DeepEqual(got, seedConfigs) {
		t.Fatalf("desired configurations changed by the walk:\n  %v\nwant\n  %v", got, seedConfigs)
	}
	t.Logf("WALK the four SaaSPeering examples walked on make dev; the inventory is the seed world again; %s in all", time.Since(start).Round(time.Second))
}

// revokeHeldByEMQX revokes an Alibaba SaaSPeering the way it goes when the
// person deletes the peering in the EMQX console late: our side undoes its
// route and rule, then our peering's delete is refused while EMQX's return
// route points to it (OperationDenied.RouteEntryExist, retried, naming the
// EMQX console); once the console's 删除对等连接 drops that route, the delete
// goes through and the grant ends Revoked with nothing leaked.
func (d *devEnv) revokeHeldByEMQX(t *testing.T, ex *example, id string) {
	t.Helper()
	start := time.Now()
	for attempt := 0; ; attempt++ {
		out, err := d.cliResult(t, "revoke", id, "--reason", "dev walk", "--as", exampleOperator)
		if err == nil {
			break
		}
		if attempt == 10 || !strings.Contains(out, "still loading its trust configuration") {
			t.Fatalf("%s: topoflow revoke %s: %v\n%s", ex.file, id, err, out)
		}
		time.Sleep(2 * time.Second)
	}
	gid := workflows.GrantWorkflowID(id)
	for held := false; !held; {
		st := d.status(t, gid)
		if st.Status != "Running" {
			t.Fatalf("%s: the grant ended %s before EMQX deleted its side:\n%s", ex.file, st.Phase, stepTable(st))
		}
		if st.Phase == workflows.PhaseWaitingApproval {
			d.openGates(t, ex, gid, st, nil, nil)
		}
		// A compensation retrying a refusal shows in the Web UI's pending
		// activities (temporal workflow describe), not in topoflow status.
		if msg := pendingFailure(t, d, gid, "alibaba.vpcpeer.deletePeering"); strings.Contains(msg, "OperationDenied.RouteEntryExist") && strings.Contains(msg, "EMQX console") {
			held = true
			t.Logf("WALK %s: after %s the revoke waits for the EMQX console: alibaba.vpcpeer.deletePeering is retried, its last failure:\n  %s",
				ex.file, time.Since(start).Round(time.Millisecond), msg)
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("%s: the revoke never waited on EMQX's return route:\n%s", ex.file, stepTable(st))
		}
		time.Sleep(300 * time.Millisecond)
	}
	deleted := time.Now()
	d.emqxConsoleDelete(t, ex, d.status(t, id)) // runbook 003 删除对等连接, in the EMQX console
	for {
		st := d.status(t, gid)
		if st.Status != "Running" {
			if st.Phase != workflows.PhaseRevoked || len(st.Leaked) > 0 {
				t.Fatalf("%s: grant ended %s with leaks %v, want Revoked with none:\n%s", ex.file, st.Phase, st.Leaked, stepTable(st))
			}
			t.Logf("WALK %s: revoked %s after the EMQX console's delete (%s in all)", ex.file,
				time.Since(deleted).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(deleted) > 3*time.Minute {
			t.Fatalf("%s: not revoked 3m after the EMQX console's delete:\n%s", ex.file, stepTable(st))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// pendingFailure is the last failure of the workflow's pending activity of
// type action ("" when none), as `temporal workflow describe` shows it.
func pendingFailure(t *testing.T, d *devEnv, wid, action string) string {
	t.Helper()
	bin, err := stack.TemporalBin()
	if err != nil {
		t.Fatal(err)
	}
	addr := ""
	for _, kv := range d.env {
		if v, ok := strings.CutPrefix(kv, "TEMPORAL_ADDRESS="); ok {
			addr = v
		}
	}
	out, err := exec.Command(bin, "workflow", "describe", "--address", addr, "-w", wid, "-o", "json").Output()
	if err != nil {
		t.Fatalf("temporal workflow describe %s: %v", wid, err)
	}
	var desc struct {
		PendingActivities []struct {
			ActivityType struct{ Name string }    `json:"activityType"`
			LastFailure  struct{ Message string } `json:"lastFailure"`
		} `json:"pendingActivities"`
	}
	if err := json.Unmarshal(out, &desc); err != nil {
		t.Fatalf("temporal workflow describe %s: %v", wid, err)
	}
	for _, pa := range desc.PendingActivities {
		if pa.ActivityType.Name == action {
			return pa.LastFailure.Message
		}
	}
	return ""
}
