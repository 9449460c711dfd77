package netmodel

import (
	"context"
	"fmt"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// metadataAddrs returns the broker addresses a metadata request through addr names.
func metadataAddrs(t *testing.T, addr string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("metadata through %s: %v", addr, err)
	}
	var out []string
	for _, b := range resp.Brokers {
		out = append(out, fmt.Sprintf("%d=%s:%d", b.NodeID, b.Host, b.Port))
	}
	sort.Strings(out)
	return out
}

// TestPrivateListener: a DMS-like instance serves its brokers on the
// cross-VPC port (advertising the cross-VPC addresses) and on its private
// port (advertising the listener IPs on the private port).
func TestPrivateListener(t *testing.T) {
	inst := &inventory.KafkaInstance{Meta: inventory.Meta{ID: "dms"}, PrivatePort: 9092, Brokers: []inventory.Broker{
		{ID: 0, ListenerIP: "127.253.0.11", Port: 9011, Advertised: "127.253.9.1"},
		{ID: 1, ListenerIP: "127.253.0.12", Port: 9011, Advertised: "127.253.9.2"},
	}}
	c, err := StartCluster(inst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := fmt.Sprint(metadataAddrs(t, "127.253.0.11:9011")), "[0=127.253.9.1:9011 1=127.253.9.2:9011]"; got != want {
		t.Errorf("cross-VPC listener advertises %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(metadataAddrs(t, "127.253.0.12:9092")), "[0=127.253.0.11:9092 1=127.253.0.12:9092]"; got != want {
		t.Errorf("private listener advertises %s, want %s", got, want)
	}
	c.Close()
	if conn, err := net.DialTimeout("tcp", "127.253.0.11:9092", time.Second); err == nil {
		conn.Close()
		t.Error("private listener still accepts after Close")
	}
}
