// Package mqtt implements mqtt.verify: it proves that a client network
// reaches an MQTT broker (the EMQX Platform deployment behind a VPC
// peering) by connecting, subscribing, publishing a nonce and reading it
// back, from a probe in the client's network when there is one.
package mqtt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// DefaultTopic is the nonce's topic when the step names none.
const DefaultTopic = "topoflow/verify"

// defaultTimeout bounds a verification without a timeout input.
const defaultTimeout = 20 * time.Second

// DropHint follows a verification error after the connect timed out: a
// dropped SYN is what a cloud network gives when a route or a security group
// is missing (AWS: https://repost.aws/knowledge-center/ec2-troubleshoot-vpc-connectivity;
// Huawei: https://support.huaweicloud.com/intl/en-us/usermanual-vpc/en-us_topic_0046655037.html).
const DropHint = "(the connection timed out: the packets were dropped on the way; check our route to the deployment's CIDR through the peering, the peering's status, and the security groups)"

// Options configure mqtt.verify: the same dialing choices as kafka.verify
// (a probe's network, the network model in activity-level tests, or the
// worker's own network).
type Options = kafka.Options

// Register adds mqtt.verify to reg.
func Register(reg *activities.Registry, opts Options) {
	v := &verifier{opts: opts}
	reg.Add(catalog.MQTTVerify, activities.Typed(v.Verify))
}

type verifier struct{ opts Options }

func failure(retryable bool, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if retryable {
		return temporal.NewApplicationError(msg, plan.ErrVerifyFailed)
	}
	return temporal.NewNonRetryableApplicationError(msg, plan.ErrVerifyFailed, nil)
}

// Verify runs mqtt.verify: dial, CONNECT, SUBSCRIBE, PUBLISH a nonce at QoS
// 1, read it back.
func (v *verifier) Verify(ctx context.Context, call plan.Call, in catalog.MQTTVerifyIn) (out catalog.MQTTVerifyOut, err error) {
	const action = catalog.MQTTVerify
	timeout := defaultTimeout
	if in.Timeout != "" {
		if timeout, err = time.ParseDuration(in.Timeout); err != nil || timeout <= 0 {
			return out, activities.Invalid("%s: timeout %q is not a positive duration", action, in.Timeout)
		}
	}
	if _, _, err := net.SplitHostPort(in.Address); err != nil {
		return out, activities.Invalid("%s: address %q is not host:port", action, in.Address)
	}
	topic := in.Topic
	if topic == "" {
		topic = DefaultTopic
	}
	if strings.ContainsAny(topic, "+#") {
		return out, activities.Invalid("%s: topic %q has a wildcard: the nonce is published to it", action, topic)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	o, dial, err := kafka.ResolveOrigin(ctx, v.opts, action, in.ClientNetwork)
	if err != nil {
		return out, err
	}
	sum := sha256.Sum256([]byte(call.IdempotencyKey))
	nonce := "topoflow-" + hex.EncodeToString(sum[:8]) + "-" + fmt.Sprint(time.Now().UnixNano())
	start := time.Now()
	if err := roundTrip(ctx, dial, in.Address, topic, nonce, hex.EncodeToString(sum[:6])); err != nil {
		return out, withOrigin(err, o)
	}
	return catalog.MQTTVerifyOut{
		Address: in.Address, Topic: topic, Nonce: nonce, RoundTripMs: time.Since(start).Milliseconds(),
		DialedFrom: o.Sentence(), Origin: o.Map(),
	}, nil
}

// roundTrip connects to addr through dial, subscribes to topic, publishes
// nonce and waits for it.
func roundTrip(ctx context.Context, dial kafka.DialFunc, addr, topic, nonce, id string) error {
	const action = catalog.MQTTVerify
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return failure(true, "%s: connect to %s: %v %s", action, addr, err, DropHint)
		}
		return failure(true, "%s: connect to %s: %v", action, addr, err)
	}
	got := make(chan string, 4)
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			if pr.Packet.Topic == topic {
				select {
				case got <- string(pr.Packet.Payload):
				default:
				}
			}
			return true, nil
		}},
	})
	defer conn.Close()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: "topoflow-verify-" + id, CleanStart: true, KeepAlive: 30})
	if err != nil {
		if ack != nil && ack.ReasonCode >= 0x80 {
			// CONNACK reason codes ≥ 0x80 are refusals (MQTT 5.0 §3.2.2.2): not cured by retrying.
			return failure(false, "%s: broker %s refused the connection: reason code 0x%02x %s", action, addr, ack.ReasonCode, ack.Properties.ReasonString)
		}
		return failure(true, "%s: MQTT CONNECT to %s: %v", action, addr, err)
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{ReasonCode: 0}) }()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err != nil {
		return failure(true, "%s: SUBSCRIBE %s at %s: %v", action, topic, addr, err)
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80 {
		return failure(false, "%s: broker %s refused the subscription to %s: reason codes %v", action, addr, topic, sa.Reasons)
	}
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(nonce)}); err != nil {
		return failure(true, "%s: PUBLISH to %s at %s: %v", action, topic, addr, err)
	}
	for {
		select {
		case p := <-got:
			if p == nonce {
				return nil
			}
		case <-ctx.Done():
			return failure(true, "%s: the nonce published to %s at %s did not come back: %v", action, topic, addr, ctx.Err())
		}
	}
}

// withOrigin appends where the verification dialed from to an application
// error's message, keeping its type and retryability.
func withOrigin(err error, o kafka.Origin) error {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(ae.Message()+" [dialed "+o.Sentence()+"]", ae.Type(),
		temporal.ApplicationErrorOptions{NonRetryable: ae.NonRetryable()})
}
