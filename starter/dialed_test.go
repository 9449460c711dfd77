package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/workflows"
)

func TestStatusSaysWhereVerifyDialedFrom(t *testing.T) {
	tests := []struct {
		name string
		step workflows.StepProgress
		want string // "" = no Verification section
	}{
		{"probe", workflows.StepProgress{ID: "verify", State: workflows.StepDone,
			Outputs: map[string]any{"dialedFrom": "from probe p in network vpc-1 (task queue q, host h, via direct)"}},
			"verify: dialed from probe p in network vpc-1 (task queue q, host h, via direct)"},
		{"worker", workflows.StepProgress{ID: "verify", State: workflows.StepDone,
			Outputs: map[string]any{"dialedFrom": "from the worker's network, host h; not from the client network vpc-1"}},
			"verify: dialed from the worker's network, host h; not from the client network vpc-1"},
		{"failed", workflows.StepProgress{ID: "verify", State: workflows.StepParked,
			LastError: "kafka.verify: VerifyFailed: broker 0 unreachable [dialed from probe p in network vpc-1 (task queue q, host h, via direct)]"},
			"verify (parked): dialed from probe p in network vpc-1 (task queue q, host h, via direct)"},
		{"other step", workflows.StepProgress{ID: "create", State: workflows.StepDone, Outputs: map[string]any{"id": "x"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printStatus(&b, "id", "Running", "", workflows.Progress{Phase: workflows.PhaseRunning, Steps: []workflows.StepProgress{tc.step}}, nil)
			got := b.String()
			if tc.want == "" {
				if strings.Contains(got, "Verification") {
					t.Errorf("unexpected Verification section:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, "\nVerification\n  "+tc.want+"\n") {
				t.Errorf("status does not say %q:\n%s", tc.want, got)
			}
		})
	}
}
