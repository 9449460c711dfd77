package compiler

import (
	"testing"

	"github.com/topoflow/topoflow/spec"
)

// TestEverySaaSCloudCompiles: every available cloud of spec.SaaSCloudTable
// has a builder, and no unavailable one has (validation refuses those).
func TestEverySaaSCloudCompiles(t *testing.T) {
	for _, e := range spec.SaaSCloudTable {
		_, ok := saasBuilders[e.Provider+"/"+e.Cloud]
		if ok != e.Available {
			t.Errorf("%s/%s: available %t but builder present %t", e.Provider, e.Cloud, e.Available, ok)
		}
	}
	if len(saasBuilders) != 2 {
		t.Errorf("saasBuilders has %d entries, want huawei and aws", len(saasBuilders))
	}
}

// TestSaaSPeeringPlanShape: the runbook's order on both clouds; every
// mutating step compensated; the deletion guard before the peering's delete.
func TestSaaSPeeringPlanShape(t *testing.T) {
	for _, c := range []struct {
		file  string
		order []string
	}{
		{"../specs/emqx-huawei-peering.yaml", []string{"approve-peering", "create-peering", "console-confirm", "check-console", "wait-peering-active", "route-to-deployment", "open-security-group", "verify"}},
		{"../specs/emqx-aws-peering.yaml", []string{"approve-peering", "create-peering", "wait-peering-pending", "console-confirm", "check-console", "wait-peering-active", "route-to-deployment", "open-security-group", "verify"}},
	} {
		p := compileFile(t, c.file)
		var got []string
		for _, s := range p.Steps {
			got = append(got, s.ID)
			switch s.ID {
			case "create-peering", "route-to-deployment", "open-security-group":
				if s.Compensation == nil {
					t.Errorf("%s: step %s has no compensation", c.file, s.ID)
				}
			case "check-console":
				if s.Compensation == nil || s.Compensation.Wait == nil || len(s.Compensation.Wait.Pending) == 0 {
					t.Errorf("%s: check-console has no deletion guard (a compensation waiting out pending states)", c.file)
				}
			case "console-confirm":
				if s.Gate == nil || s.Action != "manual" {
					t.Errorf("%s: console-confirm is not a manual gate", c.file)
				}
			case "verify":
				if s.Probe == nil || s.Probe.Network == "" {
					t.Errorf("%s: verify does not run from a probe in our VPC", c.file)
				}
			}
		}
		if len(got) != len(c.order) {
			t.Fatalf("%s: steps %v, want %v", c.file, got, c.order)
		}
		for i := range got {
			if got[i] != c.order[i] {
				t.Fatalf("%s: steps %v, want %v", c.file, got, c.order)
			}
		}
	}
}
