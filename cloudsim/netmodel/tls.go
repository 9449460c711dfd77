package netmodel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TLS-terminating listeners. Some managed listeners accept only TLS: MSK's
// ports 9094 (TLS), 9096 (SASL/SCRAM) and 9098 (IAM), and every multi-VPC
// private connectivity listener, encrypt in transit and present a
// certificate for the brokers' DNS names, never for their IP addresses
// (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html,
// https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html:
// "multi-VPC private connectivity … TLS encryption in transit").
// An endpoint or listener whose Attrs[AttrTLS] is "true" terminates TLS
// before anything else (SASL included) with a certificate for the names in
// Attrs[AttrTLSNames] signed by the network's CA ([Network.CAPEM]); a
// plaintext client is closed at its first bytes, as a TLS server does.

// Endpoint and listener attributes of TLS termination.
const (
	// AttrTLS is "true" on a listener that accepts only TLS.
	AttrTLS = "tls"
	// AttrTLSNames lists, comma-separated, the DNS names its certificate
	// covers (wildcards allowed, as "*.cluster.abc123.c2.kafka.eu-west-1.amazonaws.com").
	AttrTLSNames = "tlsNames"
)

// ca is a network's certificate authority, created on first use.
type ca struct {
	once sync.Once
	err  error
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pem  []byte

	mu    sync.Mutex
	leafs map[string]*tls.Config // by sorted names
}

func (c *ca) init() error {
	c.once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			c.err = fmt.Errorf("cloudsim CA key: %w", err)
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: "cloudsim root CA", Organization: []string{"Topoflow cloudsim"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			c.err = fmt.Errorf("cloudsim CA certificate: %w", err)
			return
		}
		c.cert, _ = x509.ParseCertificate(der)
		c.key = key
		c.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		c.leafs = map[string]*tls.Config{}
	})
	return c.err
}

// serverConfig returns a TLS server configuration presenting a certificate
// for names, signed by the CA (cached per set of names).
func (c *ca) serverConfig(names []string) (*tls.Config, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	names = slices.Sorted(slices.Values(names))
	k := strings.Join(names, ",")
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg, ok := c.leafs[k]; ok {
		return cfg, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	c.leafs[k] = cfg
	return cfg, nil
}

// CAPEM returns the PEM certificate of the CA that signs the network's TLS
// listeners' certificates: what a client of the twin trusts in place of the
// public CAs that sign the real services' certificates.
func (n *Network) CAPEM() ([]byte, error) {
	if err := n.ca.init(); err != nil {
		return nil, err
	}
	return n.ca.pem, nil
}

// tlsFor returns the TLS server configuration of an endpoint's listener, nil
// when it is not TLS-only. A TLS-only endpoint naming no names gets a
// configuration no handshake can complete (never a plaintext listener).
func (n *Network) tlsFor(ep *inventory.Endpoint) *tls.Config {
	if ep.Attrs[AttrTLS] != "true" {
		return nil
	}
	var names []string
	for _, s := range strings.Split(ep.Attrs[AttrTLSNames], ",") {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		n.fail("endpoint %s: TLS listener without %s", ep.ID, AttrTLSNames)
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg, err := n.ca.serverConfig(names)
	if err != nil {
		n.fail("endpoint %s: %v", ep.ID, err)
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return cfg
}
