package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/plan"
)

// IDs of the default world (cloudsim/worlds/default.yaml).
const (
	dmsID        = simtest.DMSInstance
	clientVPC    = simtest.ClientVPC
	clientSubnet = simtest.ClientSubnet
	hdiID        = simtest.HDInsightKafka
	hdiVNet      = simtest.HDInsightVNet
	aksVNet      = simtest.AKSVNet
)

func newVerify(t *testing.T, s *cloudsim.Sim, creds kafka.CredentialsFunc) activities.Func {
	t.Helper()
	reg := activities.NewRegistry()
	kafka.Register(reg, kafka.Options{
		Credentials: creds,
		DialFrom:    func(n string) kafka.DialFunc { return kafka.DialFunc(s.Net.DialFrom(n)) },
	})
	fn, ok := reg.Get(kafka.ActionVerify)
	if !ok {
		t.Fatal("kafka.verify not registered")
	}
	return fn
}

func crossVPC(t *testing.T, s *cloudsim.Sim, backendOf []int) []string {
	return simtest.CrossVPC(t, s, backendOf)
}

func advertise(t *testing.T, s *cloudsim.Sim, inst string, host func(id int32) string) {
	simtest.Advertise(t, s, inst, host)
}

func call(inputs map[string]any) plan.Call {
	return plan.Call{Action: kafka.ActionVerify, Inputs: inputs, IdempotencyKey: "wf-1/verify"}
}

func expectMap(addrs []string) map[string]any {
	m := map[string]any{}
	for i, a := range addrs {
		m[strconv.Itoa(i)] = a
	}
	return m
}

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return ae
}

func TestVerifyCrossVPCEndpoints(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	verify := newVerify(t, s, nil)
	addrs := crossVPC(t, s, nil)
	ctx := context.Background()

	t.Run("correct mapping verifies", func(t *testing.T) {
		out, err := verify(ctx, call(map[string]any{
			"bootstrap": []any{addrs[0], addrs[1]}, "expectBrokers": expectMap(addrs), "clientNetwork": clientVPC,
		}))
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		brokers := out["brokers"].(map[string]any)
		for i, a := range addrs {
			if brokers[strconv.Itoa(i)] != a {
				t.Errorf("broker %d = %v, want %s", i, brokers[strconv.Itoa(i)], a)
			}
		}
		if out["topic"] != kafka.DefaultTopic || out["records"] != 3 || out["offset"].(int64) < 0 {
			t.Errorf("outputs %v", out)
		}
		// A second run (retry) verifies again: the canary topic already exists.
		if _, err := verify(ctx, call(map[string]any{"bootstrap": addrs, "clientNetwork": clientVPC})); err != nil {
			t.Fatalf("second verify: %v", err)
		}
	})

	t.Run("swapped advertised IPs name the mismatched brokers", func(t *testing.T) {
		advertise(t, s, dmsID, func(id int32) string {
			swap := map[int32]int32{0: 1, 1: 0, 2: 2}[id]
			h, _, _ := net.SplitHostPort(addrs[swap])
			return h
		})
		defer advertise(t, s, dmsID, func(id int32) string { h, _, _ := net.SplitHostPort(addrs[id]); return h })

		_, err := verify(ctx, call(map[string]any{"bootstrap": addrs, "clientNetwork": clientVPC}))
		ae := appErr(t, err)
		if ae.Type() != plan.ErrVerifyFailed || !ae.NonRetryable() {
			t.Errorf("type %s nonRetryable %v, want non-retryable %s", ae.Type(), ae.NonRetryable(), plan.ErrVerifyFailed)
		}
		for _, want := range []string{
			fmt.Sprintf("broker 0 advertises %s, but broker 1 answers there", addrs[1]),
			fmt.Sprintf("broker 1 advertises %s, but broker 0 answers there", addrs[0]),
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\nlacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "broker 2 ") {
			t.Errorf("broker 2 is mapped right but named: %v", err)
		}

		// With expectBrokers the difference is reported before connecting.
		_, err = verify(ctx, call(map[string]any{"bootstrap": addrs, "expectBrokers": expectMap(addrs), "clientNetwork": clientVPC}))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("broker 0 advertises %s, expected %s", addrs[1], addrs[0])) {
			t.Errorf("want expectBrokers mismatch for broker 0, got %v", err)
		}
	})

	t.Run("the swap really breaks produce", func(t *testing.T) {
		// Independent of the action's identity check: a plain franz-go
		// producer cannot deliver to broker 0's partition when broker 0's
		// advertised address reaches broker 1.
		advertise(t, s, dmsID, func(id int32) string {
			swap := map[int32]int32{0: 1, 1: 0, 2: 2}[id]
			h, _, _ := net.SplitHostPort(addrs[swap])
			return h
		})
		defer advertise(t, s, dmsID, func(id int32) string { h, _, _ := net.SplitHostPort(addrs[id]); return h })
		if err := produceTo(ctx, addrs, kafka.DefaultTopic, leaderPartition(t, s, 0)); err == nil {
			t.Fatal("produce through a swapped mapping succeeded")
		}
	})

	t.Run("not accepted endpoint is retryable and names the address", func(t *testing.T) {
		eps := inventory.List[*inventory.Endpoint](s.Inventory, inventory.Filter{Account: "hw-client-b"})
		if _, err := inventory.Update(s.Inventory, eps[2].ID, func(e *inventory.Endpoint) error { e.Status = "pendingAcceptance"; return nil }); err != nil {
			t.Fatal(err)
		}
		defer inventory.Update(s.Inventory, eps[2].ID, func(e *inventory.Endpoint) error { e.Status = inventory.EndpointAccepted; return nil })
		_, err := verify(ctx, call(map[string]any{"bootstrap": addrs[:1], "clientNetwork": clientVPC}))
		ae := appErr(t, err)
		if ae.NonRetryable() || !strings.Contains(err.Error(), "broker 2 advertises "+addrs[2]) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("want retryable error naming broker 2 at %s (connection refused), got nonRetryable=%v %v", addrs[2], ae.NonRetryable(), err)
		}
		// Nothing listens there: a reset, not a drop, so no drop hint.
		if strings.Contains(err.Error(), kafka.DropHint) {
			t.Errorf("a refused connection is reported as dropped: %v", err)
		}
	})

	t.Run("broker down is retryable", func(t *testing.T) {
		if _, err := inventory.Update(s.Inventory, dmsID, func(k *inventory.KafkaInstance) error { k.Brokers[1].Down = true; return nil }); err != nil {
			t.Fatal(err)
		}
		defer inventory.Update(s.Inventory, dmsID, func(k *inventory.KafkaInstance) error { k.Brokers[1].Down = false; return nil })
		_, err := verify(ctx, call(map[string]any{"bootstrap": []any{addrs[0]}, "clientNetwork": clientVPC, "timeout": "5s"}))
		ae := appErr(t, err)
		if ae.NonRetryable() || !strings.Contains(err.Error(), "broker 1") {
			t.Errorf("want retryable error naming broker 1, got nonRetryable=%v %v", ae.NonRetryable(), err)
		}
	})
}

func TestVerifyMiswiredEndpointsWithExpectedAddresses(t *testing.T) {
	// The advertised IPs are the expected ones, but endpoints 0 and 2 expose
	// each other's broker port (port IDs mixed up when creating the services).
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	verify := newVerify(t, s, nil)
	addrs := crossVPC(t, s, []int{2, 1, 0})
	_, err := verify(context.Background(), call(map[string]any{"bootstrap": addrs, "expectBrokers": expectMap(addrs), "clientNetwork": clientVPC}))
	ae := appErr(t, err)
	if !ae.NonRetryable() || !strings.Contains(err.Error(), fmt.Sprintf("broker 0 advertises %s, but broker 2 answers there", addrs[0])) {
		t.Errorf("want non-retryable mismatch for broker 0, got %v", err)
	}
}

func TestVerifyHDInsightPeering(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	verify := newVerify(t, s, nil)
	ctx := context.Background()
	inst, err := inventory.Get[*inventory.KafkaInstance](s.Inventory, hdiID)
	if err != nil {
		t.Fatal(err)
	}
	ipOf := func(id int32) string { return inst.Brokers[id].ListenerIP }
	wn0 := net.JoinHostPort(ipOf(0), "9092")
	peering, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta: inventory.Meta{Account: "az-hdinsight", Status: "Initiated"}, VPCID: aksVNet, PeerVPCID: hdiVNet,
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no active peering: dropped", func(t *testing.T) {
		_, err := verify(ctx, call(map[string]any{"bootstrap": []any{wn0}, "clientNetwork": aksVNet}))
		if err == nil || !strings.Contains(err.Error(), "i/o timeout") || !strings.Contains(err.Error(), kafka.DropHint) || appErr(t, err).NonRetryable() {
			t.Errorf("want a retryable timeout (packets dropped), got %v", err)
		}
	})
	// Azure peers two VNets with one peering per side; traffic flows once both are Connected.
	if _, err := inventory.Update(s.Inventory, peering.ID, func(p *inventory.Peering) error { p.Status = inventory.PeeringActive; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Run("one side Connected: dropped", func(t *testing.T) {
		_, err := verify(ctx, call(map[string]any{"bootstrap": []any{wn0}, "clientNetwork": aksVNet}))
		if err == nil || !strings.Contains(err.Error(), "i/o timeout") || appErr(t, err).NonRetryable() {
			t.Errorf("want a retryable timeout (packets dropped), got %v", err)
		}
	})
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{
		Meta: inventory.Meta{Account: "az-hdinsight", Status: inventory.PeeringActive}, VPCID: hdiVNet, PeerVPCID: aksVNet,
	}); err != nil {
		t.Fatal(err)
	}
	t.Run("host names fail from the peered VNet", func(t *testing.T) {
		_, err := verify(ctx, call(map[string]any{"bootstrap": []any{wn0}, "clientNetwork": aksVNet}))
		ae := appErr(t, err)
		if !ae.NonRetryable() || !strings.Contains(err.Error(), "broker 0 advertises "+inst.Brokers[0].Host+":9092") || !strings.Contains(err.Error(), "no such host") {
			t.Errorf("want non-retryable unresolvable host for broker 0, got %v", err)
		}
	})
	t.Run("host names work inside the HDInsight VNet", func(t *testing.T) {
		if _, err := verify(ctx, call(map[string]any{"bootstrap": []any{wn0}, "clientNetwork": hdiVNet, "topic": "inside"})); err != nil {
			t.Errorf("verify from hdi-vnet: %v", err)
		}
	})
	t.Run("IPs pass from the peered VNet", func(t *testing.T) {
		advertise(t, s, hdiID, ipOf)
		expect := map[string]any{}
		for _, b := range inst.Brokers {
			expect[strconv.Itoa(int(b.ID))] = net.JoinHostPort(b.ListenerIP, "9092")
		}
		if _, err := verify(ctx, call(map[string]any{"bootstrap": []any{wn0}, "expectBrokers": expect, "clientNetwork": aksVNet})); err != nil {
			t.Errorf("verify with advertised IPs: %v", err)
		}
	})
}

func TestVerifySASL(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	sub, err := inventory.Get[*inventory.Subnet](s.Inventory, clientSubnet)
	if err != nil {
		t.Fatal(err)
	}
	_ = sub
	var brokers []inventory.Broker
	for i := int32(0); i < 3; i++ {
		ip, err := s.Inventory.AllocateIP(clientSubnet)
		if err != nil {
			t.Fatal(err)
		}
		brokers = append(brokers, inventory.Broker{ID: i, ListenerIP: ip, Port: 9093})
	}
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			bs := append([]inventory.Broker(nil), brokers...)
			for i := range bs {
				bs[i].Port = 9100 + len(mech) // distinct ports per cluster on the same IPs
			}
			k, err := inventory.Create(s.Inventory, &inventory.KafkaInstance{
				Meta: inventory.Meta{Account: "hw-client-b", Status: "RUNNING"}, VPCID: clientVPC, Brokers: bs,
				SASLUsers: map[string]string{"app": "s3cret"}, SASLMechanism: mech,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Inventory.Delete(inventory.KindKafka, k.ID)
			boot := []any{net.JoinHostPort(bs[0].ListenerIP, strconv.Itoa(bs[0].Port))}
			good := newVerify(t, s, func(_ context.Context, acct string) (string, string, error) {
				if acct != "kafka-app" {
					return "", "", fmt.Errorf("unknown account %s", acct)
				}
				return "app", "s3cret", nil
			})
			c := call(map[string]any{"bootstrap": boot, "sasl": map[string]any{"mechanism": mech}, "clientNetwork": clientVPC})
			c.Account = "kafka-app"
			if _, err := good(context.Background(), c); err != nil {
				t.Fatalf("verify with SASL %s: %v", mech, err)
			}
			bad := newVerify(t, s, func(context.Context, string) (string, string, error) { return "app", "wrong", nil })
			_, err = bad(context.Background(), c)
			// kfake answers a bad PLAIN password as Kafka does; on a bad SCRAM
			// proof it closes the connection, which reads as a network fault.
			if ae := appErr(t, err); mech == "PLAIN" && ae.Type() != plan.ErrUnauthorized {
				t.Errorf("wrong password: type %s (%v), want %s", ae.Type(), err, plan.ErrUnauthorized)
			}
		})
	}
}

func TestVerifyInvalidInputs(t *testing.T) {
	verify := newVerify(t, nil, nil)
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"no bootstrap", map[string]any{}, "bootstrap"},
		{"bad address", map[string]any{"bootstrap": []any{"nohostport"}}, "not host:port"},
		{"bad expect key", map[string]any{"bootstrap": []any{"a:1"}, "expectBrokers": map[string]any{"x": "a:1"}}, "not a broker ID"},
		{"bad mechanism", map[string]any{"bootstrap": []any{"a:1"}, "sasl": map[string]any{"mechanism": "GSSAPI"}}, "GSSAPI"},
		{"bad timeout", map[string]any{"bootstrap": []any{"a:1"}, "timeout": "soon"}, "timeout"},
		{"AWS_MSK_IAM without an AWS credential resolver", map[string]any{"bootstrap": []any{"a:1"}, "sasl": map[string]any{"mechanism": "AWS_MSK_IAM"}}, "no AWS credential resolver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(context.Background(), call(tc.inputs))
			ae := appErr(t, err)
			if ae.Type() != plan.ErrInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %s %v, want %s containing %q", ae.Type(), err, plan.ErrInvalid, tc.want)
			}
		})
	}
}

// leaderPartition returns a canary partition led by broker id.
func leaderPartition(t *testing.T, s *cloudsim.Sim, id int32) int32 {
	t.Helper()
	c, ok := s.Net.Cluster(dmsID)
	if !ok {
		t.Fatal("no cluster")
	}
	for p := int32(0); p < 3; p++ {
		if c.Kfake().LeaderFor(kafka.DefaultTopic, p) == id {
			return p
		}
	}
	t.Fatalf("broker %d leads no partition of %s", id, kafka.DefaultTopic)
	return -1
}

func TestVerifyTLS(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	var bs []inventory.Broker
	for i := int32(0); i < 3; i++ {
		ip, err := s.Inventory.AllocateIP(clientSubnet)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, inventory.Broker{ID: i, ListenerIP: ip, Port: 9093})
	}
	k, err := inventory.Create(s.Inventory, &inventory.KafkaInstance{
		Meta: inventory.Meta{Account: "hw-client-b", Status: "RUNNING"}, VPCID: clientVPC, Brokers: bs, TLS: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.Net.Cluster(k.ID)
	if !ok {
		t.Fatalf("cluster not running: %v", s.Net.Errors())
	}
	verify := newVerify(t, s, nil)
	boot := []any{net.JoinHostPort(bs[0].ListenerIP, "9093")}
	if _, err := verify(context.Background(), call(map[string]any{"bootstrap": boot, "tls": map[string]any{"caPem": string(c.CACertPEM())}, "clientNetwork": clientVPC})); err != nil {
		t.Fatalf("verify over TLS: %v", err)
	}
	// Without the CA the certificate is not trusted.
	_, err = verify(context.Background(), call(map[string]any{"bootstrap": boot, "tls": true, "clientNetwork": clientVPC, "timeout": "5s"}))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("want an untrusted-certificate failure, got %v", err)
	}
}
