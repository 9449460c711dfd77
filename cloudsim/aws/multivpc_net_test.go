package aws_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// An AVAILABLE VPC connection gives the client VPC per-broker listeners:
// the multi-VPC names resolve there, and metadata through them names them;
// any other state removes the listeners and frees their addresses.
func TestVpcConnectionListeners(t *testing.T) {
	w := start(t)
	inv := w.sim.Inventory
	const (
		arn    = "arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"
		conn   = "arn:aws:kafka:eu-west-1:222222222222:vpc-connection/111111111111/msk-prod/test"
		client = "vpc-0a5c000000clib01"
		host   = "b-%d.scram.msk-prod.x1y2z3.c2.kafka.eu-west-1.amazonaws.com"
	)
	if _, err := inventory.Create(inv, &inventory.Endpoint{
		Meta:  inventory.Meta{ID: conn, Account: "aws-client-b", Region: "eu-west-1", Status: "CREATING"},
		VPCID: client, SubnetID: "subnet-0a5c000clib01",
		Attrs: map[string]string{"awsType": "msk-vpc-connection", "targetClusterArn": arn, "authentication": "SASL_SCRAM"},
	}); err != nil {
		t.Fatal(err)
	}
	setState := func(s string) {
		if _, err := inventory.Update(inv, conn, func(e *inventory.Endpoint) error { e.Status = s; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	resolves := func() bool {
		_, err := w.sim.Net.Resolve(client, fmt.Sprintf(host, 1))
		return err == nil
	}
	if resolves() {
		t.Fatal("multi-VPC name resolves before the connection is AVAILABLE")
	}
	setState("AVAILABLE")
	setState("AVAILABLE") // an update in the same state creates nothing more
	var ips []string
	for _, ep := range inventory.List[*inventory.Endpoint](inv, inventory.Filter{}) {
		if ep.Attrs["parent"] == conn {
			if inv.Owner(ep.IP) == "" {
				t.Errorf("listener address %s is not allocated", ep.IP)
			}
			ips = append(ips, ep.IP)
		}
	}
	if len(ips) != 3 {
		t.Fatalf("%d listeners, want 3", len(ips))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf(host, 2)+":14002"), kgo.Dialer(tlsDialer(t, w, client)), kgo.RetryTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("metadata through the multi-VPC listener: %v", err)
	}
	for _, b := range m.Brokers {
		if got, want := net.JoinHostPort(b.Host, fmt.Sprint(b.Port)), fmt.Sprintf(host, b.NodeID+1)+fmt.Sprintf(":%d", 14001+b.NodeID); got != want {
			t.Errorf("broker %d advertised %s, want %s", b.NodeID, got, want)
		}
	}
	if len(m.Brokers) != 3 {
		t.Errorf("metadata lists %d brokers", len(m.Brokers))
	}
	setState("INACTIVE")
	if resolves() {
		t.Fatal("multi-VPC name still resolves after the connection became INACTIVE")
	}
	for _, ip := range ips {
		if o := inv.Owner(ip); o != "" {
			t.Errorf("address %s still owned by %q", ip, o)
		}
	}
}

// A VPC connection from a client VPC whose CIDR overlaps the cluster's VPC
// is accepted: multi-VPC private connectivity "allows overlapping IPs across
// connecting VPCs" (https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html).
func TestVpcConnectionOverlappingCIDR(t *testing.T) {
	w := start(t)
	inv := w.sim.Inventory
	const arn = "arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"
	if _, err := inventory.Update(inv, arn, func(k *inventory.KafkaInstance) error {
		k.Attrs = map[string]string{"vpcConnectivity": `{"iam":true}`,
			"policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kafka:CreateVpcConnection"}]}`}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	msk, _ := inventory.Get[*inventory.VPC](inv, "vpc-0a5c0000000msk01")
	if _, err := inventory.Create(inv, &inventory.VPC{Meta: inventory.Meta{ID: "vpc-overlap", Account: "aws-client-b", Region: "eu-west-1"},
		CIDR: msk.CIDR, AddressBlock: "127.250.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.Create(inv, &inventory.Subnet{Meta: inventory.Meta{ID: "subnet-overlap", Account: "aws-client-b", Region: "eu-west-1"},
		VPCID: "vpc-overlap", CIDR: "10.20.1.0/24", AddressBlock: "127.250.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	body := `{"targetClusterArn":"` + arn + `","authentication":"SASL_IAM","vpcId":"vpc-overlap","clientSubnets":["subnet-overlap"],"securityGroups":["sg-0a5c000000clib01"]}`
	resp, out := w.do("POST", "/v1/vpc-connection", "kafka", "eu-west-1", "AKIAAWSCLIENTB000002", "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e", "", body,
		map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"state":"CREATING"`) {
		t.Fatalf("CreateVpcConnection from an overlapping VPC: %d %s", resp.StatusCode, out)
	}
}
