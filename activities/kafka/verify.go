// Package kafka implements the kafka.* actions: kafka.verify proves that a
// client reaches a Kafka cluster through the expected addresses and can
// produce and consume.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// ActionVerify is the catalog name of the verification action.
const ActionVerify = catalog.KafkaVerify

// DefaultTopic is the canary topic when the step names none.
const DefaultTopic = "topoflow-verify"

// DialFunc dials like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// CredentialsFunc resolves an account's SASL user and password inside the worker.
type CredentialsFunc func(ctx context.Context, account string) (user, pass string, err error)

// Options configure the action.
type Options struct {
	// Credentials resolves SASL credentials (required only for steps with sasl).
	Credentials CredentialsFunc
	// AWSCredentials resolves AWS credentials (required only for sasl AWS_MSK_IAM).
	AWSCredentials AWSCredentialsFunc
	// DialFrom, if set, returns the dialer of a client inside the network
	// named by the step's clientNetwork input (cloudsim's netmodel.DialFrom in
	// activity-level tests; workers never set it). Without it, or without
	// clientNetwork, the worker dials directly from its own network.
	DialFrom func(network string) DialFunc
	// Probe, if set, makes this a probe worker's kafka.verify: it dials from
	// the probe's network and says so (DialFrom is then ignored).
	Probe *Probe
	// ExtraRootCAs, if set, returns PEM CA certificates trusted besides the
	// system roots for TLS connections whose step gives no tls.caPem: a
	// company's private CA, or the twin's CA (which signs its TLS listeners'
	// certificates where public CAs sign the real services').
	ExtraRootCAs func(ctx context.Context) ([]byte, error)
}

// Register adds kafka.verify to reg.
func Register(reg *activities.Registry, opts Options) {
	v := &verifier{opts: opts}
	reg.Add(ActionVerify, activities.Typed(v.Verify))
}

type verifier struct{ opts Options }

// Inputs of kafka.verify (see catalog/kafka.go).
type verifyInputs struct {
	Bootstrap     []string
	ExpectBrokers map[int32]string
	// ExpectAddresses is the expected set of advertised addresses (nil: not checked).
	ExpectAddresses []string
	Topic           string
	ClientNetwork   string
	SASLMechanism   string
	TLS             bool
	TLSCAPEM        string
	TLSServerName   string
	Timeout         time.Duration
}

func parseInputs(in catalog.KafkaVerifyIn) (verifyInputs, error) {
	v := verifyInputs{Topic: DefaultTopic, Timeout: 20 * time.Second}
	if len(in.Bootstrap) == 0 {
		return v, fmt.Errorf("input bootstrap: want a non-empty list of host:port")
	}
	for _, b := range in.Bootstrap {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return v, fmt.Errorf("input bootstrap: %q is not host:port: %w", b, err)
		}
	}
	v.Bootstrap = in.Bootstrap
	if in.ExpectBrokers != nil {
		v.ExpectBrokers = map[int32]string{}
		for k, a := range in.ExpectBrokers {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil {
				return v, fmt.Errorf("input expectBrokers: key %q is not a broker ID", k)
			}
			v.ExpectBrokers[int32(id)] = a
		}
	}
	if in.ExpectAddresses != nil {
		for _, a := range in.ExpectAddresses {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return v, fmt.Errorf("input expectAddresses: %q is not host:port: %w", a, err)
			}
		}
		v.ExpectAddresses = in.ExpectAddresses
	}
	if in.Topic != "" {
		v.Topic = in.Topic
	}
	v.ClientNetwork = in.ClientNetwork
	if in.SASL != nil {
		mech := in.SASL.Mechanism
		v.SASLMechanism = strings.ToUpper(mech)
		if v.SASLMechanism == "" {
			v.SASLMechanism = "PLAIN"
		}
		switch v.SASLMechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", MechanismMSKIAM:
		default:
			return v, fmt.Errorf("input sasl.mechanism: %q is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM", mech)
		}
	}
	if t, ok := in.TLS.(map[string]any); ok {
		v.TLS = true
		if e, ok := t["enabled"].(bool); ok {
			v.TLS = e
		}
		v.TLSCAPEM, _ = t["caPem"].(string)
		v.TLSServerName, _ = t["serverName"].(string)
	} else if b, ok := in.TLS.(bool); ok {
		v.TLS = b
	}
	if x := in.Timeout; x != "" {
		d, err := time.ParseDuration(x)
		if err != nil || d <= 0 {
			return v, fmt.Errorf("input timeout: %q is not a positive duration", x)
		}
		v.Timeout = d
	}
	return v, nil
}

// failure is a verification error: retryable when the cause may clear by
// itself (a broker or forwarder not listening yet), not when the cluster's
// configuration is wrong (a mismatched or unresolvable advertised address).
func failure(retryable bool, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if retryable {
		return temporal.NewApplicationError(msg, plan.ErrVerifyFailed)
	}
	return temporal.NewNonRetryableApplicationError(msg, plan.ErrVerifyFailed, nil)
}

// DropHint follows a verification error after a connect timed out. A
// timeout, unlike a refused connection (RST: nothing listens), is what a
// cloud network gives when a security group, route table or network ACL
// silently drops the packets (AWS: https://repost.aws/knowledge-center/ec2-troubleshoot-vpc-connectivity;
// Huawei: https://support.huaweicloud.com/intl/en-us/usermanual-vpc/vpc_acl_0001.html).
const DropHint = "(connections timed out: the packets were dropped on the way; check the security groups, route tables and network ACLs between the client network and the brokers)"

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), plan.ErrInvalid, nil)
}

// Verify runs kafka.verify. Steps:
//
//  1. Metadata through the bootstrap addresses.
//  2. Every advertised broker address must equal expectBrokers (when given)
//     and be reachable: a TCP connection from the client's network.
//  3. Identity: advertised addresses can point at the wrong broker (two
//     brokers' advertised IPs swapped). The action keeps a canary topic with
//     one partition per broker, replica assignment partition i → [broker i]
//     (so on a real cluster broker i leads partition i; on clusters that
//     ignore the assignment, preferred-leader elections are requested until
//     every broker leads one). It then connects to each advertised address
//     directly and sends ListOffsets for every canary partition: a broker
//     answers NOT_LEADER_OR_FOLLOWER for partitions it does not lead, so the
//     partitions it does answer name the broker really behind the address. An
//     address answered by another broker than the one advertising it fails
//     with a message naming both.
//  4. Produce a canary record (key = the step's idempotency key) to every
//     canary partition, through the normal client, and consume each back.
//
// Errors are plan.ErrVerifyFailed application errors naming the broker, the
// address and the cause; non-retryable for configuration faults.
//
// Outputs and errors say where the verification dialed from (dialedFrom,
// origin): a probe in the client's network, or the worker's own network.
func (v *verifier) Verify(ctx context.Context, call plan.Call, c catalog.KafkaVerifyIn) (out catalog.KafkaVerifyOut, err error) {
	in, err := parseInputs(c)
	if err != nil {
		return out, invalid(fmt.Errorf("%s: %w", ActionVerify, err))
	}
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	o, raw, err := v.origin(ctx, in)
	if err != nil {
		return out, withOrigin(err, o)
	}
	var dropped atomic.Bool
	out, err = v.verify(ctx, call, in, raw, &dropped)
	// Connections that got no answer until the verification's own deadline
	// were dropped too, even when no single dial reported its timeout.
	if err != nil && (dropped.Load() || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		err = withDropHint(err)
	}
	if err != nil {
		return out, withOrigin(err, o)
	}
	out.DialedFrom = o.Sentence()
	out.Origin = o.Map()
	return out, nil
}

// withDropHint appends DropHint to a verification error, keeping its type
// and retryability.
func withDropHint(err error) error {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || strings.Contains(ae.Message(), DropHint) {
		return err
	}
	msg := ae.Message() + " " + DropHint
	if ae.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil)
	}
	return temporal.NewApplicationError(msg, ae.Type())
}

func (v *verifier) verify(ctx context.Context, call plan.Call, in verifyInputs, raw DialFunc, dropped *atomic.Bool) (catalog.KafkaVerifyOut, error) {
	start := time.Now()
	var extra []byte
	if in.TLS && in.TLSCAPEM == "" && v.opts.ExtraRootCAs != nil {
		var err error
		if extra, err = v.opts.ExtraRootCAs(ctx); err != nil {
			return catalog.KafkaVerifyOut{}, fmt.Errorf("%s: trusted CAs: %w", ActionVerify, err)
		}
	}
	dial, err := withTLS(raw, in, extra)
	if err != nil {
		return catalog.KafkaVerifyOut{}, invalid(fmt.Errorf("%s: %w", ActionVerify, err))
	}
	// A connect that timed out (no answer at all, unlike a refusal) marks the
	// verification as having met dropped packets.
	dialOnce := dial
	dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dialOnce(ctx, network, address)
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() {
			dropped.Store(true)
		}
		return c, err
	}
	base := []kgo.Opt{
		kgo.Dialer(dial),
		kgo.DialTimeout(3 * time.Second),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(5 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.MetadataMinAge(100 * time.Millisecond),
	}
	if in.SASLMechanism != "" {
		var m sasl.Mechanism
		if in.SASLMechanism == MechanismMSKIAM {
			m, err = v.mskIAM(ctx, call.Account, in.Bootstrap)
		} else {
			m, err = v.mechanism(ctx, call.Account, in.SASLMechanism)
		}
		if err != nil {
			return catalog.KafkaVerifyOut{}, err
		}
		base = append(base, kgo.SASL(m))
	}

	// 1. Metadata through the bootstrap addresses.
	meta, err := v.metadata(ctx, base, in.Bootstrap)
	if err != nil {
		return catalog.KafkaVerifyOut{}, err
	}
	brokers := map[int32]string{}
	var ids []int32
	for _, b := range meta.Brokers {
		brokers[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		ids = append(ids, b.NodeID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	// 2. Expected and reachable addresses.
	if in.ExpectBrokers != nil {
		var diffs []string
		for id, want := range in.ExpectBrokers {
			got, ok := brokers[id]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("broker %d (expected at %s) is not in the metadata", id, want))
			case got != want:
				diffs = append(diffs, fmt.Sprintf("broker %d advertises %s, expected %s", id, got, want))
			}
		}
		for _, id := range ids {
			if _, ok := in.ExpectBrokers[id]; !ok {
				diffs = append(diffs, fmt.Sprintf("broker %d (advertising %s) is not expected", id, brokers[id]))
			}
		}
		if len(diffs) > 0 {
			sort.Strings(diffs)
			return catalog.KafkaVerifyOut{}, failure(false, "%s: advertised brokers differ from expectBrokers: %s", ActionVerify, strings.Join(diffs, "; "))
		}
	}
	if in.ExpectAddresses != nil {
		if diff := addressDiff(in.ExpectAddresses, brokers, ids); diff != "" {
			return catalog.KafkaVerifyOut{}, failure(false, "%s: advertised brokers differ from expectAddresses: %s", ActionVerify, diff)
		}
	}
	for _, id := range ids {
		addr := brokers[id]
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			var dnsErr *net.DNSError
			retry := !errors.As(err, &dnsErr) // an unresolvable advertised name is a configuration fault
			return catalog.KafkaVerifyOut{}, failure(retry, "%s: broker %d advertises %s, which the client cannot reach: %v", ActionVerify, id, addr, err)
		}
		_ = c.Close()
	}

	// 3. Identity of the broker behind each advertised address.
	leaders, err := v.canaryTopic(ctx, base, in, ids, brokers)
	if err != nil {
		return catalog.KafkaVerifyOut{}, err
	}
	if err := v.checkIdentity(ctx, base, in.Topic, ids, brokers, leaders); err != nil {
		return catalog.KafkaVerifyOut{}, err
	}

	// 4. Produce and consume.
	recs, err := v.roundTrip(ctx, base, in, call.IdempotencyKey, leaders)
	if err != nil {
		return catalog.KafkaVerifyOut{}, err
	}
	out := map[string]string{}
	for id, a := range brokers {
		out[strconv.Itoa(int(id))] = a
	}
	first := recs[0]
	return catalog.KafkaVerifyOut{
		Bootstrap:   in.Bootstrap,
		Brokers:     out,
		Topic:       in.Topic,
		Partition:   int(first.Partition),
		Offset:      first.Offset,
		Records:     len(recs),
		RoundTripMs: time.Since(start).Milliseconds(),
	}, nil
}

// withTLS wraps dial with the step's TLS settings, if any. The server's
// certificate is checked against the step's caPem, else the system roots
// plus extra (PEM; Options.ExtraRootCAs).
func withTLS(dial DialFunc, in verifyInputs, extra []byte) (DialFunc, error) {
	if !in.TLS {
		return dial, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: in.TLSServerName}
	switch {
	case in.TLSCAPEM != "":
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(in.TLSCAPEM)) {
			return nil, errors.New("input tls.caPem: no certificate found")
		}
		cfg.RootCAs = pool
	case len(extra) > 0:
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(extra) {
			return nil, errors.New("the worker's extra trusted CAs hold no certificate")
		}
		cfg.RootCAs = pool
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dial(ctx, network, address)
		if err != nil {
			return nil, err
		}
		tc := cfg.Clone()
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(address)
		}
		t := tls.Client(c, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", address, err)
		}
		return t, nil
	}, nil
}

func (v *verifier) mechanism(ctx context.Context, account, mech string) (sasl.Mechanism, error) {
	if v.opts.Credentials == nil {
		return nil, invalid(fmt.Errorf("%s: sasl requested but the worker has no credential resolver", ActionVerify))
	}
	if account == "" {
		return nil, invalid(fmt.Errorf("%s: sasl requested but the step names no account", ActionVerify))
	}
	user, pass, err := v.opts.Credentials(ctx, account)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: resolve sasl credentials of account %s: %v", ActionVerify, account, err), plan.ErrUnauthorized, nil)
	}
	switch mech {
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
}

// direct returns a client whose only seed is addr, for requests that must go
// to that address and nowhere else.
func direct(base []kgo.Opt, addr string) (*kgo.Client, *kgo.Broker, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, base...), kgo.SeedBrokers(addr))...)
	if err != nil {
		return nil, nil, err
	}
	return cl, cl.SeedBrokers()[0], nil
}

func (v *verifier) metadata(ctx context.Context, base []kgo.Opt, bootstrap []string) (*kmsg.MetadataResponse, error) {
	var errs []string
	for _, addr := range bootstrap {
		cl, b, err := direct(base, addr)
		if err != nil {
			return nil, invalid(fmt.Errorf("%s: client for %s: %w", ActionVerify, addr, err))
		}
		req := kmsg.NewPtrMetadataRequest()
		resp, err := b.Request(ctx, req)
		cl.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		m := resp.(*kmsg.MetadataResponse)
		if len(m.Brokers) == 0 {
			errs = append(errs, fmt.Sprintf("%s: metadata lists no brokers", addr))
			continue
		}
		return m, nil
	}
	if isAuth(strings.Join(errs, " ")) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: bootstrap: %s", ActionVerify, strings.Join(errs, "; ")), plan.ErrUnauthorized, nil)
	}
	return nil, failure(true, "%s: no bootstrap address answered metadata: %s", ActionVerify, strings.Join(errs, "; "))
}

func isAuth(s string) bool {
	return strings.Contains(s, "SASL_AUTHENTICATION_FAILED") || strings.Contains(s, "authentication failed") || strings.Contains(s, "UNSUPPORTED_SASL_MECHANISM")
}

// canaryTopic makes sure the canary topic exists with one partition per
// broker and returns partition → leader, with every broker leading one.
func (v *verifier) canaryTopic(ctx context.Context, base []kgo.Opt, in verifyInputs, ids []int32, brokers map[int32]string) (map[int32]int32, error) {
	// CreateTopics must reach the controller; the advertised controller
	// address may be the wrong one, so ask each address directly.
	addrs := append(append([]string{}, in.Bootstrap...), addrList(ids, brokers)...)
	created := false
	var errs []string
	for _, addr := range addrs {
		cl, b, err := direct(base, addr)
		if err != nil {
			return nil, invalid(err)
		}
		req := kmsg.NewPtrCreateTopicsRequest()
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = in.Topic
		t.NumPartitions, t.ReplicationFactor = -1, -1
		for i, id := range ids {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition = int32(i)
			ra.Replicas = []int32{id}
			t.ReplicaAssignment = append(t.ReplicaAssignment, ra)
		}
		req.Topics = append(req.Topics, t)
		req.TimeoutMillis = 5000
		resp, err := b.Request(ctx, req)
		cl.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		code := resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
		if code == 0 || code == kerr.TopicAlreadyExists.Code {
			created = true
			break
		}
		errs = append(errs, fmt.Sprintf("%s: create topic %s: %v", addr, in.Topic, kerr.ErrorForCode(code)))
	}
	if !created {
		return nil, failure(true, "%s: cannot create canary topic %s: %s", ActionVerify, in.Topic, strings.Join(errs, "; "))
	}
	if err := v.growCanary(ctx, base, addrs, in, ids); err != nil {
		return nil, err
	}
	want := map[int32]int32{}
	for i, id := range ids {
		want[int32(i)] = id
	}
	for round := 0; ; round++ {
		leaders, err := v.topicLeaders(ctx, base, in.Bootstrap, in.Topic)
		if err != nil {
			return nil, err
		}
		led := map[int32]bool{}
		var off []int32
		for p, l := range leaders {
			led[l] = true
			if w, ok := want[p]; ok && w != l {
				off = append(off, p)
			}
		}
		all := true
		for _, id := range ids {
			all = all && led[id]
		}
		if all {
			return leaders, nil
		}
		if round > len(ids)+1 {
			return nil, failure(true, "%s: canary topic %s: not every broker leads a partition (leaders %v); cannot check which broker answers each address", ActionVerify, in.Topic, leaders)
		}
		if err := v.electPreferred(ctx, base, in.Bootstrap, in.Topic, off); err != nil {
			return nil, err
		}
	}
}

func addrList(ids []int32, brokers map[int32]string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, brokers[id])
	}
	return out
}

func (v *verifier) topicLeaders(ctx context.Context, base []kgo.Opt, bootstrap []string, topic string) (map[int32]int32, error) {
	var errs []string
	for _, addr := range bootstrap {
		cl, b, err := direct(base, addr)
		if err != nil {
			return nil, invalid(err)
		}
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := b.Request(ctx, req)
		cl.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		m := resp.(*kmsg.MetadataResponse)
		if len(m.Topics) != 1 || m.Topics[0].ErrorCode != 0 {
			errs = append(errs, fmt.Sprintf("%s: topic %s not in metadata", addr, topic))
			continue
		}
		out := map[int32]int32{}
		for _, p := range m.Topics[0].Partitions {
			out[p.Partition] = p.Leader
		}
		return out, nil
	}
	return nil, failure(true, "%s: metadata of canary topic %s: %s", ActionVerify, topic, strings.Join(errs, "; "))
}

func (v *verifier) electPreferred(ctx context.Context, base []kgo.Opt, bootstrap []string, topic string, parts []int32) error {
	if len(parts) == 0 {
		return nil
	}
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = 0 // preferred
	req.TimeoutMillis = 5000
	t := kmsg.NewElectLeadersRequestTopic()
	t.Topic = topic
	t.Partitions = parts
	req.Topics = append(req.Topics, t)
	var errs []string
	for _, addr := range bootstrap {
		cl, b, err := direct(base, addr)
		if err != nil {
			return invalid(err)
		}
		_, err = b.Request(ctx, req)
		cl.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	return failure(true, "%s: elect preferred leaders of %s: %s", ActionVerify, topic, strings.Join(errs, "; "))
}

// checkIdentity asks each advertised address which canary partitions it leads.
func (v *verifier) checkIdentity(ctx context.Context, base []kgo.Opt, topic string, ids []int32, brokers map[int32]string, leaders map[int32]int32) error {
	var mism []string
	for _, id := range ids {
		addr := brokers[id]
		cl, b, err := direct(base, addr)
		if err != nil {
			return invalid(err)
		}
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range leaders {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p
			rp.CurrentLeaderEpoch = -1
			rp.Timestamp = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := b.Request(ctx, req)
		cl.Close()
		if err != nil {
			return failure(true, "%s: broker %d at %s: list offsets: %v", ActionVerify, id, addr, err)
		}
		answered := map[int32]bool{}
		for _, t := range resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode == 0 {
					answered[leaders[p.Partition]] = true
				}
			}
		}
		if answered[id] && len(answered) == 1 {
			continue
		}
		var who []string
		for other := range answered {
			who = append(who, strconv.Itoa(int(other)))
		}
		sort.Strings(who)
		if len(who) == 0 {
			mism = append(mism, fmt.Sprintf("broker %d advertises %s, but the broker answering there leads none of broker %d's partitions", id, addr, id))
		} else {
			mism = append(mism, fmt.Sprintf("broker %d advertises %s, but broker %s answers there", id, addr, strings.Join(who, ",")))
		}
	}
	if len(mism) > 0 {
		return failure(false, "%s: advertised broker mapping is wrong: %s", ActionVerify, strings.Join(mism, "; "))
	}
	return nil
}

// roundTrip produces one canary record to every canary partition and consumes each back.
func (v *verifier) roundTrip(ctx context.Context, base []kgo.Opt, in verifyInputs, key string, leaders map[int32]int32) ([]*kgo.Record, error) {
	if key == "" {
		key = "topoflow-verify"
	}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	opts := append(append([]kgo.Opt{}, base...), kgo.SeedBrokers(in.Bootstrap...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, invalid(err)
	}
	defer cl.Close()
	parts := make([]int32, 0, len(leaders))
	for p := range leaders {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var recs []*kgo.Record
	for _, p := range parts {
		recs = append(recs, &kgo.Record{Topic: in.Topic, Partition: p, Key: []byte(key), Value: []byte("canary " + nonce)})
	}
	pctx, cancel := context.WithTimeout(ctx, in.Timeout/2)
	defer cancel()
	for _, r := range cl.ProduceSync(pctx, recs...) {
		if r.Err != nil {
			return nil, failure(true, "%s: produce canary to %s partition %d (leader broker %d): %v", ActionVerify, in.Topic, r.Record.Partition, leaders[r.Record.Partition], r.Err)
		}
	}
	offsets := map[int32]kgo.Offset{}
	want := map[int32]int64{}
	for _, r := range recs {
		offsets[r.Partition] = kgo.NewOffset().At(r.Offset)
		want[r.Partition] = r.Offset
	}
	cons, err := kgo.NewClient(append(append([]kgo.Opt{}, base...), kgo.SeedBrokers(in.Bootstrap...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in.Topic: offsets}), kgo.FetchMaxWait(200*time.Millisecond))...)
	if err != nil {
		return nil, invalid(err)
	}
	defer cons.Close()
	for len(want) > 0 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			var missing []string
			for p := range want {
				missing = append(missing, fmt.Sprintf("partition %d (leader broker %d)", p, leaders[p]))
			}
			sort.Strings(missing)
			return nil, failure(true, "%s: canary not consumed back from %s: %s: %v", ActionVerify, in.Topic, strings.Join(missing, ", "), ctx.Err())
		}
		for _, e := range fs.Errors() {
			if e.Err != nil && !errors.Is(e.Err, context.DeadlineExceeded) {
				return nil, failure(true, "%s: consume %s partition %d (leader broker %d): %v", ActionVerify, e.Topic, e.Partition, leaders[e.Partition], e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			if off, ok := want[r.Partition]; ok && r.Offset == off && string(r.Key) == key && string(r.Value) == "canary "+nonce {
				delete(want, r.Partition)
			}
		})
	}
	return recs, nil
}

// addressDiff compares the advertised addresses with the expected set.
func addressDiff(want []string, brokers map[int32]string, ids []int32) string {
	need := map[string]int{}
	for _, a := range want {
		need[a]++
	}
	var diffs []string
	for _, id := range ids {
		a := brokers[id]
		if need[a] == 0 {
			diffs = append(diffs, fmt.Sprintf("broker %d advertises %s, which is not expected", id, a))
			continue
		}
		need[a]--
	}
	for _, a := range sortedAddrs(need) {
		diffs = append(diffs, fmt.Sprintf("no broker advertises %s", a))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

func sortedAddrs(m map[string]int) []string {
	var out []string
	for a, n := range m {
		for ; n > 0; n-- {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// growCanary adds partitions to a canary topic created when the cluster
// had fewer brokers (brokers added since), each new one assigned to a
// broker that leads none (CreatePartitions with an explicit assignment,
// first replica the preferred leader:
// https://kafka.apache.org/protocol#The_Messages_CreatePartitions, KIP-195).
func (v *verifier) growCanary(ctx context.Context, base []kgo.Opt, addrs []string, in verifyInputs, ids []int32) error {
	leaders, err := v.topicLeaders(ctx, base, in.Bootstrap, in.Topic)
	if err != nil {
		return err
	}
	if len(leaders) >= len(ids) {
		return nil
	}
	led := map[int32]bool{}
	for _, l := range leaders {
		led[l] = true
	}
	var free []int32
	for _, id := range ids {
		if !led[id] {
			free = append(free, id)
		}
	}
	t := kmsg.NewCreatePartitionsRequestTopic()
	t.Topic, t.Count = in.Topic, int32(len(ids))
	for i := len(leaders); i < len(ids); i++ {
		a := kmsg.NewCreatePartitionsRequestTopicAssignment()
		a.Replicas = []int32{ids[i%len(ids)]}
		if j := i - len(leaders); j < len(free) {
			a.Replicas = []int32{free[j]}
		}
		t.Assignment = append(t.Assignment, a)
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 5000
	var errs []string
	for _, addr := range addrs {
		cl, b, err := direct(base, addr)
		if err != nil {
			return invalid(err)
		}
		resp, err := b.Request(ctx, req)
		cl.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		code := resp.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode
		if code == 0 || code == kerr.InvalidPartitions.Code { // InvalidPartitions: another verify added them first
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: add partitions to %s: %v", addr, in.Topic, kerr.ErrorForCode(code)))
	}
	return failure(true, "%s: cannot add partitions to canary topic %s for the new brokers: %s", ActionVerify, in.Topic, strings.Join(errs, "; "))
}
