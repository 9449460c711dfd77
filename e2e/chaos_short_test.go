package e2e

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// TestChaosShort is the chaos suite's short variant inside `make test`
// (about a minute and a half): scripts/prod-local.sh with PROD_TEMPORAL=dev
// (the supervised Temporal dev server on SQLite instead of PostgreSQL and
// the four services, which `make test` does not build), two workers, the
// probes and the twin with its state directory; three examples of three
// providers at once (one rolled back deliberately, the others run to Done,
// verified and revoked), while the monkey SIGKILLs a worker every 2–4 s (5
// kills), the twin once (restarted with its state) and the whole dev server
// once, and injects a 5xx burst, throttling, latency and AWS and Azure
// responses lost after the call took effect (one rule each). The same checks as
// make chaos: 0 duplicated, 0 leaked, 0 stuck, the inventory equal to the
// seed world, 0 credential hits in the histories, logs and CLI errors.
// Only make chaos covers: every example, several waves, PostgreSQL and the
// separate Temporal services killed, stuck and rejected states, the rolling
// upgrade to a second worker build, tens of kills.
func TestChaosShort(t *testing.T) {
	runChaos(t, chaosConfig{
		dev:         true,
		waves:       1,
		workerKills: 5,
		examples: func(t *testing.T, d *devEnv) []*example {
			return planExamples(t, d, "huawei-vpcep-same-account.yaml", "aws-msk-same-vpc.yaml", "azure-aks-hdinsight.yaml")
		},
		special: []chaosKill{
			{"twin (restarted with its state)", []string{"cloudsim"}},
			{"whole Temporal server (dev server)", []string{"temporal"}},
		},
		every: 3, tick: 2 * time.Second, jump: 2 * time.Second,
		// faultMenu: Huawei 5xx, AWS throttling, 2 s latency, AWS and Azure lost responses.
		faults: []int{0, 4, 5, 7, 8},
		once:   true,
		// The client networks the three verify from (specs/accounts.yaml probes).
		probes: []string{"4f1a0c3e-0000-4000-8000-00000000c001", "vpc-0a5c0000000msk01",
			"/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-aks/providers/Microsoft.Network/virtualNetworks/aks-vnet"},
	})
}

// planExamples is loadExamples for the named files of specs/ only.
func planExamples(t *testing.T, d *devEnv, files ...string) []*example {
	t.Helper()
	var exs []*example
	for _, f := range files {
		ex := &example{file: f, path: filepath.Join("specs", f)}
		if err := json.Unmarshal([]byte(d.cli(t, "plan", ex.path, "-o", "json")), &ex.plan); err != nil {
			t.Fatalf("plan %s: %v", ex.path, err)
		}
		exs = append(exs, ex)
	}
	return exs
}
