//go:build chaos

package e2e

import (
	"testing"
	"time"
)

// TestChaos is `make chaos` (see runChaos): CHAOS_WAVES copies of every
// example (default 3) on the production shape, at least CHAOS_WORKER_KILLS
// worker kills (default 24), every other component killed in turn.
func TestChaos(t *testing.T) {
	runChaos(t, chaosConfig{
		waves:       envInt("CHAOS_WAVES", 3),
		workerKills: envInt("CHAOS_WORKER_KILLS", 24),
		examples:    loadExamples,
		special: []chaosKill{
			{"history service", []string{"temporal-history"}},
			{"frontend", []string{"temporal-frontend"}},
			{"matching service", []string{"temporal-matching"}},
			{"whole Temporal server", []string{"temporal-frontend", "temporal-history", "temporal-matching", "temporal-worker"}},
			{"PostgreSQL", []string{"postgresql"}},
			{"twin (restarted with its state)", []string{"cloudsim"}},
		},
		every: 6, tick: 3 * time.Second, jump: 8 * time.Second,
	})
}
