package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// hwOwnerSG is the DMS instance's security group (cloudsim/worlds/default.yaml).
const hwOwnerSG = "4f1a0c3e-0000-4000-8000-00000000a003"

// hwHold appends a manual gate "hold" after step, a second verify
// "verify-again" and a gate "hold-again" (the verify only when p has one).
func hwHold(t *testing.T, p *plan.Plan, after string) *plan.Plan {
	t.Helper()
	gate := func(id, dep string) plan.Step {
		return plan.Step{ID: id, Title: "Hold", Action: plan.ActionManual, DependsOn: []string{dep}, Gate: &plan.Gate{Who: []string{"e2e"}}}
	}
	p.Steps = append(p.Steps, gate("hold", after))
	for _, st := range p.Steps {
		if st.ID == "verify" {
			again := st
			again.ID, again.DependsOn = "verify-again", []string{"hold"}
			p.Steps = append(p.Steps, again, gate("hold-again", "verify-again"))
			break
		}
	}
	if err := p.Check(); err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// hwRuleOnly is a request that only needs the instance security group's
// VPCEP rule (as a request on another DMS instance of the same group does):
// the same-account plan cut to discover and open-security-group, then a hold.
func hwRuleOnly(t *testing.T, name string) *plan.Plan {
	t.Helper()
	p := compile(t, hwSpec(name, "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false))
	var steps []plan.Step
	for _, st := range p.Steps {
		switch st.ID {
		case "discover":
			steps = append(steps, st)
		case "open-security-group":
			st.DependsOn = []string{"discover"}
			steps = append(steps, st)
		}
	}
	p.Steps, p.Outputs = steps, nil
	return hwHold(t, p, "open-security-group")
}

// sgUsers lists the user tags (topoflow-*) of a Huawei security group as
// their values ("<gone>" appended when rule no longer exists).
func sgUsers(t *testing.T, s *stack.Stack, sg, rule string) string {
	t.Helper()
	g, err := inventory.Get[*inventory.SecurityGroup](s.Sim().Inventory, sg)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for k, v := range g.Tags {
		if strings.HasPrefix(k, "topoflow-") {
			users = append(users, v)
		}
	}
	sort.Strings(users)
	for _, r := range g.Rules {
		if r.ID == rule {
			return strings.Join(users, ",")
		}
	}
	return strings.Join(append(users, "<gone>"), ",")
}

// tagValue is a workflow ID as a Huawei tag value records it (letters,
// digits, "_", "." and "-"; activities/huawei/owners.go).
func tagValue(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, id)
}

// TestHuaweiSharedRuleSurvivesTheFirstOwnersRollback: two requests need the
// DMS instance security group's rule (TCP 9011 from the VPC endpoint range).
// The first creates it and records itself in a tag on the group (Huawei
// rules have no tags); the second, a full same-account request, finds it,
// records itself too and verifies through its endpoints. Rolling back the
// first keeps the rule and the second verifies again; rolling back the
// second removes the rule and its tags: the cloud is the world the test
// started from.
func TestHuaweiSharedRuleSurvivesTheFirstOwnersRollback(t *testing.T) {
	s := newStack(t)
	world := worldJSON(t, s)

	first := startPlan(t, s, hwRuleOnly(t, "e2e-hw-share-first"))
	waitStep(t, s, first, "hold", workflows.StepWaiting)
	second := startPlan(t, s, hwHold(t, compile(t, hwSpec("e2e-hw-share-second", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false)), "verify"))
	waitStep(t, s, second, "hold", workflows.StepWaiting)
	r1, r2 := stepOutputs(t, s, first, "open-security-group"), stepOutputs(t, s, second, "open-security-group")
	if r1["ruleId"] != r2["ruleId"] || r1["created"] != true || r1["shared"] == true || r2["created"] != true || r2["shared"] != true {
		t.Fatalf("the two requests' rules: %v and %v, want one rule, the second a shared user", r1, r2)
	}
	rule := fmt.Sprint(r1["ruleId"])
	both := []string{tagValue(first.GetID()), tagValue(second.GetID())}
	sort.Strings(both)
	if users := sgUsers(t, s, hwOwnerSG, rule); users != strings.Join(both, ",") {
		t.Fatalf("rule %s users %q, want both requests %v", rule, users, both)
	}

	rollback(t, s, first)
	if users := sgUsers(t, s, hwOwnerSG, rule); users != tagValue(second.GetID()) {
		t.Fatalf("after the first request's rollback the rule's users are %q, want only %s", users, second.GetID())
	}
	decideAs(t, s, second, workflows.UpdateComplete, "hold", "e2e")
	waitStep(t, s, second, "hold-again", workflows.StepWaiting)
	if st := stepState(progress(t, s, second), "verify-again"); st != workflows.StepDone {
		t.Fatalf("the second request's verify after the first's rollback: %s", st)
	}

	rollback(t, s, second)
	if users := sgUsers(t, s, hwOwnerSG, rule); users != "<gone>" {
		t.Fatalf("after the last user's rollback rule %s still exists (users %q)", rule, users)
	}
	if got := worldJSON(t, s); got != world {
		var w, g map[string][]map[string]any
		_ = json.Unmarshal([]byte(world), &w)
		_ = json.Unmarshal([]byte(got), &g)
		t.Fatalf("after both rollbacks the cloud is not the world the test started from:\n%s", inventoryDiff(w, g))
	}
}

// dropSGRule removes a rule from a twin security group behind every
// request's back (as a person in the console would): a request's
// deleteSecurityGroupRule only drops its own use of a rule others hold.
func dropSGRule(t *testing.T, s *stack.Stack, sg, rule string) {
	t.Helper()
	found := false
	if _, err := inventory.Update(s.Sim().Inventory, sg, func(g *inventory.SecurityGroup) error {
		kept := g.Rules[:0]
		for _, r := range g.Rules {
			if r.ID == rule {
				found = true
				continue
			}
			kept = append(kept, r)
		}
		g.Rules = kept
		return nil
	}); err != nil || !found {
		t.Fatalf("drop rule %s from %s: %v (found %v)", rule, sg, err, found)
	}
}
