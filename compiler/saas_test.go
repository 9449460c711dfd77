package compiler

import (
	"slices"
	"testing"

	"github.com/topoflow/topoflow/catalog"
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
	if len(saasBuilders) != 4 {
		t.Errorf("saasBuilders has %d entries, want huawei, aws, alibaba and tencent", len(saasBuilders))
	}
}

// TestSaaSPeeringPlanShape: the runbook's order on every cloud; every
// mutating step compensated; the deletion guard before the peering's delete.
func TestSaaSPeeringPlanShape(t *testing.T) {
	for _, c := range []struct {
		file  string
		order []string
		guard string // the step whose compensation waits before the delete
	}{
		{"../specs/emqx-huawei-peering.yaml", []string{"approve-peering", "create-peering", "console-confirm", "check-console", "wait-peering-active", "route-to-deployment", "open-security-group", "verify", "verify-connector"}, "check-console"},
		{"../specs/emqx-aws-peering.yaml", []string{"approve-peering", "create-peering", "wait-peering-pending", "console-confirm", "check-console", "wait-peering-active", "route-to-deployment", "open-security-group", "verify", "verify-connector"}, "check-console"},
		{"../specs/emqx-alibaba-peering.yaml", []string{"approve-peering", "create-peering", "wait-peering-accepting", "console-confirm", "check-console", "wait-peering-active", "route-to-deployment", "open-security-group", "verify", "verify-connector"}, "wait-peering-accepting"},
		{"../specs/emqx-tencent-peering.yaml", []string{"approve-peering", "create-ccn", "attach-ours", "console-confirm", "check-console", "wait-emqx-request", "accept-emqx", "wait-attachment-active", "open-security-group", "verify", "verify-connector"}, "check-console"},
	} {
		p := compileFile(t, c.file)
		var got []string
		for _, s := range p.Steps {
			got = append(got, s.ID)
			if s.ID == "accept-emqx" {
				// Only EMQX's own request is approved: its UIN is the spec's deployment.accountId.
				if v, ok := s.Inputs["requesterUin"]; !ok || v.Literal != "200000000002" {
					t.Errorf("%s: accept-emqx requesterUin %+v, want deployment.accountId 200000000002", c.file, v)
				}
			}
			switch s.ID {
			case "create-peering", "route-to-deployment", "open-security-group", "create-ccn", "attach-ours", "accept-emqx":
				if s.Compensation == nil {
					t.Errorf("%s: step %s has no compensation", c.file, s.ID)
				}
			case c.guard:
				if s.Compensation == nil || s.Compensation.Wait == nil || len(s.Compensation.Wait.Pending) == 0 {
					t.Errorf("%s: %s has no deletion guard (a compensation waiting out pending states)", c.file, s.ID)
				}
			case "console-confirm":
				if s.Gate == nil || s.Action != "manual" {
					t.Errorf("%s: console-confirm is not a manual gate", c.file)
				}
			case "verify":
				if s.Probe == nil || s.Probe.Network == "" {
					t.Errorf("%s: verify does not run from a probe in our VPC", c.file)
				}
			case "verify-connector":
				// The direction our rule admits: the deployment's API, after the rule.
				if s.Action != catalog.EMQXProbeConnector || s.Account == "" || s.Probe != nil || !slices.Contains(s.DependsOn, "open-security-group") {
					t.Errorf("%s: verify-connector is %s as %q (probe %v) after %v, want emqx.probeConnector as the deployment API account after open-security-group", c.file, s.Action, s.Account, s.Probe, s.DependsOn)
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
