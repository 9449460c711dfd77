package spec

import (
	"strings"
	"testing"
)

// saasBase is a valid SaaSPeering (cloud aws); cases replace one line.
const saasBase = `apiVersion: topoflow.io/v1
kind: SaaSPeering
metadata: {name: emqx-aws}
spec:
  provider: emqx
  cloud: aws
  ours:
    account: aws-client-b
    region: eu-west-1
    vpcId: vpc-0a5c000000e00001
    cidr: 172.17.0.0/20
    routeTableIds: [rtb-0a5c000000e00001]
    securityGroupId: sg-0a5c000000e00001
    ports: [9092]
  deployment:
    region: eu-west-1
    accountId: "444444444444"
    vpcId: vpc-0e3e00000000d0001
    cidr: 10.64.131.0/24
  console:
    who: [cloud-admin@example.com]
  approval:
    approvers: [network-lead@example.com]
  verify:
    address: 10.64.131.10:1883
`

// TestSaaSPeeringValidation: every runbook 003 constraint is a positioned
// error saying what is wrong and what would be right.
func TestSaaSPeeringValidation(t *testing.T) {
	opts := registryOptions(t)
	if _, err := Parse("ok.yaml", []byte(saasBase), opts); err != nil {
		t.Fatalf("base spec refused: %v", err)
	}
	for _, c := range []struct {
		name, old, new string
		want           string // file:line:col: message part
	}{
		{"same region only (note 1)", "    region: eu-west-1\n    vpcId: vpc-0a5c", "    region: eu-central-1\n    vpcId: vpc-0a5c",
			"t.yaml:9:13: ours.region eu-central-1 differs from deployment.region eu-west-1: EMQX Platform VPC peering (AWS) peers only within one region (runbook 003 note 1); use a VPC of region eu-west-1"},
		{"our CIDR in 10.10-10.64 refused (note 2)", "cidr: 172.17.0.0/20", "cidr: 10.21.0.0/16",
			"t.yaml:11:11: ours.cidr 10.21.0.0/16 overlaps 10.10.0.0/24-10.64.255.0/24, which EMQX Platform refuses for peered networks (runbook 003 note 2); peer a VPC whose range lies outside it"},
		{"range edge 10.64.255.0/24 refused", "cidr: 172.17.0.0/20", "cidr: 10.64.255.0/24", "t.yaml:11:11: ours.cidr 10.64.255.0/24 overlaps 10.10.0.0/24-10.64.255.0/24"},
		{"a range around it refused", "cidr: 172.17.0.0/20", "cidr: 10.0.0.0/8", "t.yaml:11:11: ours.cidr 10.0.0.0/8 overlaps"},
		{"overlapping the deployment", "cidr: 172.17.0.0/20", "cidr: 10.64.131.0/25", "t.yaml:19:11: deployment.cidr 10.64.131.0/24 overlaps ours.cidr 10.64.131.0/25"},
		{"EMQX account ID format (aws)", `accountId: "444444444444"`, `accountId: "4444"`,
			`t.yaml:17:16: deployment.accountId "4444" is not a 12-digit AWS account ID`},
		{"deployment VPC ID (aws)", "vpcId: vpc-0e3e00000000d0001", "vpcId: 4f1a0c3e-0000",
			`t.yaml:18:12: deployment.vpcId "4f1a0c3e-0000" is not an AWS VPC ID`},
		{"route tables required (aws)", "    routeTableIds: [rtb-0a5c000000e00001]\n", "",
			`t.yaml:8:5: missing required key "routeTableIds" in ours: they get the route to the deployment's CIDR through the peering`},
		{"account of the cloud", "account: aws-client-b", "account: hw-client-b",
			`t.yaml:8:14: account "hw-client-b" is a huawei account; ours.account must be a aws account`},
		{"approval required", "  approval:\n    approvers: [network-lead@example.com]\n", "",
			`t.yaml:5:3: missing required key "approval" in spec: the peering crosses into emqx's account 444444444444`},
		{"console step required", "  console:\n    who: [cloud-admin@example.com]\n", "",
			`missing required key "console"`},
		{"verify address in the deployment", "address: 10.64.131.10:1883", "address: 172.17.0.10:1883",
			"t.yaml:25:14: verify.address 172.17.0.10:1883 is outside deployment.cidr 10.64.131.0/24"},
		{"verify address format", "address: 10.64.131.10:1883", "address: broker",
			`t.yaml:25:14: verify.address "broker" is not an IP:port`},
		{"alibaba until the merge", "cloud: aws", "cloud: alibaba",
			"t.yaml:6:10: cloud alibaba is not available yet for provider emqx: its actions (EMQX Platform VPC peering (Alibaba Cloud)) are not in the catalog of this build; use huawei or aws"},
		{"tencent until the merge", "cloud: aws", "cloud: tencent", "t.yaml:6:10: cloud tencent is not available yet for provider emqx"},
		{"unknown cloud", "cloud: aws", "cloud: gcp", `t.yaml:6:10: cloud "gcp" is not one of "huawei", "aws", "alibaba", "tencent"`},
		{"unknown provider", "provider: emqx", "provider: hivemq", `t.yaml:5:13: provider "hivemq" is not one of "emqx"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(saasBase, c.old) {
				t.Fatalf("case does not apply: %q", c.old)
			}
			_, err := Parse("t.yaml", []byte(strings.Replace(saasBase, c.old, c.new, 1)), opts)
			var all []string
			for _, e := range Errors(err) {
				all = append(all, e.Error())
			}
			for _, e := range all {
				if strings.Contains(e, c.want) {
					return
				}
			}
			t.Errorf("want an error containing %q, got:\n%s", c.want, strings.Join(all, "\n"))
		})
	}
}

// TestSaaSPeeringHuawei: the Huawei variant's own checks.
func TestSaaSPeeringHuawei(t *testing.T) {
	opts := registryOptions(t)
	hw := strings.NewReplacer(
		"cloud: aws", "cloud: huawei", "account: aws-client-b", "account: hw-client-b",
		"region: eu-west-1", "region: cn-north-4", `accountId: "444444444444"`, "accountId: 0605767c9a00d5c92f4fc00e3e0e4e55",
		"    routeTableIds: [rtb-0a5c000000e00001]\n", "",
	).Replace(saasBase)
	if _, err := Parse("hw.yaml", []byte(hw), opts); err != nil {
		t.Fatalf("huawei spec refused: %v", err)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"project ID format", "accountId: 0605767c9a00d5c92f4fc00e3e0e4e55", "accountId: emqx-account",
			`hw.yaml:16:16: deployment.accountId "emqx-account" is not a Huawei project ID: 32 lowercase hex digits`},
		{"no route tables on huawei", "    ports: [9092]\n", "    ports: [9092]\n    routeTableIds: [x]\n",
			"hw.yaml:14:5: ours.routeTableIds is not used with cloud huawei: the route goes to our VPC's route table; remove it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(hw, c.old) {
				t.Fatalf("case does not apply: %q", c.old)
			}
			_, err := Parse("hw.yaml", []byte(strings.Replace(hw, c.old, c.new, 1)), opts)
			var all []string
			for _, e := range Errors(err) {
				all = append(all, e.Error())
			}
			for _, e := range all {
				if strings.Contains(e, c.want) {
					return
				}
			}
			t.Errorf("want an error containing %q, got:\n%s", c.want, strings.Join(all, "\n"))
		})
	}
}
