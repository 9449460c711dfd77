package cloudsim_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// createTopic creates a topic with one partition per broker through addr.
func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if c := resp.Topics[0].ErrorCode; c != 0 {
		t.Fatalf("create topic %s: error code %d", topic, c)
	}
}

func kcat(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed (it is in deps/apt.txt; run `make deps` or `apt-get install kcat`): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kcat %v: %w: %s", args, err, errb.String())
	}
	return out.String(), nil
}

// TestKcatThroughEndpoints is the independent cross-check: librdkafka (kcat),
// not franz-go, produces and consumes through the simulated VPC endpoints,
// and fails when two brokers' advertised IPs are swapped.
func TestKcatThroughEndpoints(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	addrs := simtest.CrossVPC(t, s, nil)
	createTopic(t, addrs[0], "kcat-check", 3)
	boot := strings.Join(addrs, ",")

	// Every partition (each led by some broker, reached via its endpoint).
	for p := 0; p < 3; p++ {
		if _, err := kcat(t, fmt.Sprintf("key%d:hello-%d\n", p, p), "-b", boot, "-P", "-t", "kcat-check", "-p", fmt.Sprint(p), "-K", ":",
			"-X", "message.timeout.ms=8000"); err != nil {
			t.Fatalf("produce partition %d: %v", p, err)
		}
	}
	out, err := kcat(t, "", "-b", boot, "-C", "-t", "kcat-check", "-o", "beginning", "-e", "-c", "3", "-f", "%p %k %s\n")
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	for p := 0; p < 3; p++ {
		if want := fmt.Sprintf("%d key%d hello-%d", p, p, p); !strings.Contains(out, want) {
			t.Errorf("consumed %q, missing %q", out, want)
		}
	}
	// kcat's metadata lists the endpoint addresses, nothing else.
	meta, err := kcat(t, "", "-b", addrs[2], "-L")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if !strings.Contains(meta, a) {
			t.Errorf("metadata %q lacks %s", meta, a)
		}
	}

	// Swap brokers 0 and 1: producing to a partition led by broker 0 fails.
	c, _ := s.Net.Cluster(simtest.DMSInstance)
	var p0 int32 = -1
	for p := int32(0); p < 3; p++ {
		if c.Kfake().LeaderFor("kcat-check", p) == 0 {
			p0 = p
		}
	}
	if p0 < 0 {
		c.Kfake().MoveTopicPartition("kcat-check", 0, 0)
		p0 = 0
	}
	simtest.Advertise(t, s, simtest.DMSInstance, func(id int32) string {
		h, _, _ := net.SplitHostPort(addrs[map[int32]int32{0: 1, 1: 0, 2: 2}[id]])
		return h
	})
	_, err = kcat(t, "k:v\n", "-b", boot, "-P", "-t", "kcat-check", "-p", fmt.Sprint(p0), "-K", ":", "-X", "message.timeout.ms=2500")
	if err == nil {
		t.Fatal("kcat produced through a swapped advertised mapping")
	}
	t.Logf("swapped mapping, kcat failed as expected: %v", err)
}
