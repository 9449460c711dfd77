package spec

import (
	"strings"
	"testing"
)

// awsPeering is an AWS vpcPeering spec; client is appended inside client's
// flow mapping, rest after the method (line 6 is client, line 7 the method).
func awsPeering(clientAccount, client, rest string) string {
	return "apiVersion: topoflow.io/v1\nkind: KafkaAccess\nmetadata: {name: a}\nspec:\n" +
		"  kafka: {provider: aws, account: aws-msk, region: eu-west-1, clusterArn: 'arn:aws:kafka:eu-west-1:111111111111:cluster/m/u', vpcId: vpc-1, cidr: 10.20.0.0/16, routeTableIds: [rtb-1]}\n" +
		"  client: {account: " + clientAccount + ", vpcId: vpc-2, cidr: 10.21.0.0/16, routeTableIds: [rtb-2]" + client + "}\n" +
		"  method: vpcPeering\n  approval: {approvers: [a@example.com]}\n" + rest
}

// TestNoKeyIsSilentlyIgnored: every key the chosen method does not read, the
// security-group reference of runbook 002 §4.2/§4.4, overlapping peered
// ranges and regional Huawei methods, each at its position. No want: valid.
func TestNoKeyIsSilentlyIgnored(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"vpcEndpoint ignores kafka.port and client.cidr", strings.Replace(strings.Replace(kafkaHead, "instanceId: i}", "instanceId: i, port: 9092}", 1),
			"subnetId: s}", "subnetId: s, cidr: 10.1.0.0/16}", 1) + "  approval: {approvers: [a@example.com]}\n", []string{
			"t.yaml:5:69: kafka.port is not used by method vpcEndpoint of provider huawei (endpoint services listen on vpcEndpoint.port); remove it",
			"t.yaml:6:57: client.cidr is not used by method vpcEndpoint of provider huawei (endpoint traffic comes from vpcEndpoint.sourceCidr); remove it"}},
		{"peering ignores subnetIds", awsPeering("aws-client-b", ", subnetIds: [s-1]", ""), []string{
			"t.yaml:6:93: client.subnetIds is not used by method vpcPeering of provider aws (keys read: client.cidr, client.routeTableIds, client.securityGroupId, client.vpcId); remove it"}},
		{"azure-only peering options", awsPeering("aws-client-b", "", "  peering: {useRemoteGateways: true}\n"), []string{
			"t.yaml:9:13: peering.useRemoteGateways is only used with provider azure (VNet peering); remove it"}},
		{"verify keys with verify off", awsPeering("aws-client-b", "", "  verify: {enabled: false, topic: t}\n"), []string{
			"t.yaml:9:28: verify.topic is not used: verify.enabled is false; remove it or turn the verification on"}},
		{"onExpiry without deadline", strings.Replace(awsPeering("aws-client-b", "", ""), "approvers: [a@example.com]}", "approvers: [a@example.com], onExpiry: approve}", 1), []string{
			"t.yaml:8:42: approval.onExpiry is not used without approval.deadline; set a deadline (e.g. 72h) or remove it"}},
		{"overlapping peered ranges", strings.Replace(awsPeering("aws-client-b", "", ""), "cidr: 10.21.0.0/16", "cidr: 10.20.128.0/20", 1), []string{
			"t.yaml:6:55: cidr 10.20.128.0/20 overlaps kafka.cidr 10.20.0.0/16: the peered networks need address ranges that do not overlap (runbook 002 §4.2)"}},
		{"group of the same account", awsPeering("aws-msk", ", securityGroupId: sg-0abc", ""), nil},
		{"group of another account by ID", awsPeering("aws-client-b", ", securityGroupId: 222222222222/sg-0abc", ""), nil},
		{"group of another account without ID", awsPeering("aws-client-b", ", securityGroupId: sg-0abc", ""), []string{
			`t.yaml:6:110: the group is in account "aws-client-b": a reference across accounts names the owner's account ID: 222222222222/sg-0abc (runbook 002 §4.4)`}},
		{"group with the wrong account ID", awsPeering("aws-client-b", ", securityGroupId: 111111111111/sg-0abc", ""), []string{
			`t.yaml:6:110: account ID 111111111111 is not client account "aws-client-b"'s (222222222222): write 222222222222/sg-0abc`}},
		{"group across regions", awsPeering("aws-msk", ", region: eu-central-1, securityGroupId: sg-0abc", ""), []string{
			`t.yaml:6:127: the brokers' security group cannot reference a group of region "eu-central-1" from region "eu-west-1" (runbook 002 §4.3); remove securityGroupId: client.cidr is opened instead`}},
		{"not a group", awsPeering("aws-msk", ", securityGroupId: my-group", ""), []string{
			`t.yaml:6:105: securityGroupId "my-group" is not a security group reference: give sg-<id>, or <12-digit account ID>/sg-<id> for a group of another account (runbook 002 §4.4)`}},
		{"huawei across regions", strings.Replace(strings.Replace(kafkaHead, "instanceId: i}", "instanceId: i, region: cn-north-4}", 1), "subnetId: s}", "subnetId: s, region: cn-east-3}", 1) +
			"  approval: {approvers: [a@example.com]}\n", []string{
			`t.yaml:6:65: method vpcEndpoint needs the client in the instance's region "cn-north-4" (Huawei VPC endpoints and peerings do not cross regions)`}},
		{"same-account endpoints with approval", strings.Replace(kafkaHead, "hw-client-b", "hw-kafka-owner", 1) + "  approval: {approvers: [a@example.com]}\n", nil},
		{"approval with the gate turned off", strings.Replace(kafkaHead, "hw-client-b", "hw-kafka-owner", 1) + "  vpcEndpoint: {approval: false}\n  approval: {approvers: [a@example.com]}\n", []string{
			"t.yaml:9:3: approval is set but vpcEndpoint.approval: false skips the approval gate; remove one of them"}},
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

// TestGateStepsTakeNoActionKeys: keys of action steps that a gate would drop
// are errors at their position.
func TestGateStepsTakeNoActionKeys(t *testing.T) {
	src := workflowHead + "  steps:\n  - id: ok\n    action: approval\n    gate: {who: [a@example.com]}\n" +
		"    retry: {maximumAttempts: 3}\n    timeout: 1h\n    wait: {target: [x]}\n    locks: [k]\n"
	_, err := Parse("t.yaml", []byte(src), registryOptions(t))
	want := []string{
		"t.yaml:9:5: retry is not used by approval steps (a gate is not retried); remove it",
		"t.yaml:10:5: timeout is not used by approval steps (gate.deadline bounds the wait); remove it",
		"t.yaml:11:5: wait is not used by approval steps (a gate waits for people); remove it",
		"t.yaml:12:5: locks is not used by approval steps (a gate holds no lock); remove it",
	}
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
