package emqx_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/emqx"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/worldshift"
)

// TestConnectorsProbeAPI: the deployment's POST /api/v5/connectors_probe
// answers as EMQX 5 does: 404 for another deployment, 401
// BAD_API_KEY_OR_SECRET for a wrong key or another deployment's key, 400
// BAD_REQUEST for a bad configuration (before any dial), 400 TEST_FAILED
// when the connector cannot reach the target from the deployment's network,
// 204 once it can (kafka_producer: a real metadata round trip; http: the
// connection of its health check, with the TLS handshake for https).
func TestConnectorsProbeAPI(t *testing.T) {
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"emqx"}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.ReadFiles(worldFile("default.yaml"), worldFile("emqx-peering.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	shift, release := worldshift.Take()
	defer release()
	if err := w.Shift(shift); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const (
		hwKey, hwSecret = "h5e0c1a9appid00001", "emqx-hw-api-secret-7c1d9e3a5b2f4d6c8e0a"
		awsKey          = "a7e0c2b4appid00001"
		awsSecret       = "emqx-aws-api-secret-2e4a6c8d0f1b3d5e7a9c"
		ours, emqxVPC   = "4f1a0c3e-0000-4000-8000-00000000e001", "4f1a0c3e-0000-4000-8000-00000000f001"
	)
	probe := func(deployment, key, secret string, body map[string]any) (int, map[string]string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, url+emqx.DeploymentAPIPrefix+deployment+"/api/v5/connectors_probe", bytes.NewReader(b))
		req.SetBasicAuth(key, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	kafka := map[string]any{"type": "kafka_producer", "name": "probe", "bootstrap_hosts": "172.16.0.11:9092", "connect_timeout": "300ms"}
	httpc := map[string]any{"type": "http", "name": "probe", "url": "http://172.16.0.11:9092/", "connect_timeout": "300ms"}
	for _, c := range []struct {
		name                    string
		deployment, key, secret string
		body                    map[string]any
		status                  int
		code, message           string
	}{
		{"unknown deployment", "zzzzzzzz", hwKey, hwSecret, kafka, 404, "NOT_FOUND", ""},
		{"wrong secret", "h5e0c1a9", hwKey, "nope", kafka, 401, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret"},
		{"another deployment's key", "h5e0c1a9", awsKey, awsSecret, kafka, 401, "BAD_API_KEY_OR_SECRET", ""},
		{"bad name", "h5e0c1a9", hwKey, hwSecret, map[string]any{"type": "kafka_producer", "name": "-x", "bootstrap_hosts": "172.16.0.11:9092"}, 400, "BAD_REQUEST", "name"},
		{"unknown type", "h5e0c1a9", hwKey, hwSecret, map[string]any{"type": "mysql", "name": "x"}, 400, "BAD_REQUEST", "unknown connector type"},
		{"no bootstrap hosts", "h5e0c1a9", hwKey, hwSecret, map[string]any{"type": "kafka_producer", "name": "x"}, 400, "BAD_REQUEST", "bootstrap_hosts"},
		{"kafka without a way", "h5e0c1a9", hwKey, hwSecret, kafka, 400, "TEST_FAILED", "has no route to 172.16.0.11"},
		{"http without a way", "h5e0c1a9", hwKey, hwSecret, httpc, 400, "TEST_FAILED", "health check of 172.16.0.11:9092 failed"},
	} {
		if code, e := probe(c.deployment, c.key, c.secret, c.body); code != c.status || e["code"] != c.code || !strings.Contains(e["message"], c.message) {
			t.Errorf("%s: %d %v, want %d %s containing %q", c.name, code, e, c.status, c.code, c.message)
		}
	}
	// The way and the rule: both probes pass.
	const pcx = "peering-api-test"
	if _, err := inventory.Create(s.Inventory, &inventory.Peering{Meta: inventory.Meta{ID: pcx, Status: inventory.PeeringActive}, VPCID: ours, PeerVPCID: emqxVPC}); err != nil {
		t.Fatal(err)
	}
	for table, dst := range map[string]string{"8d2b6f0a-0000-4000-8000-00000000e004": "10.64.130.0/24", "8d2b6f0a-0000-4000-8000-00000000f004": "172.16.0.0/20"} {
		if _, err := inventory.Update(s.Inventory, table, func(rt *inventory.RouteTable) error {
			rt.Routes = []inventory.Route{{Destination: dst, NextHopType: "peering", NextHop: pcx}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inventory.Update(s.Inventory, "4f1a0c3e-0000-4000-8000-00000000e003", func(g *inventory.SecurityGroup) error {
		g.Rules = append(g.Rules, inventory.SGRule{Direction: "ingress", Protocol: "tcp", PortMin: 9092, PortMax: 9092, RemoteCIDR: "10.64.130.0/24"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]map[string]any{"kafka": kafka, "http": httpc} {
		if code, e := probe("h5e0c1a9", hwKey, hwSecret, body); code != http.StatusNoContent {
			t.Errorf("%s with the way and the rule: %d %v, want 204", name, code, e)
		}
	}
	// https needs the TLS handshake of the pool's connection: a plaintext listener fails it.
	https := map[string]any{"type": "http", "name": "probe", "url": "https://172.16.0.11:9092/", "connect_timeout": "1s"}
	if code, e := probe("h5e0c1a9", hwKey, hwSecret, https); code != http.StatusBadRequest || e["code"] != "TEST_FAILED" || !strings.Contains(e["message"], "TLS handshake") {
		t.Errorf("https to a plaintext listener: %d %v, want 400 TEST_FAILED naming the TLS handshake", code, e)
	}
}
