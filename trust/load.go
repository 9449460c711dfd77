package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/ssh"
)

// maxJWKS bounds a fetched JWKS document.
const maxJWKS = 1 << 20

// Load reads the trust file at path and fetches every OIDC provider's JWKS
// with hc. An empty path gives the unconfigured dev snapshot.
func Load(ctx context.Context, path string, hc *http.Client) (Snapshot, error) {
	if path == "" {
		return Snapshot{Mode: ModeDev}, nil
	}
	c, err := ReadConfig(path)
	if err != nil {
		return Snapshot{}, err
	}
	return c.Snapshot(ctx, hc)
}

// Snapshot fetches the providers' keys and builds the snapshot of c.
func (c *Config) Snapshot(ctx context.Context, hc *http.Client) (Snapshot, error) {
	s := Snapshot{Configured: true, Mode: c.Mode, Identities: map[string]IdentityKeys{}, Groups: map[string][]string{},
		PlanSigners: append([]string(nil), c.PlanSigners...), RequireSpec: c.RequireSpec}
	for _, a := range sortedNames(c.AccountOperators) {
		if s.AccountOperators == nil {
			s.AccountOperators = map[string][]string{}
		}
		s.AccountOperators[a] = append([]string(nil), c.AccountOperators[a]...)
	}
	for _, name := range sortedNames(c.Identities) {
		var ik IdentityKeys
		for _, line := range c.Identities[name].SSH {
			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return Snapshot{}, fmt.Errorf("identity %s: %w", name, err)
			}
			ik.SSH = append(ik.SSH, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))))
			ik.Fingerprints = append(ik.Fingerprints, ssh.FingerprintSHA256(pub))
		}
		ik.OIDC = append(ik.OIDC, c.Identities[name].OIDC...)
		s.Identities[name] = ik
	}
	for _, g := range sortedNames(c.Groups) {
		m := append([]string(nil), c.Groups[g]...)
		slices.Sort(m)
		s.Groups[g] = slices.Compact(m)
	}
	for _, p := range c.OIDC {
		pk, err := fetchJWKS(ctx, hc, p)
		if err != nil {
			return Snapshot{}, err
		}
		s.Providers = append(s.Providers, pk)
	}
	return s, nil
}

func fetchJWKS(ctx context.Context, hc *http.Client, p Provider) (ProviderKeys, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.JWKSURL, nil)
	if err != nil {
		return ProviderKeys{}, fmt.Errorf("JWKS of %s: %w", p.Issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return ProviderKeys{}, fmt.Errorf("fetch JWKS of %s: %w", p.Issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ProviderKeys{}, fmt.Errorf("fetch JWKS of %s from %s: HTTP %d", p.Issuer, p.JWKSURL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return ProviderKeys{}, fmt.Errorf("read JWKS of %s: %w", p.Issuer, err)
	}
	if len(b) > maxJWKS {
		return ProviderKeys{}, fmt.Errorf("JWKS of %s is larger than %d bytes", p.Issuer, maxJWKS)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return ProviderKeys{}, fmt.Errorf("JWKS of %s: %w", p.Issuer, err)
	}
	// Keep public signing keys only: a JWKS that leaks a private key must not carry it into history.
	var keep jose.JSONWebKeySet
	var kids []string
	for _, k := range set.Keys {
		if !k.Valid() || k.Use == "enc" {
			continue
		}
		pub := k.Public()
		if !pub.Valid() {
			continue
		}
		keep.Keys = append(keep.Keys, pub)
		kids = append(kids, k.KeyID)
	}
	if len(keep.Keys) == 0 {
		return ProviderKeys{}, fmt.Errorf("JWKS of %s at %s has no public signing key", p.Issuer, p.JWKSURL)
	}
	out, err := json.Marshal(keep)
	if err != nil {
		return ProviderKeys{}, fmt.Errorf("JWKS of %s: %w", p.Issuer, err)
	}
	return ProviderKeys{Issuer: p.Issuer, Audience: p.Audience, JWKSURL: p.JWKSURL, JWKS: out, KeyIDs: kids}, nil
}
