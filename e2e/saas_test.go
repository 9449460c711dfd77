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

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	mqttact "github.com/topoflow/topoflow/activities/mqtt"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/worker/app"
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

// consoleEntry is what the person at the EMQX console enters for the
// request's peering, per cloud (spec.SaaSHandback): the data the console
// step is completed with, and the deployment's VPC the console shows.
func consoleEntry(ex *example, st exStatus) (data map[string]any, deployment string, err error) {
	outputs := map[string]map[string]any{}
	for _, s := range st.Steps {
		outputs[s.ID] = s.Outputs
	}
	switch {
	case ex.planInput("create-ccn", "name") != "":
		// Tencent step 4: 对等连接ID == our CCN, 账户ID == the CCN's account
		// (its UIN), and the deployment VPC ID the console shows. EMQX then
		// asks to attach its VPC to our CCN.
		ccn, _ := outputs["create-ccn"]["ccnId"].(string)
		uin, _ := outputs["attach-ours"]["instanceUin"].(string)
		if ccn == "" || uin == "" {
			return nil, "", fmt.Errorf("%s: the console step waits but create-ccn/attach-ours have no ccnId/instanceUin: %v %v", ex.file, outputs["create-ccn"], outputs["attach-ours"])
		}
		if uin != tcOurUin {
			return nil, "", fmt.Errorf("%s: attach-ours reports UIN %s, want our account's %s (cloudsim/worlds/tencent.yaml)", ex.file, uin, tcOurUin)
		}
		deployment = ex.planInput("console-confirm", "vpcId")
		return map[string]any{"ccnId": ccn, "accountId": uin, "vpcId": deployment}, deployment, nil
	case ex.planInput("create-peering", "acceptingVpcId") != "":
		// Alibaba step 4: 发起端实例 (our VPC); EMQX accepts and routes back.
		return map[string]any{"vpcId": ex.planInput("console-confirm", "vpcId")}, ex.planInput("create-peering", "acceptingVpcId"), nil
	default:
		created := outputs["create-peering"]
		peering, _ := created["peeringId"].(string)
		if peering == "" {
			return nil, "", fmt.Errorf("%s: the console step waits but create-peering has no peeringId: %v", ex.file, created)
		}
		data = map[string]any{"peeringId": peering, "vpcId": ex.planInput("console-confirm", "vpcId")}
		if cidr := ex.planInput("console-confirm", "vpcCidr"); cidr != "" {
			// Huawei step 6: 对等连接 ID, VPC 网段, VPC ID and the user ID from 我的凭证.
			data["vpcCidr"] = cidr
			data["userId"] = "0605767a2e80d5a20f2bc00c5c2f2a22"
		} else {
			// AWS step 4: 对等连接 ID, 请求方拥有者 ID, 请求者 VPC.
			data["accountId"], _ = created["requesterOwnerId"].(string)
		}
		return data, ex.planInput("create-peering", "peerVpcId"), nil
	}
}

// consoleBody is the console stand-in's request for an entry.
func consoleBody(data map[string]any, deployment string) map[string]any {
	body := map[string]any{"deploymentVpcId": deployment}
	for k, v := range data {
		body[k] = v
	}
	return body
}

// emqxConsole enters the request's peering in the EMQX console (the twin's
// stand-in checks it as EMQX does and acts on the deployment's side) and
// returns the data the person completes the console step with: what they
// entered (consoleEntry).
func (d *devEnv) emqxConsole(t *testing.T, ex *example, st exStatus) map[string]any {
	t.Helper()
	data, deployment, err := consoleEntry(ex, st)
	if err != nil {
		t.Fatal(err)
	}
	// Before the console: nothing reaches the deployment (Tencent: our CCN
	// holds only our VPC).
	d.mustNotReach(t, ex, "before the EMQX console step")
	d.emqxCall(t, ex, "POST", "/emqx-platform/v1/peerings", consoleBody(data, deployment))
	// EMQX has done its side (accepted and routed back; on Tencent asked to
	// attach), but ours waits for the console step: our route, rule and
	// acceptance are missing, and verify from our VPC fails.
	for _, s := range st.Steps {
		if (s.ID == "route-to-deployment" || s.ID == "open-security-group" || s.ID == "accept-emqx") && s.State == "done" {
			t.Fatalf("%s: %s is done before the console step", ex.file, s.ID)
		}
	}
	d.mustNotReach(t, ex, "after EMQX's side, before our route and rule")
	return data
}

// mqttFrom runs mqtt.verify to addr as a host in network of the stack's
// twin would: through cloudsim's SOCKS5 endpoint of that network, as the
// probes dial.
func (d *devEnv) mqttFrom(network, addr string) error {
	reg := activities.NewRegistry()
	mqttact.Register(reg, mqttact.Options{Probe: &kafka.Probe{Name: "e2e-probe", Network: network, TaskQueue: "e2e-probe",
		Dialer: func(ctx context.Context) (kafka.DialFunc, string, error) {
			a, err := app.CloudsimSOCKS5(ctx, "http://"+d.cloudsimAddr, network)
			if err != nil {
				return nil, "", err
			}
			dial, err := kafka.SOCKS5Dialer(a)
			return dial, "", err
		}}})
	verify, _ := reg.Get(catalog.MQTTVerify)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := verify(ctx, plan.Call{Action: catalog.MQTTVerify, IdempotencyKey: "saas-examples-e2e",
		Inputs: map[string]any{"address": addr, "clientNetwork": network, "timeout": "3s"}})
	return err
}

// mustNotReach checks that MQTT from our VPC to the deployment's broker fails.
func (d *devEnv) mustNotReach(t *testing.T, ex *example, when string) {
	t.Helper()
	network, addr := ex.planInput("verify", "clientNetwork"), ex.planInput("verify", "address")
	if err := d.mqttFrom(network, addr); err == nil {
		t.Fatalf("%s: MQTT from our VPC %s to %s passed %s", ex.file, network, addr, when)
	} else {
		t.Logf("%s: %s, MQTT from our VPC fails as it must: %v", ex.file, when, err)
	}
}

// mustReach checks that MQTT from our VPC to the deployment's broker passes.
func (d *devEnv) mustReach(t *testing.T, ex *example) {
	t.Helper()
	network, addr := ex.planInput("verify", "clientNetwork"), ex.planInput("verify", "address")
	if err := d.mqttFrom(network, addr); err != nil {
		t.Fatalf("%s: MQTT from our VPC %s to %s after the request: %v", ex.file, network, addr, err)
	}
}

// emqxConsoleDelete is the console's 删除对等连接 (only from running): the
// deployment drops its side (its return route; on Tencent its VPC leaves
// our CCN), so our rollback can delete the peering. A request rolled back
// before the console step has nothing on the deployment's side.
func (d *devEnv) emqxConsoleDelete(t *testing.T, ex *example, st exStatus) {
	t.Helper()
	peering := consolePeering(st, false)
	if peering == "" {
		return
	}
	code, out := d.emqxTry(t, ex, "DELETE", "/emqx-platform/v1/peerings/"+peering, nil)
	// On Tencent a rollback already running may detach the deployment's VPC
	// from our CCN first (accept-emqx's undo, as the CCN's owner): the
	// console then finds it detaching or gone, and there is nothing left to delete.
	if code >= 300 && (ex.planInput("create-ccn", "name") == "" || code != http.StatusConflict && code != http.StatusNotFound) {
		t.Fatalf("%s: EMQX console DELETE %s: %d: %s", ex.file, peering, code, out)
	}
}

// consolePeering is the peering the EMQX console lists for the request
// once its console step is done ("" before: nothing on the deployment's
// side), or with anyState, whether or not the step is done (the console may
// have been used and the step not completed yet).
func consolePeering(st exStatus, anyState bool) string {
	confirmed := false
	var peering string
	for _, s := range st.Steps {
		switch s.ID {
		case "console-confirm":
			confirmed = s.State == "done"
		case "create-peering":
			peering, _ = s.Outputs["peeringId"].(string)
		case "create-ccn":
			peering, _ = s.Outputs["ccnId"].(string) // Tencent: 对等连接ID == 云联网实例 ID
		}
	}
	if !confirmed && !anyState {
		return ""
	}
	return peering
}

func (d *devEnv) emqxCall(t *testing.T, ex *example, method, path string, body any) {
	t.Helper()
	if code, out := d.emqxTry(t, ex, method, path, body); code >= 300 {
		t.Fatalf("%s: EMQX console %s %s: %d: %s", ex.file, method, path, code, out)
	}
}

// emqxTry calls the EMQX console stand-in and returns its status and answer.
func (d *devEnv) emqxTry(t *testing.T, ex *example, method, path string, body any) (int, string) {
	t.Helper()
	code, out, err := d.emqxDo(method, path, body)
	if err != nil {
		t.Fatalf("%s: EMQX console %s %s: %v", ex.file, method, path, err)
	}
	return code, out
}

// emqxDo calls the twin's EMQX console stand-in.
func (d *devEnv) emqxDo(method, path string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+d.cloudsimAddr+path, rd)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(out)), nil
}

// mqttVerifiedProblem is what is wrong with an mqtt.verify step's outputs
// ("" when the nonce came back, dialed from a probe in our network).
func mqttVerifiedProblem(ex *example, s exStep) string {
	nonce, _ := s.Outputs["nonce"].(string)
	from, _ := s.Outputs["dialedFrom"].(string)
	if s.State != "done" || nonce == "" {
		return fmt.Sprintf("%s: verify %s with outputs %v", ex.file, s.State, s.Outputs)
	}
	if !strings.HasPrefix(from, "from probe ") {
		return fmt.Sprintf("%s: verify dialed %q, not from a probe in our network", ex.file, from)
	}
	return ""
}

// connectorProbedProblem is what is wrong with the plan's
// emqx.probeConnector step, when it has one ("" when the deployment reached
// our resource through its connector probe: the direction our
// security-group rule admits).
func connectorProbedProblem(ex *example, st exStatus) string {
	for _, s := range st.Steps {
		if s.Action != "emqx.probeConnector" {
			continue
		}
		// What was probed is what the plan asked for (the examples: a
		// kafka_producer to our broker).
		target, _ := s.Outputs["target"].(string)
		typ, _ := s.Outputs["type"].(string)
		if s.State != "done" || target == "" || typ == "" || typ != ex.planInput(s.ID, "type") || target != ex.planInput(s.ID, "target") {
			return fmt.Sprintf("%s: %s %s with outputs %v, want the probe the plan asks for (type %q, target %q)", ex.file, s.ID, s.State, s.Outputs,
				ex.planInput(s.ID, "type"), ex.planInput(s.ID, "target"))
		}
	}
	return ""
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
