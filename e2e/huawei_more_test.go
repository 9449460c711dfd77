package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// sgRules lists every security-group rule of the sim as "group/rule cidr port".
func sgRules(s *stack.Stack) []string {
	var out []string
	for _, g := range inventory.List[*inventory.SecurityGroup](s.Sim().Inventory, inventory.Filter{}) {
		for _, r := range g.Rules {
			out = append(out, fmt.Sprintf("%s/%s %+v", g.ID, r.ID, r))
		}
	}
	sort.Strings(out)
	return out
}

// permissions lists every endpoint-service whitelist entry of the sim.
func permissions(s *stack.Stack) []string {
	var out []string
	for _, sv := range inventory.List[*inventory.EndpointService](s.Sim().Inventory, inventory.Filter{}) {
		for _, p := range sv.Permissions {
			out = append(out, sv.ID+" "+p.Permission)
		}
	}
	return out
}

// TestHuaweiLateFailureRollsBack fails the cross-account request at its last
// step (verification: one broker is down, so it cannot be reached through its
// endpoint) after the endpoint services, whitelists, endpoints, advertised map
// and security-group rule exist. Under onFailure: rollback, cloudsim's
// inventory ends with none of them and the original advertised map. The
// second case also kills the worker right after the advertised IPs were
// patched (the modify's response is lost), so the restore must use the map
// remembered by the first attempt, not the one the retry reads back.
func TestHuaweiLateFailureRollsBack(t *testing.T) {
	t.Parallel()
	for i, kill := range []bool{false, true} {
		name := "verification fails"
		if kill {
			name = "verification fails after a worker restart past the patch"
		}
		t.Run(name, func(t *testing.T) {
			s := newStack(t)
			inv := s.Sim().Inventory
			before := advertised(t, s)
			rulesBefore := sgRules(s)
			var patch string
			if kill {
				patch = s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.kafka.UpdateInstanceCrossVpcIp" + hwsim.ResponseSuffix,
					Kind: faults.Timeout, Latency: plan.Duration(2 * time.Minute), Times: 1})
			}
			holdRollback := s.Sim().Faults.MustAdd(faults.Rule{Op: "huawei.vpc.DeleteSecurityGroupRule", Kind: faults.Error})
			k, err := inventory.Get[*inventory.KafkaInstance](inv, hwKafka)
			if err != nil {
				t.Fatal(err)
			}
			down := k.Brokers[len(k.Brokers)-1].ID
			if _, err := inventory.Update(inv, hwKafka, func(k *inventory.KafkaInstance) error {
				for i := range k.Brokers {
					k.Brokers[i].Down = k.Brokers[i].ID == down
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			doc := crossAccountSpec(t, fmt.Sprintf("e2e-hw-late-failure-%d", i))
			p := compileRestartable(t, doc)
			for i := range p.Steps {
				if p.Steps[i].ID == "verify" {
					// One attempt: the broker stays down, retries only slow the test.
					p.Steps[i].Retry = &plan.Retry{MaximumAttempts: 1}
				}
			}
			run := startPlan(t, s, p)
			decide(t, s, run, workflows.UpdateApprove, "approve-connection")
			if kill {
				eventually(t, time.Minute, "the advertised IPs are patched", func() bool {
					adv := advertised(t, s)
					return ruleHits(s, patch) == 1 && fmt.Sprint(adv) != fmt.Sprint(before)
				})
				restartWorker(t, s)
			}
			eventually(t, time.Minute, "verification failed and the rollback tried to delete the security-group rule", func() bool {
				return progress(t, s, run).Phase == workflows.PhaseRollingBack && ruleHits(s, holdRollback) > 0
			})
			// Everything the rollback must undo exists now: its first
			// compensation (the rule's delete, in reverse order) is refused.
			if n := count(s, inventory.KindEndpoint); n != len(k.Brokers) {
				t.Fatalf("%d endpoints before the failure, want %d", n, len(k.Brokers))
			}
			if w := permissions(s); len(w) != len(k.Brokers) {
				t.Fatalf("whitelist entries before the failure: %v", w)
			}
			if n := len(sgRules(s)) - len(rulesBefore); n != 1 {
				t.Fatalf("%d security-group rules added before the failure, want 1", n)
			}
			if fmt.Sprint(advertised(t, s)) == fmt.Sprint(before) {
				t.Fatal("the advertised map was not patched before the failure")
			}

			s.Sim().Faults.Remove(holdRollback)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err = workflows.Wait(ctx, run)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
				t.Fatalf("want a %s failure, got %v", workflows.ErrRolledBack, err)
			}
			pr := progress(t, s, run)
			if pr.Phase != workflows.PhaseRolledBack || len(pr.Leaked) > 0 {
				t.Fatalf("phase %s, leaked %+v", pr.Phase, pr.Leaked)
			}
			for _, st := range pr.Steps {
				if st.ID == "verify" {
					if st.State != workflows.StepFailed || !strings.Contains(st.LastError, "VerifyFailed") {
						t.Fatalf("verify is %s (%s), want failed with VerifyFailed", st.State, st.LastError)
					}
					t.Logf("verify failed: %s", st.LastError)
				}
			}
			for _, id := range []string{"create-endpoint-service", "whitelist-client", "create-endpoint", "set-advertised-ips", "open-security-group"} {
				if st := stepState(pr, id); st != workflows.StepCompensated {
					t.Errorf("step %s is %s, want %s", id, st, workflows.StepCompensated)
				}
			}
			// The compensations wait until deletes are gone: nothing is left now.
			if n, m := count(s, inventory.KindEndpointService), count(s, inventory.KindEndpoint); n+m != 0 {
				t.Fatalf("%d endpoint services and %d endpoints left:\n%s", n, m, describeVPCEP(
					inventory.List[*inventory.EndpointService](inv, inventory.Filter{}), inventory.List[*inventory.Endpoint](inv, inventory.Filter{})))
			}
			if w := permissions(s); len(w) != 0 {
				t.Fatalf("whitelist entries left: %v", w)
			}
			if after := sgRules(s); strings.Join(after, "\n") != strings.Join(rulesBefore, "\n") {
				t.Fatalf("security-group rules changed:\nbefore %v\nafter  %v", rulesBefore, after)
			}
			if after := advertised(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("advertised map not restored: %v, want %v", after, before)
			}
		})
	}
}

// decideAs is decide with another identity.
func decideAs(t *testing.T, s *stack.Stack, run client.WorkflowRun, update, step, identity string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: update,
			Args:         []any{workflows.Decision{Step: step, Identity: identity, Comment: "e2e"}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s as %s: %v", update, step, identity, err)
		}
		eventually(t, 10*time.Second, "the gate waits", func() bool {
			return stepState(progress(t, s, run), step) == workflows.StepWaiting
		})
	}
}

// routes lists the routes of a VPC's route tables.
func routes(s *stack.Stack, vpc string) []inventory.Route {
	var out []inventory.Route
	for _, rt := range inventory.List[*inventory.RouteTable](s.Sim().Inventory, inventory.Filter{}) {
		if rt.VPCID == vpc {
			out = append(out, rt.Routes...)
		}
	}
	return out
}

// TestHuaweiPeering runs specs/huawei-vpc-peering.yaml (runbook 000's peering
// option across accounts): the Kafka owner creates the peering, the client's
// network admin approves, the client account accepts, routes are added on
// both sides, the client CIDR is opened, and verification produces and
// consumes from the client VPC straight to the brokers' listener IPs on the
// instance's connection port (9092, read from the instance).
func TestHuaweiPeering(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	rulesBefore := sgRules(s)
	doc := repoSpec(t, "huawei-vpc-peering.yaml", "e2e-hw-peering",
		"  approval:\n", "  timeouts: {pollInterval: 300ms, wait: 2m}\n  approval:\n")
	pl := compile(t, doc)
	run := startPlan(t, s, pl)
	decideAs(t, s, run, workflows.UpdateApprove, "approve-peering", "client-b-netadmin@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	pe := cloudPeerings(s.Sim().Inventory)
	if len(pe) != 1 {
		t.Fatalf("%d peerings, want 1", len(pe))
	}
	p := pe[0]
	if !strings.EqualFold(p.Status, inventory.PeeringActive) || p.VPCID != hwOwnerVPC || p.PeerVPCID != hwClientVPC || p.Account != "hw-kafka-owner" {
		t.Fatalf("peering %+v", p)
	}
	for _, side := range []struct{ vpc, dest string }{{hwOwnerVPC, "10.1.0.0/16"}, {hwClientVPC, "192.168.0.0/16"}} {
		found := false
		for _, r := range routes(s, side.vpc) {
			found = found || (r.Destination == side.dest && r.NextHop == p.ID)
		}
		if !found {
			t.Fatalf("VPC %s has no route to %s through peering %s: %+v", side.vpc, side.dest, p.ID, routes(s, side.vpc))
		}
	}
	added := len(sgRules(s)) - len(rulesBefore)
	if added != 1 || !strings.Contains(strings.Join(sgRules(s), "\n"), "10.1.0.0/16") {
		t.Fatalf("security-group rules: %d added, %v", added, sgRules(s))
	}
	if count(s, inventory.KindEndpoint)+count(s, inventory.KindEndpointService) != 0 {
		t.Fatal("a peering request created VPC endpoint resources")
	}
	pr := progress(t, s, run)
	if pr.Phase != workflows.PhaseDone || stepState(pr, "verify") != workflows.StepDone {
		t.Fatalf("phase %s, verify %s", pr.Phase, stepState(pr, "verify"))
	}
	// Verification dialed the brokers' private listeners on the instance's
	// connection port (ShowInstance port 9092), not the cross-VPC port 9011.
	if boot := fmt.Sprint(pr.Outputs["bootstrap"]); strings.Count(boot, ":9092") != 3 || strings.Contains(boot, ":9011") {
		t.Fatalf("verified bootstrap %s, want the 3 brokers' listener IPs on 9092", boot)
	}
	// Each route the plan created is needed: without it verify from the
	// client VPC fails at the route hop; restored, it passes again.
	k, err := inventory.Get[*inventory.KafkaInstance](s.Sim().Inventory, hwKafka)
	if err != nil {
		t.Fatal(err)
	}
	var boot []string
	for _, b := range k.Brokers {
		boot = append(boot, fmt.Sprintf("%s:%d", b.ListenerIP, k.PrivatePort))
	}
	reg := cloudActions(t, s)
	for _, side := range []struct{ account, vpc, dest, want string }{
		{"hw-client-b", hwClientVPC, "192.168.0.0/16", "the route table of VPC " + hwClientVPC + " has no route to 192.168.0.61"},
		{"hw-kafka-owner", hwOwnerVPC, "10.1.0.0/16", "the route table of VPC " + hwOwnerVPC + " has no return route to 10.1.0.254/32 through peering " + p.ID},
	} {
		route := map[string]any{"vpcId": side.vpc, "destination": side.dest, "nexthop": p.ID}
		out := act(t, reg, catalog.HuaweiVPCAddRoute, side.account, route) // the plan's route: reused, not created
		act(t, reg, catalog.HuaweiVPCDeleteRoute, side.account, map[string]any{"routeId": out["routeId"], "created": true})
		wantDropped(t, s, verifyVia(s.Sim(), hwClientVPC, boot, "peering-no-route-"+side.vpc), hwClientVPC, boot[0], netmodel.HopRoute, side.want)
		act(t, reg, catalog.HuaweiVPCAddRoute, side.account, route)
		if err := verifyVia(s.Sim(), hwClientVPC, boot, "peering-route-back-"+side.vpc); err != nil {
			t.Fatalf("verify after restoring the route to %s in %s: %v", side.dest, side.vpc, err)
		}
	}
}

// TestOTCSameAccount runs specs/otc-vpcep.yaml (runbook 001, Open Telekom
// Cloud, client VPC in the Kafka owner's account): the same actions as Huawei
// Cloud, reached through the otc-kafka account's endpoint configuration; no
// whitelist and no approval are needed.
func TestOTCSameAccount(t *testing.T) {
	t.Parallel()
	const otcKafka, otcClientVPC = "9c1d2e3f-0000-4000-8000-0000000e0010", "9c1d2e3f-0000-4000-8000-0000000e0b01"
	s := newStack(t)
	// The stack's world (make dev's) holds runbook 001's Open Telekom Cloud
	// instance and client VPC (cloudsim/worlds/otc.yaml).
	if _, err := inventory.Get[*inventory.KafkaInstance](s.Sim().Inventory, otcKafka); err != nil {
		t.Fatalf("the stack's world lacks cloudsim/worlds/otc.yaml: %v", err)
	}
	doc := repoSpec(t, "otc-vpcep.yaml", "e2e-otc-same",
		"    topic: billing-verify\n", "    topic: billing-verify\n  timeouts: {pollInterval: 300ms, wait: 2m}\n")
	run := startPlan(t, s, compile(t, doc))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	checkOnePerBroker(t, s, otcKafka, "otc-kafka", otcClientVPC)
	for _, sv := range inventory.List[*inventory.EndpointService](s.Sim().Inventory, inventory.Filter{}) {
		if sv.Account != "otc-kafka" || len(sv.Permissions) != 0 {
			t.Fatalf("endpoint service %s: account %s, whitelist %+v", sv.ID, sv.Account, sv.Permissions)
		}
	}
	pr := progress(t, s, run)
	if pr.Phase != workflows.PhaseDone || stepState(pr, "verify") != workflows.StepDone {
		t.Fatalf("phase %s, verify %s", pr.Phase, stepState(pr, "verify"))
	}
	checkVPCEPRulesEnforced(t, s, "otc-kafka", otcClientVPC, otcACL, otcSG, otcKafkaSubnet)
}

const (
	otcACL         = "9c1d2e3f-0000-4000-8000-0000000e0a05"
	otcSG          = "9c1d2e3f-0000-4000-8000-0000000e0a03"
	otcKafkaSubnet = "9c1d2e3f-0000-4000-8000-0000000e0a02"
)

// checkVPCEPRulesEnforced removes, one at a time, the network ACL rule and
// the security group rule the plan added for the VPCEP range (the ACL rule
// through the real SDK clients, the rule behind the request's back), shows kafka.verify from the client VPC failing at that
// hop, restores the rule and shows verify passing again.
func checkVPCEPRulesEnforced(t *testing.T, s *stack.Stack, owner, clientVPC, aclID, sgID, subnetID string) {
	t.Helper()
	inv := s.Sim().Inventory
	var boot []string
	for _, ep := range inventory.List[*inventory.Endpoint](inv, inventory.Filter{}) {
		if ep.VPCID == clientVPC {
			boot = append(boot, ep.IP+":9011")
		}
	}
	sort.Strings(boot)
	if len(boot) != 3 {
		t.Fatalf("endpoints in the client VPC: %v", boot)
	}
	reg := cloudActions(t, s)
	if aclID != "" {
		acl, err := inventory.Get[*inventory.NetworkACL](inv, aclID)
		if err != nil {
			t.Fatal(err)
		}
		ruleID := ""
		for _, r := range acl.IngressRules {
			if r.SourceIPAddress == netmodel.VPCEPSourceRange && r.DestinationPort == "9011" && r.Action == "allow" {
				ruleID = r.ID
			}
		}
		if ruleID == "" {
			t.Fatalf("the plan did not allow %s on 9011 in network ACL %s: %+v", netmodel.VPCEPSourceRange, aclID, acl.IngressRules)
		}
		act(t, reg, catalog.HuaweiVPCRemoveNetworkACLRules, owner, map[string]any{"aclId": aclID, "ruleIds": []any{ruleID}})
		wantDropped(t, s, verifyVia(s.Sim(), clientVPC, boot, "acl-removed"), clientVPC, boot[0], netmodel.HopNetworkACL,
			"network ACL "+aclID, "denies inbound "+netmodel.VPCEPSourceRange)
		act(t, reg, catalog.HuaweiVPCAllowNetworkACL, owner, map[string]any{"subnetId": subnetID, "cidrs": []any{netmodel.VPCEPSourceRange}, "port": 9011})
		if err := verifyVia(s.Sim(), clientVPC, boot, "acl-restored"); err != nil {
			t.Fatalf("verify after restoring the network ACL rule: %v", err)
		}
	}
	g, err := inventory.Get[*inventory.SecurityGroup](inv, sgID)
	if err != nil {
		t.Fatal(err)
	}
	ruleID := ""
	for _, r := range g.Rules {
		if r.RemoteCIDR == netmodel.VPCEPSourceRange && r.PortMin == 9011 {
			ruleID = r.ID
		}
	}
	if ruleID == "" {
		t.Fatalf("the plan did not allow %s on 9011 in security group %s", netmodel.VPCEPSourceRange, sgID)
	}
	// Removed behind the request's back (as a person in the console would):
	// the request's own deleteSecurityGroupRule only drops its use of a rule
	// it records itself on (activities/huawei/owners.go).
	dropSGRule(t, s, sgID, ruleID)
	wantDropped(t, s, verifyVia(s.Sim(), clientVPC, boot, "sg-removed"), clientVPC, boot[0], netmodel.HopSecurityGroup,
		"security group "+sgID, "no ingress rule for "+netmodel.VPCEPSourceRange+" tcp/9011")
	act(t, reg, catalog.HuaweiVPCAddSecurityGroupRule, owner, map[string]any{"securityGroupId": sgID, "port": 9011, "cidr": netmodel.VPCEPSourceRange})
	if err := verifyVia(s.Sim(), clientVPC, boot, "sg-restored"); err != nil {
		t.Fatalf("verify after restoring the security group rule: %v", err)
	}
}
