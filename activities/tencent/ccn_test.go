package tencent

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	tcsim "github.com/topoflow/topoflow/cloudsim/tencent"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/plan"
)

// env is the Tencent actions against the twin on cloudsim/worlds/tencent.yaml.
type env struct {
	sim   *cloudsim.Sim
	funcs map[string]func(context.Context, plan.Call) (plan.Outputs, error)
}

func newEnv(t *testing.T, expiry time.Duration) *env {
	t.Helper()
	old := tcsim.DefaultTiming
	tcsim.DefaultTiming = tcsim.Timing{Attach: 50 * time.Millisecond, AttachExpiry: expiry, Detach: 50 * time.Millisecond, MaxClockSkew: 5 * time.Minute}
	defer func() { tcsim.DefaultTiming = old }()
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"tencent"}})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := simtest.Shifted(t, filepath.Join("..", "..", "cloudsim", "worlds", "tencent.yaml"))
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Setenv("TOPOFLOW_TC_OURS_SECRET_ID", "AKIDtcours000000000000000000000001")
	t.Setenv("TOPOFLOW_TC_OURS_SECRET_KEY", "tc-ours-secret-8d2f4a6c1e3b5d7f9a0c")
	t.Setenv("TOPOFLOW_EMQX_TENCENT_SECRET_ID", "AKIDtcemqx000000000000000000000001")
	t.Setenv("TOPOFLOW_EMQX_TENCENT_SECRET_KEY", "emqx-tencent-secret-3c5e7a9b1d2f4e6a8c0b")
	reg, err := accounts.Parse("r.yaml", []byte("accounts:\n"+
		"  tc-ours: {provider: tencent, region: ap-guangzhou, tencent: {accountId: '100000000001'}, endpoints: {vpc: '"+url+"'}}\n"+
		"  emqx-tencent: {provider: tencent, region: ap-guangzhou, tencent: {accountId: '200000000002'}, endpoints: {vpc: '"+url+"'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: s, funcs: map[string]func(context.Context, plan.Call) (plan.Outputs, error){}}
	for name, fn := range New(reg).Funcs() {
		e.funcs[name] = fn
	}
	return e
}

func (e *env) call(action, account, key string, in map[string]any) (plan.Outputs, error) {
	out, err := e.funcs[action](context.Background(), plan.Call{Action: action, Account: account, IdempotencyKey: key, Inputs: in})
	if err == nil {
		if cerr := contract.CheckOutputs(action, out); cerr != nil {
			return nil, cerr
		}
	}
	return out, err
}

func (e *env) must(t *testing.T, action, account, key string, in map[string]any) plan.Outputs {
	t.Helper()
	out, err := e.call(action, account, key, in)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

func (e *env) waitState(t *testing.T, ccn, vpcID, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := e.must(t, catalog.TencentVpcDescribeCcnAttachment, "tc-ours", "", map[string]any{"ccnId": ccn, "vpcId": vpcID})
		if out["state"] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v, want %s", vpcID, out["state"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAcceptOutsideTheWindowFails: EMQX's request not approved within the
// window is EXPIRED; the accept fails at once (non-retryable) and says why;
// a fresh request in the window is accepted; retried creates find the first
// attempt's CCN.
func TestAcceptOutsideTheWindowFails(t *testing.T) {
	e := newEnv(t, 300*time.Millisecond)
	ccn := e.must(t, catalog.TencentVpcCreateCcn, "tc-ours", "wf/ccn", map[string]any{"name": "emqx-ccn"})
	again := e.must(t, catalog.TencentVpcCreateCcn, "tc-ours", "wf/ccn", map[string]any{"name": "emqx-ccn"})
	if ccn["ccnId"] != again["ccnId"] || len(inventory.List[*inventory.Peering](e.sim.Inventory, inventory.Filter{})) != 1 {
		t.Fatalf("a retried create made a second CCN: %v %v", ccn, again)
	}
	id := ccn["ccnId"].(string)
	in := map[string]any{"ccnId": id, "vpcId": "vpc-tcemqx01"}
	// EMQX's request (its account attaches its VPC to our CCN).
	emqxIn := map[string]any{"ccnId": id, "vpcId": "vpc-tcemqx01"}
	if _, err := e.call(catalog.TencentVpcAttachCcnInstance, "emqx-tencent", "emqx", emqxIn); err == nil {
		t.Fatal("attaching to another account's CCN without its UIN must fail (the CCN is not EMQX's)")
	}
	attachAs := func() {
		t.Helper()
		// The action attaches to the step account's own CCNs; EMQX's side goes through the SDK with CcnUin.
		if err := emqxAttach(e, id); err != nil {
			t.Fatal(err)
		}
	}
	attachAs()
	e.waitState(t, id, "vpc-tcemqx01", tcsim.StatePending)
	e.waitState(t, id, "vpc-tcemqx01", tcsim.StateExpired)
	_, err := e.call(catalog.TencentVpcAcceptAttachCcn, "tc-ours", "wf/accept", in)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != plan.ErrInvalid || !strings.Contains(err.Error(), "10-minute window") {
		t.Fatalf("accepting an expired request: %v, want a non-retryable InvalidInput naming the 10-minute window", err)
	}
	// EMQX submits again; accepted in time.
	e.must(t, catalog.TencentVpcDetachCcnInstance, "tc-ours", "wf/detach", in)
	e.waitState(t, id, "vpc-tcemqx01", "NONE")
	attachAs()
	e.waitState(t, id, "vpc-tcemqx01", tcsim.StatePending)
	out := e.must(t, catalog.TencentVpcAcceptAttachCcn, "tc-ours", "wf/accept", in)
	if out["state"] != tcsim.StateActive || out["changed"] != true || out["instanceUin"] != "200000000002" {
		t.Fatalf("accept: %v", out)
	}
	if out := e.must(t, catalog.TencentVpcAcceptAttachCcn, "tc-ours", "wf/accept", in); out["changed"] != false {
		t.Fatalf("a second accept: %v", out)
	}
}

// TestDeleteCcnDetachesAnExpiredRequest: a request that missed the window
// stays EXPIRED on our CCN; the rollback's delete detaches it (it never
// carried traffic) and then deletes the CCN, leaving nothing behind.
func TestDeleteCcnDetachesAnExpiredRequest(t *testing.T) {
	e := newEnv(t, 200*time.Millisecond)
	id := e.must(t, catalog.TencentVpcCreateCcn, "tc-ours", "wf/ccn", map[string]any{"name": "emqx-ccn"})["ccnId"].(string)
	if err := emqxAttach(e, id); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, id, "vpc-tcemqx01", tcsim.StateExpired)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := e.call(catalog.TencentVpcDeleteCcn, "tc-ours", "wf/ccn-undo", map[string]any{"ccnId": id})
		if err == nil {
			break
		}
		if errType := func() string {
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) {
				return ae.Type()
			}
			return ""
		}(); errType != plan.ErrConflict || time.Now().After(deadline) {
			t.Fatalf("delete CCN: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(inventory.List[*inventory.Peering](e.sim.Inventory, inventory.Filter{})); n != 0 {
		t.Fatalf("%d CCNs/attachments left after the delete", n)
	}
}
