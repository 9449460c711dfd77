package e2e

// The EMQX Platform side of the SaaSPeering examples (runbook 003): the
// person who enters our peering in the EMQX console, played through the
// twin's console stand-in (cloudsim/emqx), and the console's 删除对等连接 on
// rollback and revoke.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/workflows"
)

// isSaaS reports whether an example is a SaaSPeering (it has the EMQX console step).
func (ex *example) isSaaS() bool {
	for _, st := range ex.plan.Steps {
		if st.ID == "console-confirm" && st.Action == "manual" {
			return true
		}
	}
	return false
}

// planInput returns the literal input key of step id in the example's plan.
func (ex *example) planInput(id, key string) string {
	for _, st := range ex.plan.Steps {
		if st.ID == id {
			if v, ok := st.Inputs[key]; ok && v.Value != nil {
				return fmt.Sprint(v.Value)
			}
		}
	}
	return ""
}

// emqxConsole enters the request's peering in the EMQX console (the twin's
// stand-in checks it as EMQX does and accepts the peering) and returns the
// data the person completes the console step with: what they entered.
func (d *devEnv) emqxConsole(t *testing.T, ex *example, st exStatus) map[string]any {
	t.Helper()
	var created map[string]any
	for _, s := range st.Steps {
		if s.ID == "create-peering" {
			created = s.Outputs
		}
	}
	peering, _ := created["peeringId"].(string)
	if peering == "" {
		t.Fatalf("%s: the console step waits but create-peering has no peeringId: %v", ex.file, created)
	}
	data := map[string]any{"peeringId": peering, "vpcId": ex.planInput("console-confirm", "vpcId")}
	if cidr := ex.planInput("console-confirm", "vpcCidr"); cidr != "" {
		// Huawei step 6: 对等连接 ID, VPC 网段, VPC ID and the user ID from 我的凭证.
		data["vpcCidr"] = cidr
		data["userId"] = "0605767a2e80d5a20f2bc00c5c2f2a22"
	} else {
		// AWS step 4: 对等连接 ID, 请求方拥有者 ID, 请求者 VPC.
		data["accountId"], _ = created["requesterOwnerId"].(string)
	}
	body := map[string]any{"deploymentVpcId": ex.planInput("create-peering", "peerVpcId")}
	for k, v := range data {
		body[k] = v
	}
	d.emqxCall(t, ex, "POST", "/emqx-platform/v1/peerings", body)
	return data
}

// emqxConsoleDelete is the console's 删除对等连接 (only from running): the
// deployment drops its side, so our rollback can delete the peering.
func (d *devEnv) emqxConsoleDelete(t *testing.T, ex *example, st exStatus) {
	t.Helper()
	for _, s := range st.Steps {
		if s.ID == "create-peering" {
			if p, _ := s.Outputs["peeringId"].(string); p != "" {
				d.emqxCall(t, ex, "DELETE", "/emqx-platform/v1/peerings/"+p, nil)
			}
		}
	}
}

func (d *devEnv) emqxCall(t *testing.T, ex *example, method, path string, body any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+d.cloudsimAddr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: EMQX console %s %s: %v", ex.file, method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s: EMQX console %s %s: %s: %s", ex.file, method, path, resp.Status, strings.TrimSpace(string(out)))
	}
}

// checkMQTTVerified checks an mqtt.verify step's outputs: the nonce came
// back, dialed from a probe in our network.
func checkMQTTVerified(t *testing.T, ex *example, s exStep) bool {
	if s.Action != "mqtt.verify" {
		return false
	}
	nonce, _ := s.Outputs["nonce"].(string)
	from, _ := s.Outputs["dialedFrom"].(string)
	if s.State != "done" || nonce == "" {
		t.Fatalf("%s: verify %s with outputs %v", ex.file, s.State, s.Outputs)
	}
	if !strings.HasPrefix(from, "from probe ") {
		t.Fatalf("%s: verify dialed %q, not from a probe in our network", ex.file, from)
	}
	t.Logf("%s: MQTT nonce round trip %s via %v", ex.file, from, s.Outputs["address"])
	return true
}

// checkConnectorProbed checks the plan's emqx.probeConnector step, when it
// has one: the deployment reached our resource through its connector probe
// (the direction our security-group rule admits).
func checkConnectorProbed(t *testing.T, ex *example, st exStatus) {
	t.Helper()
	for _, s := range st.Steps {
		if s.Action != "emqx.probeConnector" {
			continue
		}
		if s.State != "done" || s.Outputs["target"] == "" || s.Outputs["type"] == "" {
			t.Fatalf("%s: %s %s with outputs %v", ex.file, s.ID, s.State, s.Outputs)
		}
		t.Logf("%s: the deployment reached %v (%v) through its connector probe", ex.file, s.Outputs["target"], s.Outputs["type"])
	}
}

// TestEMQXConsoleMismatchRollsBack: the EMQX console step completed with
// data that is not our peering's (a mistyped VPC CIDR) fails the check with
// what was entered and what is right, and the request rolls back: the
// peering request is deleted, nothing is left.
func TestEMQXConsoleMismatchRollsBack(t *testing.T) {
	s := newStack(t)
	sim := s.Sim()
	p, err := compiler.CompileFile("../specs/emqx-huawei-peering.yaml", spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := startPlan(t, s, p)
	update := func(name string, d workflows.Decision) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
			UpdateName: name, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", name, d.Step, err)
		}
	}
	eventually(t, time.Minute, "the approval waits", func() bool { return stepState(progress(t, s, run), "approve-peering") == workflows.StepWaiting })
	update(workflows.UpdateApprove, workflows.Decision{Step: "approve-peering", Identity: "network-lead@example.com", Comment: "e2e"})
	var peering string
	eventually(t, time.Minute, "the console step waits", func() bool {
		pr := progress(t, s, run)
		for _, st := range pr.Steps {
			if st.ID == "create-peering" {
				peering, _ = st.Outputs["peeringId"].(string)
			}
		}
		return stepState(pr, "console-confirm") == workflows.StepWaiting
	})
	update(workflows.UpdateComplete, workflows.Decision{Step: "console-confirm", Identity: "cloud-admin@example.com", Data: map[string]any{
		"peeringId": peering, "vpcCidr": "172.16.0.0/16", "vpcId": "4f1a0c3e-0000-4000-8000-00000000e001", "userId": "0605767a2e80d5a20f2bc00c5c2f2a22"}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err = workflows.Wait(ctx, run) // a clean rollback completes (topoflow-rolled-back-completes)
	var ae *temporal.ApplicationError
	pr := progress(t, s, run)
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack || pr.Phase != workflows.PhaseRolledBack || len(pr.Leaked) > 0 {
		t.Fatalf("want a clean rollback, got %v (phase %s, leaked %+v)", err, pr.Phase, pr.Leaked)
	}
	want := `vpcCidr "172.16.0.0/16" was entered in the huawei console, but ours is "172.16.0.0/20"`
	for _, st := range pr.Steps {
		if st.ID == "check-console" && !strings.Contains(st.LastError, want) {
			t.Fatalf("check-console: %s %q, want the error to say %q", st.State, st.LastError, want)
		}
	}
	if st := stepState(pr, "create-peering"); st != workflows.StepCompensated {
		t.Fatalf("create-peering is %s, want %s", st, workflows.StepCompensated)
	}
	if _, err := inventory.Get[*inventory.Peering](sim.Inventory, peering); err == nil {
		t.Fatalf("peering %s is still there after the rollback", peering)
	}
}
