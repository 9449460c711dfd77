package aws

import (
	"testing"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/internal/contract"
)

// TestDescribeSecurityGroupRules lists a group's rules through the twin's
// DescribeSecurityGroupRules: a rule authorized by the ingress action shows
// up with its port and source range, and goes once its only user revokes it.
func TestDescribeSecurityGroupRules(t *testing.T) {
	e := newEnv(t)
	list := func() ([]any, map[string]any) {
		t.Helper()
		out := e.must(t, catalog.AWSEC2DescribeSecurityGroupRules, "aws-msk", "", map[string]any{"groupId": mskSG})
		if err := contract.CheckOutputs(catalog.AWSEC2DescribeSecurityGroupRules, out); err != nil {
			t.Fatal(err)
		}
		if out["groupId"] != mskSG || out["count"] != len(out["rules"].([]any)) {
			t.Fatalf("outputs %v", out)
		}
		return out["rules"].([]any), out
	}
	before, _ := list()
	rule := e.must(t, catalog.AWSEC2AuthorizeIngress, "aws-msk", "wf/sg-rules", map[string]any{"groupId": mskSG, "port": 9096, "cidr": "10.20.0.0/16"})
	after, out := list()
	if len(after) != len(before)+1 {
		t.Fatalf("%d rules after authorize, want %d: %v", len(after), len(before)+1, out)
	}
	var got map[string]any
	for _, r := range after {
		if m := r.(map[string]any); m["ruleId"] == rule["ruleId"] {
			got = m
		}
	}
	if got == nil || got["fromPort"] != 9096 || got["toPort"] != 9096 || got["protocol"] != "tcp" || got["egress"] != false ||
		got["cidr"] != "10.20.0.0/16" {
		t.Fatalf("rule %v: got %v", rule["ruleId"], got)
	}
	// Revoked by the request that authorized it (its user, activities/aws/owners.go).
	e.must(t, catalog.AWSEC2RevokeIngress, "aws-msk", "wf/sg-rules-undo", map[string]any{"groupId": mskSG, "ruleId": rule["ruleId"], "created": true})
	if gone, _ := list(); len(gone) != len(before) {
		t.Fatalf("%d rules after revoke, want %d", len(gone), len(before))
	}
	if _, err := e.call(catalog.AWSEC2DescribeSecurityGroupRules, "aws-msk", "", map[string]any{}); err == nil {
		t.Fatal("a call without groupId must fail")
	}
}
