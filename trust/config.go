package trust

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// Modes of a worker's trust.
const (
	// ModeDev accepts unsigned decisions (recorded as "unverified"); signed
	// ones are still verified and refused when they do not verify.
	ModeDev = "dev"
	// ModeStrict refuses unsigned decisions and unsigned plans.
	ModeStrict = "strict"
)

// GroupPrefix marks a group in a gate's who, a plan's operators or planSigners.
const GroupPrefix = "group:"

// Config is the trust file: who is who, as the worker knows it.
//
// Format (YAML; unknown fields are refused):
//
//	mode: strict                     # strict | dev (default dev)
//	identities:
//	  kafka-owner@example.com:
//	    ssh:                         # authorized_keys lines
//	      - ssh-ed25519 AAAAC3Nz... owner@laptop
//	    oidc:                        # OIDC subjects that are this person
//	      - {issuer: https://login.example.com, subject: 00u1abcd}
//	groups:                          # referenced as group:<name>
//	  kafka-owners: [kafka-owner@example.com]
//	  platform-oncall: [oncall@example.com]
//	oidc:                            # trusted OIDC providers
//	  - issuer: https://login.example.com
//	    audience: topoflow           # the client ID the ID tokens are issued for
//	    jwksUrl: https://login.example.com/oauth2/v1/keys
//	planSigners: [group:platform-oncall, release-pipeline]   # who may sign plans (apply)
//	requireSpec: true                # run only plans the worker recompiles from their spec to the same sha256
//	accountOperators:                # operators of requests acting as an account (when the spec names none)
//	  hw-kafka-owner: [group:kafka-owners, group:platform-oncall]
type Config struct {
	Mode             string              `yaml:"mode"`
	RequireSpec      bool                `yaml:"requireSpec"`
	AccountOperators map[string][]string `yaml:"accountOperators"`
	Identities       map[string]Identity `yaml:"identities"`
	Groups           map[string][]string `yaml:"groups"`
	OIDC             []Provider          `yaml:"oidc"`
	PlanSigners      []string            `yaml:"planSigners"`
}

// Identity is one principal's credentials.
type Identity struct {
	// SSH are public keys in authorized_keys form.
	SSH []string `yaml:"ssh"`
	// OIDC are the (issuer, subject) pairs of this principal's ID tokens.
	OIDC []Subject `yaml:"oidc"`
}

// Subject is an OIDC issuer and subject.
type Subject struct {
	Issuer  string `yaml:"issuer" json:"issuer"`
	Subject string `yaml:"subject" json:"subject"`
}

// Provider is a trusted OIDC provider.
type Provider struct {
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	JWKSURL  string `yaml:"jwksUrl"`
}

// ReadConfig reads and checks a trust file.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust file: %w", err)
	}
	return ParseConfig(path, b)
}

// ParseConfig parses and checks a trust file's content.
func ParseConfig(name string, b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Mode {
	case "":
		c.Mode = ModeDev
	case ModeDev, ModeStrict:
	default:
		add("mode is %q, want strict or dev", c.Mode)
	}
	issuers := map[string]bool{}
	for i, p := range c.OIDC {
		u, err := url.Parse(p.JWKSURL)
		switch {
		case p.Issuer == "":
			add("oidc[%d]: issuer is empty", i)
		case issuers[p.Issuer]:
			add("oidc[%d]: issuer %s listed twice", i, p.Issuer)
		case p.Audience == "":
			add("oidc[%d] (%s): audience is empty (the client ID the tokens are issued for)", i, p.Issuer)
		case err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))):
			add("oidc[%d] (%s): jwksUrl %q must be an https URL (http only on loopback)", i, p.Issuer, p.JWKSURL)
		}
		issuers[p.Issuer] = true
	}
	seen := map[string]string{}
	for _, name := range sortedNames(c.Identities) {
		id := c.Identities[name]
		if name == "" || strings.HasPrefix(name, GroupPrefix) || len(name) > MaxIdentity {
			add("identity %q: a name is 1 to %d bytes and does not start with %s", name, MaxIdentity, GroupPrefix)
		}
		for j, line := range id.SSH {
			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				add("identity %s: ssh[%d]: not an authorized_keys line: %v", name, j, err)
				continue
			}
			fp := ssh.FingerprintSHA256(pub)
			if other, ok := seen[fp]; ok {
				add("identity %s: ssh key %s is also %s's", name, fp, other)
			}
			seen[fp] = name
		}
		for j, s := range id.OIDC {
			if !issuers[s.Issuer] {
				add("identity %s: oidc[%d]: issuer %q is not among the oidc providers", name, j, s.Issuer)
			}
			if s.Subject == "" {
				add("identity %s: oidc[%d]: subject is empty", name, j)
			}
			key := "oidc " + s.Issuer + " " + s.Subject
			if other, ok := seen[key]; ok {
				add("identity %s: %s is also %s's", name, key, other)
			}
			seen[key] = name
		}
	}
	for _, g := range sortedNames(c.Groups) {
		for _, m := range c.Groups[g] {
			if _, ok := c.Identities[m]; !ok {
				add("group %s: member %q is not an identity", g, m)
			}
		}
	}
	checkWho := func(what string, who []string) {
		for _, s := range who {
			if g, ok := strings.CutPrefix(s, GroupPrefix); ok {
				if _, ok := c.Groups[g]; !ok {
					add("%s: no group %q", what, g)
				}
			} else if _, ok := c.Identities[s]; !ok {
				add("%s: %q is not an identity", what, s)
			}
		}
	}
	checkWho("planSigners", c.PlanSigners)
	for _, a := range sortedNames(c.AccountOperators) {
		checkWho("accountOperators."+a, c.AccountOperators[a])
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
