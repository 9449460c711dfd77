package netmodel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// kafkaAwareWorld: a 3-broker cluster in VPC k and, in VPC c, one endpoint
// per broker on 127.253.2.5:900N (DNS name vpce-x.example) whose forwarders
// advertise adv (nil: plain forwarders).
func kafkaAwareWorld(t *testing.T, adv map[int32]string, tlsOn bool) *Network {
	t.Helper()
	inv := inventory.New()
	n := New(inv)
	t.Cleanup(n.Close)
	mustCreate := func(o inventory.Object) {
		if _, err := inv.Create(o); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(&inventory.VPC{Meta: inventory.Meta{ID: "k"}, AddressBlock: "127.253.1.0/24"})
	mustCreate(&inventory.VPC{Meta: inventory.Meta{ID: "c"}, AddressBlock: "127.253.2.0/24"})
	var bs []inventory.Broker
	for i := range 3 {
		bs = append(bs, inventory.Broker{ID: int32(i), ListenerIP: fmt.Sprintf("127.253.1.%d", 11+i), Port: 9092, PortID: fmt.Sprintf("eni-%d", i)})
	}
	mustCreate(&inventory.KafkaInstance{Meta: inventory.Meta{ID: "kafka"}, VPCID: "k", Brokers: bs, TLS: tlsOn})
	for i := range 3 {
		svc := fmt.Sprintf("svc-%d", i)
		mustCreate(&inventory.EndpointService{Meta: inventory.Meta{ID: svc}, VPCID: "k", PortID: fmt.Sprintf("eni-%d", i),
			Ports: []inventory.PortMapping{{ClientPort: 9001 + i, ServerPort: 9092, Protocol: "TCP"}}})
		mustCreate(&inventory.Endpoint{Meta: inventory.Meta{ID: fmt.Sprintf("ep-%d", i), Status: inventory.EndpointAccepted},
			ServiceID: svc, VPCID: "c", IP: "127.253.2.5", DNSNames: []string{"vpce-x.example"}, Advertised: adv})
	}
	if errs := n.Errors(); len(errs) > 0 {
		t.Fatalf("network errors: %v", errs)
	}
	return n
}

func brokerAddrs(t *testing.T, cl *kgo.Client) (meta, cluster map[int32]string, coord string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seed := cl.SeedBrokers()[0] // ask the bootstrap address itself
	m, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, seed)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	meta = map[int32]string{}
	for _, b := range m.Brokers {
		meta[b.NodeID] = net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	}
	d, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, seed)
	if err != nil {
		t.Fatalf("describe cluster: %v", err)
	}
	cluster = map[int32]string{}
	for _, b := range d.Brokers {
		cluster[b.NodeID] = net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorKeys = "g", []string{"g"}
	f, err := fc.RequestWith(ctx, seed)
	if err != nil || len(f.Coordinators) != 1 {
		t.Fatalf("find coordinator: %+v, %v", f, err)
	}
	c := f.Coordinators[0]
	return meta, cluster, net.JoinHostPort(c.Host, fmt.Sprint(c.Port))
}

func TestKafkaAwareForwarder(t *testing.T) {
	adv := map[int32]string{0: "vpce-x.example:9001", 1: "vpce-x.example:9002", 2: "vpce-x.example:9003"}
	own := map[int32]string{0: "127.253.1.11:9092", 1: "127.253.1.12:9092", 2: "127.253.1.13:9092"}
	for _, tc := range []struct {
		name    string
		adv     map[int32]string
		want    map[int32]string
		produce bool // produce/consume works from VPC c
	}{
		{"advertised per network", adv, adv, true},
		{"plain forwarder", nil, own, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := kafkaAwareWorld(t, tc.adv, false)
			cl, err := kgo.NewClient(kgo.SeedBrokers("vpce-x.example:9002"), kgo.Dialer(n.DialFrom("c")),
				kgo.DialTimeout(2*time.Second), kgo.RetryTimeout(3*time.Second), kgo.RequestRetries(1),
				kgo.ConsumeTopics("canary"), kgo.DefaultProduceTopic("canary"),
				kgo.MetadataMinAge(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			meta, cluster, coord := brokerAddrs(t, cl)
			if fmt.Sprint(meta) != fmt.Sprint(tc.want) || fmt.Sprint(cluster) != fmt.Sprint(tc.want) {
				t.Fatalf("metadata %v, describe cluster %v, want %v", meta, cluster, tc.want)
			}
			var ok bool
			for _, a := range tc.want {
				ok = ok || a == coord
			}
			if !ok {
				t.Errorf("coordinator at %s, not one of %v", coord, tc.want)
			}
			wait := 5 * time.Second
			if !tc.produce {
				wait = 1500 * time.Millisecond // bounded: the produce cannot reach a broker
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			ct := kmsg.NewPtrCreateTopicsRequest()
			topic := kmsg.NewCreateTopicsRequestTopic()
			topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "canary", 3, 1
			ct.Topics = append(ct.Topics, topic)
			_, cerr := ct.RequestWith(ctx, cl)
			if tc.produce && cerr != nil {
				t.Fatalf("create topic: %v", cerr)
			}
			err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello")}).FirstErr()
			if !tc.produce {
				if err == nil {
					t.Fatal("produced through brokers the client VPC cannot reach")
				}
				return
			}
			if err != nil {
				t.Fatalf("produce: %v", err)
			}
			fs := cl.PollFetches(ctx)
			if errs := fs.Errors(); len(errs) > 0 || fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "hello" {
				t.Fatalf("consume: %d records, %v", fs.NumRecords(), errs)
			}
		})
	}
}

func TestEndpointDNSNames(t *testing.T) {
	n := kafkaAwareWorld(t, nil, false)
	for _, tc := range []struct{ vpc, host, want string }{
		{"c", "vpce-x.example", "127.253.2.5"},
		{"k", "vpce-x.example", ""}, // only inside the endpoint's VPC
		{"c", "other.example", ""},
	} {
		got, err := n.Resolve(tc.vpc, tc.host)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("Resolve(%s, %s) = %q, %v; want %q", tc.vpc, tc.host, got, err, tc.want)
		}
	}
	st := n.State()
	sort.Slice(st.Forwarders, func(i, j int) bool { return st.Forwarders[i].Listen < st.Forwarders[j].Listen })
	if len(st.Forwarders) != 3 || st.Forwarders[0].Advertised != nil {
		t.Errorf("forwarders: %+v", st.Forwarders)
	}
}

func TestParseAdvertised(t *testing.T) {
	got, err := parseAdvertised(map[int32]string{0: "h:9001", 1: "no-port", 2: "h:99999"})
	if err == nil || len(got) != 1 || got[0] != (hostPort{"h", 9001}) {
		t.Errorf("got %v, %v", got, err)
	}
}

// A TLS connection through a Kafka-aware forwarder cannot be read: it is
// forwarded unchanged (the brokers' own addresses come back).
func TestKafkaAwareForwarderPassesTLS(t *testing.T) {
	n := kafkaAwareWorld(t, map[int32]string{0: "vpce-x.example:9001"}, true)
	c, ok := n.Cluster("kafka")
	if !ok {
		t.Fatal("cluster not running")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CACertPEM()) {
		t.Fatal("no CA certificate")
	}
	dial := n.DialFrom("c")
	cl, err := kgo.NewClient(kgo.SeedBrokers("vpce-x.example:9001"), kgo.RetryTimeout(3*time.Second),
		kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "kafka.kafka.cloudsim", MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("metadata over TLS through the forwarder: %v", err)
	}
	for _, b := range m.Brokers {
		if b.NodeID == 0 && b.Host != "127.253.1.11" {
			t.Errorf("broker 0 advertised %s:%d through TLS; want its own address", b.Host, b.Port)
		}
	}
}
