package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	awsacts "github.com/topoflow/topoflow/activities/aws"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	awssim "github.com/topoflow/topoflow/cloudsim/aws" // registers the AWS provider
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

const (
	mskARN      = "arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"
	mskVPC      = "vpc-0a5c0000000msk01"
	mskSG       = "sg-0a5c00000000msk01"
	mskRTB      = "rtb-0a5c0000000msk01"
	clientAVPC  = "vpc-0a5c000000clia01"
	clientBVPC  = "vpc-0a5c000000clib01"
	clientFRVPC = "vpc-0c1e0000000fra01"
)

// init shortens the AWS twin's durations for this package's in-process
// stacks, once before any test runs: tests run in parallel, and
// awssim.DefaultTiming is read by every cloudsim.New.
func init() {
	awssim.DefaultTiming.PeeringRequest = 200 * time.Millisecond
	awssim.DefaultTiming.PeeringProvision = 200 * time.Millisecond
	awssim.DefaultTiming.Delete = 200 * time.Millisecond
	awssim.DefaultTiming.ServiceCreate = 200 * time.Millisecond
	awssim.DefaultTiming.EndpointCreate = 200 * time.Millisecond
	awssim.DefaultTiming.AttachmentCreate = 200 * time.Millisecond
	awssim.DefaultTiming.VpcConnectionCreate = 200 * time.Millisecond
	awssim.DefaultTiming.BrokerRestart = 100 * time.Millisecond
}

// awsStack starts the stack with the AWS actions on the worker (registered
// here unless the worker already wires them) and the AWS world additions.
func awsStack(t *testing.T) *stack.Stack {
	t.Helper()
	if !hasProvider("aws") {
		t.Fatal("cloudsim/aws is not registered")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := stack.New(t, stack.Options{Cloudsim: true, Worker: true, Register: func(_ worker.Registry, reg *activities.Registry) {
		if _, ok := reg.Get(catalog.AWSEC2CreateVpcPeering); ok {
			return
		}
		accts, err := accounts.Load(filepath.Join(root, "specs", "accounts.yaml"))
		if err != nil {
			panic(fmt.Sprintf("load accounts: %v", err))
		}
		awsacts.Register(reg, accts)
	}})
	// The stack's world (make dev's) holds the AWS additions (cloudsim/worlds/aws.yaml).
	if _, err := inventory.Get[*inventory.VPC](s.Sim().Inventory, clientAVPC); err != nil {
		t.Fatalf("the stack's world lacks cloudsim/worlds/aws.yaml: %v", err)
	}
	return s
}

// awsSpec is a runbook-002 KafkaAccess request.
func awsSpec(name, client, method, extra string) string {
	network := fmt.Sprintf("    vpcId: %s\n    cidr: 10.20.0.0/16\n    routeTableIds: [%s]\n", mskVPC, mskRTB)
	if method == "sameVpc" {
		network = "" // sameVpc reads none of them: the validator refuses keys a method ignores
	}
	return fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: %s}
spec:
  kafka:
    provider: aws
    account: aws-msk
    region: eu-west-1
    clusterArn: %s
%s  client: %s
  method: %s
  timeouts: {pollInterval: 200ms, wait: 2m, step: 2m}
%s`, name, mskARN, network, client, method, extra)
}

// verifyFromVPC runs kafka.verify from a VPC through the MSK bootstrap addresses.
func verifyFromVPC(sim *cloudsim.Sim, vpc, key string) error {
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, mskARN)
	if err != nil {
		return err
	}
	var boot []any
	for _, b := range k.Brokers {
		boot = append(boot, fmt.Sprintf("%s:%d", b.AdvertisedHost(), b.Port))
	}
	verify := probeVerify(sim, vpc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = verify(ctx, plan.Call{Action: kafka.ActionVerify, IdempotencyKey: "aws-e2e/" + key,
		Inputs: map[string]any{"bootstrap": boot, "clientNetwork": vpc, "topic": "topoflow-verify"}})
	return err
}

// iamVerifyFromVPC runs kafka.verify with sasl AWS_MSK_IAM from a probe in
// vpc, signing its tokens with the given key (as account aws-client-b).
func iamVerifyFromVPC(sim *cloudsim.Sim, vpc string, boot []any, key, secret string) error {
	reg := activities.NewRegistry()
	kafka.Register(reg, kafka.Options{
		AWSCredentials: func(context.Context, string) (awssdk.CredentialsProvider, string, error) {
			return credentials.NewStaticCredentialsProvider(key, secret, ""), "eu-west-1", nil
		},
		Probe: &kafka.Probe{Name: "e2e-probe", Network: vpc, TaskQueue: "e2e-probe",
			Dialer: func(context.Context) (kafka.DialFunc, string, error) { return socksDial(sim, vpc), "", nil }},
		// The IAM listeners are TLS-only; their certificates come from the twin's CA.
		ExtraRootCAs: func(context.Context) ([]byte, error) { return sim.Net.CAPEM() },
	})
	verify, _ := reg.Get(kafka.ActionVerify)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := verify(ctx, plan.Call{Action: kafka.ActionVerify, Account: "aws-client-b", IdempotencyKey: "aws-e2e/iam",
		Inputs: map[string]any{"bootstrap": boot, "clientNetwork": vpc, "topic": "topoflow-verify", "sasl": map[string]any{"mechanism": "AWS_MSK_IAM"}, "tls": true}})
	return err
}

// hasIngressFrom reports whether g has an ingress rule from cidr.
func hasIngressFrom(g *inventory.SecurityGroup, cidr string) bool {
	for _, r := range g.Rules {
		if r.Direction == "ingress" && r.RemoteCIDR == cidr {
			return true
		}
	}
	return false
}

// mskBroker is the address of MSK broker 0 (its listener IP and port).
func mskBroker(t *testing.T, sim *cloudsim.Sim) string {
	t.Helper()
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, mskARN)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", k.Brokers[0].ListenerIP, k.Brokers[0].Port)
}

func routesTo(t *testing.T, sim *cloudsim.Sim, rtb string) map[string]string {
	t.Helper()
	rt, err := inventory.Get[*inventory.RouteTable](sim.Inventory, rtb)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rt.Routes {
		out[r.Destination] = r.NextHop
	}
	return out
}

func ingressFrom(t *testing.T, sim *cloudsim.Sim, sg, cidr string, port int) *inventory.SGRule {
	t.Helper()
	g, err := inventory.Get[*inventory.SecurityGroup](sim.Inventory, sg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Rules {
		if r.Direction == "ingress" && r.RemoteCIDR == cidr && r.PortMin <= port && port <= r.PortMax && r.ID != "" && strings.HasPrefix(r.ID, "sgr-") {
			r := r
			return &r
		}
	}
	return nil
}

// vpcPeerings lists the sim's live VPC peerings. Deleted, rejected, failed
// and expired ones stay visible for a while, as on AWS
// (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-lifecycle),
// and are not listed.
func vpcPeerings(sim *cloudsim.Sim) []*inventory.Peering {
	var out []*inventory.Peering
	for _, p := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
		switch p.Status {
		case "deleted", "rejected", "failed", "expired":
			continue
		}
		if p.Attrs["awsType"] == "vpc-peering-connection" {
			out = append(out, p)
		}
	}
	return out
}

func runToEnd(t *testing.T, s *stack.Stack, p *plan.Plan, approve ...string) map[string]any {
	t.Helper()
	run := startPlan(t, s, p)
	for _, step := range approve {
		decide(t, s, run, workflows.UpdateApprove, step)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	return out
}

// checkPeered asserts the state a peering scenario leaves: one active
// peering between the MSK VPC and the client VPC, routes both ways through
// it, the client CIDR opened on 9092, and produce/consume from the client VPC.
func checkPeered(t *testing.T, s *stack.Stack, out map[string]any, clientVPC, clientCIDR, clientRTB string) {
	t.Helper()
	sim := s.Sim()
	ps := vpcPeerings(sim)
	if len(ps) != 1 || ps[0].Status != inventory.PeeringActive || ps[0].VPCID != mskVPC || ps[0].PeerVPCID != clientVPC {
		t.Fatalf("peerings after the request: %+v", ps)
	}
	pcx := ps[0].ID
	if got := routesTo(t, sim, mskRTB)[clientCIDR]; got != pcx {
		t.Fatalf("MSK route table routes %s to %q, want %s", clientCIDR, got, pcx)
	}
	if got := routesTo(t, sim, clientRTB)["10.20.0.0/16"]; got != pcx {
		t.Fatalf("client route table routes 10.20.0.0/16 to %q, want %s", got, pcx)
	}
	if ingressFrom(t, sim, mskSG, clientCIDR, 9092) == nil {
		t.Fatalf("no ingress rule for %s:9092 in %s", clientCIDR, mskSG)
	}
	if outs, _ := out["outputs"].(map[string]any); !strings.Contains(fmt.Sprint(outs["bootstrap"]), ":9092") {
		t.Fatalf("outputs: %v", out)
	}
	if err := verifyFromVPC(sim, clientVPC, "after"); err != nil {
		t.Fatalf("produce/consume from %s after the request: %v", clientVPC, err)
	}
}

func TestAWSSameVPC(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	p := compile(t, awsSpec("e2e-aws-same-vpc", "{account: aws-msk, cidr: 10.20.1.0/24}", "sameVpc", "  verify: {clientNetwork: "+mskVPC+"}\n"))
	out := runToEnd(t, s, p)
	if ingressFrom(t, s.Sim(), mskSG, "10.20.1.0/24", 9092) == nil {
		t.Fatal("no ingress rule for the client subnet")
	}
	if len(vpcPeerings(s.Sim())) != 0 {
		t.Fatal("a same-VPC request must not peer anything")
	}
	// MSK brokers advertise their b-N.<cluster>...amazonaws.com names, not IPs.
	if outs, _ := out["outputs"].(map[string]any); !strings.Contains(fmt.Sprint(outs["brokers"]), "0:b-1.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9092") {
		t.Fatalf("outputs: %v", out)
	}
}

func TestAWSCrossVPC(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	// Before the peering the client VPC has no route to the brokers: the
	// packets are dropped and verify times out.
	wantDropped(t, s, verifyFromVPC(s.Sim(), clientAVPC, "before"), clientAVPC, mskBroker(t, s.Sim()), netmodel.HopRoute,
		"route table of VPC "+clientAVPC+" has no route to 10.20.1.11")
	p := compile(t, awsSpec("e2e-aws-cross-vpc",
		"{account: aws-msk, vpcId: "+clientAVPC+", cidr: 10.22.0.0/16, routeTableIds: [rtb-0a5c000000clia01]}", "vpcPeering", ""))
	out := runToEnd(t, s, p)
	checkPeered(t, s, out, clientAVPC, "10.22.0.0/16", "rtb-0a5c000000clia01")
	// Each route of the plan is needed, on both sides of the peering.
	pcx := vpcPeerings(s.Sim())
	if len(pcx) != 1 {
		t.Fatalf("peerings: %+v", pcx)
	}
	reg := cloudActions(t, s)
	for _, side := range []struct{ rtb, dest, want string }{
		{"rtb-0a5c000000clia01", "10.20.0.0/16", "the route table of VPC " + clientAVPC + " has no route to 10.20.1.11"},
		{mskRTB, "10.22.0.0/16", "the route table of VPC " + mskVPC + " has no return route to 10.22.1.254/32 through peering " + pcx[0].ID},
	} {
		// Removed behind the request's back (its users' tags would keep
		// the route against another request's deleteRoute).
		dropRoute(t, s.Sim(), side.rtb, side.dest)
		wantDropped(t, s, verifyFromVPC(s.Sim(), clientAVPC, "no-route-"+side.rtb), clientAVPC, mskBroker(t, s.Sim()), netmodel.HopRoute, side.want)
		act(t, reg, catalog.AWSEC2CreateRoute, "aws-msk", map[string]any{"routeTableId": side.rtb, "destination": side.dest, "peeringId": pcx[0].ID})
		if err := verifyFromVPC(s.Sim(), clientAVPC, "route-back-"+side.rtb); err != nil {
			t.Fatalf("verify after restoring the route to %s in %s: %v", side.dest, side.rtb, err)
		}
	}
}

func TestAWSCrossRegion(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	p := compile(t, awsSpec("e2e-aws-cross-region",
		"{account: aws-msk, region: eu-central-1, vpcId: "+clientFRVPC+", cidr: 10.40.0.0/16, routeTableIds: [rtb-0c1e0000000fra01]}", "vpcPeering", ""))
	out := runToEnd(t, s, p)
	checkPeered(t, s, out, clientFRVPC, "10.40.0.0/16", "rtb-0c1e0000000fra01")
	pcx := vpcPeerings(s.Sim())[0]
	if pcx.Region != "eu-west-1" || pcx.Attrs["peerRegion"] != "eu-central-1" {
		t.Fatalf("peering regions: %s → %s", pcx.Region, pcx.Attrs["peerRegion"])
	}
}

func TestAWSCrossAccountApproval(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, awsSpec("e2e-aws-cross-account",
		"{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01]}", "vpcPeering",
		"  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"))
	run := startPlan(t, s, p)
	// The peering waits for the client account: pending-acceptance, no routes, no rule.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ps := vpcPeerings(sim)
		if len(ps) == 1 && ps[0].Status == "pending-acceptance" {
			if ps[0].PeerAccount != "aws-client-b" {
				t.Fatalf("peering accepter %s", ps[0].PeerAccount)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending-acceptance peering: %+v", ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if ps := vpcPeerings(sim); ps[0].Status != "pending-acceptance" {
		t.Fatalf("the peering moved to %s before the approval", ps[0].Status)
	}
	if len(routesTo(t, sim, mskRTB)) != 0 {
		t.Fatal("routes exist before the approval")
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-peering")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	checkPeered(t, s, out, clientBVPC, "10.21.0.0/16", "rtb-0a5c000000clib01")
}

// A failure after the peering, the routes and the rule exist (the
// verification dials from a VPC nothing is peered with) rolls all of them back.
func TestAWSFailureRollsBackPeering(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, strings.Replace(awsSpec("e2e-aws-rollback",
		"{account: aws-msk, vpcId: "+clientAVPC+", cidr: 10.22.0.0/16, routeTableIds: [rtb-0a5c000000clia01]}", "vpcPeering",
		"  verify: {clientNetwork: "+clientFRVPC+"}\n"), "step: 2m", "step: 20s", 1))
	run := startPlan(t, s, p)
	sawAll := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			ps := vpcPeerings(sim)
			rt, _ := inventory.Get[*inventory.RouteTable](sim.Inventory, mskRTB)
			g, _ := inventory.Get[*inventory.SecurityGroup](sim.Inventory, mskSG)
			if len(ps) == 1 && ps[0].Status == inventory.PeeringActive && rt != nil && len(rt.Routes) == 1 && g != nil && hasIngressFrom(g, "10.22.0.0/16") {
				sawAll <- true
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		sawAll <- false
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := workflows.Wait(ctx, run)
	if err == nil {
		t.Fatal("the request must fail: its verification cannot reach the brokers")
	}
	if !<-sawAll {
		t.Fatal("the peering, routes and rule never all existed before the failure")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := len(vpcPeerings(sim)) + len(routesTo(t, sim, mskRTB)) + len(routesTo(t, sim, "rtb-0a5c000000clia01"))
		if ingressFrom(t, sim, mskSG, "10.22.0.0/16", 9092) != nil {
			left++
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d AWS resources left after the rollback (peerings %+v)", left, vpcPeerings(sim))
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantDropped(t, s, verifyFromVPC(sim, clientAVPC, "after-rollback"), clientAVPC, mskBroker(t, sim), netmodel.HopRoute, "has no route")
}

// awsCLI returns the AWS CLI: Debian's awscli (/usr/bin/aws, deps/apt.txt)
// or any aws on PATH. The cross-check fails, never skips, without one.
func awsCLI(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		return "/usr/bin/aws"
	}
	p, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the AWS CLI is required for the cross-check (apt-get install awscli): %v", err)
	}
	return p
}

// cli runs the AWS CLI against cloudsim as an account and decodes its JSON output.
func cli(t *testing.T, s *stack.Stack, account, region string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsCLI(t), append([]string{"--endpoint-url", s.CloudsimURL, "--region", region, "--output", "json", "--no-cli-pager"}, args...)...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + os.Getenv(accounts.DefaultEnv(account, "accessKeyId")),
		"AWS_SECRET_ACCESS_KEY=" + os.Getenv(accounts.DefaultEnv(account, "secretAccessKey")),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return doc
}

// The AWS CLI (an implementation no one here wrote) reads back what the
// cross-account workflow created in cloudsim, as each account sees it.
func TestAWSCLIReadsBack(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	p := compile(t, awsSpec("e2e-aws-cli",
		"{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01]}", "vpcPeering",
		"  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"))
	runToEnd(t, s, p, "approve-peering")
	pcx := vpcPeerings(s.Sim())[0].ID

	for _, acct := range []string{"aws-msk", "aws-client-b"} {
		doc := cli(t, s, acct, "eu-west-1", "ec2", "describe-vpc-peering-connections", "--vpc-peering-connection-ids", pcx)
		ps, _ := doc["VpcPeeringConnections"].([]any)
		if len(ps) != 1 {
			t.Fatalf("%s sees %d peerings: %v", acct, len(ps), doc)
		}
		pc := ps[0].(map[string]any)
		status := pc["Status"].(map[string]any)["Code"]
		acc := pc["AccepterVpcInfo"].(map[string]any)
		req := pc["RequesterVpcInfo"].(map[string]any)
		if status != "active" || acc["VpcId"] != clientBVPC || acc["OwnerId"] != "222222222222" || req["OwnerId"] != "111111111111" || acc["CidrBlock"] != "10.21.0.0/16" {
			t.Fatalf("%s reads the peering as %v", acct, pc)
		}
	}
	hasRoute := func(acct, rtb, dest string) {
		doc := cli(t, s, acct, "eu-west-1", "ec2", "describe-route-tables", "--route-table-ids", rtb)
		for _, rt := range doc["RouteTables"].([]any) {
			for _, r := range rt.(map[string]any)["Routes"].([]any) {
				m := r.(map[string]any)
				if m["DestinationCidrBlock"] == dest && m["VpcPeeringConnectionId"] == pcx && m["State"] == "active" {
					return
				}
			}
		}
		t.Fatalf("%s: no active route %s → %s in %s: %v", acct, dest, pcx, rtb, doc)
	}
	hasRoute("aws-msk", mskRTB, "10.21.0.0/16")
	hasRoute("aws-client-b", "rtb-0a5c000000clib01", "10.20.0.0/16")

	doc := cli(t, s, "aws-msk", "eu-west-1", "ec2", "describe-security-groups", "--group-ids", mskSG)
	found := false
	for _, perm := range doc["SecurityGroups"].([]any)[0].(map[string]any)["IpPermissions"].([]any) {
		m := perm.(map[string]any)
		for _, r := range m["IpRanges"].([]any) {
			if r.(map[string]any)["CidrIp"] == "10.21.0.0/16" && m["FromPort"] == float64(9092) && m["ToPort"] == float64(9092) {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the CLI sees no 10.21.0.0/16:9092 rule: %v", doc)
	}
	doc = cli(t, s, "aws-msk", "eu-west-1", "kafka", "get-bootstrap-brokers", "--cluster-arn", mskARN)
	if b, _ := doc["BootstrapBrokerString"].(string); strings.Count(b, ":9092") != 3 {
		t.Fatalf("bootstrap brokers: %v", doc)
	}
	doc = cli(t, s, "aws-msk", "eu-west-1", "kafka", "describe-cluster-v2", "--cluster-arn", mskARN)
	if st := doc["ClusterInfo"].(map[string]any)["State"]; st != "ACTIVE" {
		t.Fatalf("cluster: %v", doc)
	}
}

// Runbook 002, 4.5: on-premises clients through the shared network
// account's transit gateway: attachment accepted by that account after the
// approval, routes in both route tables and the on-premises range opened,
// checked in the inventory (the on-premises network is outside the simulator).
func TestAWSOnPremTransitGateway(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, awsSpec("e2e-aws-onprem", "{account: aws-transit, onPremCidr: 172.16.0.0/12}", "transitGateway",
		"  transitGateway: {transitGatewayId: tgw-0a5c00000000tr001, routeTableId: tgw-rtb-0a5c0000tr001}\n"+
			"  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n  verify: {clientNetwork: "+onPremNet+"}\n"))
	run := startPlan(t, s, p)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var att *inventory.Peering
		for _, x := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
			if x.Attrs["awsType"] == "transit-gateway-attachment" {
				att = x
			}
		}
		if att != nil && att.Status == "pendingAcceptance" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attachment waiting for the transit account: %+v", att)
		}
		time.Sleep(100 * time.Millisecond)
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-attachment")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	var att *inventory.Peering
	for _, x := range inventory.List[*inventory.Peering](sim.Inventory, inventory.Filter{}) {
		if x.Attrs["awsType"] == "transit-gateway-attachment" {
			att = x
		}
	}
	if att == nil || att.Status != "available" || att.VPCID != mskVPC || att.PeerVPCID != "tgw-0a5c00000000tr001" || att.Account != "aws-msk" {
		t.Fatalf("attachment: %+v", att)
	}
	if got := routesTo(t, sim, mskRTB)["172.16.0.0/12"]; got != "tgw-0a5c00000000tr001" {
		t.Fatalf("MSK route table routes the on-premises range to %q", got)
	}
	tgw := routesTo(t, sim, "tgw-rtb-0a5c0000tr001")
	if tgw["10.20.0.0/16"] != att.ID || tgw["172.16.0.0/12"] != "tgw-attach-0a5c000vpn0001" {
		t.Fatalf("transit gateway routes: %v", tgw)
	}
	if ingressFrom(t, sim, mskSG, "172.16.0.0/12", 9092) == nil {
		t.Fatal("the on-premises range is not allowed on 9092")
	}
	// The request verified from a host of the on-premises network through
	// the transit gateway. Each route the plan created is needed.
	reg := cloudActions(t, s)
	for _, c := range []struct {
		account, drop, restore string
		del, add               map[string]any
		want                   string
	}{
		{"aws-transit", catalog.AWSEC2DeleteTGWRoute, catalog.AWSEC2CreateTGWRoute,
			map[string]any{"routeTableId": "tgw-rtb-0a5c0000tr001", "destination": "10.20.0.0/16"},
			map[string]any{"routeTableId": "tgw-rtb-0a5c0000tr001", "destination": "10.20.0.0/16", "attachmentId": att.ID},
			"the route table of transit gateway tgw-0a5c00000000tr001 has no route to 10.20.1.11 through attachment " + att.ID},
		{"aws-msk", catalog.AWSEC2DeleteRoute, catalog.AWSEC2CreateRoute,
			map[string]any{"routeTableId": mskRTB, "destination": "172.16.0.0/12"},
			map[string]any{"routeTableId": mskRTB, "destination": "172.16.0.0/12", "transitGatewayId": "tgw-0a5c00000000tr001"},
			"the route table of VPC " + mskVPC + " has no return route to 172.16.1.254/32 through transit gateway tgw-0a5c00000000tr001"},
	} {
		if c.drop == catalog.AWSEC2DeleteRoute {
			dropRoute(t, sim, fmt.Sprint(c.del["routeTableId"]), fmt.Sprint(c.del["destination"]))
		} else {
			act(t, reg, c.drop, c.account, c.del)
		}
		wantDropped(t, s, verifyFromVPC(sim, onPremNet, "tgw-"+c.drop), onPremNet, mskBroker(t, sim), netmodel.HopRoute, c.want)
		act(t, reg, c.restore, c.account, c.add)
		if err := verifyFromVPC(sim, onPremNet, "tgw-back-"+c.drop); err != nil {
			t.Fatalf("verify after restoring %v: %v", c.add, err)
		}
	}
}

// onPremNet is the on-premises network of cloudsim/worlds/aws.yaml, behind
// the transit account's VPN attachment.
const onPremNet = "onprem-dc"

// apiVersions sends a Kafka ApiVersions request through each seed address,
// dialing from vpc.
func apiVersions(sim *cloudsim.Sim, vpc string, seeds []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.Dialer(socksDial(sim, vpc)), kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	for i, b := range cl.SeedBrokers() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := b.Request(ctx, kmsg.NewPtrApiVersionsRequest())
		cancel()
		if err != nil {
			return fmt.Errorf("ApiVersions through %s: %w", seeds[i], err)
		}
	}
	return nil
}

// PrivateLink, AWS's per-broker pattern: per broker an NLB (listener on the
// broker port, the broker's IP as target), an endpoint service, an interface
// endpoint in the client VPC accepted by the owner after the approval; a
// private hosted zone in the client VPC maps each b-N...amazonaws.com name to
// its endpoint. The endpoints forward bytes unchanged (nothing answers before
// the acceptance), the brokers' own metadata names the brokers, and
// kafka.verify produces and consumes from the client VPC.
func TestAWSPrivateLink(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: e2e-aws-privatelink}
spec:
  kafka: {provider: aws, account: aws-msk, region: eu-west-1, clusterArn: %s, cidr: 10.20.0.0/16}
  client: {account: aws-client-b, vpcId: %s, subnetIds: [subnet-0a5c000clib01], securityGroupId: sg-0a5c000000clib01}
  method: privateLink
  approval: {approvers: [kafka-owner@example.com], deadline: 1h}
  timeouts: {pollInterval: 200ms, wait: 2m, step: 2m}
`, mskARN, clientBVPC))
	run := startPlan(t, s, p)
	endpoints := func() []*inventory.Endpoint {
		var out []*inventory.Endpoint
		for _, x := range inventory.List[*inventory.Endpoint](sim.Inventory, inventory.Filter{}) {
			if x.Attrs["awsType"] == "vpc-endpoint" {
				out = append(out, x)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		eps := endpoints()
		pending := 0
		for _, ep := range eps {
			if ep.Status == "pendingAcceptance" {
				pending++
			}
		}
		if pending == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want 3 endpoints pending acceptance, have %+v", eps)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var seeds []string
	for _, ep := range endpoints() {
		seeds = append(seeds, net.JoinHostPort(ep.Attrs["ip"], "9092"))
	}
	if err := apiVersions(sim, clientBVPC, seeds); err == nil {
		t.Fatal("the endpoints forward before the owner accepted them")
	}
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out map[string]any
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	// kafka.verify produced and consumed from the client VPC, following the
	// brokers' own advertised names (resolved by the private hosted zone).
	outs, _ := out["outputs"].(map[string]any)
	brokers, _ := outs["brokers"].(map[string]any)
	for i := range 3 {
		want := fmt.Sprintf("b-%d.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9092", i+1)
		if brokers[fmt.Sprint(i)] != want {
			t.Fatalf("verified broker %d at %v, want %s (outputs %v)", i, brokers[fmt.Sprint(i)], want, out)
		}
	}
	for i := range 3 {
		host := fmt.Sprintf("b-%d.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com", i+1)
		ip, err := sim.Net.Resolve(clientBVPC, host)
		if err != nil {
			t.Fatalf("%s does not resolve in the client VPC: %v", host, err)
		}
		found := false
		for _, ep := range endpoints() {
			found = found || (ep.Attrs["ip"] == ip && ep.Status == "available" && ep.Account == "aws-client-b")
		}
		if !found {
			t.Fatalf("%s resolves to %s in the client VPC, not to an available endpoint", host, ip)
		}
		// Elsewhere the name is public DNS: the broker's private IP.
		if ip, err := sim.Net.Resolve(clientAVPC, host); err != nil || !strings.HasPrefix(ip, fmt.Sprintf("127.%d.1.", 20+s.WorldShift())) {
			t.Fatalf("%s from another VPC resolves to %s, %v (want the broker's IP)", host, ip, err)
		}
	}
	// The endpoints are plain TCP: no forwarder rewrites Kafka metadata
	// (MSK's own listeners, such as the brokers' IAM listener on 9098, do).
	for _, f := range sim.Net.State().Forwarders {
		if len(f.Advertised) > 0 && !strings.HasPrefix(f.Endpoint, "listener:") {
			t.Fatalf("forwarder %s → %s rewrites metadata: %v", f.Listen, f.Target, f.Advertised)
		}
	}
	// The endpoints' security group admits its members on 9092, the brokers'
	// group the brokers' VPC (the load balancers' nodes).
	g, _ := inventory.Get[*inventory.SecurityGroup](sim.Inventory, "sg-0a5c000000clib01")
	selfRef := false
	for _, r := range g.Rules {
		selfRef = selfRef || (r.Direction == "ingress" && r.RemoteGroupID == "sg-0a5c000000clib01" && r.PortMin <= 9092 && 9092 <= r.PortMax)
	}
	if !selfRef || ingressFrom(t, sim, mskSG, "10.20.0.0/16", 9092) == nil {
		t.Fatalf("security groups after the request: endpoints' %+v, brokers' rule from 10.20.0.0/16 %v", g.Rules, ingressFrom(t, sim, mskSG, "10.20.0.0/16", 9092))
	}
	// The AWS CLI (botocore, an implementation no one here wrote) reads the
	// load balancers, listeners, zone and records back from the twin.
	doc := cli(t, s, "aws-msk", "eu-west-1", "elbv2", "describe-load-balancers")
	active := 0
	for _, x := range doc["LoadBalancers"].([]any) {
		lb := x.(map[string]any)
		if !strings.HasPrefix(lb["LoadBalancerName"].(string), "tf-") {
			continue // the world's own load balancer
		}
		if lb["State"].(map[string]any)["Code"] != "active" || lb["Type"] != "network" || lb["Scheme"] != "internal" || lb["VpcId"] != mskVPC {
			t.Fatalf("the CLI reads load balancer %v", lb)
		}
		ls := cli(t, s, "aws-msk", "eu-west-1", "elbv2", "describe-listeners", "--load-balancer-arn", lb["LoadBalancerArn"].(string))["Listeners"].([]any)
		if len(ls) != 1 || ls[0].(map[string]any)["Port"] != float64(9092) || ls[0].(map[string]any)["Protocol"] != "TCP" {
			t.Fatalf("the CLI reads the listeners of %s as %v", lb["LoadBalancerArn"], ls)
		}
		active++
	}
	if active != 3 {
		t.Fatalf("the CLI reads %d Topoflow load balancers, want 3: %v", active, doc)
	}
	domain := "msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com"
	zones := cli(t, s, "aws-client-b", "eu-west-1", "route53", "list-hosted-zones-by-name", "--dns-name", domain)["HostedZones"].([]any)
	if len(zones) != 1 || zones[0].(map[string]any)["Name"] != domain+"." || zones[0].(map[string]any)["Config"].(map[string]any)["PrivateZone"] != true {
		t.Fatalf("the CLI reads the hosted zones as %v", zones)
	}
	sets := cli(t, s, "aws-client-b", "eu-west-1", "route53", "list-resource-record-sets", "--hosted-zone-id", zones[0].(map[string]any)["Id"].(string))["ResourceRecordSets"].([]any)
	cnames := 0
	for _, x := range sets {
		if rs := x.(map[string]any); rs["Type"] == "CNAME" && strings.HasSuffix(rs["Name"].(string), "."+domain+".") {
			cnames++
		}
	}
	if cnames != 3 {
		t.Fatalf("the CLI reads the records as %v", sets)
	}
	for _, ep := range endpoints() {
		svc, err := inventory.Get[*inventory.EndpointService](sim.Inventory, ep.ServiceID)
		if err != nil || svc.Status != "Available" || len(svc.Permissions) != 1 || svc.Permissions[0].Permission != "arn:aws:iam::222222222222:root" {
			t.Fatalf("endpoint service of %s: %+v, %v", ep.ID, svc, err)
		}
	}
}

// MSK multi-VPC private connectivity: the owner approves, connectivity is
// turned on (rolling restart), the client account is allowed in the cluster
// policy, its VPC connection becomes AVAILABLE and it reads the multi-VPC
// bootstrap string.
func TestAWSMultiVPC(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	if _, err := inventory.Update(sim.Inventory, mskARN, func(k *inventory.KafkaInstance) error {
		if k.Attrs == nil {
			k.Attrs = map[string]string{}
		}
		k.Attrs["iamAuth"] = "true" // the cluster authenticates clients with IAM
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := compile(t, fmt.Sprintf(`apiVersion: topoflow.io/v1
kind: KafkaAccess
metadata: {name: e2e-aws-multi-vpc}
spec:
  kafka: {provider: aws, account: aws-msk, region: eu-west-1, clusterArn: %s}
  client: {account: aws-client-b, vpcId: %s, subnetIds: [subnet-0a5c000clib01], securityGroupId: sg-0a5c000000clib01}
  method: mskMultiVpc
  mskMultiVpc: {authentication: iam}
  approval: {approvers: [kafka-owner@example.com], deadline: 1h}
  timeouts: {pollInterval: 200ms, wait: 2m, step: 2m}
  verify: {sasl: {mechanism: AWS_MSK_IAM, account: aws-client-b}}
`, mskARN, clientBVPC))
	out := runToEnd(t, s, p, "approve-access")
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, mskARN)
	if err != nil {
		t.Fatal(err)
	}
	if k.Status != "ACTIVE" || !strings.Contains(k.Attrs["vpcConnectivity"], `"iam":true`) || !strings.Contains(k.Attrs["policy"], "arn:aws:iam::222222222222:root") {
		t.Fatalf("cluster after the request: status %s attrs %v", k.Status, k.Attrs)
	}
	var conns []*inventory.Endpoint
	for _, x := range inventory.List[*inventory.Endpoint](sim.Inventory, inventory.Filter{}) {
		if x.Attrs["awsType"] == "msk-vpc-connection" {
			conns = append(conns, x)
		}
	}
	if len(conns) != 1 || conns[0].Status != "AVAILABLE" || conns[0].Account != "aws-client-b" || conns[0].VPCID != clientBVPC {
		t.Fatalf("VPC connections: %+v", conns)
	}
	// The result is a summary (issue 14): the steps' outputs are in the progress query.
	pq, err := s.Client.QueryWorkflow(context.Background(), "topoflow/KafkaAccess/e2e-aws-multi-vpc", "", workflows.QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var prog workflows.Progress
	if err := pq.Get(&prog); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range prog.Steps {
		if st.ID == "get-bootstrap" && strings.Contains(fmt.Sprint(st.Outputs), "b-1.iam.msk-prod") && strings.Contains(fmt.Sprint(st.Outputs), ":14001") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no multi-VPC bootstrap string in the progress %+v (result %v)", prog.Steps, out)
	}
	// The request ended with kafka.verify's produce/consume from the client
	// VPC through the multi-VPC names and ports, authenticated with MSK IAM
	// (a token signed with aws-client-b's key, allowed by the cluster policy).
	outs, _ := out["outputs"].(map[string]any)
	brokers, _ := outs["brokers"].(map[string]any)
	for i := range 3 {
		want := fmt.Sprintf("b-%d.iam.msk-prod.x1y2z3.c2.kafka.eu-west-1.amazonaws.com:%d", i+1, 14001+i)
		if brokers[fmt.Sprint(i)] != want {
			t.Fatalf("verified broker %d at %v, want %s (outputs %v)", i, brokers[fmt.Sprint(i)], want, out)
		}
	}
	// The IAM listeners refuse a token signed with a wrong secret, and one
	// of an account the cluster policy does not allow; the right key passes.
	boot := []any{"b-1.iam.msk-prod.x1y2z3.c2.kafka.eu-west-1.amazonaws.com:14001"}
	for _, c := range []struct {
		name, key, secret string
		want              string
	}{
		{"right key", "AKIAAWSCLIENTB000002", "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e", ""},
		{"wrong secret", "AKIAAWSCLIENTB000002", "not-the-secret", "signature we calculated does not match"},
		{"account not in the cluster policy", "AKIAAWSTRANSIT000003", "aws-transit-secret-2c3d4e5f6a7b8c9d0e1f", "not authorized to perform kafka-cluster:Connect"},
	} {
		err := iamVerifyFromVPC(sim, clientBVPC, boot, c.key, c.secret)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: verify failed: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED")):
			t.Errorf("%s: verify error %v, want SASL_AUTHENTICATION_FAILED with %q", c.name, err, c.want)
		}
	}
	// The brokers' own addresses stay unreachable from the client VPC.
	if err := verifyFromVPC(sim, clientBVPC, "multi-vpc-direct"); err == nil {
		t.Fatal("the client VPC reaches the brokers' own addresses without a peering")
	}
}

// The client account's owner rejects: the pending peering is deleted and
// nothing else was created.
func TestAWSCrossAccountRejectedRollsBack(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, awsSpec("e2e-aws-cross-account-reject",
		"{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01]}", "vpcPeering",
		"  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateReject, "approve-peering")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := workflows.Wait(ctx, run); err == nil {
		t.Fatal("a rejected request must not complete")
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(vpcPeerings(sim)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("peerings left after the rejection: %+v", vpcPeerings(sim))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(routesTo(t, sim, mskRTB))+len(routesTo(t, sim, "rtb-0a5c000000clib01")) != 0 || ingressFrom(t, sim, mskSG, "10.21.0.0/16", 9092) != nil {
		t.Fatal("routes or rules exist after the rejection")
	}
}
