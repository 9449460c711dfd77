package huawei

import (
	"context"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/faults"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/plan"
)

// TestCreateResponseLost: the cloud creates the endpoint service but the
// caller never learns it (the response is lost, or the activity is cancelled
// while it waits, as on a worker shutdown). The cancelled call returns at once
// instead of waiting for the HTTP timeout, and the retry with the same
// idempotency key finds the service instead of creating a second one.
func TestCreateResponseLost(t *testing.T) {
	cases := []struct {
		name   string
		rule   faults.Rule
		cancel bool
	}{
		{"response lost", faults.Rule{Kind: faults.Error, Status: 504, Code: "APIGW.0103", Times: 1}, false},
		{"activity cancelled while the response is held", faults.Rule{Kind: faults.Timeout, Latency: plan.Duration(time.Minute), Times: 1}, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			tc.rule.Op = "huawei.vpcep.CreateEndpointService" + hwsim.ResponseSuffix
			id := e.sim.Faults.MustAdd(tc.rule)
			key := "wf/create-endpoint-service/" + string(rune('a'+i))
			call := plan.Call{Action: catalog.HuaweiVPCEPCreateEndpointService, Account: owner, IdempotencyKey: key,
				Inputs: map[string]any{"vpcId": ownerVPC, "portId": "7a5e4c1b-0000-4000-8000-00000000a061", "approvalEnabled": true}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				go func() {
					for hits(e, id) == 0 {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
				}()
			}
			start := time.Now()
			if _, err := activities.Typed(e.acts.CreateEndpointService)(ctx, call); err == nil {
				t.Fatal("the first call must fail: its response was lost")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("the failed call took %s", d)
			}
			svcs := inventory.List[*inventory.EndpointService](e.sim.Inventory, inventory.Filter{})
			if len(svcs) != 1 {
				t.Fatalf("%d services after the lost response, want 1 (the cloud applied the create)", len(svcs))
			}
			out, err := activities.Typed(e.acts.CreateEndpointService)(context.Background(), call)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if out["serviceId"] != svcs[0].ID || out["existing"] != true {
				t.Fatalf("retry returned %v, want the existing service %s", out, svcs[0].ID)
			}
			if n := len(inventory.List[*inventory.EndpointService](e.sim.Inventory, inventory.Filter{})); n != 1 {
				t.Fatalf("%d services after the retry, want 1", n)
			}
		})
	}
}

func hits(e *env, id string) int {
	for _, r := range e.sim.Faults.Rules() {
		if r.ID == id {
			return r.Hits
		}
	}
	return 0
}
