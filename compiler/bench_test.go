package compiler

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/spec"
)

// BenchmarkHuaweiVPCEndpoint1000Brokers validates and compiles the Huawei
// cross-account spec for an instance with 1,000 brokers. Brokers are
// discovered at run time and every per-broker step fans out over them, so
// the plan (and this cost) does not grow with the broker count.
func BenchmarkHuaweiVPCEndpoint1000Brokers(b *testing.B) {
	src, err := os.ReadFile("../specs/huawei-vpcep-cross-account.yaml")
	if err != nil {
		b.Fatal(err)
	}
	opts := options(b)
	b.ReportAllocs()
	for b.Loop() {
		docs, err := spec.Parse("huawei.yaml", src, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(docs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvertisedMap1000Brokers evaluates the compiled one-to-one
// advertised-IP expression (what the interpreter does at run time) for 1,000 brokers.
func BenchmarkAdvertisedMap1000Brokers(b *testing.B) {
	p := compileFile(b, "../specs/huawei-vpcep-cross-account.yaml")
	const n = 1000
	brokers := make([]any, n)
	services := make([]any, n)
	endpoints := make([]any, n)
	for i := 0; i < n; i++ {
		port := fmt.Sprintf("port-%04d", i)
		svc := fmt.Sprintf("svc-%04d", i)
		brokers[i] = map[string]any{"id": i, "listenerIp": fmt.Sprintf("10.0.%d.%d", i/250, i%250), "portId": port}
		// Outputs in another order than the brokers: matching is by IDs.
		services[n-1-i] = map[string]any{"portId": port, "serviceId": svc}
		endpoints[(i*7)%n] = map[string]any{"serviceId": svc, "ip": fmt.Sprintf("192.168.%d.%d", i/250, i%250)}
	}
	env := map[string]any{"steps": map[string]any{
		"discover":                map[string]any{"brokers": brokers},
		"create-endpoint-service": services,
		"wait-endpoint-accepted":  endpoints,
	}}
	v := p.Step("set-advertised-ips").Inputs["advertised"]
	b.ReportAllocs()
	for b.Loop() {
		out, err := v.Resolve(env)
		if err != nil {
			b.Fatal(err)
		}
		if m := reflect.ValueOf(out); m.Kind() != reflect.Map || m.Len() != n {
			b.Fatalf("advertised map is %T", out)
		}
	}
}

// workflowSource returns a Workflow spec with n explicit steps, each reading
// the previous step's output (a chain: the worst case for dependency checks).
func workflowSource(n int) []byte {
	var sb strings.Builder
	sb.WriteString("apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: big}\nspec:\n  inputs: {vpc: vpc-1}\n" +
		"  policy: {allowUngated: true, reason: benchmark of a long chain of route steps}\n  steps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "    - id: s%d\n      action: huawei.vpc.addRoute\n      account: hw-kafka-owner\n      inputs:\n", i)
		sb.WriteString("        vpcId: ${{ spec.inputs.vpc }}\n        destination: 10.0.0.0/16\n")
		if i == 0 {
			sb.WriteString("        nexthop: peering-1\n")
		} else {
			fmt.Fprintf(&sb, "        nexthop: ${{ steps.s%d.routeId }}\n", i-1)
		}
	}
	return []byte(sb.String())
}

// BenchmarkWorkflow1000Steps validates and compiles a Workflow with 1,000 explicit steps.
func BenchmarkWorkflow1000Steps(b *testing.B) {
	src := workflowSource(1000)
	opts := options(b)
	b.ReportAllocs()
	for b.Loop() {
		docs, err := spec.Parse("big.yaml", src, opts)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Compile(docs[0])
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Steps) != 1000 {
			b.Fatalf("%d steps", len(p.Steps))
		}
	}
}

func TestWorkflow1000StepsCompiles(t *testing.T) {
	docs, err := spec.Parse("big.yaml", workflowSource(1000), options(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 1000 || p.Steps[999].DependsOn[0] != "s998" {
		t.Fatalf("unexpected plan: %d steps", len(p.Steps))
	}
}
