package netmodel

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// grow starts the brokers an instance gained (a DMS scale-out adds brokers
// with the next IDs). Kafka does not move existing partitions to new
// brokers (that takes a partition reassignment,
// https://kafka.apache.org/documentation/#basic_ops_cluster_expansion), but
// kfake's AddNode shuffles every partition's leader: the leaders are read
// before and put back after, so clients of the existing brokers keep
// working while the new ones are not yet reachable.
func (c *Cluster) grow(inst *inventory.KafkaInstance) error {
	bs := append([]inventory.Broker(nil), inst.Brokers...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	var add []inventory.Broker
	for _, b := range bs {
		if int(b.ID) >= len(c.brokers) {
			if int(b.ID) != len(c.brokers)+len(add) {
				return fmt.Errorf("broker %d: new brokers must take the next IDs (have %d)", b.ID, len(c.brokers)+len(add))
			}
			add = append(add, b)
		}
	}
	if len(add) == 0 {
		return nil
	}
	leaders, err := c.leaders()
	if err != nil {
		return fmt.Errorf("read partition leaders before adding brokers: %w", err)
	}
	for _, b := range add {
		if _, err := netip.ParseAddr(b.ListenerIP); err != nil {
			return fmt.Errorf("broker %d: listener IP %q: %w", b.ID, b.ListenerIP, err)
		}
		ln := newBrokerListener(net.JoinHostPort(b.ListenerIP, strconv.Itoa(b.Port)))
		ln.setAdvertised(advertisedAddr(b))
		if err := ln.up(); err != nil {
			return fmt.Errorf("broker %d: %w", b.ID, err)
		}
		c.brokers = append(c.brokers, &clusterBroker{id: b.ID, ln: ln})
		if _, _, err := c.kf.AddNode(b.ID, 0); err != nil {
			return fmt.Errorf("broker %d: add node: %w", b.ID, err)
		}
	}
	if err := c.growPrivate(inst, bs, add); err != nil {
		return err
	}
	for topic, parts := range leaders {
		for p, node := range parts {
			if err := c.kf.MoveTopicPartition(topic, p, node); err != nil {
				return fmt.Errorf("put back the leader of %s/%d: %w", topic, p, err)
			}
		}
	}
	return nil
}

// leaders reads every partition's leader from the first broker (every
// connection goes to its listener, whatever it advertises).
func (c *Cluster) leaders() (map[string]map[int32]int32, error) {
	addr := c.brokers[0].ln.listen
	var tcfg *tls.Config
	if c.caPEM != nil {
		tcfg = &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- the twin's own brokers, on loopback
	}
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || tcfg == nil {
			return conn, err
		}
		return tls.Client(conn, tcfg), nil
	})}
	if inst := c.inst; inst != nil && len(inst.SASLUsers) > 0 {
		users := make([]string, 0, len(inst.SASLUsers))
		for u := range inst.SASLUsers {
			users = append(users, u)
		}
		sort.Strings(users)
		u, p := users[0], inst.SASLUsers[users[0]]
		switch inst.SASLMechanism {
		case "", "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: u, Pass: p}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: u, Pass: p}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: u, Pass: p}.AsSha512Mechanism()))
		}
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int32]int32{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		parts := map[int32]int32{}
		for _, p := range t.Partitions {
			parts[p.Partition] = p.Leader
		}
		out[*t.Topic] = parts
	}
	return out, nil
}

// growPrivate gives the added brokers their private listeners (as
// startPrivate does) and every private listener the new brokers' addresses.
func (c *Cluster) growPrivate(inst *inventory.KafkaInstance, bs, add []inventory.Broker) error {
	if inst.PrivatePort == 0 || len(c.private) == 0 {
		return nil
	}
	adv := map[int32]string{}
	for _, b := range bs {
		adv[b.ID] = net.JoinHostPort(b.ListenerIP, strconv.Itoa(inst.PrivatePort))
	}
	for _, b := range add {
		f, err := Forward(adv[b.ID], net.JoinHostPort(b.ListenerIP, strconv.Itoa(b.Port)))
		if err != nil {
			return fmt.Errorf("broker %d: private listener: %w", b.ID, err)
		}
		c.private = append(c.private, f)
	}
	for _, f := range c.private {
		if err := f.SetAdvertised(adv); err != nil {
			return fmt.Errorf("private listener %s: %w", f.Listen, err)
		}
	}
	return nil
}
