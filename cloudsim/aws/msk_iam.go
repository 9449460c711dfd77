package aws

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/auth"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
)

// MSK IAM access control on the IAM listeners
// (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
// A client authenticates with SASL/OAUTHBEARER (RFC 7628) whose bearer token
// is a SigV4-presigned URL, base64url-encoded without padding, as AWS's
// signer libraries make it (github.com/aws/aws-msk-iam-sasl-signer-go
// signer/msk_auth_token_provider.go: GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect,
// signing name kafka-cluster, X-Amz-Expires 900, only the host header
// signed, User-Agent appended after signing). The listener checks:
//
//   - the token decodes to an https URL for kafka.<cluster region>.amazonaws.com
//     with Action=kafka-cluster:Connect;
//   - its SigV4 signature with the secret of the access key it names (an
//     unknown key, a wrong secret, a foreign region or signing name are refused);
//   - its expiry (X-Amz-Date + X-Amz-Expires) and, for temporary keys, the
//     session token and the session's own expiry;
//   - authorization of kafka-cluster:Connect: the cluster owner's account
//     is allowed (the twin models no identity policies); another account
//     only when the cluster policy allows it kafka-cluster:Connect
//     (https://docs.aws.amazon.com/msk/latest/developerguide/mvpc-cluster-owner-action-policy.html,
//     whose example grants "kafka-cluster:*").
//
// The session lifetime granted is the token's remaining validity, after
// which a client re-authenticates (KIP-368), as MSK does. Other
// kafka-cluster:* actions (WriteData, ReadData, CreateTopic, …) are not
// checked per request.

// saslIAM is the netmodel.AttrKafkaAuth name of MSK IAM listeners.
const saslIAM = "AWS_MSK_IAM"

// Query parameters and values of an MSK IAM token (signer/msk_auth_token_provider.go).
const (
	iamAction      = "kafka-cluster:Connect"
	iamSigningName = "kafka-cluster"
)

// iamDenied is the error a refused MSK IAM authentication gives the client
// (MSK answers SASL_AUTHENTICATION_FAILED "Access denied"; the twin adds why).
func iamDenied(format string, a ...any) error {
	return fmt.Errorf("Access denied: "+format, a...)
}

// bearerToken extracts the token of an OAUTHBEARER client-first message
// (RFC 7628 §3.1: gs2-header, then kvpairs separated by \x01, "auth=Bearer <token>").
func bearerToken(msg []byte) (string, error) {
	parts := bytes.Split(msg, []byte{1})
	if len(parts) < 2 || !bytes.HasPrefix(parts[0], []byte("n,")) && !bytes.HasPrefix(parts[0], []byte("y,")) {
		return "", errors.New("not an OAUTHBEARER client-first message")
	}
	for _, kv := range parts[1:] {
		if tok, ok := bytes.CutPrefix(kv, []byte("auth=Bearer ")); ok && len(tok) > 0 {
			return string(tok), nil
		}
	}
	return "", errors.New("OAUTHBEARER message carries no bearer token")
}

// mskIAMAuth authenticates one OAUTHBEARER exchange on an MSK IAM listener
// (a broker's 9098 listener or a multi-VPC connection's, whose Attrs name
// the cluster).
func (a *api) mskIAMAuth(ep *inventory.Endpoint, msg []byte) (time.Duration, error) {
	return a.checkIAMToken(ep.Attrs["clusterArn"], msg, time.Now())
}

func (a *api) checkIAMToken(clusterArn string, msg []byte, now time.Time) (time.Duration, error) {
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, clusterArn)
	if err != nil {
		return 0, iamDenied("cluster %s not found", clusterArn)
	}
	tok, err := bearerToken(msg)
	if err != nil {
		return 0, iamDenied("%v", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil {
		return 0, iamDenied("the token is not base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil || u.Scheme != "https" {
		return 0, iamDenied("the token is not a presigned https URL")
	}
	region := k.Region
	if want := "kafka." + region + ".amazonaws.com"; u.Host != want {
		return 0, iamDenied("the token is signed for host %q, want %q", u.Host, want)
	}
	if got := u.Query().Get("Action"); got != iamAction {
		return 0, iamDenied("the token's Action is %q, want %s", got, iamAction)
	}
	info, err := auth.PresignedSigV4(a.inv, u, now, "User-Agent")
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			return 0, iamDenied("%s", ae.Message)
		}
		return 0, iamDenied("%v", err)
	}
	if info.Service != iamSigningName || info.Region != region {
		return 0, iamDenied("the token is signed for %s in %s, want %s in %s", info.Service, info.Region, iamSigningName, region)
	}
	expires := info.Expires
	a.smu.Lock()
	s, temp := a.sessions[info.KeyID]
	a.smu.Unlock()
	if temp {
		if info.SessionToken != s.token {
			return 0, iamDenied("the security token included in the request is invalid")
		}
		if now.After(s.expires) {
			return 0, iamDenied("the security token included in the request is expired")
		}
		if s.expires.Before(expires) {
			expires = s.expires
		}
	}
	owner, err := a.inv.AccountBy(k.Account)
	if err != nil {
		return 0, iamDenied("the cluster's account %s is unknown", k.Account)
	}
	if info.Account.AccountID != owner.AccountID && !policyAllows(k.Attrs["policy"], info.Account.AccountID, iamAction) {
		return 0, iamDenied("account %s is not authorized to perform %s on %s (the cluster policy does not allow it)", info.Account.AccountID, iamAction, k.ID)
	}
	return expires.Sub(now), nil
}

// registerIAM makes the network check MSK IAM on listeners marked saslIAM.
func (a *api) registerIAM() {
	a.sim.Net.RegisterSASL(saslIAM, "OAUTHBEARER", a.mskIAMAuth)
	a.watchIAMListeners()
}

var _ netmodel.SASLAuthenticator = (*api)(nil).mskIAMAuth

// iamPort is the port of MSK's IAM listener for clients inside AWS
// (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html:
// 9098 for IAM access control within AWS, TLS only; the twin's is TLS-only too).
const iamPort = 9098

func iamListenerKey(clusterArn string, broker int32) string {
	return fmt.Sprintf("%s:iam:broker-%d", clusterArn, broker)
}

// watchIAMListeners serves an IAM listener on port 9098 of every broker of
// an MSK cluster with IAM client authentication (Attrs iamAuth), in front of
// the broker's own port, advertising the brokers' names on 9098 (the
// bootstrapBrokerStringSaslIam of GetBootstrapBrokers), and stops it when
// the cluster or its IAM authentication goes.
func (a *api) watchIAMListeners() {
	a.inv.Watch(func(ev inventory.Event) {
		if ev.Kind != inventory.KindKafka {
			return
		}
		old, _ := ev.Old.(*inventory.KafkaInstance)
		k, _ := ev.New.(*inventory.KafkaInstance)
		keep := map[string]bool{}
		if k != nil && k.Engine == "msk" && k.Attrs["iamAuth"] == "true" {
			adv := map[int32]string{}
			var names []string
			for _, b := range k.Brokers {
				adv[b.ID] = fmt.Sprintf("%s:%d", b.AdvertisedHost(), iamPort)
				if net.ParseIP(b.AdvertisedHost()) == nil {
					names = append(names, b.AdvertisedHost())
				}
			}
			for _, b := range k.Brokers {
				key := iamListenerKey(k.ID, b.ID)
				keep[key] = true
				// TLS-only, with a certificate for the brokers' names and
				// none for their addresses, as the real listener
				// (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html:
				// 9098 "TLS"); netmodel/tls.go.
				l := netmodel.Listener{
					Listen: fmt.Sprintf("%s:%d", b.ListenerIP, iamPort), Target: fmt.Sprintf("%s:%d", b.ListenerIP, b.Port),
					Advertised: adv, Attrs: map[string]string{netmodel.AttrKafkaAuth: saslIAM, "clusterArn": k.ID,
						netmodel.AttrTLS: "true", netmodel.AttrTLSNames: strings.Join(names, ",")},
				}
				_ = a.sim.Net.SetListener(key, l) // a failure is in Net.Errors
			}
		}
		if old != nil {
			for _, b := range old.Brokers {
				if key := iamListenerKey(old.ID, b.ID); !keep[key] {
					a.sim.Net.RemoveListener(key)
				}
			}
		}
	})
}
