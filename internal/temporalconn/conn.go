// Package temporalconn holds how to reach a Temporal frontend (address,
// namespace, TLS, API key) and its environment variables, shared by the
// worker and the CLI; it links no cloud SDK, so the CLI does not either.
package temporalconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Conn is how to reach a Temporal frontend: address, namespace and
// credentials (mTLS client certificate, API key for Temporal Cloud).
type Conn struct {
	// Address is the frontend's host:port.
	Address string
	// Namespace is the Temporal namespace.
	Namespace string
	// TLSCert and TLSKey are PEM files of a client certificate (mTLS).
	TLSCert, TLSKey string
	// TLSCA is a PEM file of CA certificates that sign the server's certificate;
	// empty means the system roots.
	TLSCA string
	// TLSServerName overrides the server name checked in the server's certificate.
	TLSServerName string
	// TLS forces TLS on even without certificates (implied by TLSCert, TLSCA and APIKey).
	TLS bool
	// APIKey authenticates to Temporal Cloud (sent as a bearer token over TLS).
	APIKey string
}

// Environment variable names of the connection settings.
const (
	EnvAddress       = "TEMPORAL_ADDRESS"
	EnvNamespace     = "TEMPORAL_NAMESPACE"
	EnvTLSCert       = "TEMPORAL_TLS_CERT"
	EnvTLSKey        = "TEMPORAL_TLS_KEY"
	EnvTLSCA         = "TEMPORAL_TLS_CA"
	EnvTLSServerName = "TEMPORAL_TLS_SERVER_NAME"
	EnvTLS           = "TEMPORAL_TLS"
	EnvAPIKey        = "TEMPORAL_API_KEY"
)

// UseTLS reports whether the connection uses TLS: forced on, or implied by
// a client certificate, a CA, an API key or a server name.
func (c Conn) UseTLS() bool {
	return c.TLS || c.TLSCert != "" || c.TLSCA != "" || c.APIKey != "" || c.TLSServerName != ""
}

// ClientOptions returns the Temporal client options of c: address,
// namespace, TLS (client certificate, custom CA, server name) and API-key
// credentials. logger and metrics may be nil.
func (c Conn) ClientOptions(logger *slog.Logger, metrics client.MetricsHandler) (client.Options, error) {
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, MetricsHandler: metrics}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	if c.UseTLS() {
		tc, err := c.tlsConfig()
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return opts, nil
}

func (c Conn) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if c.TLSCert != "" || c.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS client certificate %s: %w", c.TLSCert, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s holds no PEM certificate", c.TLSCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Dial connects to Temporal and checks that the frontend answers, retrying
// for up to wait (so a worker started together with the server waits for
// it). The error says which address could not be reached.
func (c Conn) Dial(ctx context.Context, opts client.Options, wait time.Duration) (client.Client, error) {
	deadline := time.Now().Add(wait)
	delay := 200 * time.Millisecond
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cl, err := client.DialContext(dctx, opts)
		cancel()
		if err == nil {
			return cl, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", c.Address, c.Namespace, errors.Join(err, ctx.Err()))
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}
