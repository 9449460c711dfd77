package spec

import (
	"strings"
	"testing"
)

const kafkaHead = "apiVersion: topoflow.io/v1\nkind: KafkaAccess\nmetadata: {name: a}\nspec:\n" +
	"  kafka: {provider: huawei, account: hw-kafka-owner, instanceId: i}\n" +
	"  client: {account: hw-client-b, vpcId: v, subnetId: s}\n" +
	"  method: vpcEndpoint\n"

const workflowHead = "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n"

// openRule is a Workflow step opening TCP 9011 from cidr (line 7 is its action, line 9 its inputs).
func openRule(cidr string, extra ...string) string {
	return "  - id: open\n    action: huawei.vpc.addSecurityGroupRule\n    account: hw-kafka-owner\n" +
		"    inputs: {securityGroupId: sg-1, port: 9011, cidr: " + cidr + "}\n" + strings.Join(extra, "")
}

// TestGatePolicyErrors checks every error of approvals, operators and the
// gate policy with its position. want is the full error list; none means valid.
func TestGatePolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// KafkaAccess approvals.
		{"approvers empty", kafkaHead + "  approval: {approvers: []}\n", []string{
			"t.yaml:8:14: approval.approvers must list at least one identity or group:<name>"}},
		{"approver syntax", kafkaHead + "  approval: {approvers: [Kafka Owner, 'team:kafka']}\n", []string{
			`t.yaml:8:26: approvers: "Kafka Owner" is not a valid identity: give a user name or an e-mail address (at most 254 characters), or group:<name>`,
			`t.yaml:8:39: approvers: "team:kafka" is not a valid identity (did you mean "group:kafka"?)`}},
		{"approver group syntax", kafkaHead + "  approval: {approvers: [group:Kafka_Owners]}\n", []string{
			`t.yaml:8:26: approvers: "group:Kafka_Owners" is not a valid group: write group:<name> with lowercase letters, digits and '-' (at most 63), e.g. group:kafka-owners`}},
		{"approver twice", kafkaHead + "  approval:\n    approvers:\n    - kafka-owner@example.com\n    - kafka-owner@example.com\n", []string{
			`t.yaml:11:7: "kafka-owner@example.com" is listed twice in approval.approvers (first at line 10)`}},
		{"required above identities", kafkaHead + "  approval: {approvers: [a@example.com, b@example.com], required: 3}\n", []string{
			"t.yaml:8:67: required is 3 but approval.approvers lists 2 distinct identities; list more approvers or a group:<name>, or lower required"}},
		{"required zero", kafkaHead + "  approval: {approvers: [a@example.com], required: 0}\n", []string{
			"t.yaml:8:52: required must be at least 1 (leave it out for the default, 1)"}},
		{"required negative", kafkaHead + "  approval: {approvers: [a@example.com], required: -1}\n", []string{
			"t.yaml:8:52: required must be at least 1 (leave it out for the default, 1)"}},
		{"two of identities and a group", kafkaHead + "  approval: {approvers: [a@example.com, group:kafka-owners], required: 2, allowSelfApproval: true}\n", nil},
		{"required with a group only", kafkaHead + "  approval: {approvers: [group:kafka-owners], required: 2}\n", nil},
		{"self approval not a bool", kafkaHead + "  approval: {approvers: [a@example.com], allowSelfApproval: yes}\n", []string{
			"t.yaml:8:61: allowSelfApproval must be true or false, not a string"}},

		// Operators.
		{"operators empty", kafkaHead + "  approval: {approvers: [a@example.com]}\n  operators: []\n", []string{
			"t.yaml:9:3: operators must list at least one identity or group:<name>; leave the key out for the default (every gate's approvers plus group:platform-oncall)"}},
		{"operators twice and bad", kafkaHead + "  approval: {approvers: [a@example.com]}\n  operators: [group:sre, group:sre, 'x y']\n", []string{
			`t.yaml:9:26: "group:sre" is listed twice in operators (first at line 9)`,
			`t.yaml:9:37: operators: "x y" is not a valid identity: give a user name or an e-mail address (at most 254 characters), or group:<name>`}},
		{"operators", kafkaHead + "  approval: {approvers: [a@example.com]}\n  operators: [group:sre, oncall@example.com]\n", nil},

		// KafkaAccess policy.
		{"broad VPCEP source range", kafkaHead + "  vpcEndpoint: {sourceCidr: 0.0.0.0/0}\n  approval: {approvers: [a@example.com]}\n", []string{
			`t.yaml:8:29: sourceCidr: "0.0.0.0/0" opens access from any address; narrow it to the client's range, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"broad VPCEP source range opted in", kafkaHead + "  vpcEndpoint: {sourceCidr: 0.0.0.0/0}\n  approval: {approvers: [a@example.com]}\n" +
			"  policy: {allowBroadAccess: true, reason: the VPCEP range differs per region}\n", nil},
		{"policy opts in to nothing", kafkaHead + "  approval: {approvers: [a@example.com]}\n  policy: {reason: x}\n", []string{
			"t.yaml:9:3: policy opts in to nothing: set allowBroadAccess or allowUngated to true, or remove it"}},
		{"policy without reason, unused", kafkaHead + "  approval: {approvers: [a@example.com]}\n  policy: {allowBroadAccess: true}\n", []string{
			`t.yaml:9:11: missing required key "reason" in policy: say why the opt-in is needed (the plan records it for reviewers and the audit)`,
			"t.yaml:9:12: allowBroadAccess is set but no step opens access broadly; remove it"}},
		{"allowUngated in KafkaAccess", kafkaHead + "  approval: {approvers: [a@example.com]}\n  policy: {allowUngated: true, reason: x}\n", []string{
			"t.yaml:9:12: allowUngated is only used by Workflow specs: KafkaAccess plans place the approval where the other side must accept"}},

		// Workflow gates.
		{"workflow who empty", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: []}\n", []string{
			"t.yaml:8:12: gate.who must list at least one identity or group:<name>"}},
		{"workflow required on manual", workflowHead + "  steps:\n  - id: cable\n    action: manual\n    gate: {who: [ops], required: 2}\n", []string{
			"t.yaml:8:24: required is only used by approval steps: one person completes a manual task"}},
		{"workflow two of three", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com, b@example.com, group:kafka-owners], required: 2}\n", nil},

		// Workflow policy.
		{"ungated broad rule", workflowHead + "  steps:\n" + openRule("0.0.0.0/0"), []string{
			`t.yaml:7:13: step "open": action huawei.vpc.addSecurityGroupRule changes things but no approval precedes it; add an approval step before it (in its dependsOn, directly or through other steps), or set policy.allowUngated: true with a reason`,
			`t.yaml:9:55: cidr: "0.0.0.0/0" opens access from any address; narrow it to the client's range, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"ungated broad rule opted in", workflowHead + "  policy: {allowBroadAccess: true, allowUngated: true, reason: public demo broker}\n  steps:\n" + openRule("0.0.0.0/0"), nil},
		{"gated narrow rule", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			openRule("10.0.0.0/16", "    dependsOn: [ok]\n"), nil},
		{"egress needs no broad opt-in", workflowHead + "  policy: {allowUngated: true, reason: x}\n  steps:\n" +
			"  - id: out\n    action: huawei.vpc.addSecurityGroupRule\n    account: hw-kafka-owner\n" +
			"    inputs: {securityGroupId: sg-1, port: 443, direction: egress, cidr: '::/0'}\n", nil},
		{"gate only after", workflowHead + "  steps:\n" + openRule("10.0.0.0/16") + "  - id: ok\n    action: approval\n    dependsOn: [open]\n    gate: {who: [a@example.com]}\n", []string{
			`t.yaml:7:13: step "open": action huawei.vpc.addSecurityGroupRule changes things but no approval precedes it; add an approval step before it (in its dependsOn, directly or through other steps), or set policy.allowUngated: true with a reason`}},
		{"conditional gate does not gate", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    when: ${{ false }}\n    gate: {who: [a@example.com]}\n" +
			"  - id: peer\n    action: huawei.vpc.createPeering\n    account: hw-kafka-owner\n    dependsOn: [ok]\n    inputs: {vpcId: a, peerVpcId: b}\n", []string{
			`t.yaml:11:13: step "peer": action huawei.vpc.createPeering changes things but no approval precedes it; add an approval step before it (in its dependsOn, directly or through other steps), or set policy.allowUngated: true with a reason (approval "ok" does not count: it has a when condition and may be skipped)`}},
		{"gate through an expression", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			"  - id: peer\n    action: huawei.vpc.createPeering\n    account: hw-kafka-owner\n    inputs: {vpcId: a, peerVpcId: '${{ steps.ok.comment }}'}\n", nil},
		{"spec value folded", workflowHead + "  inputs: {open: 0.0.0.0/0}\n  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			openRule("'${{ spec.inputs.open }}'", "    dependsOn: [ok]\n"), []string{
			`t.yaml:13:55: cidr: "0.0.0.0/0" opens access from any address; narrow it to the client's range, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"run-time range", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			openRule("'${{ steps.ok.comment }}'", "    dependsOn: [ok]\n"), []string{
			`t.yaml:12:55: cidr: the address range is computed at run time (steps.ok.comment), so it cannot be checked before the run; give a literal or a spec value, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"wildcard whitelist", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			"  - id: allow\n    action: huawei.vpcep.addWhitelist\n    account: hw-kafka-owner\n    dependsOn: [ok]\n    inputs: {serviceId: s, clientAccount: '*'}\n", []string{
			`t.yaml:13:43: clientAccount: "*" is a wildcard: it would let any account in; name the one client account, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"compensation grant", workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
			"  - id: peer\n    action: huawei.vpc.createPeering\n    account: hw-kafka-owner\n    dependsOn: [ok]\n    inputs: {vpcId: a, peerVpcId: b}\n" +
			"    compensation:\n      action: huawei.vpc.addSecurityGroupRule\n      inputs: {securityGroupId: sg, port: 1, cidr: 0.0.0.0/0}\n", []string{
			`t.yaml:16:52: cidr: "0.0.0.0/0" opens access from any address; narrow it to the client's range, or set policy.allowBroadAccess: true with a reason to open it anyway`}},
		{"unused allowUngated", workflowHead + "  policy: {allowUngated: true, reason: x}\n  steps:\n  - id: m\n    action: manual\n    gate: {who: [ops]}\n", []string{
			"t.yaml:5:12: allowUngated is set but every step that changes things has an approval before it; remove it"}},
	}
	opts := registryOptions(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src), opts)
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s\nspec:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), tt.src)
			}
		})
	}
}
