package alibaba_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/alibaba"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// IDs and keys of cloudsim/worlds/alibaba.yaml.
const (
	ourVPC    = "vpc-bp1ours00000000000001"
	emqxVPC   = "vpc-bp1emqx00000000000001"
	ourRTB    = "vtb-bp1ours00000000000001"
	emqxRTB   = "vtb-bp1emqx00000000000001"
	ourSG     = "sg-bp1ours00000000000001"
	emqxUID   = 5678901234567890
	ourAK     = "LTAI5tOURS00000000000001"
	ourSecret = "ali-ours-secret-4b7d1e9a2c5f8b3e6a0d"
	emqxAK    = "LTAI5tEMQX00000000000001"
	emqxSec   = "emqx-alibaba-secret-9e2c7a4f1b6d3e8c5a0f"
	emqxCIDR  = "10.64.130.0/24"
	ourCIDR   = "172.16.0.0/17"
)

func startSim(t *testing.T) (*cloudsim.Sim, int) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := cloudsim.New(cloudsim.Options{Providers: []string{"alibaba"}})
		if err != nil {
			t.Fatal(err)
		}
		w, delta := simtest.Shifted(t, filepath.Join("..", "worlds", "alibaba.yaml"))
		if err := s.LoadWorld(w); err != nil {
			t.Fatal(err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			_ = s.Close()
			if attempt < 4 && strings.Contains(strings.Join(errs, " "), "address already in use") {
				continue
			}
			t.Fatal(errs)
		}
		if _, err := s.Start("127.0.0.1:0", ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, delta
	}
}

func config(t *testing.T, s *cloudsim.Sim, ak, secret string) *openapi.Config {
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return &openapi.Config{AccessKeyId: tea.String(ak), AccessKeySecret: tea.String(secret), RegionId: tea.String("cn-hangzhou"),
		Endpoint: tea.String(u.Host), Protocol: tea.String("http")}
}

type clients struct {
	peer *vpcpeer.Client
	vpc  *vpc.Client
	ecs  *ecs.Client
}

func newClients(t *testing.T, s *cloudsim.Sim, ak, secret string) clients {
	t.Helper()
	p, err := vpcpeer.NewClient(config(t, s, ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vpc.NewClient(config(t, s, ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecs.NewClient(config(t, s, ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	return clients{p, v, e}
}

func code(err error) string {
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code)
	}
	return ""
}

func status(t *testing.T, c clients, id string) string {
	t.Helper()
	r, err := c.peer.GetVpcPeerConnectionAttribute(&vpcpeer.GetVpcPeerConnectionAttributeRequest{InstanceId: tea.String(id)})
	if err != nil {
		if code(err) == "ResourceNotFound.InstanceId" {
			return "gone"
		}
		t.Fatal(err)
	}
	return tea.StringValue(r.Body.Status)
}

func waitStatus(t *testing.T, c clients, id, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := status(t, c, id)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peering %s: status %s, want %s", id, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func init() {
	alibaba.DefaultTiming.Create, alibaba.DefaultTiming.Accept, alibaba.DefaultTiming.Delete = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
}

func TestSignatureRefusals(t *testing.T) {
	s, _ := startSim(t)
	for _, tc := range []struct{ name, ak, secret, code string }{
		{"wrong secret", ourAK, "not-the-secret", "SignatureDoesNotMatch"},
		{"unknown key", "LTAI5tNOBODY000000000001", ourSecret, "InvalidAccessKeyId.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClients(t, s, tc.ak, tc.secret)
			_, err := c.peer.GetVpcPeerConnectionAttribute(&vpcpeer.GetVpcPeerConnectionAttributeRequest{InstanceId: tea.String("pcc-x")})
			if code(err) != tc.code {
				t.Fatalf("error %v, want code %s", err, tc.code)
			}
		})
	}
	// The right key reaches the API (and its not-found answer).
	c := newClients(t, s, ourAK, ourSecret)
	_, err := c.peer.GetVpcPeerConnectionAttribute(&vpcpeer.GetVpcPeerConnectionAttributeRequest{InstanceId: tea.String("pcc-x")})
	if code(err) != "ResourceNotFound.InstanceId" {
		t.Fatalf("error %v, want ResourceNotFound.InstanceId", err)
	}
}

// brokerReach checks whether the EMQX VPC's client host may reach our first broker.
func brokerReach(s *cloudsim.Sim, delta int) (bool, string) {
	ip := "127." + strconv.Itoa(19+delta) + ".65.11" // broker 0 of our Kafka (worlds/alibaba.yaml)
	v := s.Net.Check(emqxVPC, ip, 9092)
	return v.Allowed, v.Hop + ": " + v.Reason
}

func TestPeeringRouteAndRule(t *testing.T) {
	old := alibaba.DefaultTiming
	alibaba.DefaultTiming.Create = 2 * time.Second // long enough to see Creating on a loaded machine
	alibaba.DefaultTiming.Route = time.Second      // and a Pending route entry
	s, delta := startSim(t)
	alibaba.DefaultTiming = old
	ours, emqx := newClients(t, s, ourAK, ourSecret), newClients(t, s, emqxAK, emqxSec)

	// Missing parameters and unknown VPCs are refused.
	_, err := ours.peer.CreateVpcPeerConnection(&vpcpeer.CreateVpcPeerConnectionRequest{RegionId: tea.String("cn-hangzhou"), VpcId: tea.String(ourVPC)})
	if code(err) != "MissingParameter" {
		t.Fatalf("create without the accepter: %v, want MissingParameter", err)
	}
	req := &vpcpeer.CreateVpcPeerConnectionRequest{RegionId: tea.String("cn-hangzhou"), VpcId: tea.String(ourVPC),
		AcceptingAliUid: tea.Int64(emqxUID), AcceptingRegionId: tea.String("cn-hangzhou"), AcceptingVpcId: tea.String("vpc-nope"),
		ClientToken: tea.String("tok-1"), Name: tea.String("emqx-peering")}
	if _, err := ours.peer.CreateVpcPeerConnection(req); code(err) != "ResourceNotFound.AcceptingVpcId" {
		t.Fatalf("create to an unknown VPC: %v", err)
	}
	req.AcceptingVpcId = tea.String(emqxVPC)
	r, err := ours.peer.CreateVpcPeerConnection(req)
	if err != nil {
		t.Fatal(err)
	}
	id := tea.StringValue(r.Body.InstanceId)
	if !strings.HasPrefix(id, "pcc-") {
		t.Fatalf("InstanceId %q", id)
	}
	// The same ClientToken answers the same peering.
	if r2, err := ours.peer.CreateVpcPeerConnection(req); err != nil || tea.StringValue(r2.Body.InstanceId) != id {
		t.Fatalf("retry with the same ClientToken: %v %v", r2, err)
	}
	if got := status(t, ours, id); got != alibaba.StatusCreating {
		t.Fatalf("fresh peering %s, want Creating", got)
	}
	// Deleting while Creating is refused.
	if _, err := ours.peer.DeleteVpcPeerConnection(&vpcpeer.DeleteVpcPeerConnectionRequest{InstanceId: tea.String(id)}); code(err) != "IncorrectStatus.VpcPeer" {
		t.Fatalf("delete while creating: %v", err)
	}
	waitStatus(t, ours, id, alibaba.StatusAccepting)
	// Only the accepter accepts.
	if _, err := ours.peer.AcceptVpcPeerConnection(&vpcpeer.AcceptVpcPeerConnectionRequest{InstanceId: tea.String(id)}); code(err) != "Forbidden.NoPermission" {
		t.Fatalf("requester accepting: %v", err)
	}
	// A route to a peering that is not Activated is refused.
	rreq := &vpc.CreateRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(ourRTB),
		DestinationCidrBlock: tea.String(emqxCIDR), NextHopType: tea.String(alibaba.NextHopVpcPeer), NextHopId: tea.String(id)}
	if _, err := ours.vpc.CreateRouteEntry(rreq); code(err) != "IncorrectStatus.VpcPeer" {
		t.Fatalf("route to an accepting peering: %v", err)
	}
	if _, err := emqx.peer.AcceptVpcPeerConnection(&vpcpeer.AcceptVpcPeerConnectionRequest{InstanceId: tea.String(id)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ours, id, alibaba.StatusActivated)
	if ok, why := brokerReach(s, delta); ok {
		t.Fatal("reachable with the peering alone")
	} else if !strings.HasPrefix(why, "route") {
		t.Fatalf("refused by %s, want the route", why)
	}
	// Our route, then EMQX's return route.
	if _, err := ours.vpc.CreateRouteEntry(rreq); err != nil {
		t.Fatal(err)
	}
	if _, err := ours.vpc.CreateRouteEntry(rreq); code(err) != "RouterEntryConflict.Duplicated" {
		t.Fatalf("second identical route: %v", err)
	}
	// A new entry is Pending: it does not forward yet, and the table takes no other change meanwhile.
	if got := routeEntryStatus(t, ours, ourRTB, emqxCIDR); got != inventory.RoutePending {
		t.Fatalf("fresh route entry %q, want Pending", got)
	}
	other := *rreq
	other.DestinationCidrBlock = tea.String("10.64.131.0/24")
	if _, err := ours.vpc.CreateRouteEntry(&other); code(err) != "IncorrectRouteEntryStatus" {
		t.Fatalf("a second entry while one is Pending: %v, want IncorrectRouteEntryStatus", err)
	}
	if _, err := emqx.vpc.CreateRouteEntry(&vpc.CreateRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(emqxRTB),
		DestinationCidrBlock: tea.String(ourCIDR), NextHopType: tea.String(alibaba.NextHopVpcPeer), NextHopId: tea.String(id)}); err != nil {
		t.Fatal(err)
	}
	if ok, why := brokerReach(s, delta); ok || !strings.HasPrefix(why, "route") {
		t.Fatalf("with Pending routes: allowed=%v (%s), want refused by the route", ok, why)
	}
	waitRouteEntry(t, ours, ourRTB, emqxCIDR, inventory.RouteAvailable)
	waitRouteEntry(t, emqx, emqxRTB, ourCIDR, inventory.RouteAvailable)
	if ok, why := brokerReach(s, delta); ok || !strings.HasPrefix(why, "security group") {
		t.Fatalf("without the rule: allowed=%v (%s), want refused by the security group", ok, why)
	}
	perm := []*ecs.AuthorizeSecurityGroupRequestPermissions{{IpProtocol: tea.String("TCP"), PortRange: tea.String("9092/9092"), SourceCidrIp: tea.String(emqxCIDR), Policy: tea.String("Accept")}}
	if _, err := ours.ecs.AuthorizeSecurityGroup(&ecs.AuthorizeSecurityGroupRequest{RegionId: tea.String("cn-hangzhou"), SecurityGroupId: tea.String(ourSG),
		Permissions: []*ecs.AuthorizeSecurityGroupRequestPermissions{{IpProtocol: tea.String("TCP"), PortRange: tea.String("9092/80"), SourceCidrIp: tea.String(emqxCIDR)}}}); code(err) != "InvalidPortRange.Malformed" {
		t.Fatalf("bad port range: %v", err)
	}
	for range 2 { // the second is a no-op (documented idempotence)
		if _, err := ours.ecs.AuthorizeSecurityGroup(&ecs.AuthorizeSecurityGroupRequest{RegionId: tea.String("cn-hangzhou"), SecurityGroupId: tea.String(ourSG), Permissions: perm}); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := inventory.Get[*inventory.SecurityGroup](s.Inventory, ourSG)
	if len(g.Rules) != 2 {
		t.Fatalf("rules %+v, want egress + one ingress", g.Rules)
	}
	if ok, why := brokerReach(s, delta); !ok {
		t.Fatalf("refused with peering, routes and rule: %s", why)
	}
	// A real TCP connection from the EMQX VPC's host reaches the broker.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := s.Net.DialFrom(emqxVPC)(ctx, "tcp", net.JoinHostPort("127."+strconv.Itoa(19+delta)+".65.11", "9092"))
	if err != nil {
		t.Fatalf("dial from the EMQX VPC: %v", err)
	}
	_ = conn.Close()

	// Delete: refused while routes point to it, then Deleting → gone.
	if _, err := ours.peer.DeleteVpcPeerConnection(&vpcpeer.DeleteVpcPeerConnectionRequest{InstanceId: tea.String(id)}); code(err) != "OperationDenied.RouteEntryExist" {
		t.Fatalf("delete with routes: %v", err)
	}
	if _, err := ours.vpc.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(ourRTB), DestinationCidrBlock: tea.String(emqxCIDR), NextHopId: tea.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := emqx.vpc.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(emqxRTB), DestinationCidrBlock: tea.String(ourCIDR)}); err != nil {
		t.Fatal(err)
	}
	// A deleted entry lingers as Deleting, still naming the peering, until removed.
	if got := routeEntryStatus(t, ours, ourRTB, emqxCIDR); got != inventory.RouteDeleting {
		t.Fatalf("deleted route entry %q, want Deleting", got)
	}
	if _, err := ours.peer.DeleteVpcPeerConnection(&vpcpeer.DeleteVpcPeerConnectionRequest{InstanceId: tea.String(id)}); code(err) != "OperationDenied.RouteEntryExist" {
		t.Fatalf("delete with Deleting routes: %v", err)
	}
	waitRouteEntry(t, ours, ourRTB, emqxCIDR, "gone")
	waitRouteEntry(t, emqx, emqxRTB, ourCIDR, "gone")
	if _, err := ours.vpc.DeleteRouteEntry(&vpc.DeleteRouteEntryRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(ourRTB), DestinationCidrBlock: tea.String(emqxCIDR)}); code(err) != "InvalidRouteEntry.NotFound" {
		t.Fatalf("deleting a deleted route: %v", err)
	}
	if _, err := ours.peer.DeleteVpcPeerConnection(&vpcpeer.DeleteVpcPeerConnectionRequest{InstanceId: tea.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := status(t, ours, id); got != alibaba.StatusDeleting {
		t.Fatalf("after delete: %s, want Deleting", got)
	}
	waitStatus(t, ours, id, "gone")
}

// routeEntryStatus is DescribeRouteEntryList's Status of a table's entry for dest ("gone" when absent).
func routeEntryStatus(t *testing.T, c clients, table, dest string) string {
	t.Helper()
	r, err := c.vpc.DescribeRouteEntryList(&vpc.DescribeRouteEntryListRequest{RegionId: tea.String("cn-hangzhou"), RouteTableId: tea.String(table), DestinationCidrBlock: tea.String(dest)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Body.RouteEntrys != nil {
		for _, e := range r.Body.RouteEntrys.RouteEntry {
			if tea.StringValue(e.DestinationCidrBlock) == dest {
				return tea.StringValue(e.Status)
			}
		}
	}
	return "gone"
}

// waitRouteEntry waits until a table's entry for dest has status want.
func waitRouteEntry(t *testing.T, c clients, table, dest, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for got := routeEntryStatus(t, c, table, dest); got != want; got = routeEntryStatus(t, c, table, dest) {
		if time.Now().After(deadline) {
			t.Fatalf("route %s of %s: %s, want %s", dest, table, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
