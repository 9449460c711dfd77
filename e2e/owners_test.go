package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"slices"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// sharedRulePlan is the same-VPC MSK request (the MSK security group must
// admit cidr on 9092) with, after its verify, a manual "hold", a second
// verify and a manual "hold-again", so the test can roll it back while it
// runs. withRule false drops the rule step (the control).
func sharedRulePlan(t *testing.T, name, cidr string, withRule bool) *plan.Plan {
	t.Helper()
	p := compile(t, awsSpec(name, "{account: aws-msk, cidr: "+cidr+"}", "sameVpc", "  verify: {clientNetwork: "+mskVPC+"}\n"))
	var steps []plan.Step
	var verify *plan.Step
	for _, st := range p.Steps {
		if st.Action == catalog.AWSEC2AuthorizeIngress && !withRule {
			continue
		}
		if st.ID == "verify" {
			v := st
			verify = &v
			if !withRule {
				// The control fails fast: one short verification, no retries
				// past the step's bound.
				v.DependsOn = slices.DeleteFunc(slices.Clone(v.DependsOn), func(d string) bool { return d == "open-security-group" })
				v.Inputs = maps.Clone(v.Inputs)
				v.Inputs["timeout"] = plan.Lit("4s")
				v.Timeout = plan.D(8 * time.Second)
				st = v
			}
		}
		steps = append(steps, st)
	}
	if verify == nil {
		t.Fatal("the plan has no verify step")
	}
	gate := func(id, after string) plan.Step {
		return plan.Step{ID: id, Title: "Hold", Action: plan.ActionManual, DependsOn: []string{after}, Gate: &plan.Gate{Who: []string{"e2e"}}}
	}
	again := *verify
	again.ID, again.DependsOn = "verify-again", []string{"hold"}
	p.Steps = append(steps, gate("hold", "verify"), again, gate("hold-again", "verify-again"))
	if err := p.Check(); err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// TestSharedRuleSurvivesTheFirstOwnersRollback: two requests need the same
// security-group rule. The first creates it, the second becomes its second
// user (a tag on the rule). Rolling back the first keeps the rule and the
// second still verifies; rolling back the second removes it, and the cloud is
// the world the test started from. The seed world's broad rule is taken away
// first, so the verifications depend on the shared rule (checked by a request
// without it, which cannot connect).
func TestSharedRuleSurvivesTheFirstOwnersRollback(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	inv := s.Sim().Inventory
	cidr := ""
	if _, err := inventory.Update(inv, mskSG, func(g *inventory.SecurityGroup) error {
		kept := g.Rules[:0]
		for _, r := range g.Rules {
			if r.Direction == "ingress" && r.PortMin <= 9092 && r.PortMax >= 9092 {
				cidr = r.RemoteCIDR
				continue
			}
			kept = append(kept, r)
		}
		g.Rules = kept
		return nil
	}); err != nil || cidr == "" {
		t.Fatalf("take the seed rule away: %v (cidr %q)", err, cidr)
	}
	world := worldJSON(t, s)

	a := startPlan(t, s, sharedRulePlan(t, "e2e-share-a", cidr, true))
	waitStep(t, s, a, "hold", workflows.StepWaiting)
	b := startPlan(t, s, sharedRulePlan(t, "e2e-share-b", cidr, true))
	waitStep(t, s, b, "hold", workflows.StepWaiting)
	ra, rb := stepOutputs(t, s, a, "open-security-group"), stepOutputs(t, s, b, "open-security-group")
	if ra["ruleId"] != rb["ruleId"] || ra["created"] != true || rb["shared"] != true {
		t.Fatalf("the two requests' rules: %v and %v, want one rule, the second a shared user", ra, rb)
	}
	rule := fmt.Sprint(ra["ruleId"])
	if users := ruleUsers(t, s, rule); users != a.GetID()+","+b.GetID() {
		t.Fatalf("rule %s users %q, want both requests", rule, users)
	}

	rollback(t, s, a)
	if users := ruleUsers(t, s, rule); users != b.GetID() {
		t.Fatalf("after the first request's rollback the rule's users are %q, want only %s", users, b.GetID())
	}
	decideAs(t, s, b, workflows.UpdateComplete, "hold", "e2e")
	waitStep(t, s, b, "hold-again", workflows.StepWaiting)
	if st := stepState(progress(t, s, b), "verify-again"); st != workflows.StepDone {
		t.Fatalf("the second request's verify after the first's rollback: %s", st)
	}

	rollback(t, s, b)
	if users := ruleUsers(t, s, rule); users != "<gone>" {
		t.Fatalf("after the last user's rollback rule %s still exists (users %q)", rule, users)
	}
	if got := worldJSON(t, s); got != world {
		var w, g map[string][]map[string]any
		_ = json.Unmarshal([]byte(world), &w)
		_ = json.Unmarshal([]byte(got), &g)
		t.Fatalf("after both rollbacks the cloud is not the world the test started from:\n%s", inventoryDiff(w, g))
	}

	// Control: without the rule, the same verification cannot connect.
	c := startPlan(t, s, sharedRulePlan(t, "e2e-share-none", cidr, false))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ae *temporal.ApplicationError
	if err := workflows.Wait(ctx, c); !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("a request without the rule: %v, want its verify to fail and roll it back", err)
	}
}

// waitStep waits until step reaches state.
func waitStep(t *testing.T, s *stack.Stack, run client.WorkflowRun, step, state string) {
	t.Helper()
	eventually(t, 2*time.Minute, run.GetID()+" step "+step+" "+state, func() bool {
		pr := progress(t, s, run)
		if pr.Phase == workflows.PhaseRolledBack || pr.Phase == workflows.PhaseFailed {
			t.Fatalf("%s ended %s: %+v", run.GetID(), pr.Phase, pr.Steps)
		}
		return stepState(pr, step) == state
	})
}

func stepOutputs(t *testing.T, s *stack.Stack, run client.WorkflowRun, step string) map[string]any {
	t.Helper()
	for _, st := range progress(t, s, run).Steps {
		if st.ID == step {
			return st.Outputs
		}
	}
	t.Fatalf("no step %s", step)
	return nil
}

// ruleUsers lists the topoflow:user:* tag values of an MSK security-group
// rule ("<gone>" when the rule does not exist).
func ruleUsers(t *testing.T, s *stack.Stack, id string) string {
	t.Helper()
	g, err := inventory.Get[*inventory.SecurityGroup](s.Sim().Inventory, mskSG)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Rules {
		if r.ID != id {
			continue
		}
		var users []string
		for k, v := range r.Tags {
			if strings.HasPrefix(k, "topoflow:user:") {
				users = append(users, v)
			}
		}
		sort.Strings(users)
		return strings.Join(users, ",")
	}
	return "<gone>"
}

// rollback rolls a running request back and waits until it has.
func rollback(t *testing.T, s *stack.Stack, run client.WorkflowRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateRollback,
		Args:         []any{workflows.OperatorAction{Identity: "e2e", Reason: "e2e: shared rule"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("roll back %s: %v", run.GetID(), err)
	}
	var ae *temporal.ApplicationError
	if err := workflows.Wait(ctx, run); !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		t.Fatalf("%s after its rollback: %v", run.GetID(), err)
	}
}

// dropRoute removes a route from the twin's route table behind every
// request's back (as a person in the console would): a request's
// deleteRoute only drops its own use of a route other users hold.
func dropRoute(t *testing.T, sim *cloudsim.Sim, rtb, dest string) {
	t.Helper()
	found := false
	if _, err := inventory.Update(sim.Inventory, rtb, func(rt *inventory.RouteTable) error {
		kept := rt.Routes[:0]
		for _, r := range rt.Routes {
			if r.Destination == dest {
				found = true
				continue
			}
			kept = append(kept, r)
		}
		rt.Routes = kept
		return nil
	}); err != nil || !found {
		t.Fatalf("drop route %s from %s: %v (found %v)", dest, rtb, err, found)
	}
}
