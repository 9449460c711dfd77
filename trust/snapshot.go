package trust

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/ssh"
)

// Verification methods recorded in the audit.
const (
	MethodSSH        = "ssh"
	MethodOIDC       = "oidc"
	MethodUnverified = "unverified"
)

// Clock limits of a statement: it must have been signed at most MaxAge ago
// and at most MaxFuture ahead of the verifier's clock.
const (
	MaxAge    = 15 * time.Minute
	MaxFuture = 2 * time.Minute
)

// ErrUnknownKey means a signature names a key the snapshot does not know (an
// SSH key of no identity, an OIDC key ID not in the provider's JWKS): the
// key may be new, so the holder of the snapshot should refresh it and the
// caller retry.
var ErrUnknownKey = errors.New("unknown key")

// Snapshot is the worker's trust at one moment: the trust file with the OIDC
// providers' public keys, as the interpreter workflow holds it. It is plain
// data (it goes through workflow history): names, public keys, fingerprints.
type Snapshot struct {
	// Configured is false when the worker has no trust file (dev mode, names only).
	Configured bool `json:"configured"`
	// Mode is ModeStrict or ModeDev.
	Mode string `json:"mode"`
	// Identities by name.
	Identities map[string]IdentityKeys `json:"identities,omitempty"`
	// Groups by name: member identity names.
	Groups map[string][]string `json:"groups,omitempty"`
	// Providers are the trusted OIDC providers with their keys.
	Providers []ProviderKeys `json:"providers,omitempty"`
	// PlanSigners may sign plans (identities or group:<name>).
	PlanSigners []string `json:"planSigners,omitempty"`
	// RequireSpec runs only requests that carry their spec source, which
	// the worker compiles again to the same plan sha256.
	RequireSpec bool `json:"requireSpec,omitempty"`
	// AccountOperators are the operators of requests acting as an account
	// (account name → identities or group:<name>), used when the plan names none.
	AccountOperators map[string][]string `json:"accountOperators,omitempty"`
}

// IdentityKeys is one identity's public credentials.
type IdentityKeys struct {
	// SSH are authorized_keys lines (type and base64 only).
	SSH []string `json:"ssh,omitempty"`
	// Fingerprints are the SHA256 fingerprints of SSH, in the same order.
	Fingerprints []string `json:"fingerprints,omitempty"`
	// OIDC are the identity's OIDC subjects.
	OIDC []Subject `json:"oidc,omitempty"`
}

// ProviderKeys is an OIDC provider and its JWKS as last fetched.
type ProviderKeys struct {
	Issuer   string `json:"issuer"`
	Audience string `json:"audience"`
	JWKSURL  string `json:"jwksUrl"`
	// JWKS is the provider's public key set (JSON).
	JWKS json.RawMessage `json:"jwks"`
	// KeyIDs are the kids of JWKS.
	KeyIDs []string `json:"keyIds"`
}

// Principal is who a verified (or, in dev mode, claimed) decision is from.
type Principal struct {
	// Name is the identity's name.
	Name string `json:"name"`
	// Method is MethodSSH, MethodOIDC or MethodUnverified.
	Method string `json:"method"`
	// Detail is the SSH key's fingerprint, or the OIDC issuer and subject.
	Detail string `json:"detail,omitempty"`
}

// String is e.g. "alice@example.com (ssh SHA256:...)".
func (p Principal) String() string {
	if p.Detail == "" {
		return p.Name + " (" + p.Method + ")"
	}
	return p.Name + " (" + p.Method + " " + p.Detail + ")"
}

// Strict reports whether unsigned decisions and plans are refused.
func (s *Snapshot) Strict() bool { return s.Mode == ModeStrict }

// Verify checks a signature at time now: the statement's clock limits, its
// signature, and that the key or OIDC subject belongs to the identity the
// statement names. It does no I/O. The caller checks that the statement is
// the one it expects ([Statement.Match]) and what the principal may do.
func (s *Snapshot) Verify(sig *Signature, now time.Time) (Principal, error) {
	st := sig.Statement
	if err := st.checkSizes(); err != nil {
		return Principal{}, err
	}
	at, err := time.Parse(time.RFC3339, st.At)
	if err != nil {
		return Principal{}, fmt.Errorf("statement time %s: want RFC 3339", short(st.At))
	}
	if now.Sub(at) > MaxAge {
		return Principal{}, fmt.Errorf("statement was signed at %s, more than %s ago: sign the decision again", st.At, MaxAge)
	}
	if at.Sub(now) > MaxFuture {
		return Principal{}, fmt.Errorf("statement is dated %s, in the future (now %s): check the signer's clock", st.At, now.UTC().Format(time.RFC3339))
	}
	switch {
	case sig.SSH != "" && sig.OIDC != "":
		return Principal{}, errors.New("a signature carries either an SSH signature or an OIDC token, not both")
	case sig.SSH != "":
		return s.verifySSH(sig.SSH, st)
	case sig.OIDC != "":
		return s.verifyOIDC(sig.OIDC, st, now)
	}
	return Principal{}, errors.New("signature has neither an SSH signature nor an OIDC token")
}

func (st Statement) checkSizes() error {
	switch {
	case len(st.Identity) > MaxIdentity:
		return fmt.Errorf("identity of %d bytes is longer than %d", len(st.Identity), MaxIdentity)
	case len(st.Comment) > MaxComment:
		return fmt.Errorf("comment of %d bytes is longer than %d", len(st.Comment), MaxComment)
	case len(st.WorkflowID) > MaxID, len(st.RunID) > MaxID, len(st.Step) > MaxID, len(st.Kind) > MaxID,
		len(st.PlanSHA256) > 128, len(st.DataSHA256) > 128, len(st.At) > 64, len(st.Nonce) > 128, len(st.Version) > 64:
		return errors.New("statement field too long")
	}
	return nil
}

func (s *Snapshot) verifySSH(armored string, st Statement) (Principal, error) {
	pub, err := VerifySSH(armored, Namespace, st.Bytes())
	if err != nil {
		return Principal{}, err
	}
	fp := ssh.FingerprintSHA256(pub)
	for _, name := range sortedNames(s.Identities) {
		if slices.Contains(s.Identities[name].Fingerprints, fp) {
			if name != st.Identity {
				return Principal{}, fmt.Errorf("SSH key %s is %s's, but the statement claims to be from %s", fp, name, short(st.Identity))
			}
			return Principal{Name: name, Method: MethodSSH, Detail: fp}, nil
		}
	}
	return Principal{}, fmt.Errorf("%w: SSH key %s belongs to no identity in the worker's trust file "+
		"(a key added just now is picked up when the request refreshes its trust: retry in a few seconds)", ErrUnknownKey, fp)
}

// oidcAlgs are the signature algorithms accepted in ID tokens.
var oidcAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

func (s *Snapshot) verifyOIDC(raw string, st Statement, now time.Time) (Principal, error) {
	if len(raw) > MaxOIDCToken {
		return Principal{}, fmt.Errorf("OIDC token of %d bytes is larger than %d", len(raw), MaxOIDCToken)
	}
	algs := make([]jose.SignatureAlgorithm, len(oidcAlgs))
	for i, a := range oidcAlgs {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	// An ID token is a JWT: JWS compact serialization (RFC 7519 section 1).
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return Principal{}, fmt.Errorf("OIDC token: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return Principal{}, errors.New("OIDC token must have exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	// The issuer is read unverified only to pick the provider; go-oidc checks it again.
	var claims struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return Principal{}, fmt.Errorf("OIDC token claims: %v", err)
	}
	var prov *ProviderKeys
	for i := range s.Providers {
		if s.Providers[i].Issuer == claims.Issuer {
			prov = &s.Providers[i]
		}
	}
	if prov == nil {
		return Principal{}, fmt.Errorf("OIDC token issuer %s is not a trusted provider of this worker", short(claims.Issuer))
	}
	keys, err := prov.publicKeys(kid)
	if err != nil {
		return Principal{}, err
	}
	v := oidc.NewVerifier(prov.Issuer, &oidc.StaticKeySet{PublicKeys: keys}, &oidc.Config{
		ClientID: prov.Audience, SupportedSigningAlgs: oidcAlgs, Now: func() time.Time { return now },
	})
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		return Principal{}, fmt.Errorf("OIDC token refused: %v", err)
	}
	if tok.IssuedAt.After(now.Add(MaxFuture)) {
		return Principal{}, fmt.Errorf("OIDC token is not valid yet (issued at %s, now %s)", tok.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if tok.Nonce != st.Hash() {
		return Principal{}, errors.New("OIDC token's nonce is not this statement's hash: the token was issued for another decision, or the statement was changed")
	}
	for _, name := range sortedNames(s.Identities) {
		if slices.Contains(s.Identities[name].OIDC, Subject{Issuer: tok.Issuer, Subject: tok.Subject}) {
			if name != st.Identity {
				return Principal{}, fmt.Errorf("OIDC subject %s is %s, but the statement claims to be from %s", short(tok.Subject), name, short(st.Identity))
			}
			return Principal{Name: name, Method: MethodOIDC, Detail: tok.Issuer + " " + tok.Subject}, nil
		}
	}
	return Principal{}, fmt.Errorf("OIDC subject %s of %s is no identity in the worker's trust file", short(tok.Subject), tok.Issuer)
}

// publicKeys returns the JWKS keys with kid (all when the token names none).
func (p *ProviderKeys) publicKeys(kid string) ([]crypto.PublicKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(p.JWKS, &set); err != nil {
		return nil, fmt.Errorf("JWKS of %s: %v", p.Issuer, err)
	}
	var out []crypto.PublicKey
	for _, k := range set.Keys {
		if (kid == "" || k.KeyID == kid) && k.IsPublic() && k.Use != "enc" {
			out = append(out, k.Key)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: OIDC key ID %s is not in the JWKS of %s (a rotated key is picked up when the request refreshes its trust: retry in a few seconds)",
			ErrUnknownKey, short(kid), p.Issuer)
	}
	return out, nil
}

// Allowed reports whether the principal name is one of who (an identity
// name, or a member of a group:<name>) and which entry admitted it.
func (s *Snapshot) Allowed(name string, who []string) (string, bool) {
	for _, w := range who {
		if g, ok := strings.CutPrefix(w, GroupPrefix); ok {
			if slices.Contains(s.Groups[g], name) {
				return w, true
			}
		} else if w == name {
			return w, true
		}
	}
	return "", false
}

// Expand lists the identity names of who (groups replaced by their
// members; an unknown group stays as it is so people see it), sorted, unique.
func (s *Snapshot) Expand(who []string) []string {
	var out []string
	for _, w := range who {
		if g, ok := strings.CutPrefix(w, GroupPrefix); ok {
			if members, ok := s.Groups[g]; ok {
				out = append(out, members...)
				continue
			}
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
