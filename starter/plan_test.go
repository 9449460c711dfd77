package main

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/topoflow/topoflow/plan"
)

func TestPlanOutputs(t *testing.T) {
	file := "../specs/huawei-vpcep-cross-account.yaml"
	code, out, errOut := runCLI(t, "plan", "-o", "wide", "--accounts", registry, file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"STEP", "ACTION", "DEPENDS ON", "WAITS FOR", "COMPENSATED BY",
		"create-endpoint-service [each broker]", "huawei.vpcep.deleteEndpointService (+ wait gone)",
		"approval by kafka-owner@example.com, platform-oncall@example.com (deadline 72h, then reject)",
		// Runbook 000's procedure across accounts: Topoflow's gate, then the whitelist (no provider-side accept).
		"whitelist-client [each broker]", "huawei.vpcep.removeWhitelist"} {
		if !strings.Contains(out, want) {
			t.Errorf("wide table lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "plan", "--accounts", registry, file)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"STEP", "ACTION", "ACCOUNT", "UNDO", "create-endpoint-service *",
		"huawei.vpcep.createEndpointService  hw-kafka-owner  yes",
		"waits for approval by kafka-owner@example.com, platform-oncall@example.com (deadline 72h, then reject)",
		"* once per item", "-o wide"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "plan", "-o", "json", "--accounts", registry, file)
	if code != 0 {
		t.Fatalf("json: exit %d", code)
	}
	p, err := plan.Parse([]byte(out))
	if err != nil {
		t.Fatalf("plan JSON does not parse: %v", err)
	}
	canonical, _ := p.JSON()
	if string(canonical) != out {
		t.Error("printed JSON is not the canonical plan JSON")
	}

	code, out, _ = runCLI(t, "plan", "-o", "mermaid", "--accounts", registry, file)
	if code != 0 || !strings.HasPrefix(out, "flowchart TD\n") || !strings.Contains(out, "s_approve_connection{{") ||
		!strings.Contains(out, "s_approve_connection --> s_whitelist_client") || strings.Contains(out, "accept_connection") {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}

	code, _, errOut = runCLI(t, "plan", "--accounts", registry, "../specs/testdata/invalid/workflow-cycle.yaml")
	if code != 1 || !strings.Contains(errOut, "dependency cycle: a -> c -> b -> a") {
		t.Errorf("invalid plan: exit %d\n%s", code, errOut)
	}
}

// TestPlanTableFits120Columns: the default table of every example fits a
// 120-column terminal (it was 262-336 columns wide); -o wide keeps every detail.
func TestPlanTableFits120Columns(t *testing.T) {
	files, _ := filepath.Glob("../specs/*.yaml")
	for _, f := range files {
		if filepath.Base(f) == "accounts.yaml" {
			continue
		}
		code, out, errOut := runCLI(t, "plan", "--accounts", registry, f)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, errOut)
		}
		for i, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > 120 {
				t.Errorf("%s line %d is %d columns wide:\n%s", f, i+1, n, line)
			}
		}
		if code, wide, _ := runCLI(t, "plan", "-o", "wide", "--accounts", registry, f); code != 0 || !strings.Contains(wide, "COMPENSATED BY") {
			t.Errorf("%s -o wide: exit %d\n%s", f, code, wide)
		}
	}
}
