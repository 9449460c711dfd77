package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are small documents covering every kind and many error paths.
var fuzzSeeds = []string{
	"",
	"---\n",
	"apiVersion: topoflow.io/v1\nkind: KafkaAccess\nmetadata: {name: a}\nspec:\n  kafka: {provider: huawei, account: hw-kafka-owner, instanceId: i}\n  client: {account: hw-client-b, vpcId: v, subnetId: s}\n  method: vpcEndpoint\n  approval: {approvers: [a@b.c], deadline: 1h}\n",
	"apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n  - id: a\n    action: manual\n    gate: {who: [x]}\n  - id: b\n    action: approval\n    dependsOn: [a]\n    gate: {who: [y], deadline: 1h}\n    when: '${{ steps.a.data.ok }}'\n",
	"a: &x [*x]\n",
	"a: &a {b: *a}\n",
	"kind: [\n",
	"spec: {password: hunter2}\n",
	"apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  operators: [group:sre, a@b.c]\n  policy: {allowBroadAccess: true, reason: r}\n  inputs: {c: 0.0.0.0/0}\n  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@b.c, group:kafka-owners], required: 2, allowSelfApproval: true}\n  - id: open\n    action: huawei.vpc.addSecurityGroupRule\n    account: hw-kafka-owner\n    dependsOn: [ok]\n    inputs: {securityGroupId: s, port: 1, cidr: '${{ spec.inputs.c }}'}\n",
	"apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n  - id: open\n    action: aws.ec2.authorizeSecurityGroupIngress\n    account: aws-msk\n    inputs: {groupId: g, port: 1, cidr: '::/0'}\n",
	"apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n  - {id: a, action: manual, gate: {who: [x]}, dependsOn: [b]}\n  - {id: b, action: manual, gate: {who: [x]}, dependsOn: [a]}\n",
	"apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n  - id: a\n    action: manual\n    gate: {who: [x]}\n    forEach: {items: '${{ [1,2] }}', as: spec}\n    inputs: {x: '${{ item + }}'}\n",
}

// FuzzValidate checks that decoding and validating never panics and that
// every reported error has a message and a position inside the input.
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, pattern := range []string{"../specs/*.yaml", "../specs/testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	known := map[string]string{"hw-kafka-owner": "huawei", "hw-client-b": "huawei", "aws-msk": "aws", "az-ambari": "ambari"}
	opts := Options{Accounts: func(n string) (string, bool) { p, ok := known[n]; return p, ok }}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Parse("fuzz.yaml", data, opts)
		// YAML breaks lines at "\r\n", "\r" and "\n" (and reports one past the end on truncated input).
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		lines := strings.Count(text, "\n") + strings.Count(text, "\r") + 2
		for _, e := range Errors(err) {
			if e.Message == "" || strings.Contains(e.Message, "\n") {
				t.Fatalf("error without message or on several lines: %+v", e)
			}
			if e.File != "fuzz.yaml" || e.Line < 0 || e.Line > lines {
				t.Fatalf("error with bad position %d (input has %d lines): %v", e.Line, lines, e)
			}
		}
		if err == nil {
			for _, d := range docs {
				if d.SHA256 == "" || (d.KafkaAccess == nil && d.Workflow == nil && d.SaaSPeering == nil) {
					t.Fatalf("valid document without hash or body: %+v", d)
				}
			}
		}
	})
}
