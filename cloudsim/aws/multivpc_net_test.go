package aws_test

import (
	"context"
	"fmt"
	"net"
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf(host, 2)+":14002"), kgo.Dialer(w.sim.Net.DialFrom(client)), kgo.RetryTimeout(3*time.Second))
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
