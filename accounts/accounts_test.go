package accounts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadExampleRegistry(t *testing.T) {
	t.Setenv("CLOUDSIM_URL", "http://127.0.0.1:39999")
	reg, err := Load("../specs/accounts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ali-ours", "aws-client-b", "aws-msk", "aws-transit", "az-ambari", "az-hdinsight", "emqx-ali-api", "emqx-alibaba", "emqx-aws-api", "emqx-deployment", "emqx-hw-api", "emqx-tc-api", "emqx-tencent", "hw-client-b", "hw-kafka-owner", "otc-kafka", "tc-ours"}
	if got := strings.Join(reg.Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("names = %s", got)
	}
	owner, _ := reg.Get("hw-kafka-owner")
	if owner.Provider != ProviderHuawei || owner.Huawei.DomainID == "" || owner.Huawei.Cloud != CloudHuawei {
		t.Fatalf("owner = %+v", owner)
	}
	if u, _ := owner.Endpoint("vpcep"); u != "http://127.0.0.1:39999" {
		t.Fatalf("vpcep endpoint = %q", u)
	}
	// A deployment API (provider emqx): its address and key.
	api, _ := reg.Get("emqx-hw-api")
	if u, _ := api.Endpoint("emqx"); api.Provider != ProviderEMQX || u != "http://127.0.0.1:39999/emqx-platform/deployments/h5e0c1a9/api/v5" {
		t.Fatalf("emqx-hw-api = %+v", api)
	}
	t.Setenv("TOPOFLOW_EMQX_HW_API_APP_ID", "app")
	t.Setenv("TOPOFLOW_EMQX_HW_API_APP_SECRET", "secret")
	if c, err := api.Resolve(context.Background()); err != nil || c.AppID != "app" || c.AppSecret != "secret" {
		t.Fatalf("emqx-hw-api credentials: %v", err)
	}
	otc, _ := reg.Get("otc-kafka")
	if otc.Huawei.Cloud != CloudOTC || otc.Region != "eu-de" {
		t.Fatalf("otc = %+v", otc.Huawei)
	}
	if _, err := owner.Endpoint("arm"); err == nil {
		t.Fatal("expected missing endpoint error")
	}
	ali, _ := reg.Get("ali-ours")
	if ali.Provider != ProviderAlibaba || ali.Alibaba.AccountID != "1234567890123456" || ali.Region != "cn-hangzhou" {
		t.Fatalf("ali-ours = %+v", ali)
	}
	if u, _ := ali.Endpoint("vpcpeer"); u != "http://127.0.0.1:39999" {
		t.Fatalf("vpcpeer endpoint = %q", u)
	}
}

// TestAlibabaAndTencentCredentials: the two clouds' keys resolve from their
// default variables into their own fields, and never format.
func TestAlibabaAndTencentCredentials(t *testing.T) {
	reg, err := Parse("r.yaml", []byte("accounts:\n"+
		"  ali:\n    provider: alibaba\n    region: cn-hangzhou\n    alibaba: {accountId: '1234567890123456'}\n"+
		"  tc:\n    provider: tencent\n    region: ap-guangzhou\n    tencent: {accountId: '100000000001'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOPOFLOW_ALI_ACCESS_KEY_ID", "ali-id")
	t.Setenv("TOPOFLOW_ALI_ACCESS_KEY_SECRET", "ali-secret")
	t.Setenv("TOPOFLOW_TC_SECRET_ID", "tc-id")
	t.Setenv("TOPOFLOW_TC_SECRET_KEY", "tc-key")
	a, _ := reg.Get("ali")
	c, err := a.Resolve(context.Background())
	if err != nil || c.AccessKeyID != "ali-id" || c.AccessKeySecret != "ali-secret" {
		t.Fatalf("alibaba credentials: %v", err)
	}
	tc, _ := reg.Get("tc")
	c, err = tc.Resolve(context.Background())
	if err != nil || c.SecretID != "tc-id" || c.SecretKey != "tc-key" || tc.Tencent.AccountID != "100000000001" {
		t.Fatalf("tencent credentials: %v", err)
	}
	if s := fmt.Sprintf("%v %#v", c, c); strings.Contains(s, "tc-key") {
		t.Fatalf("credentials format: %s", s)
	}
	t.Setenv("TOPOFLOW_TC_SECRET_KEY", "")
	if _, err := tc.Resolve(context.Background()); err == nil || !strings.Contains(err.Error(), "TOPOFLOW_TC_SECRET_KEY") {
		t.Fatalf("missing secret key: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Setenv("TF_TEST_UNSET", "")
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top key", "accounts: {}\nextra: 1\n", "r.yaml:2:1: registry: unknown key \"extra\""},
		{"unknown account key", "accounts:\n  a:\n    provider: huawei\n    regoin: x\n", "r.yaml:4:5: account a: unknown key \"regoin\""},
		{"bad provider", "accounts:\n  a:\n    provider: gcp\n", "r.yaml:3:15: account a: provider must be one of"},
		{"huawei missing ids", "accounts:\n  a:\n    provider: huawei\n    region: r\n", "r.yaml:3:5: account a: provider huawei needs huawei.projectId"},
		{"bad cloud", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d, cloud: gcp}\n", "r.yaml:5:48: huawei.cloud must be"},
		{"unknown service", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    endpoints: {foo: http://x}\n", "r.yaml:6:17: endpoints: unknown service \"foo\""},
		{"bad url", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    endpoints: {vpcep: 'ftp://x'}\n", "is not an absolute http(s) URL"},
		{"unset env", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    endpoints: {vpcep: '${TF_TEST_UNSET}'}\n", "environment variable TF_TEST_UNSET is not set"},
		{"wrong block", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    aws: {accountId: '1'}\n", "r.yaml:6:5: account a: block \"aws\" does not match provider"},
		{"bad cred key", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    credentials: {password: {env: X}}\n", "r.yaml:6:19: account a: unknown credential \"password\""},
		{"empty cred", "accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    credentials: {ak: {}}\n", "credentials.ak needs env and/or file"},
		{"bad name", "accounts:\n  A_b:\n    provider: huawei\n", "r.yaml:2:3: account name \"A_b\""},
		{"duplicate", "accounts:\n  a: {provider: ambari, ambari: {url: 'http://x', cluster: c}}\n  a: {provider: ambari}\n", "r.yaml:3:3: accounts: duplicate key \"a\""},
		{"missing accounts", "foo: 1\n", "unknown key \"foo\""},
		{"not yaml", "accounts: [\n", "r.yaml"},
		{"probes not a list", "accounts:\n  a:\n    provider: ambari\n    ambari: {url: 'http://x', cluster: c}\n    probes: {taskQueue: q}\n", "r.yaml:5:13: probes must be a list"},
		{"probe without queue", "accounts:\n  a:\n    provider: ambari\n    ambari: {url: 'http://x', cluster: c}\n    probes: [{network: n}]\n", "r.yaml:5:14: probe needs taskQueue"},
		{"probe unknown key", "accounts:\n  a:\n    provider: ambari\n    ambari: {url: 'http://x', cluster: c}\n    probes: [{queue: q}]\n", "r.yaml:5:15: probe: unknown key \"queue\""},
		{"probe bad timeout", "accounts:\n  a:\n    provider: ambari\n    ambari: {url: 'http://x', cluster: c}\n    probes: [{taskQueue: q, startTimeout: soon}]\n", "r.yaml:5:43: probe startTimeout must be a positive duration"},
		{"external with credentials", "accounts:\n  a:\n    provider: external\n    credentials: {password: {env: X}}\n    probes: [{taskQueue: q}]\n", "r.yaml:4:19: account a: unknown credential \"password\" for provider external"},
		{"alibaba without uid", "accounts:\n  a:\n    provider: alibaba\n    region: r\n    alibaba: {accountId: abc}\n", "r.yaml:3:5: account a: provider alibaba needs alibaba.accountId"},
		{"emqx without its API address", "accounts:\n  a:\n    provider: emqx\n", "r.yaml:3:5: account a: provider emqx needs endpoints.emqx (the deployment API address"},
		{"emqx credential keys", "accounts:\n  a:\n    provider: emqx\n    endpoints: {emqx: 'https://x:8443/api/v5'}\n    credentials:\n      ak: {env: X}\n", `r.yaml:6:7: account a: unknown credential "ak" for provider emqx (allowed: appId, appSecret)`},
		{"tencent without region", "accounts:\n  a:\n    provider: tencent\n    tencent: {accountId: '1'}\n", "r.yaml:3:5: account a: provider tencent needs region"},
		{"alibaba huawei key", "accounts:\n  a:\n    provider: alibaba\n    region: r\n    alibaba: {accountId: '1'}\n    credentials: {ak: {env: X}}\n", "unknown credential \"ak\" for provider alibaba"},
		{"two probes one network", "accounts:\n  a:\n    provider: ambari\n    ambari: {url: 'http://x', cluster: c}\n    probes: [{taskQueue: q, network: n}, {taskQueue: r, network: n}]\n", "r.yaml:5:42: a second probe for network n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

func TestEnvDefault(t *testing.T) {
	t.Setenv("SIM", "")
	reg, err := Parse("r.yaml", []byte("accounts:\n  a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n    endpoints: {vpcep: '${SIM:-http://127.0.0.1:1/}'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := reg.Get("a")
	if a.Endpoints["vpcep"] != "http://127.0.0.1:1" {
		t.Fatalf("endpoint %q", a.Endpoints["vpcep"])
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	skFile := filepath.Join(dir, "sk")
	if err := os.WriteFile(skFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "accounts:\n" +
		"  hw-a:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n" +
		"    credentials: {ak: {env: TFT_AK}, sk: {env: TFT_SK, file: " + skFile + "}}\n" +
		"  hw-default:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n" +
		"  hw-nofile:\n    provider: huawei\n    region: r\n    huawei: {projectId: p, domainId: d}\n" +
		"    credentials: {ak: {env: TFT_AK}, sk: {file: " + filepath.Join(dir, "missing") + "}}\n"
	reg, err := Parse("r.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Setenv("TFT_AK", "the-ak")
	t.Setenv("TFT_SK", "")
	a, _ := reg.Get("hw-a")
	c, err := a.Resolve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.AK != "the-ak" || c.SK != "file-secret" {
		t.Fatalf("resolved wrong values")
	}
	if s := c.String(); strings.Contains(s, "the-ak") {
		t.Fatalf("String leaks: %s", s)
	}
	t.Setenv("TFT_SK", "env-secret")
	if c, _ = a.Resolve(ctx); c.SK != "env-secret" {
		t.Fatal("env must win over file")
	}

	d, _ := reg.Get("hw-default")
	_, err = d.Resolve(ctx)
	if err == nil || !strings.Contains(err.Error(), "TOPOFLOW_HW_DEFAULT_AK") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("TOPOFLOW_HW_DEFAULT_AK", "x-ak")
	t.Setenv("TOPOFLOW_HW_DEFAULT_SK", "x-sk")
	if c, err = d.Resolve(ctx); err != nil || c.AK != "x-ak" || c.SK != "x-sk" {
		t.Fatalf("default env: %v", err)
	}

	nf, _ := reg.Get("hw-nofile")
	_, err = nf.Resolve(ctx)
	if err == nil || !strings.Contains(err.Error(), "missing") || strings.Contains(err.Error(), "the-ak") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultEnv(t *testing.T) {
	for _, tc := range []struct{ acct, key, want string }{
		{"hw-kafka-owner", "ak", "TOPOFLOW_HW_KAFKA_OWNER_AK"},
		{"aws-msk", "secretAccessKey", "TOPOFLOW_AWS_MSK_SECRET_ACCESS_KEY"},
		{"az-hdinsight", "clientSecret", "TOPOFLOW_AZ_HDINSIGHT_CLIENT_SECRET"},
	} {
		if got := DefaultEnv(tc.acct, tc.key); got != tc.want {
			t.Errorf("DefaultEnv(%s,%s) = %s, want %s", tc.acct, tc.key, got, tc.want)
		}
	}
}

func TestProbeFor(t *testing.T) {
	reg, err := Parse("r.yaml", []byte(`accounts:
  a:
    provider: ambari
    ambari: {url: 'http://x', cluster: c}
    probes:
      - {network: vpc-1, taskQueue: q1, startTimeout: 5s}
      - {taskQueue: qdef}
  b:
    provider: ambari
    ambari: {url: 'http://x', cluster: c}
    probes:
      - {network: vpc-2, taskQueue: q2}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := reg.Get("a")
	b, _ := reg.Get("b")
	tests := []struct {
		name      string
		acct      *Account
		network   string
		wantQueue string
		wantStart time.Duration
	}{
		{"named network", a, "vpc-1", "q1", 5 * time.Second},
		{"other network: the default", a, "vpc-9", "qdef", DefaultProbeStartTimeout},
		{"no network: the default", a, "", "qdef", DefaultProbeStartTimeout},
		{"no default", b, "vpc-9", "", 0},
		{"named only", b, "vpc-2", "q2", DefaultProbeStartTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.acct.ProbeFor(tc.network)
			if ok != (tc.wantQueue != "") || p.TaskQueue != tc.wantQueue || p.StartTimeout != tc.wantStart {
				t.Errorf("ProbeFor(%q) = %+v, %v; want queue %q start %s", tc.network, p, ok, tc.wantQueue, tc.wantStart)
			}
		})
	}
}

func TestRegistryProbes(t *testing.T) {
	t.Setenv("CLOUDSIM_URL", "http://127.0.0.1:39999")
	reg, err := Load("../specs/accounts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := reg.Probes()
	if err != nil {
		t.Fatal(err)
	}
	var shared *RegisteredProbe
	for i, p := range ps {
		if p.TaskQueue == "" || p.Network == "" {
			t.Errorf("probe %+v without queue or network", p)
		}
		if p.TaskQueue == "topoflow-probe-hw-vpc-client-b" {
			shared = &ps[i]
		}
	}
	if shared == nil || strings.Join(shared.Accounts, ",") != "hw-client-b,hw-kafka-owner" {
		t.Errorf("the Huawei client VPC's probe serves %+v, want both accounts of that VPC", shared)
	}
	bad, err := Parse("r.yaml", []byte(`accounts:
  a: {provider: ambari, ambari: {url: 'http://x', cluster: c}, probes: [{network: n1, taskQueue: q}]}
  b: {provider: ambari, ambari: {url: 'http://x', cluster: c}, probes: [{network: n2, taskQueue: q}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Probes(); err == nil || !strings.Contains(err.Error(), "probe task queue q is named for networks \"n1\" and \"n2\"") {
		t.Errorf("one queue, two networks: %v", err)
	}
}
