package workflows

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// expandUnits fills a packed record's expanded form (for assertions; the
// packed form stays and is what a run restores from).
func expandUnits(t *testing.T, u *Units) (steps []RecordStep, saga []ResumeDone, drift []GrantUnit) {
	t.Helper()
	if u == nil {
		return nil, nil, nil
	}
	pu, err := u.unpack()
	if err != nil {
		t.Fatal(err)
	}
	steps = pu.Steps
	for _, row := range pu.Rows {
		for _, pi := range row.U {
			v := row.V
			if pi.OwnV {
				v = pi.V
			}
			steps[pi.S].Items = append(steps[pi.S].Items, RecordItem{Index: pi.I, Key: row.K, Value: v, State: pi.State, Inputs: pi.Inputs, Outputs: pi.Outputs, Keys: pi.Keys})
		}
	}
	for i := range steps {
		sort.SliceStable(steps[i].Items, func(a, b int) bool { return steps[i].Items[a].Index < steps[i].Items[b].Index })
	}
	ds, di := 0, 0
	for n := 0; n+1 < len(pu.Saga); n += 2 {
		ds, di = ds+pu.Saga[n], di+pu.Saga[n+1]
		saga = append(saga, ResumeDone{Step: ds, Item: di})
	}
	ds, di = 0, 0
	for n := 0; n+1 < len(pu.Drift); n += 2 {
		ds, di = ds+pu.Drift[n], di+pu.Drift[n+1]
		g := GrantUnit{Step: steps[ds].ID}
		if i := di; i >= 0 {
			g.Item = &i
		}
		drift = append(drift, g)
	}
	return steps, saga, drift
}

// expandResume fills rs.Steps and rs.Done from rs.Units.
func expandResume(t *testing.T, rs *Resume) {
	t.Helper()
	if rs != nil && rs.Units != nil {
		rs.Steps, rs.Done, _ = expandUnits(t, rs.Units)
	}
}

// expandGrantRecord fills g.Steps, g.Done and g.DriftChecks from g.Units.
func expandGrantRecord(t *testing.T, g *GrantRecord) {
	t.Helper()
	if g == nil || g.Units == nil {
		return
	}
	steps, saga, drift := expandUnits(t, g.Units)
	g.Steps, g.DriftChecks, g.Done = steps, drift, nil
	for _, d := range saga {
		u := GrantUnit{Step: steps[d.Step].ID}
		if d.Item >= 0 {
			i := d.Item
			u.Item = &i
		}
		g.Done = append(g.Done, u)
	}
}

// huaweiDone builds the state of runbook 000 across accounts
// (specs/huawei-vpcep-cross-account.yaml) Done with n brokers: every step's
// inputs evaluated from the plan as the interpreter does, every output
// shaped as activities/huawei returns it, Huawei IDs random UUIDs (as the
// cloud's: they compress worst).
func huaweiDone(t testing.TB, n int) *interp {
	t.Helper()
	p, err := compiler.CompileFile(filepath.Join("..", "specs", "huawei-vpcep-cross-account.yaml"), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	}
	r := &interp{p: p, byID: map[string]*stepRun{}, wfID: "topoflow/KafkaAccess/hw-orders-to-client-b"}
	for i := range p.Steps {
		sr := &stepRun{s: &p.Steps[i], state: StepPending, fanout: p.Steps[i].ForEach != nil}
		r.steps = append(r.steps, sr)
		r.byID[sr.s.ID] = sr
	}
	brokers := make([]any, n)
	adv := map[string]any{}
	for i := range brokers {
		ip := fmt.Sprintf("10.50.%d.%d", i/250, 4+i%250)
		brokers[i] = map[string]any{"id": float64(i), "listenerIp": ip, "portId": uuid(), "advertisedIp": ip, "port": float64(9011)}
		adv[ip] = ip
	}
	services := map[string][2]string{} // serviceId -> serviceName, portId
	ips := map[string]string{}         // endpointId -> IP
	endpointService := map[string]string{}
	ownerVPC, domain := uuid(), uuid()
	outputs := func(sr *stepRun, in map[string]any) plan.Outputs {
		str := func(k string) string { s, _ := in[k].(string); return s }
		switch sr.s.Action {
		case "huawei.dms.showInstance":
			return plan.Outputs{"instanceId": str("instanceId"), "name": "kafka-prod", "status": "RUNNING", "vpcId": ownerVPC, "subnetId": uuid(),
				"securityGroupId": uuid(), "userId": uuid(), "connectAddress": "10.50.0.4,10.50.0.5,10.50.0.6", "port": float64(9092), "brokers": brokers, "advertised": adv}
		case "huawei.vpcep.createEndpointService":
			id := uuid()
			services[id] = [2]string{"cn-north-4." + id, str("portId")}
			return plan.Outputs{"serviceId": id, "serviceName": services[id][0], "status": "creating", "portId": str("portId"), "existing": false}
		case "huawei.vpcep.getEndpointService":
			id := str("serviceId")
			return plan.Outputs{"serviceId": id, "serviceName": services[id][0], "status": "available", "portId": services[id][1], "vpcId": ownerVPC, "approvalEnabled": false}
		case "huawei.vpcep.addWhitelist":
			return plan.Outputs{"serviceId": str("serviceId"), "permission": "iam:domain::" + domain}
		case "huawei.vpcep.createEndpoint":
			id := uuid()
			endpointService[id] = str("serviceId")
			ips[id] = fmt.Sprintf("198.19.%d.%d", 128+rng.IntN(100), rng.IntN(250))
			return plan.Outputs{"endpointId": id, "ip": ips[id], "status": "creating", "serviceId": str("serviceId"), "existing": false}
		case "huawei.vpcep.getEndpoint":
			id := str("endpointId")
			return plan.Outputs{"endpointId": id, "ip": ips[id], "status": "accepted", "serviceId": endpointService[id], "serviceName": services[endpointService[id]][0]}
		case "huawei.dms.updateCrossVpcIps":
			return plan.Outputs{"instanceId": str("instanceId"), "previous": adv, "current": in["advertised"]}
		case "huawei.vpc.addSecurityGroupRule":
			return plan.Outputs{"ruleId": uuid(), "created": true}
		case "huawei.vpc.allowNetworkACL":
			return plan.Outputs{"aclId": uuid(), "ruleIds": []any{uuid()}}
		case "kafka.verify":
			return plan.Outputs{"produced": float64(1), "consumed": float64(1)}
		case plan.ActionApproval:
			return plan.Outputs{"approvedBy": "kafka-owner@example.com"}
		}
		return plan.Outputs{}
	}
	for _, sr := range r.steps {
		env := r.env()
		sr.state = StepDone
		if !sr.fanout {
			in, err := plan.ResolveAll(sr.s.Inputs, env)
			if err != nil {
				t.Fatalf("%s: %v", sr.s.ID, err)
			}
			sr.inputs, sr.outputs = in, outputs(sr, in)
			r.done = append(r.done, completion{step: sr, inputs: sr.inputs, outputs: sr.outputs})
			continue
		}
		v, err := plan.Eval(sr.s.ForEach.Items, env)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := asList(v)
		memo := plan.NewMemo(itemName(sr.s.ForEach), plan.RootIndex)
		sr.itemsReady = true
		for i, v := range list {
			it := &itemRun{index: i, value: v, state: StepDone}
			k, err := plan.Eval(sr.s.ForEach.Key, itemEnv(env, sr.s.ForEach, it))
			if err != nil {
				t.Fatal(err)
			}
			it.key = fmt.Sprint(k)
			in, err := memo.ResolveAll(sr.s.Inputs, itemEnv(env, sr.s.ForEach, it))
			if err != nil {
				t.Fatalf("%s item %d: %v", sr.s.ID, i, err)
			}
			it.inputs, it.outputs = in, outputs(sr, in)
			sr.items = append(sr.items, it)
			r.done = append(r.done, completion{step: sr, item: it, inputs: it.inputs, outputs: it.outputs})
		}
	}
	return r
}

// TestRecordSizePerBroker measures the encoded record of runbook 000
// across accounts, Done with 100, 1,000 and 5,000 brokers: what
// continue-as-new carries and what the grant receives, per broker, and requires 5,000 brokers to fit well under Temporal's payload
// limit (half of it). The expanded form of the last session is measured
// too: it is what terminated the 300- and 1,000-broker runs.
func TestRecordSizePerBroker(t *testing.T) {
	for _, n := range []int{100, 1000, 5000} {
		r := huaweiDone(t, n)
		u, err := r.packUnits(false, nil)
		if err != nil {
			t.Fatal(err)
		}
		carry, err := payloadSize(Resume{Runs: 1, Units: &u})
		if err != nil {
			t.Fatal(err)
		}
		g, err := r.packUnits(true, r.driftChecks())
		if err != nil {
			t.Fatal(err)
		}
		grant, err := payloadSize(GrantRecord{Units: &g})
		if err != nil {
			t.Fatal(err)
		}
		var old GrantRecord
		r.expandGrant(&old, true)
		old.DriftChecks = r.driftChecks()
		expanded, err := payloadSize(old)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%5d brokers: continue-as-new carries %8d bytes (%4d per broker), the grant %8d (%4d per broker); expanded grant record %9d (%5d per broker)",
			n, carry, carry/n, grant, grant/n, expanded, expanded/n)
		// The grant keeps what a change or a drift repair evaluates again
		// (every output a step's expression reads: record.go keeps), so it
		// is allowed three quarters of the limit; continue-as-new half.
		if n == 5000 && (carry > PayloadLimit/2 || grant > PayloadLimit*3/4) {
			t.Errorf("5,000 brokers: carried %d, grant %d bytes; want under %d and %d", carry, grant, PayloadLimit/2, PayloadLimit*3/4)
		}
		// Mid-plan (continue-as-new while the endpoints are created): what the
		// steps still to run read is carried whole.
		for _, id := range []string{"create-endpoint", "wait-endpoint-accepted", "wait-instance-running", "set-advertised-ips", "open-security-group", "open-network-acl", "verify"} {
			sr := r.byID[id]
			sr.state, sr.inputs, sr.outputs, sr.items, sr.itemsReady = StepPending, nil, nil, nil, false
		}
		var kept []completion
		for _, c := range r.done {
			if c.step.state == StepDone {
				kept = append(kept, c)
			}
		}
		r.done = kept
		mu, err := r.packUnits(false, nil)
		if err != nil {
			t.Fatal(err)
		}
		mid, err := payloadSize(Resume{Runs: 1, Units: &mu})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%5d brokers: continue-as-new before the endpoints carries %8d bytes (%4d per broker)", n, mid, mid/n)
		if n == 5000 && mid > PayloadLimit/2 {
			t.Errorf("5,000 brokers mid-plan: carried %d bytes; want under %d (half the payload limit)", mid, PayloadLimit/2)
		}
		if grant*10 > expanded {
			t.Errorf("%d brokers: the packed record (%d) is not a tenth of the expanded one (%d)", n, grant, expanded)
		}
	}
}

// compInputs resolves the compensation inputs of every completed unit, as
// rollback does (compensate), and names the resource as the leak report does.
func compInputs(t *testing.T, r *interp) []string {
	t.Helper()
	var out []string
	for _, c := range r.done {
		comp := c.step.s.Compensation
		if comp == nil {
			continue
		}
		env := r.env()
		env[plan.RootInput] = c.inputs
		env[plan.RootOutput] = map[string]any(c.outputs)
		if c.item != nil {
			env = itemEnv(env, c.step.s.ForEach, c.item)
		}
		in, err := plan.ResolveAll(comp.Inputs, env)
		if err != nil {
			t.Fatalf("%s: %v", c.step.s.ID, err)
		}
		out = append(out, fmt.Sprint(c.step.s.ID, in, describeResource(c.outputs)))
	}
	return out
}

// restored packs r and restores it into a fresh run of the same plan.
func restored(t *testing.T, r *interp, forGrant bool) (*interp, Units, []GrantUnit) {
	t.Helper()
	u, err := r.packUnits(forGrant, r.driftChecks())
	if err != nil {
		t.Fatal(err)
	}
	back := &interp{p: r.p, byID: map[string]*stepRun{}, wfID: r.wfID}
	for i := range r.p.Steps {
		sr := &stepRun{s: &r.p.Steps[i], state: StepPending, fanout: r.p.Steps[i].ForEach != nil}
		back.steps = append(back.steps, sr)
		back.byID[sr.s.ID] = sr
	}
	drift, err := back.restoreUnits(u, forGrant)
	if err != nil {
		t.Fatal(err)
	}
	return back, u, drift
}

// TestRecordKeepsWhatIsRead: a packed record, restored, gives every
// compensation the same inputs and the leak report the same resource
// names, every drift check the same inputs, the plan's outputs the same
// values and (continuing as new mid-plan) the steps still to run the same
// inputs as the run that packed it; what nothing reads is dropped.
func TestRecordKeepsWhatIsRead(t *testing.T) {
	r := huaweiDone(t, 50)
	for _, forGrant := range []bool{false, true} {
		back, _, drift := restored(t, r, forGrant)
		if got, want := compInputs(t, back), compInputs(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("grant %v: compensations resolve to\n%v\nwant\n%v", forGrant, got, want)
		}
		if fmt.Sprint(drift) != fmt.Sprint(r.driftChecks()) && len(drift) != len(r.driftChecks()) {
			t.Errorf("grant %v: %d drift checks, want %d", forGrant, len(drift), len(r.driftChecks()))
		}
		for _, u := range drift {
			a, b := r.byID[u.Step], back.byID[u.Step]
			in, want := b.inputs, a.inputs
			if u.Item != nil {
				in, want = b.items[*u.Item].inputs, a.items[*u.Item].inputs
			}
			if fmt.Sprint(in) != fmt.Sprint(want) {
				t.Fatalf("grant %v: drift check %s %v has inputs %v, want %v", forGrant, u.Step, u.Item, in, want)
			}
		}
		if len(back.done) != len(r.done) {
			t.Fatalf("grant %v: saga of %d units, want %d", forGrant, len(back.done), len(r.done))
		}
		if !forGrant {
			got, err := plan.ResolveAll(back.p.Outputs, back.env())
			if err != nil {
				t.Fatal(err)
			}
			want, err := plan.ResolveAll(r.p.Outputs, r.env())
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("plan outputs %s, want %s", got, want)
			}
		}
		if forGrant {
			// A change or a drift repair evaluates the plan's steps again in
			// the grant: every step's inputs resolve as they did in the request.
			for i, sr := range r.steps {
				if sr.s.ForEach != nil || sr.state != StepDone {
					continue
				}
				want, err := plan.ResolveAll(sr.s.Inputs, r.env())
				if err != nil {
					t.Fatal(err)
				}
				got, err := plan.ResolveAll(back.steps[i].s.Inputs, back.env())
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("grant: step %s's inputs resolve to %v (%v), want %v", sr.s.ID, got, err, want)
				}
			}
		}
	}
	// Mid-plan: set-advertised-ips and what follows still to run.
	mid := huaweiDone(t, 50)
	for _, id := range []string{"set-advertised-ips", "open-security-group", "open-network-acl", "verify"} {
		sr := mid.byID[id]
		sr.state, sr.inputs, sr.outputs = StepPending, nil, nil
	}
	var kept []completion
	for _, c := range mid.done {
		if c.step.state == StepDone {
			kept = append(kept, c)
		}
	}
	mid.done = kept
	back, _, _ := restored(t, mid, false)
	for _, id := range []string{"set-advertised-ips"} {
		a, err := plan.ResolveAll(mid.byID[id].s.Inputs, mid.env())
		if err != nil {
			t.Fatal(err)
		}
		b, err := plan.ResolveAll(back.byID[id].s.Inputs, back.env())
		if err != nil {
			t.Fatalf("%s after the hand-over: %v", id, err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s's inputs after the hand-over %v, want %v", id, b, a)
		}
	}
}
