package trust_test

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/topoflow/topoflow/trust"
)

func mustYAML(t *testing.T, c *trust.Config) []byte {
	t.Helper()
	type ident struct {
		SSH  []string        `yaml:"ssh,omitempty"`
		OIDC []trust.Subject `yaml:"oidc,omitempty"`
	}
	type prov struct {
		Issuer   string `yaml:"issuer"`
		Audience string `yaml:"audience"`
		JWKSURL  string `yaml:"jwksUrl"`
	}
	doc := struct {
		Mode        string              `yaml:"mode"`
		Identities  map[string]ident    `yaml:"identities"`
		Groups      map[string][]string `yaml:"groups"`
		OIDC        []prov              `yaml:"oidc"`
		PlanSigners []string            `yaml:"planSigners,omitempty"`
	}{Mode: c.Mode, Identities: map[string]ident{}, Groups: c.Groups, PlanSigners: c.PlanSigners}
	for n, i := range c.Identities {
		doc.Identities[n] = ident{SSH: i.SSH, OIDC: i.OIDC}
	}
	for _, p := range c.OIDC {
		doc.OIDC = append(doc.OIDC, prov(p))
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
