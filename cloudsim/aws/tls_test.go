package aws_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// tlsDialer dials from a VPC of the twin and runs a TLS handshake checking
// the server's certificate for the dialed host name against the twin's CA,
// as a client of the real service checks it against the public CAs.
func tlsDialer(t *testing.T, w *wire, vpc string) func(ctx context.Context, network, host string) (net.Conn, error) {
	t.Helper()
	pemCA, err := w.sim.Net.CAPEM()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		t.Fatal("the twin's CA PEM holds no certificate")
	}
	dial := w.sim.Net.DialFrom(vpc)
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		c, err := dial(ctx, network, host)
		if err != nil {
			return nil, err
		}
		name, _, _ := net.SplitHostPort(host)
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		return tc, nil
	}
}

// MSK's IAM listener accepts only TLS, with a certificate for the brokers'
// names (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html):
// a plaintext client is closed before any Kafka request is answered, and a
// client dialing a broker's IP address cannot verify the certificate.
func TestMSKIAMListenerIsTLSOnly(t *testing.T) {
	w := start(t)
	const (
		mskVPC = "vpc-0a5c0000000msk01"
		seed   = "b-1.msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"
	)
	request := func(dialer func(ctx context.Context, network, host string) (net.Conn, error), seed string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seed), kgo.Dialer(dialer), kgo.RetryTimeout(2*time.Second), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl.SeedBrokers()[0])
		return err
	}
	if err := request(tlsDialer(t, w, mskVPC), seed); err != nil {
		t.Fatalf("ApiVersions over TLS on 9098: %v", err)
	}
	if err := request(w.sim.Net.DialFrom(mskVPC), seed); err == nil {
		t.Fatal("a plaintext client was answered on the IAM listener")
	}
	ip, err := w.sim.Net.Resolve(mskVPC, strings.Split(seed, ":")[0])
	if err != nil {
		t.Fatal(err)
	}
	err = request(tlsDialer(t, w, mskVPC), net.JoinHostPort(ip, "9098"))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("TLS to the broker's address %s: %v, want a certificate error (the certificate names the brokers, not their IPs)", ip, err)
	}
}
