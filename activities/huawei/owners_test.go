package huawei

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/plan"
)

// groupState is the owner security group's rules on 9012 and its tags.
func groupState(t *testing.T, e *env) (rules []string, tags []string) {
	t.Helper()
	g, err := inventory.Get[*inventory.SecurityGroup](e.sim.Inventory, ownerSG)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Rules {
		if r.PortMin == 9012 {
			rules = append(rules, r.ID)
		}
	}
	for k, v := range g.Tags {
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	return rules, tags
}

// TestSharedRuleKeepsItsUsers: two requests add the same rule; the first
// creates it, the second becomes a user (tags on the security group: rules
// have none). The first's delete keeps the rule for the second, the second's
// deletes it and leaves the group's tags as they were; a retried add records
// its user once.
func TestSharedRuleKeepsItsUsers(t *testing.T) {
	e := setup(t)
	_, tags0 := groupState(t, e)
	in := map[string]any{"securityGroupId": ownerSG, "port": 9012, "cidr": "198.19.128.0/17"}
	a := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-a/sg", in)
	again := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-a/sg", in) // a retry
	b := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-b/sg", in)
	if a["created"] != true || a["shared"] == true || again["ruleId"] != a["ruleId"] || again["shared"] == true ||
		b["ruleId"] != a["ruleId"] || b["created"] != true || b["shared"] != true {
		t.Fatalf("adds: %v, retry %v, second %v; want one rule, the second request a shared user", a, again, b)
	}
	rules, tags := groupState(t, e)
	if len(rules) != 1 || len(tags) != len(tags0)+2 || !strings.Contains(strings.Join(tags, " "), "=wf-a") ||
		!strings.Contains(strings.Join(tags, " "), "=wf-b") {
		t.Fatalf("rules %v, tags %v: want one rule and one user tag per request", rules, tags)
	}
	del := func(key string) map[string]any {
		return e.must(t, catalog.HuaweiVPCDeleteSecurityGroupRule, owner, key, map[string]any{"ruleId": a["ruleId"], "created": true, "securityGroupId": ownerSG})
	}
	if out := del("wf-a/undo-sg"); out["deleted"] == true || fmt.Sprint(out["usedBy"]) != "[wf-b]" {
		t.Fatalf("first user's delete: %v, want the rule kept for wf-b", out)
	}
	if rules, _ := groupState(t, e); len(rules) != 1 {
		t.Fatalf("the rule is gone after the first user's delete: %v", rules)
	}
	// The last user's delete, from a plan compiled before the group was
	// passed (no securityGroupId: the rule names it).
	out := e.must(t, catalog.HuaweiVPCDeleteSecurityGroupRule, owner, "wf-b/undo-sg", map[string]any{"ruleId": a["ruleId"], "created": true})
	if out["deleted"] != true || len(out["usedBy"].([]any)) != 0 {
		t.Fatalf("last user's delete: %v", out)
	}
	if rules, tags := groupState(t, e); len(rules) != 0 || strings.Join(tags, " ") != strings.Join(tags0, " ") {
		t.Fatalf("after the last user: rules %v, tags %v (want none and %v)", rules, tags, tags0)
	}
	// Deleting again: done.
	if out := del("wf-b/undo-sg"); out["deleted"] != true {
		t.Fatalf("delete of a gone rule: %v", out)
	}
}

// TestRuleNobodyRecordedIsNotOwned: an identical rule made outside Topoflow
// (no user tag, no marker) is reused with created=false and no tag.
func TestRuleNobodyRecordedIsNotOwned(t *testing.T) {
	e := setup(t)
	if _, err := inventory.Update(e.sim.Inventory, ownerSG, func(g *inventory.SecurityGroup) error {
		g.Rules = append(g.Rules, inventory.SGRule{ID: "console-rule", Direction: "ingress", Protocol: "tcp", PortMin: 9012, PortMax: 9012, RemoteCIDR: "198.19.128.0/17"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, tags0 := groupState(t, e)
	out := e.must(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-c/sg", map[string]any{"securityGroupId": ownerSG, "port": 9012, "cidr": "198.19.128.0/17"})
	if out["ruleId"] != "console-rule" || out["created"] != false {
		t.Fatalf("add over a console rule: %v", out)
	}
	if _, tags := groupState(t, e); strings.Join(tags, " ") != strings.Join(tags0, " ") {
		t.Fatalf("a reused rule nobody recorded got user tags: %v", tags)
	}
}

// TestNoRoomForAUserIsRefusedBeforeTheRule: a group already holding 20 tags
// (the most a resource can have) cannot record a user, so the add is refused
// before it creates a rule nobody would delete.
func TestNoRoomForAUserIsRefusedBeforeTheRule(t *testing.T) {
	e := setup(t)
	if _, err := inventory.Update(e.sim.Inventory, ownerSG, func(g *inventory.SecurityGroup) error {
		g.Tags = map[string]string{}
		for i := 0; i < 20; i++ {
			g.Tags[fmt.Sprintf("team-%02d", i)] = "x"
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := e.call(t, catalog.HuaweiVPCAddSecurityGroupRule, owner, "wf-d/sg", map[string]any{"securityGroupId": ownerSG, "port": 9012, "cidr": "198.19.128.0/17"})
	if err == nil || !strings.Contains(err.Error(), "20 tags") {
		t.Fatalf("add on a full group: %v, want a refusal naming the tag limit", err)
	}
	if rules, _ := groupState(t, e); len(rules) != 0 {
		t.Fatalf("the refused add created rules %v", rules)
	}
}

// TestUserTagFitsTheLimits: keys ≤ 36 and values ≤ 43 in the allowed
// characters, whatever the workflow ID.
func TestUserTagFitsTheLimits(t *testing.T) {
	for _, user := range []string{"", "e2e-share-a", "topoflow/hw orders:prod@eu-west-101/" + strings.Repeat("x", 80)} {
		tag := sgUserTag("6b2f7e4a-0000-4000-8000-00000000a010", user)
		if len(tag.Key) > 36 || len(tag.Value) > 43 || !strings.HasPrefix(tag.Key, "topoflow-") {
			t.Errorf("user %q: tag %+v exceeds the limits", user, tag)
		}
		for _, r := range tag.Key + tag.Value {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
				t.Errorf("user %q: tag %+v has %q", user, tag, r)
			}
		}
	}
}

// TestTwinSecurityGroupTagLimits: the twin's VPC v2.0 security group tags
// refuse what the cloud refuses (cloudsim/huawei/sgtags.go), through the SDK.
func TestTwinSecurityGroupTagLimits(t *testing.T) {
	e := setup(t)
	s, c, err := e.acts.vpc2For(context.Background(), plan.Call{Account: owner})
	if err != nil {
		t.Fatal(err)
	}
	create := func(tags ...v2m.ResourceTag) error {
		_, err := c.BatchCreateSecurityGroupTags(&v2m.BatchCreateSecurityGroupTagsRequest{SecurityGroupId: ownerSG,
			Body: &v2m.BatchCreateSecurityGroupTagsRequestBody{Action: v2m.GetBatchCreateSecurityGroupTagsRequestBodyActionEnum().CREATE, Tags: tags}})
		return err
	}
	tag := func(k, v string) v2m.ResourceTag { return v2m.ResourceTag{Key: k, Value: v} }
	for _, tc := range []struct {
		name string
		tags []v2m.ResourceTag
		ok   bool
	}{
		{"36-character key, 43-character value", []v2m.ResourceTag{tag(strings.Repeat("k", 36), strings.Repeat("v", 43))}, true},
		{"37-character key", []v2m.ResourceTag{tag(strings.Repeat("k", 37), "v")}, false},
		{"44-character value", []v2m.ResourceTag{tag("k", strings.Repeat("v", 44))}, false},
		{"colon in the key", []v2m.ResourceTag{tag("topoflow:user", "v")}, false},
		{"dot in the key", []v2m.ResourceTag{tag("a.b", "v")}, false},
		{"dot in the value", []v2m.ResourceTag{tag("a", "wf.1")}, true},
		{"slash in the value", []v2m.ResourceTag{tag("a", "wf/1")}, false},
		{"empty key", []v2m.ResourceTag{tag("", "v")}, false},
		{"duplicate keys", []v2m.ResourceTag{tag("d", "1"), tag("d", "2")}, false},
	} {
		err := create(tc.tags...)
		var sre *sdkerr.ServiceResponseError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &sre) || sre.StatusCode != 400 || sre.ErrorCode != "VPC.1801")) {
			t.Errorf("%s: %v (want ok=%v, else 400 VPC.1801)", tc.name, err, tc.ok)
		}
	}
	// The group now has 2 tags ("kkk…", "a"); 18 more fill it, one more is refused.
	var fill []v2m.ResourceTag
	for i := 0; i < 18; i++ {
		fill = append(fill, tag(fmt.Sprintf("f%02d", i), ""))
	}
	if err := create(fill...); err != nil {
		t.Fatalf("fill to 20 tags: %v", err)
	}
	if err := create(tag("one-more", "")); err == nil {
		t.Fatal("a 21st tag was accepted")
	}
	if err := create(tag("a", "overwritten")); err != nil {
		t.Fatalf("overwriting an existing key at the limit: %v", err)
	}
	// Deleting a missing tag succeeds; characters are not checked.
	_, err = c.BatchDeleteSecurityGroupTags(&v2m.BatchDeleteSecurityGroupTagsRequest{SecurityGroupId: ownerSG,
		Body: &v2m.BatchDeleteSecurityGroupTagsRequestBody{Action: v2m.GetBatchDeleteSecurityGroupTagsRequestBodyActionEnum().DELETE,
			Tags: []v2m.ResourceTag{tag("no:such/tag", "")}}})
	if err != nil {
		t.Fatalf("delete a missing tag: %v", err)
	}
	tags, err := s.sgTags(c, ownerSG)
	if err != nil || len(tags) != 20 {
		t.Fatalf("tags after: %d, %v", len(tags), err)
	}
}
