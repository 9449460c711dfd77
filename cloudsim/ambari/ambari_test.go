package ambari_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/ambari"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

const (
	user    = "admin"
	pass    = "az-ambari-password-5f6a7b8c9d0e"
	kafkaID = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-kafka/providers/Microsoft.HDInsight/clusters/kafka1"
	base    = "/api/v1/clusters/kafka1"
)

type answer struct {
	status      int
	contentType string
	raw         string
	body        map[string]any
}

func call(t *testing.T, sim *cloudsim.Sim, method, path, body string, auth, csrf bool) answer {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(user, pass)
	}
	if csrf {
		req.Header.Set("X-Requested-By", "test")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: string(raw), body: map[string]any{}}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func start(t *testing.T) (*cloudsim.Sim, *ambari.Server) {
	t.Helper()
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"ambari"}})
	srv, ok := ambari.ServerOf(sim)
	if !ok {
		t.Fatal("no ambari server on the sim")
	}
	return sim, srv
}

func TestRequestRules(t *testing.T) {
	sim, srv := start(t)
	cases := []struct {
		name, method, path, body string
		auth, csrf               bool
		status                   int
		msg                      string
	}{
		{"no auth", "GET", base, "", false, false, 401, "Authentication required"},
		{"unknown cluster", "GET", "/api/v1/clusters/Kafka1", "", true, false, 404, "Cluster not found"},
		{"no X-Requested-By", "PUT", base + "/services/KAFKA", `{"Body":{"ServiceInfo":{"maintenance_state":"ON"}}}`, true, false, 400, "CSRF protection"},
		{"unknown service", "GET", base + "/services/HDFS", "", true, false, 404, "Service not found"},
		{"bad body", "PUT", base, `{`, true, true, 400, "Malformed"},
		{"duplicate tag", "PUT", base, `{"Clusters":{"desired_config":{"type":"kafka-env","tag":"INITIAL","properties":{}}}}`, true, true, 400, "exists for 'kafka-env'"},
		{"restart without filters", "POST", base + "/requests", `{"RequestInfo":{"command":"RESTART"}}`, true, true, 400, "resource_filters"},
		{"command and action", "POST", base + "/requests", `{"RequestInfo":{"command":"RESTART","action":"x"}}`, true, true, 400, "Either command or action"},
		{"unknown request", "GET", base + "/requests/424242", "", true, false, 404, "requestId=424242"},
		{"maintenance already OFF: empty 200", "PUT", base + "/services/KAFKA", `{"Body":{"ServiceInfo":{"maintenance_state":"OFF"}}}`, true, true, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, sim, tc.method, tc.path, tc.body, tc.auth, tc.csrf)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if tc.msg == "" && a.raw != "" {
				t.Fatalf("want an empty body, got %q", a.raw)
			}
			if !strings.Contains(a.raw, tc.msg) || (tc.status >= 400 && a.body["status"] != float64(tc.status)) {
				t.Fatalf("body %s, want Ambari's error shape with %q", a.raw, tc.msg)
			}
			if a.raw != "" && !strings.HasPrefix(a.contentType, "text/plain") {
				t.Fatalf("Content-Type %q, want text/plain as Ambari sends", a.contentType)
			}
		})
	}
	if len(srv.Events()) != 0 {
		t.Fatalf("refused requests changed state: %v", srv.Events())
	}
}

func staleHosts(t *testing.T, sim *cloudsim.Sim) int {
	t.Helper()
	a := call(t, sim, "GET", base+"/host_components?HostRoles/stale_configs=true&HostRoles/service_name=KAFKA&fields=HostRoles/host_name", "", true, false)
	items, _ := a.body["items"].([]any)
	return len(items)
}

func TestConfigChangeStagesAndRestartApplies(t *testing.T) {
	sim, srv := start(t)
	if n := staleHosts(t, sim); n != 0 {
		t.Fatalf("%d stale host components before any change", n)
	}
	env := call(t, sim, "GET", base+"/configurations?type=kafka-env&tag=INITIAL", "", true, false)
	items := env.body["items"].([]any)
	props := items[0].(map[string]any)["properties"].(map[string]any)
	props["content"] = props["content"].(string) + "\n" + ambari.AdvertiseMarker + "\n"
	body, _ := json.Marshal([]any{map[string]any{"Clusters": map[string]any{"desired_config": []any{
		map[string]any{"type": "kafka-env", "tag": "v2", "properties": props, "service_config_version_note": "ips"},
		map[string]any{"type": "kafka-broker", "tag": "v2", "properties": map[string]any{"listeners": ambari.ListenAll}},
	}}}})
	if a := call(t, sim, "PUT", base, string(body), true, true); a.status != 200 {
		t.Fatalf("put configs: %d %s", a.status, a.raw)
	}
	d := call(t, sim, "GET", base+"?fields=Clusters/desired_configs", "", true, false)
	dc := d.body["Clusters"].(map[string]any)["desired_configs"].(map[string]any)
	if dc["kafka-env"].(map[string]any)["tag"] != "v2" || dc["kafka-broker"].(map[string]any)["version"] != float64(2) {
		t.Fatalf("desired configs %v", dc)
	}
	if n := staleHosts(t, sim); n != 3 {
		t.Fatalf("%d stale host components after the change, want 3", n)
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
	for _, b := range k.Brokers {
		if b.AdvertisedHost() != b.Host || b.PendingAdvertised != b.ListenerIP {
			t.Fatalf("broker %d before restart: advertises %s, staged %s", b.ID, b.AdvertisedHost(), b.PendingAdvertised)
		}
	}
	// Stop, then start, through the service state (the other restart form).
	for _, state := range []string{"INSTALLED", "STARTED"} {
		a := call(t, sim, "PUT", base+"/services/KAFKA", `{"RequestInfo":{"context":"_PARSE_.`+state+`"},"Body":{"ServiceInfo":{"state":"`+state+`"}}}`, true, true)
		if a.status != 202 {
			t.Fatalf("%s: %d %s", state, a.status, a.raw)
		}
		id := a.body["Requests"].(map[string]any)["id"].(float64)
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := call(t, sim, "GET", base+"/requests/"+jsonNum(id), "", true, false)
			st := r.body["Requests"].(map[string]any)["request_status"]
			if st == "COMPLETED" {
				break
			}
			if st != "PENDING" && st != "IN_PROGRESS" || time.Now().After(deadline) {
				t.Fatalf("%s request: %s", state, r.raw)
			}
			time.Sleep(10 * time.Millisecond)
		}
		k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
		for _, b := range k.Brokers {
			if b.Down != (state == "INSTALLED") {
				t.Fatalf("after %s broker %d down=%v", state, b.ID, b.Down)
			}
		}
	}
	k, _ = inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
	for _, b := range k.Brokers {
		if b.AdvertisedHost() != b.ListenerIP {
			t.Fatalf("broker %d after restart advertises %s", b.ID, b.AdvertisedHost())
		}
	}
	if n := staleHosts(t, sim); n != 0 {
		t.Fatalf("%d stale host components after the restart", n)
	}
	// Hosts and their IPs, filtered to the brokers.
	h := call(t, sim, "GET", base+"/hosts?host_components/HostRoles/component_name=KAFKA_BROKER&fields=Hosts/ip,Hosts/host_name", "", true, false)
	if hs := h.body["items"].([]any); len(hs) != 3 || !strings.HasPrefix(hs[0].(map[string]any)["Hosts"].(map[string]any)["ip"].(string), "127.") {
		t.Fatalf("hosts: %s", h.raw)
	}
	if len(srv.Events()) != 8 {
		t.Fatalf("events: %v", srv.Events())
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestResetForgetsClusterState(t *testing.T) {
	sim, _ := start(t)
	if a := call(t, sim, "PUT", base+"/services/KAFKA", `{"Body":{"ServiceInfo":{"maintenance_state":"ON"}}}`, true, true); a.status != 200 {
		t.Fatalf("maintenance on: %d %s", a.status, a.raw)
	}
	if err := sim.ResetToWorld(); err != nil {
		t.Fatal(err)
	}
	a := call(t, sim, "GET", base+"/services/KAFKA", "", true, false)
	if got := a.body["ServiceInfo"].(map[string]any)["maintenance_state"]; got != "OFF" {
		t.Fatalf("maintenance after reset: %v", got)
	}
}

// TestRestartIsOneParallelStage: a RESTART of every broker stops them all at
// once (Ambari builds one stage with every candidate host), and the server
// drops hosts in maintenance mode from the command (failing when none is
// left), as AmbariCustomCommandExecutionHelper.addCustomCommandAction does.
func TestRestartIsOneParallelStage(t *testing.T) {
	sim, _ := start(t)
	k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
	hosts := make([]string, len(k.Brokers))
	for i, b := range k.Brokers {
		hosts[i] = b.Host
	}
	restartBody := `{"RequestInfo":{"command":"RESTART","context":"test","operation_level":{"level":"SERVICE","cluster_name":"kafka1","service_name":"KAFKA"}},` +
		`"Requests/resource_filters":[{"service_name":"KAFKA","component_name":"KAFKA_BROKER","hosts":"` + strings.Join(hosts, ",") + `"}]}`
	mm := func(state string, hs ...string) {
		t.Helper()
		a := call(t, sim, "PUT", base+"/hosts", `{"RequestInfo":{"context":"mm","query":"Hosts/host_name.in(`+strings.Join(hs, ",")+`)"},"Body":{"Hosts":{"maintenance_state":"`+state+`"}}}`, true, true)
		if a.status != 200 {
			t.Fatalf("host maintenance %s: %d %s", state, a.status, a.raw)
		}
	}
	// restart posts the request and samples the brokers until it ends: the
	// most brokers down at once, and the hosts its tasks ran on.
	restart := func() (maxDown int, taskHosts []string) {
		t.Helper()
		a := call(t, sim, "POST", base+"/requests", restartBody, true, true)
		if a.status != 202 {
			t.Fatalf("restart: %d %s", a.status, a.raw)
		}
		id := a.body["Requests"].(map[string]any)["id"].(float64)
		deadline := time.Now().Add(10 * time.Second)
		for {
			k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
			down := 0
			for _, b := range k.Brokers {
				if b.Down {
					down++
				}
			}
			maxDown = max(maxDown, down)
			r := call(t, sim, "GET", base+"/requests/"+jsonNum(id)+"?fields=tasks/Tasks/host_name", "", true, false)
			if r.body["Requests"].(map[string]any)["request_status"] == "COMPLETED" {
				for _, x := range r.body["tasks"].([]any) {
					taskHosts = append(taskHosts, x.(map[string]any)["Tasks"].(map[string]any)["host_name"].(string))
				}
				return maxDown, taskHosts
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %v did not complete: %s", id, r.raw)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if down, hs := restart(); down != len(hosts) || len(hs) != len(hosts) {
		t.Fatalf("restart of %d brokers: at most %d down at once, tasks on %v", len(hosts), down, hs)
	}
	mm("ON", hosts[1])
	if down, hs := restart(); down != len(hosts)-1 || strings.Contains(strings.Join(hs, ","), hosts[1]) {
		t.Fatalf("restart with %s in maintenance: at most %d down, tasks on %v", hosts[1], down, hs)
	}
	mm("ON", hosts...)
	if a := call(t, sim, "POST", base+"/requests", restartBody, true, true); a.status != 500 || !strings.Contains(a.raw, "no healthy eligible hosts") {
		t.Fatalf("restart with every host in maintenance: %d %s", a.status, a.raw)
	}
}
