package aws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	awssim "github.com/topoflow/topoflow/cloudsim/aws"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/contract"
	"github.com/topoflow/topoflow/plan"
)

const (
	mskARN     = simtest.MSKCluster
	mskVPC     = "vpc-0a5c0000000msk01"
	mskSG      = "sg-0a5c00000000msk01"
	clientBVPC = "vpc-0a5c000000clib01"
	clientBSG  = "sg-0a5c000000clib01"
	clientFRSG = "sg-0c1e0000000fra01"
	clientFRVP = "vpc-0c1e0000000fra01"
)

// env is a sim with the default and AWS worlds and the actions over the
// example account registry (plus an account that reaches aws-client-b by
// assuming a role with aws-msk's keys).
type env struct {
	sim  *cloudsim.Sim
	acts map[string]func(context.Context, plan.Call) (plan.Outputs, error)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func newEnv(t *testing.T) *env {
	t.Helper()
	awssim.DefaultTiming.PeeringRequest = 50 * time.Millisecond
	awssim.DefaultTiming.PeeringProvision = 50 * time.Millisecond
	awssim.DefaultTiming.ServiceCreate = 50 * time.Millisecond
	awssim.DefaultTiming.EndpointCreate = 50 * time.Millisecond
	awssim.DefaultTiming.VpcConnectionCreate = 50 * time.Millisecond
	awssim.DefaultTiming.BrokerRestart = 20 * time.Millisecond
	awssim.DefaultTiming.Delete = 50 * time.Millisecond
	awssim.DefaultTiming.LoadBalancerCreate = 50 * time.Millisecond
	awssim.DefaultTiming.DNSChange = 50 * time.Millisecond
	sim, delta := simtest.Start(t, cloudsim.Options{Providers: []string{"aws"}})
	w, err := world.ReadFile(filepath.Join(repoRoot(), "cloudsim", "worlds", "aws.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Shift(delta); err != nil {
		t.Fatal(err)
	}
	if err := sim.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	for _, a := range inventory.List[*inventory.Account](sim.Inventory, inventory.Filter{}) {
		if a.Provider == "aws" {
			t.Setenv(accounts.DefaultEnv(a.ID, "accessKeyId"), a.Credentials[0].KeyID)
			t.Setenv(accounts.DefaultEnv(a.ID, "secretAccessKey"), a.Credentials[0].Secret)
		}
	}
	t.Setenv(accounts.DefaultEnv("aws-wrong-secret", "accessKeyId"), "AKIAAWSMSK0000000001")
	t.Setenv(accounts.DefaultEnv("aws-wrong-secret", "secretAccessKey"), "not-the-secret")
	t.Setenv("CLOUDSIM_URL", sim.URL())
	base, err := accounts.Load(filepath.Join(repoRoot(), "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_ = base
	extra := fmt.Sprintf(`accounts:
  aws-msk: {provider: aws, region: eu-west-1, aws: {accountId: "111111111111"}, endpoints: {ec2: %[1]s, kafka: %[1]s, sts: %[1]s, elasticloadbalancing: %[1]s, route53: %[1]s}}
  aws-client-b: {provider: aws, region: eu-west-1, aws: {accountId: "222222222222"}, endpoints: {ec2: %[1]s, kafka: %[1]s, sts: %[1]s, elasticloadbalancing: %[1]s, route53: %[1]s}}
  aws-client-b-role:
    provider: aws
    region: eu-west-1
    aws: {accountId: "222222222222", roleArn: "arn:aws:iam::222222222222:role/topoflow-peering"}
    endpoints: {ec2: %[1]s, kafka: %[1]s, sts: %[1]s}
    credentials:
      accessKeyId: {env: TOPOFLOW_AWS_MSK_ACCESS_KEY_ID}
      secretAccessKey: {env: TOPOFLOW_AWS_MSK_SECRET_ACCESS_KEY}
  aws-wrong-secret: {provider: aws, region: eu-west-1, aws: {accountId: "111111111111"}, endpoints: {ec2: %[1]s, kafka: %[1]s}}
`, sim.URL())
	reg, err := accounts.Parse("test.yaml", []byte(extra))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, acts: map[string]func(context.Context, plan.Call) (plan.Outputs, error){}}
	for name, fn := range New(reg).Funcs() {
		e.acts[name] = fn
	}
	return e
}

// call runs one action and checks its outputs against the action's descriptor.
func (e *env) call(action, account, key string, in map[string]any) (plan.Outputs, error) {
	out, err := e.acts[action](context.Background(), plan.Call{Action: action, Account: account, Inputs: in, IdempotencyKey: key})
	if err == nil {
		if cerr := contract.CheckOutputs(action, out); cerr != nil {
			return nil, cerr
		}
	}
	return out, err
}

func (e *env) must(t *testing.T, action, account, key string, in map[string]any) plan.Outputs {
	t.Helper()
	out, err := e.call(action, account, key, in)
	if err != nil {
		t.Fatalf("%s as %s: %v", action, account, err)
	}
	return out
}

// until polls a read action until its status is want.
func (e *env) until(t *testing.T, action, account string, in map[string]any, field, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := e.call(action, account, "", in)
		if err == nil && out[field] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %s=%s: %v %v", action, field, want, out, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if err == nil {
		return ""
	}
	if ok := asApp(err, &ae); ok {
		return ae.Type()
	}
	return "untyped"
}

func asApp(err error, target **temporal.ApplicationError) bool {
	ae, ok := err.(*temporal.ApplicationError)
	if ok {
		*target = ae
	}
	return ok
}

// Cross-account peering: the accepter is reached by assuming a role through
// STS; the owner cannot accept; the group of the peer account is referenced
// as <account>/sg-x.
func TestCrossAccountPeeringWithAssumedRole(t *testing.T) {
	e := newEnv(t)
	p := e.must(t, catalog.AWSEC2CreateVpcPeering, "aws-msk", "wf/create-peering", map[string]any{"vpcId": mskVPC, "peerVpcId": clientBVPC, "peerAccount": "aws-client-b"})
	pcx := p["peeringId"].(string)
	if p["status"] != "initiating-request" {
		t.Fatalf("status at creation: %v", p["status"])
	}
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "pending-acceptance")
	_, err := e.call(catalog.AWSEC2AcceptVpcPeering, "aws-msk", "wf/accept", map[string]any{"peeringId": pcx})
	if errType(err) != plan.ErrUnauthorized || !strings.Contains(err.Error(), "OperationNotPermitted") {
		t.Fatalf("the requester accepting: %v (%s)", err, errType(err))
	}
	e.must(t, catalog.AWSEC2AcceptVpcPeering, "aws-client-b-role", "wf/accept", map[string]any{"peeringId": pcx})
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "active")
	acct, _ := inventory.Get[*inventory.Account](e.sim.Inventory, "aws-client-b")
	assumed := false
	for _, c := range acct.Credentials {
		assumed = assumed || strings.HasPrefix(c.KeyID, "ASIA")
	}
	if !assumed {
		t.Fatal("the accept did not go through an STS session of aws-client-b")
	}
	// A retried create returns the same peering.
	again := e.must(t, catalog.AWSEC2CreateVpcPeering, "aws-msk", "wf/create-peering", map[string]any{"vpcId": mskVPC, "peerVpcId": clientBVPC, "peerAccount": "aws-client-b"})
	if again["peeringId"] != pcx {
		t.Fatalf("retried create: %v, want %s", again["peeringId"], pcx)
	}
	rule := e.must(t, catalog.AWSEC2AuthorizeIngress, "aws-msk", "wf/sg", map[string]any{"groupId": mskSG, "port": 9092, "sourceGroup": "222222222222/" + clientBSG})
	retry := e.must(t, catalog.AWSEC2AuthorizeIngress, "aws-msk", "wf/sg", map[string]any{"groupId": mskSG, "port": 9092, "sourceGroup": "222222222222/" + clientBSG})
	if retry["ruleId"] != rule["ruleId"] || retry["created"] != true {
		t.Fatalf("retried authorize: %v then %v", rule, retry)
	}
	// Another request needing the same rule becomes one of its users (a
	// tag on the rule), so the first one's revoke keeps it.
	other := e.must(t, catalog.AWSEC2AuthorizeIngress, "aws-msk", "other/sg", map[string]any{"groupId": mskSG, "port": 9092, "sourceGroup": "222222222222/" + clientBSG})
	if other["ruleId"] != rule["ruleId"] || other["created"] != true || other["shared"] != true {
		t.Fatalf("another request reusing the rule must share it: %v", other)
	}
	g, _ := inventory.Get[*inventory.SecurityGroup](e.sim.Inventory, mskSG)
	found := false
	for _, r := range g.Rules {
		found = found || (r.ID == rule["ruleId"] && r.RemoteGroupID == "222222222222/"+clientBSG)
	}
	if !found {
		t.Fatalf("rule %v not in %+v", rule, g.Rules)
	}
	first := e.must(t, catalog.AWSEC2RevokeIngress, "aws-msk", "wf/undo-sg", map[string]any{"groupId": mskSG, "ruleId": rule["ruleId"], "created": true})
	if first["revoked"] != false || fmt.Sprint(first["usedBy"]) != "[other]" {
		t.Fatalf("the first user's revoke: %v, want the rule kept for the other request", first)
	}
	if !hasRule(e, mskSG, rule["ruleId"]) {
		t.Fatal("the first user's revoke removed the rule the other request uses")
	}
	last := e.must(t, catalog.AWSEC2RevokeIngress, "aws-msk", "other/undo-sg", map[string]any{"groupId": mskSG, "ruleId": rule["ruleId"], "created": true})
	if last["revoked"] != true || hasRule(e, mskSG, rule["ruleId"]) {
		t.Fatalf("the last user's revoke: %v, want the rule gone", last)
	}
	e.must(t, catalog.AWSEC2RevokeIngress, "aws-msk", "other/undo-sg", map[string]any{"groupId": mskSG, "ruleId": rule["ruleId"], "created": true})
	e.must(t, catalog.AWSEC2DeleteVpcPeering, "aws-msk", "", map[string]any{"peeringId": pcx})
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "deleting")
	// AWS keeps a deleted peering visible (deleting, then deleted) for hours
	// (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-lifecycle).
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "deleted")
}

func TestTypedErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		fault   *faults.Rule
		action  string
		account string
		in      map[string]any
		want    string
		msg     string
	}{
		{name: "missing peering", action: catalog.AWSEC2DescribeVpcPeering, account: "aws-msk", in: map[string]any{"peeringId": "pcx-00000000000000000"},
			want: plan.ErrNotFound, msg: "InvalidVpcPeeringConnectionID.NotFound"},
		{name: "wrong secret", action: catalog.AWSEC2DescribeVpcPeering, account: "aws-wrong-secret", in: map[string]any{"peeringId": "pcx-00000000000000000"},
			want: plan.ErrUnauthorized, msg: "SignatureDoesNotMatch"},
		{name: "throttled", fault: &faults.Rule{Op: "aws.ec2.DescribeVpcPeeringConnections", Kind: faults.Throttle, Code: "RequestLimitExceeded", Status: 503},
			action: catalog.AWSEC2DescribeVpcPeering, account: "aws-msk", in: map[string]any{"peeringId": "pcx-00000000000000000"}, want: plan.ErrThrottled},
		{name: "server error", fault: &faults.Rule{Op: "aws.kafka.DescribeClusterV2", Kind: faults.Error},
			action: catalog.AWSMSKDescribeCluster, account: "aws-msk", in: map[string]any{"clusterArn": mskARN}, want: plan.ErrUnavailable},
		{name: "unknown cluster", action: catalog.AWSMSKDescribeCluster, account: "aws-msk", in: map[string]any{"clusterArn": strings.Replace(mskARN, "msk-prod", "nope", 1)},
			want: plan.ErrNotFound, msg: "NotFoundException"},
		{name: "other account without policy", action: catalog.AWSMSKGetBootstrapBrokers, account: "aws-client-b", in: map[string]any{"clusterArn": mskARN},
			want: plan.ErrUnauthorized, msg: "ForbiddenException"},
		{name: "multi-VPC not turned on", action: catalog.AWSMSKCreateVpcConnection, account: "aws-msk",
			in:   map[string]any{"clusterArn": mskARN, "authentication": "SASL_IAM", "vpcId": "vpc-0a5c000000clia01", "subnetIds": []any{"subnet-0a5c000clia01"}, "securityGroupIds": []any{"sg-0a5c000000clia01"}},
			want: plan.ErrInvalid, msg: "BadRequestException"},
		{name: "group in another region", action: catalog.AWSEC2AuthorizeIngress, account: "aws-msk", in: map[string]any{"groupId": mskSG, "port": 9092, "sourceGroup": clientFRSG},
			want: plan.ErrNotFound, msg: "across regions"},
		{name: "missing input", action: catalog.AWSEC2CreateRoute, account: "aws-msk", in: map[string]any{"routeTableId": "rtb-0a5c0000000msk01"}, want: plan.ErrInvalid, msg: "destination"},
		{name: "account not in registry", action: catalog.AWSEC2DescribeVpcPeering, account: "nobody", in: map[string]any{"peeringId": "pcx-1"}, want: plan.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.fault != nil {
				id := e.sim.Faults.MustAdd(*c.fault)
				defer e.sim.Faults.Remove(id)
			}
			_, err := e.call(c.action, c.account, "k", c.in)
			if errType(err) != c.want || !strings.Contains(fmt.Sprint(err), c.msg) {
				t.Fatalf("got %v (%s), want type %s containing %q", err, errType(err), c.want, c.msg)
			}
			for _, secret := range []string{"aws-msk-secret", "not-the-secret"} {
				if strings.Contains(fmt.Sprint(err), secret) {
					t.Fatalf("the error leaks a secret: %v", err)
				}
			}
		})
	}
}

// PrivateLink creates carry ClientTokens: retries return the same resources.
func TestPrivateLinkIdempotentAndStates(t *testing.T) {
	e := newEnv(t)
	nlb := "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/net/msk-prod-nlb/0a5c00000000n001"
	in := map[string]any{"loadBalancerArns": []any{nlb}, "acceptanceRequired": true}
	s1 := e.must(t, catalog.AWSEC2CreateEndpointService, "aws-msk", "wf/svc", in)
	s2 := e.must(t, catalog.AWSEC2CreateEndpointService, "aws-msk", "wf/svc", in)
	if s1["serviceId"] != s2["serviceId"] || s1["state"] != "Pending" {
		t.Fatalf("service create then retry: %v, %v", s1, s2)
	}
	svc := s1["serviceId"].(string)
	e.until(t, catalog.AWSEC2DescribeEndpointService, "aws-msk", map[string]any{"serviceId": svc}, "state", "Available")
	name := e.must(t, catalog.AWSEC2DescribeEndpointService, "aws-msk", "", map[string]any{"serviceId": svc})["serviceName"].(string)
	epIn := map[string]any{"serviceName": name, "vpcId": clientBVPC, "subnetIds": []any{"subnet-0a5c000clib01"}, "securityGroupIds": []any{clientBSG}}
	if _, err := e.call(catalog.AWSEC2CreateVpcEndpoint, "aws-client-b", "wf/ep", epIn); errType(err) != plan.ErrInvalid || !strings.Contains(err.Error(), "InvalidServiceName") {
		t.Fatalf("an endpoint before the account is allowed: %v", err)
	}
	e.must(t, catalog.AWSEC2AddServicePermission, "aws-msk", "wf/allow", map[string]any{"serviceId": svc, "principalAccount": "aws-client-b"})
	e1 := e.must(t, catalog.AWSEC2CreateVpcEndpoint, "aws-client-b", "wf/ep", epIn)
	e2 := e.must(t, catalog.AWSEC2CreateVpcEndpoint, "aws-client-b", "wf/ep", epIn)
	if e1["endpointId"] != e2["endpointId"] || e1["state"] != "pendingAcceptance" {
		t.Fatalf("endpoint create then retry: %v, %v", e1, e2)
	}
	ep := e1["endpointId"].(string)
	e.must(t, catalog.AWSEC2AcceptEndpointConnection, "aws-msk", "", map[string]any{"serviceId": svc, "endpointId": ep})
	e.until(t, catalog.AWSEC2DescribeVpcEndpoint, "aws-client-b", map[string]any{"endpointId": ep}, "state", "available")
	if _, err := e.call(catalog.AWSEC2DeleteEndpointService, "aws-msk", "", map[string]any{"serviceId": svc}); errType(err) != plan.ErrConflict {
		t.Fatalf("deleting a service with a live endpoint: %v", err)
	}
	e.must(t, catalog.AWSEC2DeleteVpcEndpoint, "aws-client-b", "", map[string]any{"endpointId": ep})
	e.must(t, catalog.AWSEC2RemoveServicePermission, "aws-msk", "", map[string]any{"serviceId": svc, "principalAccount": "aws-client-b"})
	e.must(t, catalog.AWSEC2DeleteEndpointService, "aws-msk", "", map[string]any{"serviceId": svc})
	e.must(t, catalog.AWSEC2DeleteEndpointService, "aws-msk", "", map[string]any{"serviceId": svc})
	// EC2 answers a used ClientToken with the original result long after the
	// resource is gone (at least 24 h, EC2 idempotency docs), and refuses it
	// with other parameters: a create must never reuse a deleted resource's
	// key (workflows' run-scoped keys), or it is handed the deleted ID.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.call(catalog.AWSEC2DescribeEndpointService, "aws-msk", "", map[string]any{"serviceId": svc}); errType(err) == plan.ErrNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s still there after its delete", svc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if again := e.must(t, catalog.AWSEC2CreateEndpointService, "aws-msk", "wf/svc", in); again["serviceId"] != svc {
		t.Fatalf("create with the deleted service's token: %v, want the original result %s (EC2 returns it)", again, svc)
	}
	other := map[string]any{"loadBalancerArns": []any{nlb}, "acceptanceRequired": false}
	if _, err := e.call(catalog.AWSEC2CreateEndpointService, "aws-msk", "wf/svc", other); err == nil || !strings.Contains(err.Error(), "IdempotentParameterMismatch") {
		t.Fatalf("the token with other parameters: %v, want IdempotentParameterMismatch", err)
	}
	if fresh := e.must(t, catalog.AWSEC2CreateEndpointService, "aws-msk", "wf@run2/svc", in); fresh["serviceId"] == svc {
		t.Fatalf("a new key got the deleted service %s", svc)
	}
}

// Multi-VPC: connectivity update and its rollback, the cluster policy merge
// and restore, an idempotent VPC connection.
func TestMultiVPCConnectivityPolicyAndConnection(t *testing.T) {
	e := newEnv(t)
	if _, err := inventory.Update(e.sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		k.Attrs = map[string]string{"iamAuth": "true", "policy": `{"Version":"2012-10-17","Statement":[{"Sid":"ops","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"kafka:DescribeCluster","Resource":"*"}]}`, "policyVersion": "V1"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	on := map[string]any{"clusterArn": mskARN, "vpcConnectivity": map[string]any{"iam": true, "scram": false, "tls": false}}
	up := e.must(t, catalog.AWSMSKUpdateConnectivity, "aws-msk", "wf/on", on)
	if up["changed"] != true || up["clusterOperationArn"] == "" || fmt.Sprint(up["previous"]) != "map[iam:false scram:false tls:false]" {
		t.Fatalf("update: %v", up)
	}
	e.until(t, catalog.AWSMSKDescribeClusterOperation, "aws-msk", map[string]any{"clusterOperationArn": up["clusterOperationArn"]}, "status", "UPDATE_COMPLETE")
	same := e.must(t, catalog.AWSMSKUpdateConnectivity, "aws-msk", "other/on", on)
	if same["changed"] != false || same["clusterOperationArn"] != "" {
		t.Fatalf("an unchanged setting: %v", same)
	}
	pol := e.must(t, catalog.AWSMSKPutClusterPolicy, "aws-msk", "wf/policy", map[string]any{"clusterArn": mskARN, "clientAccounts": []any{"aws-client-b"}})
	if !strings.Contains(pol["previous"].(string), `"Sid":"ops"`) || strings.Contains(pol["previous"].(string), "222222222222") {
		t.Fatalf("previous policy: %v", pol["previous"])
	}
	retry := e.must(t, catalog.AWSMSKPutClusterPolicy, "aws-msk", "wf/policy", map[string]any{"clusterArn": mskARN, "clientAccounts": []any{"aws-client-b"}})
	if retry["previous"] != pol["previous"] {
		t.Fatalf("a retried put changed previous: %v", retry["previous"])
	}
	cin := map[string]any{"clusterArn": mskARN, "authentication": "SASL_IAM", "vpcId": clientBVPC, "subnetIds": []any{"subnet-0a5c000clib01"}, "securityGroupIds": []any{clientBSG}}
	c1 := e.must(t, catalog.AWSMSKCreateVpcConnection, "aws-client-b", "wf/conn", cin)
	c2 := e.must(t, catalog.AWSMSKCreateVpcConnection, "aws-client-b", "wf/conn", cin)
	if c1["vpcConnectionArn"] != c2["vpcConnectionArn"] || c1["state"] != "CREATING" {
		t.Fatalf("connection create then retry: %v, %v", c1, c2)
	}
	e.until(t, catalog.AWSMSKDescribeVpcConnection, "aws-client-b", map[string]any{"vpcConnectionArn": c1["vpcConnectionArn"]}, "state", "AVAILABLE")
	boot := e.must(t, catalog.AWSMSKGetBootstrapBrokers, "aws-client-b", "", map[string]any{"clusterArn": mskARN, "authentication": "iam", "connectivity": "vpc"})
	if len(boot["bootstrap"].([]any)) != 3 {
		t.Fatalf("bootstrap: %v", boot)
	}
	// Rollback.
	e.must(t, catalog.AWSMSKDeleteVpcConnection, "aws-client-b", "", map[string]any{"vpcConnectionArn": c1["vpcConnectionArn"]})
	e.must(t, catalog.AWSMSKRestoreClusterPolicy, "aws-msk", "", map[string]any{"clusterArn": mskARN, "policy": pol["previous"]})
	k, _ := inventory.Get[*inventory.KafkaInstance](e.sim.Inventory, mskARN)
	if strings.Contains(k.Attrs["policy"], "222222222222") || !strings.Contains(k.Attrs["policy"], `"ops"`) {
		t.Fatalf("policy after restore: %s", k.Attrs["policy"])
	}
	down := e.must(t, catalog.AWSMSKUpdateConnectivity, "aws-msk", "wf/off", map[string]any{"clusterArn": mskARN, "vpcConnectivity": up["previous"]})
	e.until(t, catalog.AWSMSKDescribeClusterOperation, "aws-msk", map[string]any{"clusterOperationArn": down["clusterOperationArn"]}, "status", "UPDATE_COMPLETE")
	k, _ = inventory.Get[*inventory.KafkaInstance](e.sim.Inventory, mskARN)
	if !strings.Contains(k.Attrs["vpcConnectivity"], `"iam":false`) {
		t.Fatalf("connectivity after rollback: %s", k.Attrs["vpcConnectivity"])
	}
	e.must(t, catalog.AWSMSKRestoreClusterPolicy, "aws-msk", "", map[string]any{"clusterArn": mskARN, "policy": ""})
	if k, _ := inventory.Get[*inventory.KafkaInstance](e.sim.Inventory, mskARN); k.Attrs["policy"] != "" {
		t.Fatalf("policy after delete: %s", k.Attrs["policy"])
	}
}

// Every AWS action of the catalog has an implementation.
func TestEveryCatalogActionImplemented(t *testing.T) {
	funcs := New(nil).Funcs()
	for _, name := range catalog.Names() {
		if d, _ := catalog.Lookup(name); d.Provider == "aws" {
			if _, ok := funcs[name]; !ok {
				t.Errorf("%s has no implementation", name)
			}
		}
	}
	for name := range funcs {
		if _, ok := catalog.Lookup(name); !ok {
			t.Errorf("%s is not in the catalog", name)
		}
	}
}

// Inter-region peering: accepted in the accepter's region; the route on the
// far side is created and deleted in the region its route table lives in.
func TestCrossRegionPeeringRoutes(t *testing.T) {
	e := newEnv(t)
	p := e.must(t, catalog.AWSEC2CreateVpcPeering, "aws-msk", "wf/pcx", map[string]any{"vpcId": mskVPC, "peerVpcId": clientFRVP, "peerRegion": "eu-central-1"})
	pcx := p["peeringId"].(string)
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "pending-acceptance")
	if _, err := e.call(catalog.AWSEC2AcceptVpcPeering, "aws-msk", "wf/accept", map[string]any{"peeringId": pcx}); errType(err) != plan.ErrUnauthorized {
		t.Fatalf("accepting in the requester's region: %v", err)
	}
	e.must(t, catalog.AWSEC2AcceptVpcPeering, "aws-msk", "wf/accept", map[string]any{"peeringId": pcx, "region": "eu-central-1"})
	e.until(t, catalog.AWSEC2DescribeVpcPeering, "aws-msk", map[string]any{"peeringId": pcx}, "status", "active")
	in := map[string]any{"routeTableId": "rtb-0c1e0000000fra01", "destination": "10.20.0.0/16", "peeringId": pcx}
	if out := e.must(t, catalog.AWSEC2CreateRoute, "aws-msk", "wf/route", in); out["created"] != true {
		t.Fatalf("route: %v", out)
	}
	rt, _ := inventory.Get[*inventory.RouteTable](e.sim.Inventory, "rtb-0c1e0000000fra01")
	if len(rt.Routes) != 1 || rt.Routes[0].NextHop != pcx {
		t.Fatalf("routes in eu-central-1: %+v", rt.Routes)
	}
	e.must(t, catalog.AWSEC2DeleteRoute, "aws-msk", "wf/undo-route", map[string]any{"routeTableId": "rtb-0c1e0000000fra01", "destination": "10.20.0.0/16", "created": true})
	rt, _ = inventory.Get[*inventory.RouteTable](e.sim.Inventory, "rtb-0c1e0000000fra01")
	if len(rt.Routes) != 0 {
		t.Fatalf("routes left in eu-central-1: %+v", rt.Routes)
	}
	if _, err := e.call(catalog.AWSEC2AuthorizeIngress, "aws-msk", "wf/sg", map[string]any{"groupId": mskSG, "port": 9092, "sourceGroup": clientFRSG}); errType(err) != plan.ErrNotFound {
		t.Fatalf("referencing a group across regions: %v", err)
	}
	if out := e.must(t, catalog.AWSEC2AuthorizeIngress, "aws-msk", "wf/sg", map[string]any{"groupId": mskSG, "port": 9092, "cidr": "10.40.0.0/16"}); out["created"] != true {
		t.Fatalf("CIDR rule: %v", out)
	}
}

// dropFirst forwards requests but loses the first response of an operation
// (the cloud did the work; the client never heard), as a network cut does.
type dropFirst struct {
	base    http.RoundTripper
	mu      sync.Mutex
	dropped map[string]bool
}

func (d *dropFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.URL.Path
	if r.Body != nil && r.Method == http.MethodPost && r.URL.Path == "/" {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		v, _ := url.ParseQuery(string(b))
		op = v.Get("Action")
	}
	resp, err := d.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if resp.StatusCode == http.StatusOK && (strings.HasPrefix(op, "Create") || op == "/v1/vpc-connection") {
		if !d.dropped[op] {
			d.dropped[op] = true
			resp.Body.Close()
			return nil, fmt.Errorf("connection reset after %s", op)
		}
	}
	return resp, nil
}

// A create whose response is lost is retried with the same idempotency key
// and returns the resource the first attempt made; nothing is duplicated.
func TestLostCreateResponses(t *testing.T) {
	e := newEnv(t)
	if _, err := inventory.Update(e.sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		k.Attrs = map[string]string{"iamAuth": "true", "vpcConnectivity": `{"iam":true}`,
			"policy": `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["kafka:CreateVpcConnection"]}]}`}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reg, err := accounts.Parse("t.yaml", []byte(fmt.Sprintf(`accounts:
  aws-msk: {provider: aws, region: eu-west-1, aws: {accountId: "111111111111"}, endpoints: {ec2: %[1]s, kafka: %[1]s}}
  aws-client-b: {provider: aws, region: eu-west-1, aws: {accountId: "222222222222"}, endpoints: {ec2: %[1]s, kafka: %[1]s}}
`, e.sim.URL())))
	if err != nil {
		t.Fatal(err)
	}
	acts := New(reg, WithHTTPClient(&http.Client{Transport: &dropFirst{base: http.DefaultTransport, dropped: map[string]bool{}}})).Funcs()
	nlb := "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/net/msk-prod-nlb/0a5c00000000n001"
	cases := []struct {
		action, account string
		in              map[string]any
		id              string
		count           func() int
	}{
		{catalog.AWSEC2CreateVpcPeering, "aws-msk", map[string]any{"vpcId": mskVPC, "peerVpcId": clientBVPC, "peerAccount": "aws-client-b"}, "peeringId",
			func() int { return len(inventory.List[*inventory.Peering](e.sim.Inventory, inventory.Filter{})) }},
		{catalog.AWSEC2CreateEndpointService, "aws-msk", map[string]any{"loadBalancerArns": []any{nlb}}, "serviceId",
			func() int {
				n := 0
				for _, s := range inventory.List[*inventory.EndpointService](e.sim.Inventory, inventory.Filter{}) {
					if s.Attrs["awsType"] == "vpc-endpoint-service" {
						n++
					}
				}
				return n
			}},
		{catalog.AWSMSKCreateVpcConnection, "aws-client-b", map[string]any{"clusterArn": mskARN, "authentication": "SASL_IAM", "vpcId": clientBVPC,
			"subnetIds": []any{"subnet-0a5c000clib01"}, "securityGroupIds": []any{clientBSG}}, "vpcConnectionArn",
			func() int {
				return len(inventory.List[*inventory.Endpoint](e.sim.Inventory, inventory.Filter{Account: "aws-client-b"}))
			}},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			call := plan.Call{Action: c.action, Account: c.account, Inputs: c.in, IdempotencyKey: "wf/lost/" + c.action}
			if _, err := acts[c.action](context.Background(), call); errType(err) != plan.ErrUnavailable {
				t.Fatalf("first attempt: %v, want a transient error", err)
			}
			if n := c.count(); n != 1 {
				t.Fatalf("%d resources after the lost response, want 1", n)
			}
			out, err := acts[c.action](context.Background(), call)
			if err != nil || out[c.id] == "" {
				t.Fatalf("retry: %v %v", out, err)
			}
			if n := c.count(); n != 1 {
				t.Fatalf("%d resources after the retry, want 1", n)
			}
		})
	}
}

// hasRule reports whether group has the rule with that ID in the twin.
func hasRule(e *env, group string, id any) bool {
	g, err := inventory.Get[*inventory.SecurityGroup](e.sim.Inventory, group)
	if err != nil {
		return false
	}
	for _, r := range g.Rules {
		if r.ID == id {
			return true
		}
	}
	return false
}

// TestConnectivityUndoWaitsForTheForwardUpdate: a rollback that reaches the
// connectivity restore while the forward update still runs (the cluster
// UPDATING, DescribeClusterV2 still showing the old setting) must not read
// "nothing to change" and leave the new setting on (make chaos saw that):
// it is refused as a conflict, retried, and restores once the cluster is ACTIVE.
func TestConnectivityUndoWaitsForTheForwardUpdate(t *testing.T) {
	e := newEnv(t)
	if _, err := inventory.Update(e.sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		// The forward update turning IAM on is in flight: old setting shown, operation active.
		k.Attrs = map[string]string{"iamAuth": "true", "activeOperationArn": "arn:aws:kafka:eu-west-1:111111111111:cluster-operation/msk-prod/x",
			"pendingConnectivity": `{"iam":true,"scram":false,"tls":false}`}
		k.Status = "UPDATING"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	off := map[string]any{"clusterArn": mskARN, "vpcConnectivity": map[string]any{"iam": false, "scram": false, "tls": false}}
	out, err := e.call(catalog.AWSMSKUpdateConnectivity, "aws-msk", "wf/undo", off)
	if !isTyped(err, plan.ErrConflict) || !strings.Contains(fmt.Sprint(err), "UPDATING") {
		t.Fatalf("undo during the forward update: %v, %v; want a Conflict naming UPDATING", out, err)
	}
	// The forward update completes: IAM on, cluster ACTIVE. The retried undo turns it off.
	if _, err := inventory.Update(e.sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		k.Status = "ACTIVE"
		k.Attrs["vpcConnectivity"] = `{"iam":true,"scram":false,"tls":false}`
		delete(k.Attrs, "activeOperationArn")
		delete(k.Attrs, "pendingConnectivity")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	down := e.must(t, catalog.AWSMSKUpdateConnectivity, "aws-msk", "wf/undo", off)
	if down["changed"] != true || down["clusterOperationArn"] == "" {
		t.Fatalf("undo once ACTIVE: %v", down)
	}
	e.until(t, catalog.AWSMSKDescribeClusterOperation, "aws-msk", map[string]any{"clusterOperationArn": down["clusterOperationArn"]}, "status", "UPDATE_COMPLETE")
	if k, _ := inventory.Get[*inventory.KafkaInstance](e.sim.Inventory, mskARN); !strings.Contains(k.Attrs["vpcConnectivity"], `"iam":false`) {
		t.Fatalf("connectivity after the undo: %s", k.Attrs["vpcConnectivity"])
	}
}

// TestVpcConnectionUndoWaitsForTheCreate: an undo of CreateVpcConnection that
// catches the connection still CREATING is a retryable Conflict (MSK refuses
// the delete then), not a terminal failure that leaves the connection; once
// the create has ended, the retried undo deletes it.
func TestVpcConnectionUndoWaitsForTheCreate(t *testing.T) {
	e := newEnv(t)
	// Multi-VPC IAM connectivity on (as after the forward update) and the client account allowed.
	if _, err := inventory.Update(e.sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		k.Attrs = map[string]string{"iamAuth": "true", "vpcConnectivity": `{"iam":true,"scram":false,"tls":false}`}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.must(t, catalog.AWSMSKPutClusterPolicy, "aws-msk", "wf/policy", map[string]any{"clusterArn": mskARN, "clientAccounts": []any{"aws-client-b"}})
	stuck := e.sim.Faults.MustAdd(faults.Rule{Op: "aws.kafka.vpcConnection.create", Kind: faults.Stuck})
	cin := map[string]any{"clusterArn": mskARN, "authentication": "SASL_IAM", "vpcId": clientBVPC, "subnetIds": []any{"subnet-0a5c000clib01"}, "securityGroupIds": []any{clientBSG}}
	c := e.must(t, catalog.AWSMSKCreateVpcConnection, "aws-client-b", "wf/conn-undo", cin)
	arn := c["vpcConnectionArn"].(string)
	time.Sleep(500 * time.Millisecond) // the create's transition ran and was kept CREATING
	del := map[string]any{"vpcConnectionArn": arn}
	if out, err := e.call(catalog.AWSMSKDeleteVpcConnection, "aws-client-b", "", del); !isTyped(err, plan.ErrConflict) || !strings.Contains(fmt.Sprint(err), "CREATING") {
		t.Fatalf("undo while CREATING: %v, %v; want a Conflict naming CREATING", out, err)
	}
	e.sim.Faults.Remove(stuck)
	if _, err := inventory.Update(e.sim.Inventory, arn, func(x *inventory.Endpoint) error { x.Status = "AVAILABLE"; return nil }); err != nil {
		t.Fatal(err)
	}
	if out := e.must(t, catalog.AWSMSKDeleteVpcConnection, "aws-client-b", "", del); out["state"] != "DELETING" {
		t.Fatalf("undo once AVAILABLE: %v", out)
	}
}
