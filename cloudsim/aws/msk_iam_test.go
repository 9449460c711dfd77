package aws_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

const (
	clientBKey    = "AKIAAWSCLIENTB000002"
	clientBSecret = "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e"
)

// signerToken is an MSK IAM token made by AWS's signer library.
func signerToken(t *testing.T, key, secret, region string) string {
	t.Helper()
	tok, _, err := signer.GenerateAuthTokenFromCredentialsProvider(context.Background(), region, credentials.NewStaticCredentialsProvider(key, secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// presignedToken builds a token as the signer does (signer/msk_auth_token_provider.go)
// but with the host, action and signing time of the test's choosing.
func presignedToken(t *testing.T, host, action string, at time.Time) string {
	t.Helper()
	q := url.Values{"Action": {action}, "X-Amz-Expires": {"900"}}
	req, _ := http.NewRequest(http.MethodGet, (&url.URL{Scheme: "https", Host: host, Path: "/", RawQuery: q.Encode()}).String(), nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), awssdk.Credentials{AccessKeyID: mskKey, SecretAccessKey: mskSecret}, req,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "kafka-cluster", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(u))
}

func bearer(tok string) sasl.Mechanism { return oauth.Auth{Token: tok}.AsMechanism() }

// The listeners of an IAM VPC connection check MSK IAM as MSK does: a
// token signed by AWS's signer library with a key of the cluster's account,
// or of an account the cluster policy allows kafka-cluster:Connect, is
// accepted; a wrong secret, an unknown key, an expired token, a token for
// another host or action, another SASL mechanism, a client without SASL or
// an account the policy does not allow are refused.
func TestMSKIAMListener(t *testing.T) {
	w := start(t)
	inv := w.sim.Inventory
	const (
		arn    = "arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"
		conn   = "arn:aws:kafka:eu-west-1:222222222222:vpc-connection/111111111111/msk-prod/iam"
		client = "vpc-0a5c000000clib01"
		seed   = "b-1.iam.msk-prod.x1y2z3.c2.kafka.eu-west-1.amazonaws.com:14001"
	)
	if _, err := inventory.Create(inv, &inventory.Endpoint{
		Meta:  inventory.Meta{ID: conn, Account: "aws-client-b", Region: "eu-west-1", Status: "AVAILABLE"},
		VPCID: client, SubnetID: "subnet-0a5c000clib01",
		Attrs: map[string]string{"awsType": "msk-vpc-connection", "targetClusterArn": arn, "authentication": "SASL_IAM"},
	}); err != nil {
		t.Fatal(err)
	}
	allowB := func(actions string) {
		t.Helper()
		if _, err := inventory.Update(inv, arn, func(k *inventory.KafkaInstance) error {
			if k.Attrs == nil {
				k.Attrs = map[string]string{}
			}
			k.Attrs["policy"] = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":%s,"Resource":"*"}]}`, actions)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	metadata := func(m sasl.Mechanism) error {
		opts := []kgo.Opt{kgo.SeedBrokers(seed), kgo.Dialer(tlsDialer(t, w, client)), kgo.RetryTimeout(2 * time.Second), kgo.RequestRetries(0)}
		if m != nil {
			opts = append(opts, kgo.SASL(m))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
		return err
	}
	now := time.Now()
	cases := []struct {
		name   string
		policy string // cluster policy actions for account 222222222222 ("" keeps the previous)
		mech   sasl.Mechanism
		want   string // "" = accepted, else a substring of the error
	}{
		{name: "owner account", mech: bearer(signerToken(t, mskKey, mskSecret, "eu-west-1"))},
		{name: "client account without a cluster policy", mech: bearer(signerToken(t, clientBKey, clientBSecret, "eu-west-1")), want: "not authorized to perform kafka-cluster:Connect"},
		{name: "client account allowed only multi-VPC actions", policy: `["kafka:CreateVpcConnection","kafka:GetBootstrapBrokers"]`, mech: bearer(signerToken(t, clientBKey, clientBSecret, "eu-west-1")), want: "not authorized"},
		{name: "client account allowed kafka-cluster:*", policy: `["kafka:GetBootstrapBrokers","kafka-cluster:*"]`, mech: bearer(signerToken(t, clientBKey, clientBSecret, "eu-west-1"))},
		{name: "wrong secret", mech: bearer(signerToken(t, clientBKey, "not-the-secret", "eu-west-1")), want: "signature we calculated does not match"},
		{name: "unknown key", mech: bearer(signerToken(t, "AKIAUNKNOWN000000000", "whatever", "eu-west-1")), want: "does not exist"},
		{name: "other region", mech: bearer(signerToken(t, mskKey, mskSecret, "us-east-1")), want: "signed for host"},
		{name: "expired", mech: bearer(presignedToken(t, "kafka.eu-west-1.amazonaws.com", "kafka-cluster:Connect", now.Add(-16*time.Minute))), want: "expired"},
		{name: "other action", mech: bearer(presignedToken(t, "kafka.eu-west-1.amazonaws.com", "kafka-cluster:WriteData", now)), want: "Action"},
		{name: "not a presigned URL", mech: bearer("bm90LWEtdXJs"), want: "Access denied"},
		{name: "PLAIN instead of OAUTHBEARER", mech: plain.Auth{User: "admin", Pass: "admin"}.AsMechanism(), want: "UNSUPPORTED_SASL_MECHANISM"},
		{name: "no SASL", want: "SASL is required but not provided"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.policy != "" {
				allowB(c.policy)
			}
			err := metadata(c.mech)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted, want refused with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// Inside the cluster's VPC, every broker of a cluster with IAM client
// authentication serves MSK's IAM listener on 9098: metadata through it
// names the brokers on 9098, and it refuses clients without a valid token.
func TestMSKIAMListenerInVPC(t *testing.T) {
	w := start(t)
	const (
		mskVPC = "vpc-0a5c0000000msk01"
		seed   = "b-1.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"
	)
	metadata := func(m sasl.Mechanism) (*kmsg.MetadataResponse, error) {
		opts := []kgo.Opt{kgo.SeedBrokers(seed), kgo.Dialer(tlsDialer(t, w, mskVPC)), kgo.RetryTimeout(2 * time.Second), kgo.RequestRetries(0)}
		if m != nil {
			opts = append(opts, kgo.SASL(m))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	}
	m, err := metadata(bearer(signerToken(t, mskKey, mskSecret, "eu-west-1")))
	if err != nil {
		t.Fatalf("owner's token on 9098: %v", err)
	}
	for _, b := range m.Brokers {
		if want := fmt.Sprintf("b-%d.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com", b.NodeID+1); b.Host != want || b.Port != 9098 {
			t.Errorf("broker %d advertised %s:%d on the IAM listener, want %s:9098", b.NodeID, b.Host, b.Port, want)
		}
	}
	if _, err := metadata(nil); err == nil || !strings.Contains(err.Error(), "SASL is required") {
		t.Errorf("no SASL on 9098: %v, want the connection closed", err)
	}
	if _, err := metadata(bearer(signerToken(t, mskKey, "wrong", "eu-west-1"))); err == nil || !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
		t.Errorf("wrong secret on 9098: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}
