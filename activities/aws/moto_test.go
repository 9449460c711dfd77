package aws

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// motoServer is the preinstalled Python moto (5.x) server: an independent
// EC2 implementation the activities must work against unchanged.
const motoServer = "/root/.pyenv/shims/moto_server"

// startMoto starts moto_server on a free port; it fails (never skips) when moto is missing.
func startMoto(t *testing.T) string {
	t.Helper()
	bin := motoServer
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("moto_server")
		if lerr != nil {
			t.Fatalf("moto_server is required for the EC2 cross-check (pip install 'moto[server]'): %v", err)
		}
		bin = p
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=eu-west-1")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not come up on %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAgainstMoto runs the EC2 activities unchanged against moto_server:
// VPC peering (create, idempotent retry, accept, describe, delete), routes,
// security-group rules and transit gateway attachments and routes.
func TestAgainstMoto(t *testing.T) {
	url := startMoto(t)
	t.Setenv("TOPOFLOW_MOTO_ACCESS_KEY_ID", "AKIAMOTO000000000001")
	t.Setenv("TOPOFLOW_MOTO_SECRET_ACCESS_KEY", "moto-secret")
	reg, err := accounts.Parse("moto.yaml", []byte(fmt.Sprintf(`accounts:
  moto:
    provider: aws
    region: eu-west-1
    aws: {accountId: "123456789012"}
    endpoints: {ec2: %s, sts: %s}
`, url, url)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Fixtures through the SDK directly: two VPCs, a security group, a transit gateway.
	raw := ec2.New(ec2.Options{Region: "eu-west-1", BaseEndpoint: awssdk.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAMOTO000000000001", "moto-secret", "")})
	vpc := func(cidr string) (string, string) {
		v, err := raw.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String(cidr)})
		if err != nil {
			t.Fatal(err)
		}
		rts, err := raw.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{*v.Vpc.VpcId}}}})
		if err != nil || len(rts.RouteTables) == 0 {
			t.Fatalf("route table of %s: %v", *v.Vpc.VpcId, err)
		}
		return *v.Vpc.VpcId, *rts.RouteTables[0].RouteTableId
	}
	mskVPC, mskRTB := vpc("10.20.0.0/16")
	clientVPC, clientRTB := vpc("10.22.0.0/16")
	sg, err := raw.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("msk"), Description: awssdk.String("msk"), VpcId: awssdk.String(mskVPC)})
	if err != nil {
		t.Fatal(err)
	}
	acts := New(reg).Funcs()
	call := func(action, key string, in map[string]any) plan.Outputs {
		t.Helper()
		out, err := acts[action](ctx, plan.Call{Action: action, Account: "moto", Inputs: in, IdempotencyKey: key})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return out
	}

	// Peering: create, a retried create returns the same peering, accept, active.
	in := map[string]any{"vpcId": mskVPC, "peerVpcId": clientVPC, "name": "topoflow-moto"}
	p1 := call(catalog.AWSEC2CreateVpcPeering, "wf/create-peering", in)
	p2 := call(catalog.AWSEC2CreateVpcPeering, "wf/create-peering", in)
	if p1["peeringId"] != p2["peeringId"] {
		t.Fatalf("a retried create made a second peering: %v vs %v", p1["peeringId"], p2["peeringId"])
	}
	pcx := p1["peeringId"].(string)
	if st := call(catalog.AWSEC2DescribeVpcPeering, "", map[string]any{"peeringId": pcx})["status"]; st != "pending-acceptance" {
		t.Fatalf("status before accept: %v", st)
	}
	call(catalog.AWSEC2AcceptVpcPeering, "wf/accept", map[string]any{"peeringId": pcx})
	call(catalog.AWSEC2AcceptVpcPeering, "wf/accept", map[string]any{"peeringId": pcx}) // already active: done
	if st := call(catalog.AWSEC2DescribeVpcPeering, "", map[string]any{"peeringId": pcx})["status"]; st != "active" {
		t.Fatalf("status after accept: %v", st)
	}

	// Routes both ways; an identical route is reused: the request's own
	// (it records the request as a user: created=true, not shared), then
	// another request's (shared), then one nobody recorded (created=false).
	r1 := call(catalog.AWSEC2CreateRoute, "wf/route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "peeringId": pcx})
	r2 := call(catalog.AWSEC2CreateRoute, "wf/route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "peeringId": pcx})
	if r1["created"] != true || r2["created"] != true || r2["shared"] != false {
		t.Fatalf("route created flags: %v, %v", r1, r2)
	}
	r3 := call(catalog.AWSEC2CreateRoute, "other/route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "peeringId": pcx})
	if r3["created"] != true || r3["shared"] != true {
		t.Fatalf("another request's route: %v", r3)
	}
	if out := call(catalog.AWSEC2DeleteRoute, "other/undo-route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "created": true}); out["deleted"] != false {
		t.Fatalf("a user's delete while another uses the route: %v", out)
	}
	call(catalog.AWSEC2CreateRoute, "wf/route-back", map[string]any{"routeTableId": clientRTB, "destination": "10.20.0.0/16", "peeringId": pcx})

	// Ingress rule by CIDR, a retried authorize finds our rule, revoke by rule ID.
	g1 := call(catalog.AWSEC2AuthorizeIngress, "wf/sg", map[string]any{"groupId": *sg.GroupId, "port": 9092, "cidr": "10.22.0.0/16", "description": "topoflow moto"})
	g2 := call(catalog.AWSEC2AuthorizeIngress, "wf/sg", map[string]any{"groupId": *sg.GroupId, "port": 9092, "cidr": "10.22.0.0/16", "description": "topoflow moto"})
	if g1["ruleId"] == "" || g1["ruleId"] != g2["ruleId"] || g2["created"] != true {
		t.Fatalf("authorize then retry: %v, %v", g1, g2)
	}
	call(catalog.AWSEC2RevokeIngress, "wf/undo-sg", map[string]any{"groupId": *sg.GroupId, "ruleId": g1["ruleId"], "created": true})
	gs, err := raw.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gs.SecurityGroups[0].IpPermissions); n != 0 {
		t.Fatalf("%d ingress permissions left after the revoke", n)
	}

	// Two requests share one rule through its user tags: the first revoke
	// keeps it, the last one removes it.
	permissions := func() int {
		t.Helper()
		gs, err := raw.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}})
		if err != nil {
			t.Fatal(err)
		}
		return len(gs.SecurityGroups[0].IpPermissions)
	}
	rin := map[string]any{"groupId": *sg.GroupId, "port": 9093, "cidr": "10.23.0.0/16", "description": "topoflow moto"}
	a := call(catalog.AWSEC2AuthorizeIngress, "a/sg", rin)
	b := call(catalog.AWSEC2AuthorizeIngress, "b/sg", rin)
	if b["ruleId"] != a["ruleId"] || b["shared"] != true {
		t.Fatalf("second user of the rule: %v (first %v)", b, a)
	}
	if out := call(catalog.AWSEC2RevokeIngress, "a/undo", map[string]any{"groupId": *sg.GroupId, "ruleId": a["ruleId"], "created": true}); out["revoked"] != false || permissions() != 1 {
		t.Fatalf("first user's revoke: %v, %d permissions", out, permissions())
	}
	if out := call(catalog.AWSEC2RevokeIngress, "b/undo", map[string]any{"groupId": *sg.GroupId, "ruleId": a["ruleId"], "created": true}); out["revoked"] != true || permissions() != 0 {
		t.Fatalf("last user's revoke: %v, %d permissions", out, permissions())
	}

	// Rollback: routes, then the peering.
	call(catalog.AWSEC2DeleteRoute, "wf/undo-route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "created": true})
	call(catalog.AWSEC2DeleteRoute, "wf/undo-route", map[string]any{"routeTableId": mskRTB, "destination": "10.22.0.0/16", "created": true}) // gone: done
	call(catalog.AWSEC2DeleteRoute, "wf/undo-route-back", map[string]any{"routeTableId": clientRTB, "destination": "10.20.0.0/16", "created": true})
	call(catalog.AWSEC2DeleteVpcPeering, "", map[string]any{"peeringId": pcx})
	st, err := acts[catalog.AWSEC2DescribeVpcPeering](ctx, plan.Call{Action: catalog.AWSEC2DescribeVpcPeering, Account: "moto", Inputs: map[string]any{"peeringId": pcx}})
	if err == nil && st["status"] != "deleted" {
		t.Fatalf("peering after delete: %v", st)
	}
	if err != nil && !isTyped(err, plan.ErrNotFound) {
		t.Fatalf("describe after delete: %v", err)
	}

	// Transit gateway: attach the VPC, wait available, route, undo.
	tgw, err := raw.CreateTransitGateway(ctx, &ec2.CreateTransitGatewayInput{Description: awssdk.String("transit")})
	if err != nil {
		t.Fatal(err)
	}
	tgwRTB, err := raw.CreateTransitGatewayRouteTable(ctx, &ec2.CreateTransitGatewayRouteTableInput{TransitGatewayId: tgw.TransitGateway.TransitGatewayId})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := raw.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: awssdk.String(mskVPC), CidrBlock: awssdk.String("10.20.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	att := call(catalog.AWSEC2CreateTGWAttachment, "wf/attach", map[string]any{"transitGatewayId": *tgw.TransitGateway.TransitGatewayId, "vpcId": mskVPC, "subnetIds": []any{*sub.Subnet.SubnetId}})
	again := call(catalog.AWSEC2CreateTGWAttachment, "wf/attach", map[string]any{"transitGatewayId": *tgw.TransitGateway.TransitGatewayId, "vpcId": mskVPC, "subnetIds": []any{*sub.Subnet.SubnetId}})
	if att["attachmentId"] != again["attachmentId"] {
		t.Fatalf("a retried attach made a second attachment: %v vs %v", att, again)
	}
	if st := call(catalog.AWSEC2DescribeTGWAttachment, "", map[string]any{"attachmentId": att["attachmentId"]})["state"]; st != "available" && st != "pending" {
		t.Fatalf("attachment state %v", st)
	}
	rt := call(catalog.AWSEC2CreateTGWRoute, "wf/tgw-route", map[string]any{"routeTableId": *tgwRTB.TransitGatewayRouteTable.TransitGatewayRouteTableId,
		"destination": "10.20.0.0/16", "attachmentId": att["attachmentId"]})
	if rt["created"] != true {
		t.Fatalf("transit gateway route: %v", rt)
	}
	call(catalog.AWSEC2DeleteTGWRoute, "", map[string]any{"routeTableId": *tgwRTB.TransitGatewayRouteTable.TransitGatewayRouteTableId, "destination": "10.20.0.0/16", "created": true})
	call(catalog.AWSEC2DeleteTGWAttachment, "", map[string]any{"attachmentId": att["attachmentId"]})
}
