package aws

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestClientTokensSurviveARestart: the ClientToken ledger is part of the AWS
// state (saveState/restoreState, as the Sim writes and reads it): a restarted
// twin still answers a reused token with the original result, and refuses it
// with other parameters (IdempotentParameterMismatch), as EC2 does for at
// least 24 h (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html).
func TestClientTokensSurviveARestart(t *testing.T) {
	c := &caller{acct: &inventory.Account{Meta: inventory.Meta{ID: "aws-msk"}}}
	f := form{url.Values{"ClientToken": {"wf/svc"}, "NetworkLoadBalancerArn.1": {"arn:nlb"}, "AcceptanceRequired": {"true"}}}
	nodes := []node{el("serviceConfiguration", tx("serviceId", "vpce-svc-1"), el("serviceType", tx("serviceType", "Interface"))), opt("clientToken", "wf/svc")}
	a := &api{sessions: map[string]session{}, changes: map[string]*r53ChangeState{}}
	a.tokens.record(c, "CreateVpcEndpointServiceConfiguration", f, nodes)
	st, err := a.saveState()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	b := &api{sessions: map[string]session{}, changes: map[string]*r53ChangeState{}}
	if err := b.restoreState(raw); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		f        form
		ok       bool
		mismatch bool
	}{
		{"same token and parameters", f, true, false},
		{"same token, other parameters", form{url.Values{"ClientToken": {"wf/svc"}, "NetworkLoadBalancerArn.1": {"arn:nlb"}, "AcceptanceRequired": {"false"}}}, true, true},
		{"another token", form{url.Values{"ClientToken": {"wf@run2/svc"}, "NetworkLoadBalancerArn.1": {"arn:nlb"}, "AcceptanceRequired": {"true"}}}, false, false},
	}
	for _, tc := range cases {
		got, e, ok := b.tokens.replay(c, "CreateVpcEndpointServiceConfiguration", tc.f)
		if ok != tc.ok || (e != nil) != tc.mismatch {
			t.Fatalf("%s: ok %v, error %v; want ok %v, mismatch %v", tc.name, ok, e, tc.ok, tc.mismatch)
		}
		if tc.ok && !tc.mismatch && !reflect.DeepEqual(got, nodes) {
			t.Fatalf("%s: replayed %+v, want the original %+v", tc.name, got, nodes)
		}
		if tc.mismatch && e.code != "IdempotentParameterMismatch" {
			t.Fatalf("%s: %v, want IdempotentParameterMismatch", tc.name, e)
		}
	}
}
