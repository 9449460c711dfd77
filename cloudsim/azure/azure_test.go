package azure_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/azure"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

const (
	sub    = "00000000-0000-4000-8000-000000000001"
	tenant = "00000000-0000-4000-8000-0000000000aa"
	client = "00000000-0000-4000-8000-0000000000c1"
	secret = "az-hdinsight-client-secret-3d4e5f6a7b8c"
	static = "az-hdinsight-bearer-token-4e5f6a7b8c9d"
	hdi    = "/subscriptions/" + sub + "/resourceGroups/rg-kafka/providers/Microsoft.Network/virtualNetworks/hdi-vnet"
	aks    = "/subscriptions/" + sub + "/resourceGroups/rg-aks/providers/Microsoft.Network/virtualNetworks/aks-vnet"
	apiNet = "?api-version=2024-05-01"
)

func start(t *testing.T) (*cloudsim.Sim, *azure.Server) {
	t.Helper()
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"azure"}})
	srv, ok := azure.ServerOf(sim)
	if !ok {
		t.Fatal("no azure server on the sim")
	}
	return sim, srv
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, u, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasSuffix(u, "/token") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: map[string]any{}}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func code(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestTokenEndpoint(t *testing.T) {
	sim, _ := start(t)
	form := func(id, sec, scope string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}, "scope": {scope}}.Encode()
	}
	cases := []struct {
		name, tenant, body string
		status             int
	}{
		{"valid", tenant, form(client, secret, "https://management.core.windows.net//.default"), 200},
		{"wrong secret", tenant, form(client, "nope", "https://management.core.windows.net//.default"), 401},
		{"unknown client", tenant, form("nobody", secret, "https://management.core.windows.net//.default"), 400},
		{"scope without /.default", tenant, form(client, secret, "https://management.core.windows.net/"), 400},
		{"wrong tenant", "other-tenant", form(client, secret, "https://management.core.windows.net//.default"), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, http.MethodPost, sim.URL()+"/"+tc.tenant+"/oauth2/v2.0/token", "", tc.body)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d (%v)", a.status, tc.status, a.body)
			}
			if tc.status == 200 {
				tok, _ := a.body["access_token"].(string)
				if tok == "" || a.body["token_type"] != "Bearer" {
					t.Fatalf("token answer %v", a.body)
				}
				// The minted token authorizes ARM calls of its subscription.
				if got := do(t, http.MethodGet, sim.URL()+hdi+"/virtualNetworkPeerings"+apiNet, tok, ""); got.status != 200 {
					t.Fatalf("ARM with minted token: %d %v", got.status, got.body)
				}
			}
		})
	}
}

func TestARMRequestRules(t *testing.T) {
	sim, _ := start(t)
	list := sim.URL() + hdi + "/virtualNetworkPeerings"
	cases := []struct {
		name, method, url, token string
		status                   int
		code                     string
	}{
		{"no token", "GET", list + apiNet, "", 401, "AuthenticationFailed"},
		{"bad token", "GET", list + apiNet, "nope", 401, "InvalidAuthenticationToken"},
		{"other subscription", "GET", sim.URL() + "/subscriptions/11111111-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings" + apiNet, static, 403, "AuthorizationFailed"},
		{"no api-version", "GET", list, static, 400, "MissingApiVersionParameter"},
		{"unknown api-version", "GET", list + "?api-version=1999-01-01", static, 400, "InvalidApiVersionParameter"},
		{"unknown VNet", "GET", sim.URL() + "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/nope/virtualNetworkPeerings" + apiNet, static, 404, "ResourceNotFound"},
		{"unknown resource type", "GET", sim.URL() + "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x" + apiNet, static, 404, "InvalidResourceType"},
		{"delete missing peering", "DELETE", list + "/nope" + apiNet, static, 204, ""},
		{"list", "GET", list + apiNet, static, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, tc.method, tc.url, tc.token, "")
			if a.status != tc.status || code(a) != tc.code {
				t.Fatalf("got %d %q, want %d %q (%v)", a.status, code(a), tc.status, tc.code, a.body)
			}
		})
	}
}

func TestPeeringLongRunningOperation(t *testing.T) {
	sim, srv := start(t)
	body := `{"properties":{"allowVirtualNetworkAccess":true,"remoteVirtualNetwork":{"id":"` + aks + `"}}}`
	a := do(t, http.MethodPut, sim.URL()+hdi+"/virtualNetworkPeerings/p1"+apiNet, static, body)
	if a.status != 201 || a.header.Get("Azure-AsyncOperation") == "" || a.header.Get("Retry-After-Ms") == "" {
		t.Fatalf("PUT: %d %v %v", a.status, a.header, a.body)
	}
	if ps := a.body["properties"].(map[string]any); ps["provisioningState"] != "Updating" || ps["peeringState"] != "Initiated" {
		t.Fatalf("PUT body %v", a.body)
	}
	// A second operation on the VNet while the first runs: 409.
	b := do(t, http.MethodPut, sim.URL()+hdi+"/virtualNetworkPeerings/p2"+apiNet, static, body)
	if b.status != 409 || code(b) != "AnotherOperationInProgress" {
		t.Fatalf("concurrent PUT: %d %v", b.status, b.body)
	}
	// Overlapping address spaces are refused.
	c := do(t, http.MethodPut, sim.URL()+hdi+"/virtualNetworkPeerings/p3"+apiNet, static, `{"properties":{"remoteVirtualNetwork":{"id":"`+hdi+`"}}}`)
	if c.status != 400 {
		t.Fatalf("self peering: %d %v", c.status, c.body)
	}
	op := a.header.Get("Azure-AsyncOperation")
	var last answer
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		last = do(t, http.MethodGet, op, static, "")
		if last.body["status"] != "InProgress" {
			break
		}
		if last.header.Get("Retry-After-Ms") == "" {
			t.Fatal("InProgress without Retry-After-Ms")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last.body["status"] != "Succeeded" || len(srv.Operations()) != 0 {
		t.Fatalf("operation: %v, running %v", last.body, srv.Operations())
	}
	g := do(t, http.MethodGet, sim.URL()+hdi+"/virtualNetworkPeerings/p1"+apiNet, static, "")
	if ps := g.body["properties"].(map[string]any); ps["provisioningState"] != "Succeeded" || ps["peeringState"] != "Initiated" {
		t.Fatalf("GET after the operation: %v", g.body)
	}
}
