package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities"
	awsacts "github.com/topoflow/topoflow/activities/aws"
	azacts "github.com/topoflow/topoflow/activities/azure"
	hwacts "github.com/topoflow/topoflow/activities/huawei"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/worker/app"
)

// diagnose asks the twin's admin API why a connection from a client host of
// vpc to address (ip:port) is refused (GET /_cloudsim/network/diagnose):
// only tests read it, the product never depends on it.
func diagnose(t *testing.T, s *stack.Stack, vpc, address string) netmodel.Verdict {
	t.Helper()
	u := s.CloudsimURL + cloudsim.AdminPrefix + "/network/diagnose?from=" + url.QueryEscape(vpc) + "&to=" + url.QueryEscape(address)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("diagnose: %v", err)
	}
	defer resp.Body.Close()
	var v netmodel.Verdict
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("diagnose %s -> %s: HTTP %d", vpc, address, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("diagnose: %v", err)
	}
	return v
}

// drops returns the twin's log of refused connections (GET /_cloudsim/network/drops).
func drops(t *testing.T, s *stack.Stack) []netmodel.Drop {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(s.CloudsimURL + cloudsim.AdminPrefix + "/network/drops")
	if err != nil {
		t.Fatalf("drops: %v", err)
	}
	defer resp.Body.Close()
	var d []netmodel.Drop
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("drops: %v", err)
	}
	return d
}

// wantDropped checks that verify failed the way a cloud network fails a
// dropped connection (a timeout, with kafka.verify's hint) and that the
// twin names the refusing hop: its diagnosis of vpc -> address must be
// refused at hop with a reason containing every one of want, and the drop
// log must hold such a drop.
func wantDropped(t *testing.T, s *stack.Stack, verifyErr error, vpc, address, hop string, want ...string) {
	t.Helper()
	if verifyErr == nil {
		t.Fatalf("verify passed; want it refused at the %s (%s)", hop, strings.Join(want, ", "))
	}
	if !strings.Contains(verifyErr.Error(), kafka.DropHint) {
		t.Fatalf("verify error %q lacks the dropped-connection hint", verifyErr)
	}
	v := diagnose(t, s, vpc, address)
	if v.Allowed || v.Hop != hop {
		t.Fatalf("twin diagnosis %s -> %s: %+v, want refused at the %s", vpc, address, v, hop)
	}
	for _, w := range want {
		if !strings.Contains(v.Reason, w) {
			t.Fatalf("twin diagnosis %q lacks %q", v.Reason, w)
		}
	}
	for _, d := range drops(t, s) {
		if d.Hop == hop && d.Reason == v.Reason {
			t.Logf("verify refused as the cloud would: %s (twin: %s: %s)", firstLine(verifyErr), d.Hop, d.Reason)
			return
		}
	}
	t.Fatalf("the twin logged no drop %q", v.Reason)
}

func firstLine(err error) string {
	s := fmt.Sprint(err)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// cloudActions returns the Huawei, AWS and Azure actions (real SDK clients)
// acting on the stack's twin through the worker's account registry: tests
// use them to remove and restore what a plan created.
func cloudActions(t *testing.T, s *stack.Stack) *activities.Registry {
	t.Helper()
	accts, err := app.LoadAccounts(s.WorkerConfig())
	if err != nil {
		t.Fatal(err)
	}
	reg := activities.NewRegistry()
	hwacts.Register(reg, accts)
	awsacts.Register(reg, accts)
	azacts.Register(reg, accts)
	return reg
}

// act runs one action as account.
func act(t *testing.T, reg *activities.Registry, action, account string, in map[string]any) plan.Outputs {
	t.Helper()
	fn, ok := reg.Get(action)
	if !ok {
		t.Fatalf("%s is not registered", action)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := fn(ctx, plan.Call{Action: action, Account: account, Inputs: in, IdempotencyKey: "e2e-network/" + action + "/" + fmt.Sprint(time.Now().UnixNano())})
	if err != nil {
		t.Fatalf("%s as %s: %v", action, account, err)
	}
	return out
}

// verifyVia runs kafka.verify from a client host of vpc through bootstrap,
// dialing through the twin's network as the plan's verification does.
func verifyVia(sim *cloudsim.Sim, vpc string, bootstrap []string, key string) error {
	reg := activities.NewRegistry()
	kafka.Register(reg, kafka.Options{DialFrom: func(n string) kafka.DialFunc { return kafka.DialFunc(sim.Net.DialFrom(n)) }})
	verify, _ := reg.Get(kafka.ActionVerify)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var boot []any
	for _, b := range bootstrap {
		boot = append(boot, b)
	}
	_, err := verify(ctx, plan.Call{Action: kafka.ActionVerify, IdempotencyKey: "e2e-network/" + key,
		Inputs: map[string]any{"bootstrap": boot, "clientNetwork": vpc, "topic": "topoflow-verify", "timeout": "10s"}})
	return err
}
