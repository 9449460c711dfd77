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
    connector:
      account: emqx-aws-api
      target: 172.17.0.11:9092
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
		{"connector target outside our CIDR", "target: 172.17.0.11:9092", "target: 10.64.131.20:9092",
			"t.yaml:28:15: verify.connector.target 10.64.131.20 is outside ours.cidr 172.17.0.0/20: the deployment's connector reaches a resource in our VPC"},
		{"connector target on a port our rule does not open", "target: 172.17.0.11:9092", "target: 172.17.0.11:9093",
			"t.yaml:28:15: verify.connector.target port 9093 is not among ours.ports [9092]: our security group admits the deployment only there"},
		{"connector target form (kafka)", "target: 172.17.0.11:9092", "target: 'kafka://172.17.0.11:9092'",
			`t.yaml:28:15: verify.connector.target "kafka://172.17.0.11:9092" is not host:port[,host:port] (type kafka_producer`},
		{"connector target form (http)", "target: 172.17.0.11:9092", "target: 172.17.0.11:9092\n      type: http",
			`t.yaml:28:15: verify.connector.target "172.17.0.11:9092" is not an http(s) URL (type http`},
		{"connector http URL outside our CIDR", "target: 172.17.0.11:9092", "target: http://10.1.2.3:9092/health",
			"t.yaml:28:15: verify.connector.target 10.1.2.3 is outside ours.cidr 172.17.0.0/20"},
		{"connector account of the deployment API", "account: emqx-aws-api", "account: aws-client-b",
			`t.yaml:27:16: account "aws-client-b" is a aws account; verify.connector.account must be a emqx account`},
		{"connector type", "target: 172.17.0.11:9092", "target: 172.17.0.11:9092\n      type: mqtt",
			`t.yaml:29:13: type "mqtt" is not one of "kafka_producer", "http"`},
		{"connector target required", "      target: 172.17.0.11:9092\n", "",
			`missing required key "target" in connector`},
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

// saasCase parses base with old replaced by new and wants an error containing want.
func saasCase(t *testing.T, file, base, old, new, want string) {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("case does not apply: %q", old)
	}
	_, err := Parse(file, []byte(strings.Replace(base, old, new, 1)), registryOptions(t))
	var all []string
	for _, e := range Errors(err) {
		all = append(all, e.Error())
	}
	for _, e := range all {
		if strings.Contains(e, want) {
			return
		}
	}
	t.Errorf("want an error containing %q, got:\n%s", want, strings.Join(all, "\n"))
}

// aliBase is a valid SaaSPeering on Alibaba Cloud (the world cloudsim/worlds/alibaba.yaml).
const aliBase = `apiVersion: topoflow.io/v1
kind: SaaSPeering
metadata: {name: emqx-alibaba}
spec:
  provider: emqx
  cloud: alibaba
  ours:
    account: ali-ours
    region: cn-hangzhou
    vpcId: vpc-bp1ours00000000000001
    cidr: 172.16.0.0/17
    routeTableIds: [vtb-bp1ours00000000000001]
    securityGroupId: sg-bp1ours00000000000001
    ports: [9092]
  deployment:
    region: cn-hangzhou
    accountId: "5678901234567890"
    vpcId: vpc-bp1emqx00000000000001
    cidr: 10.64.130.0/24
  console:
    who: [cloud-admin@example.com]
  approval:
    approvers: [network-lead@example.com]
  verify:
    address: 10.64.130.10:1883
`

// TestSaaSPeeringAlibaba: runbook 003's constraints on Alibaba Cloud, each a positioned error.
func TestSaaSPeeringAlibaba(t *testing.T) {
	if _, err := Parse("ali.yaml", []byte(aliBase), registryOptions(t)); err != nil {
		t.Fatalf("alibaba spec refused: %v", err)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"same region only (note 1)", "    region: cn-hangzhou\n    vpcId: vpc-bp1ours", "    region: cn-shanghai\n    vpcId: vpc-bp1ours",
			"ali.yaml:9:13: ours.region cn-shanghai differs from deployment.region cn-hangzhou: EMQX Platform VPC peering (Alibaba Cloud) peers only within one region (runbook 003 note 1)"},
		{"our CIDR in 10.10-10.64 refused (note 2)", "cidr: 172.16.0.0/17", "cidr: 10.10.0.0/24",
			"ali.yaml:11:11: ours.cidr 10.10.0.0/24 overlaps 10.10.0.0/24-10.64.255.0/24, which EMQX Platform refuses for peered networks (runbook 003 note 2)"},
		{"receiver UID format", `accountId: "5678901234567890"`, `accountId: "56789"`,
			`ali.yaml:17:16: deployment.accountId "56789" is not an Alibaba Cloud account UID: 16 digits (接收端账号 ID)`},
		{"receiver UID is digits", `accountId: "5678901234567890"`, `accountId: "567890123456789a"`,
			`ali.yaml:17:16: deployment.accountId "567890123456789a" is not an Alibaba Cloud account UID`},
		{"receiver VPC ID", "vpcId: vpc-bp1emqx00000000000001", "vpcId: VPC_EMQX",
			`ali.yaml:18:12: deployment.vpcId "VPC_EMQX" is not a alibaba VPC ID`},
		{"route tables required", "    routeTableIds: [vtb-bp1ours00000000000001]\n", "",
			`ali.yaml:8:5: missing required key "routeTableIds" in ours`},
		{"account of the cloud", "account: ali-ours", "account: tc-ours",
			`ali.yaml:8:14: account "tc-ours" is a tencent account; ours.account must be a alibaba account`},
	} {
		t.Run(c.name, func(t *testing.T) { saasCase(t, "ali.yaml", aliBase, c.old, c.new, c.want) })
	}
}

// tcBase is a valid SaaSPeering on Tencent Cloud (the world cloudsim/worlds/tencent.yaml).
const tcBase = `apiVersion: topoflow.io/v1
kind: SaaSPeering
metadata: {name: emqx-tencent}
spec:
  provider: emqx
  cloud: tencent
  ours:
    account: tc-ours
    region: ap-guangzhou
    vpcId: vpc-tcours001
    cidr: 172.20.0.0/17
    securityGroupId: sg-tcours01
    ports: [9092]
  deployment:
    region: ap-guangzhou
    accountId: "200000000002"
    vpcId: vpc-tcemqx01
    cidr: 10.64.140.0/24
  console:
    who: [cloud-admin@example.com]
  approval:
    approvers: [network-lead@example.com]
  verify:
    address: 10.64.140.10:1883
`

// TestSaaSPeeringTencent: runbook 003's constraints on Tencent Cloud, each a positioned error.
func TestSaaSPeeringTencent(t *testing.T) {
	if _, err := Parse("tc.yaml", []byte(tcBase), registryOptions(t)); err != nil {
		t.Fatalf("tencent spec refused: %v", err)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"same region only (note 1)", "    region: ap-guangzhou\n    vpcId: vpc-tcours", "    region: ap-shanghai\n    vpcId: vpc-tcours",
			"tc.yaml:9:13: ours.region ap-shanghai differs from deployment.region ap-guangzhou: EMQX Platform CCN attachment (Tencent Cloud) peers only within one region (runbook 003 note 1)"},
		{"our CIDR in 10.10-10.64 refused (note 2)", "cidr: 172.20.0.0/17", "cidr: 10.32.0.0/16",
			"tc.yaml:11:11: ours.cidr 10.32.0.0/16 overlaps 10.10.0.0/24-10.64.255.0/24, which EMQX Platform refuses for peered networks (runbook 003 note 2)"},
		{"our CIDR just below the range", "cidr: 172.20.0.0/17", "cidr: 10.9.255.0/24", ""},
		{"UIN is numeric", `accountId: "200000000002"`, `accountId: "emqx-tencent"`,
			`tc.yaml:16:16: deployment.accountId "emqx-tencent" is not a Tencent Cloud account UIN: digits only, e.g. 100000000001`},
		{"deployment VPC ID", "vpcId: vpc-tcemqx01", "vpcId: tcemqx01",
			`tc.yaml:17:12: deployment.vpcId "tcemqx01" is not a tencent VPC ID`},
		{"no route tables on tencent", "    ports: [9092]\n", "    ports: [9092]\n    routeTableIds: [rtb-x]\n",
			"tc.yaml:14:5: ours.routeTableIds is not used with cloud tencent: the CCN routes between the attached VPCs itself; remove it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" { // accepted
				if _, err := Parse("tc.yaml", []byte(strings.Replace(tcBase, c.old, c.new, 1)), registryOptions(t)); err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			saasCase(t, "tc.yaml", tcBase, c.old, c.new, c.want)
		})
	}
}

// TestConnectorProbeDefaults: the probe's type follows the target's form,
// and a bare host gets the first port our rule opens.
func TestConnectorProbeDefaults(t *testing.T) {
	for _, c := range []struct{ typ, target, wantType, wantTarget string }{
		{"", "172.17.0.11", ConnectorKafka, "172.17.0.11:9092"},
		{"", "172.17.0.11:9092, 172.17.0.12", ConnectorKafka, "172.17.0.11:9092,172.17.0.12:9092"},
		{"", "http://172.17.0.20:9092/health", ConnectorHTTP, "http://172.17.0.20:9092/health"},
		{ConnectorHTTP, "https://172.17.0.20:9092", ConnectorHTTP, "https://172.17.0.20:9092"},
	} {
		s := &SaaSPeering{Ours: SaaSOurSide{Ports: []int{9092, 9093}}, Verify: &SaaSVerify{Connector: &SaaSConnectorProbe{Type: c.typ, Target: c.target}}}
		if typ, target := s.ConnectorProbe(); typ != c.wantType || target != c.wantTarget {
			t.Errorf("%q %q: %s %s, want %s %s", c.typ, c.target, typ, target, c.wantType, c.wantTarget)
		}
	}
}
