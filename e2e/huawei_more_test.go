package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
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
			err = run.Get(ctx, nil)
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
