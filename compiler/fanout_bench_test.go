package compiler

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// fanoutEnv is the environment the interpreter gives the fan-out steps of
// the Huawei cross-account plan for an instance with n brokers: the outputs
// of the steps before them, each list in another order than the brokers
// (matching is by IDs).
func fanoutEnv(n int) (base map[string]any, brokers []any) {
	brokers = make([]any, n)
	services := make([]any, n)
	named := make([]any, n)
	endpoints := make([]any, n)
	accepted := make([]any, n)
	for i := 0; i < n; i++ {
		port, svc, ep := fmt.Sprintf("port-%05d", i), fmt.Sprintf("svc-%05d", i), fmt.Sprintf("ep-%05d", i)
		brokers[i] = map[string]any{"id": i, "listenerIp": fmt.Sprintf("10.0.%d.%d", i/250, i%250), "portId": port}
		services[n-1-i] = map[string]any{"portId": port, "serviceId": svc}
		named[(i*13)%n] = map[string]any{"serviceId": svc, "serviceName": "cn-north-4." + svc}
		endpoints[(i*7)%n] = map[string]any{"serviceId": svc, "endpointId": ep}
		accepted[(i*11)%n] = map[string]any{"serviceId": svc, "endpointId": ep, "ip": fmt.Sprintf("192.168.%d.%d", i/250, i%250)}
	}
	base = map[string]any{
		plan.RootSteps: map[string]any{
			"discover":                map[string]any{"brokers": brokers, "vpcId": "vpc-kafka"},
			"create-endpoint-service": services,
			"wait-endpoint-service":   named,
			"create-endpoint":         endpoints,
			"wait-endpoint-pending":   endpoints,
			"wait-endpoint-accepted":  accepted,
		},
		plan.RootMeta: map[string]any{"workflowId": "topoflow/KafkaAccess/bench"},
	}
	return base, brokers
}

// fanoutSteps are the plan's fan-out steps.
func fanoutSteps(p *plan.Plan) []*plan.Step {
	var out []*plan.Step
	for i := range p.Steps {
		if p.Steps[i].ForEach != nil {
			out = append(out, &p.Steps[i])
		}
	}
	return out
}

// evalFanouts resolves every fan-out step's inputs for every broker, as the
// interpreter does (one Memo per step; memo false: plain evaluation).
func evalFanouts(tb testing.TB, steps []*plan.Step, base map[string]any, brokers []any, memo bool) [][]map[string]any {
	out := make([][]map[string]any, len(steps))
	for si, s := range steps {
		var m *plan.Memo
		if memo {
			m = plan.NewMemo(s.ForEach.As, plan.RootIndex)
		}
		out[si] = make([]map[string]any, len(brokers))
		for i, b := range brokers {
			env := make(map[string]any, len(base)+2)
			for k, v := range base {
				env[k] = v
			}
			env[s.ForEach.As] = b
			env[plan.RootIndex] = i
			in, err := m.ResolveAll(s.Inputs, env)
			if err != nil {
				tb.Fatalf("%s item %d: %v", s.ID, i, err)
			}
			out[si][i] = in
		}
	}
	return out
}

// TestFanoutMemoEqualsPlain: the interpreter's memoized evaluation of the
// Huawei plan's fan-out inputs gives exactly the plain evaluation's values,
// and the lookups find every broker's own service and endpoint.
func TestFanoutMemoEqualsPlain(t *testing.T) {
	p := compileFile(t, "../specs/huawei-vpcep-cross-account.yaml")
	steps := fanoutSteps(p)
	if len(steps) < 5 {
		t.Fatalf("only %d fan-out steps", len(steps))
	}
	base, brokers := fanoutEnv(60)
	plain := evalFanouts(t, steps, base, brokers, false)
	memo := evalFanouts(t, steps, base, brokers, true)
	if !reflect.DeepEqual(plain, memo) {
		t.Fatal("memoized fan-out inputs differ from plain evaluation")
	}
	for si, s := range steps {
		for i := range brokers {
			in := memo[si][i]
			if sid, ok := in["serviceId"]; ok && sid != fmt.Sprintf("svc-%05d", i) {
				t.Errorf("%s item %d: serviceId %v", s.ID, i, sid)
			}
			if eid, ok := in["endpointId"]; ok && eid != fmt.Sprintf("ep-%05d", i) {
				t.Errorf("%s item %d: endpointId %v", s.ID, i, eid)
			}
		}
	}
}

// handWritten is the baseline: the same per-broker inputs computed by Go code
// a person would write for this one workflow (lookup tables built once).
func handWritten(base map[string]any, brokers []any) [][]map[string]any {
	steps := base[plan.RootSteps].(map[string]any)
	svc := map[any]any{}
	for _, e := range steps["create-endpoint-service"].([]any) {
		m := e.(map[string]any)
		svc[m["portId"]] = m["serviceId"]
	}
	names := map[any]any{}
	for _, e := range steps["wait-endpoint-service"].([]any) {
		m := e.(map[string]any)
		names[m["serviceId"]] = m["serviceName"]
	}
	eps := map[any]any{}
	for _, e := range steps["create-endpoint"].([]any) {
		m := e.(map[string]any)
		eps[m["serviceId"]] = m["endpointId"]
	}
	vpc := steps["discover"].(map[string]any)["vpcId"]
	out := make([][]map[string]any, 7)
	for s := range out {
		out[s] = make([]map[string]any, len(brokers))
	}
	for i, b := range brokers {
		port := b.(map[string]any)["portId"]
		sid := svc[port]
		out[0][i] = map[string]any{"portId": port, "vpcId": vpc}
		out[1][i] = map[string]any{"serviceId": sid}
		out[2][i] = map[string]any{"serviceId": sid}
		out[3][i] = map[string]any{"serviceId": sid, "serviceName": names[sid]}
		out[4][i] = map[string]any{"endpointId": eps[sid]}
		out[5][i] = map[string]any{"serviceId": sid, "endpointId": eps[sid]}
		out[6][i] = map[string]any{"endpointId": eps[sid]}
	}
	return out
}

// perBroker reports the time per broker, which is constant when the
// evaluation is linear in the number of brokers.
func perBroker(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/broker")
}

// BenchmarkFanoutInputs evaluates every fan-out input of the Huawei
// cross-account plan for n brokers: topoflow is what the interpreter does
// (memoized), unmemoized is the evaluation before it (quadratic: only the
// smaller sizes), hand-written is Go code doing the same lookups.
func BenchmarkFanoutInputs(b *testing.B) {
	p := compileFile(b, "../specs/huawei-vpcep-cross-account.yaml")
	steps := fanoutSteps(p)
	for _, n := range []int{100, 1000, 5000} {
		base, brokers := fanoutEnv(n)
		b.Run(fmt.Sprintf("brokers=%d/topoflow", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				evalFanouts(b, steps, base, brokers, true)
			}
			perBroker(b, n)
		})
		if n <= 1000 {
			b.Run(fmt.Sprintf("brokers=%d/unmemoized", n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					evalFanouts(b, steps, base, brokers, false)
				}
			})
		}
		b.Run(fmt.Sprintf("brokers=%d/hand-written", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				handWritten(base, brokers)
			}
			perBroker(b, n)
		})
	}
}
