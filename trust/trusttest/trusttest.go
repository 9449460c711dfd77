// Package trusttest gives tests real signing parts: an OIDC issuer
// (github.com/oauth2-proxy/mockoidc, a real OIDC server with discovery, JWKS
// and the authorization-code flow) and freshly generated SSH keys.
package trusttest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/crypto/ssh"

	"github.com/topoflow/topoflow/trust"
)

// Issuer is a running OIDC provider.
type Issuer struct {
	M *mockoidc.MockOIDC
}

// NewIssuer starts an OIDC provider on loopback, stopped at the test's end.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("start OIDC issuer: %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return &Issuer{M: m}
}

// Provider is the trust file entry of the issuer.
func (i *Issuer) Provider() trust.Provider {
	c := i.M.Config()
	return trust.Provider{Issuer: c.Issuer, Audience: c.ClientID, JWKSURL: i.M.JWKSEndpoint()}
}

// Token runs the authorization-code flow for subject with nonce and returns
// the ID token the issuer signed.
func (i *Issuer) Token(t testing.TB, subject, nonce string) string {
	t.Helper()
	tok, err := i.TokenErr(subject, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TokenErr is Token returning its error.
func (i *Issuer) TokenErr(subject, nonce string) (string, error) {
	c := i.M.Config()
	i.M.QueueUser(&mockoidc.MockUser{Subject: subject, Email: subject + "@example.com"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	q := url.Values{"scope": {"openid email"}, "state": {"s"}, "client_id": {c.ClientID}, "response_type": {"code"},
		"redirect_uri": {"http://127.0.0.1/cb"}, "nonce": {nonce}}
	resp, err := noRedirect.Get(i.M.AuthorizationEndpoint() + "?" + q.Encode())
	if err != nil {
		return "", fmt.Errorf("authorize: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize: HTTP %d, no code in %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "redirect_uri": {"http://127.0.0.1/cb"}}
	resp, err = noRedirect.Post(i.M.TokenEndpoint(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.IDToken == "" {
		return "", fmt.Errorf("token: HTTP %d, no id_token (%v)", resp.StatusCode, err)
	}
	return tr.IDToken, nil
}

// SignOIDC signs st with an ID token of subject.
func (i *Issuer) SignOIDC(t testing.TB, subject string, st trust.Statement) *trust.Signature {
	t.Helper()
	return &trust.Signature{Statement: st, OIDC: i.Token(t, subject, st.Hash())}
}

// Key is a generated SSH key.
type Key struct {
	Signer ssh.Signer
	// Authorized is its authorized_keys line.
	Authorized string
	// Private is the unencrypted OpenSSH private key file content.
	Private []byte
}

// NewKey generates an SSH key: "ed25519" or "rsa".
func NewKey(t testing.TB, kind string) Key {
	t.Helper()
	var priv any
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := ssh.MarshalPrivateKey(priv, "topoflow test key")
	if err != nil {
		t.Fatal(err)
	}
	return Key{Signer: s, Authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))), Private: encodePEM(pem.Type, pem.Bytes)}
}

// SignSSH signs st with the key.
func (k Key) SignSSH(t testing.TB, st trust.Statement) *trust.Signature {
	t.Helper()
	sig, err := trust.SignWithSSH(k.Signer, st)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Fingerprint is the key's SHA256 fingerprint.
func (k Key) Fingerprint() string { return ssh.FingerprintSHA256(k.Signer.PublicKey()) }

// Rotate replaces the issuer's signing key: its JWKS then serves only the
// new key (kid), as after a provider's key rotation.
func (i *Issuer) Rotate(t testing.TB) {
	t.Helper()
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	i.M.Keypair = kp
}
