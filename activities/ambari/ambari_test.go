package ambari_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/ambari"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	ambarisim "github.com/topoflow/topoflow/cloudsim/ambari"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/plan"
)

const (
	sub     = "00000000-0000-4000-8000-000000000001"
	hdiVNet = "/subscriptions/" + sub + "/resourceGroups/rg-kafka/providers/Microsoft.Network/virtualNetworks/hdi-vnet"
	aksVNet = "/subscriptions/" + sub + "/resourceGroups/rg-aks/providers/Microsoft.Network/virtualNetworks/aks-vnet"
	kafkaID = "/subscriptions/" + sub + "/resourceGroups/rg-kafka/providers/Microsoft.HDInsight/clusters/kafka1"
	// snippet is the runbook's kafka-env addition.
	snippet = "\n# Configure Kafka to advertise IP addresses instead of FQDN\nIP_ADDRESS=$(hostname -i)\necho advertised.listeners=$IP_ADDRESS\n" +
		"sed -i.bak -e '/advertised/{/advertised@/!d;}' /usr/hdp/current/kafka-broker/conf/server.properties\n" +
		"echo \"advertised.listeners=PLAINTEXT://$IP_ADDRESS:9092\" >> /usr/hdp/current/kafka-broker/conf/server.properties\n"
)

type fixture struct {
	sim    *cloudsim.Sim
	amb    *ambarisim.Server
	reg    *accounts.Registry
	a      *ambari.Actions
	verify activities.Func
}

// setup starts cloudsim with Ambari mounted by hand (to read its event log),
// peers the AKS VNet with the HDInsight VNet in the inventory, and loads
// specs/accounts.yaml against the sim.
func setup(t *testing.T) *fixture {
	t.Helper()
	var amb *ambarisim.Server
	cloudsim.RegisterProvider(fmt.Sprintf("ambari-test-%s", t.Name()), func(s *cloudsim.Sim) error {
		var err error
		amb, err = ambarisim.MountWith(s, ambarisim.Options{TaskDuration: 30 * time.Millisecond})
		return err
	})
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{fmt.Sprintf("ambari-test-%s", t.Name())}})
	w, err := world.ReadFile(simtest.DefaultWorldPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range w.Accounts {
		for _, c := range a.Credentials {
			if a.Provider == accounts.ProviderAmbari && c.Type == "basic" {
				t.Setenv(accounts.DefaultEnv(a.ID, "username"), c.KeyID)
				t.Setenv(accounts.DefaultEnv(a.ID, "password"), c.Secret)
			}
		}
	}
	t.Setenv("CLOUDSIM_URL", sim.URL())
	_, file, _, _ := runtime.Caller(0)
	reg, err := accounts.Load(filepath.Join(filepath.Dir(file), "..", "..", "specs", "accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{hdiVNet, aksVNet}, {aksVNet, hdiVNet}} {
		if _, err := inventory.Create(sim.Inventory, &inventory.Peering{Meta: inventory.Meta{ID: p[0] + "/virtualNetworkPeerings/p", Account: "az-hdinsight", Status: inventory.PeeringActive}, VPCID: p[0], PeerVPCID: p[1]}); err != nil {
			t.Fatal(err)
		}
	}
	kreg := activities.NewRegistry()
	kafka.Register(kreg, kafka.Options{DialFrom: func(network string) kafka.DialFunc { return kafka.DialFunc(sim.Net.DialFrom(network)) }})
	verify, _ := kreg.Get(kafka.ActionVerify)
	return &fixture{sim: sim, amb: amb, reg: reg, a: ambari.New(reg), verify: verify}
}

func call(action, key string, in map[string]any) plan.Call {
	return plan.Call{Action: action, Account: "az-ambari", Inputs: in, IdempotencyKey: "wf/" + key}
}

func (f *fixture) run(t *testing.T, fn activities.Func, c plan.Call) plan.Outputs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := fn(ctx, c)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	return out
}

// verifyFromAKS runs kafka.verify from the AKS VNet through the broker IPs.
func (f *fixture) verifyFromAKS(ctx context.Context, key string) error {
	k, err := inventory.Get[*inventory.KafkaInstance](f.sim.Inventory, kafkaID)
	if err != nil {
		return err
	}
	var boot []any
	for _, b := range k.Brokers {
		boot = append(boot, fmt.Sprintf("%s:%d", b.ListenerIP, b.Port))
	}
	_, err = f.verify(ctx, plan.Call{Action: kafka.ActionVerify, IdempotencyKey: "wf/verify/" + key,
		Inputs: map[string]any{"bootstrap": boot, "clientNetwork": aksVNet, "timeout": "4s"}})
	return err
}

// waitRequest polls a request until it leaves the pending states.
func (f *fixture) waitRequest(t *testing.T, id any) plan.Outputs {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out := f.run(t, activities.Typed(f.a.GetRequest), call(catalog.AmbariGetRequest, "poll", map[string]any{"requestId": id}))
		switch out["status"] {
		case "PENDING", "QUEUED", "IN_PROGRESS":
			time.Sleep(20 * time.Millisecond)
		default:
			return out
		}
	}
	t.Fatalf("request %v did not finish", id)
	return nil
}

func advertised(t *testing.T, sim *cloudsim.Sim) []string {
	t.Helper()
	k, err := inventory.Get[*inventory.KafkaInstance](sim.Inventory, kafkaID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range k.Brokers {
		out = append(out, b.AdvertisedHost())
	}
	return out
}

func isIP(s string) bool { return strings.HasPrefix(s, "127.") }

func TestRunbookSequenceMakesTheBrokersReachableFromAKS(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if err := f.verifyFromAKS(ctx, "before"); err == nil {
		t.Fatal("verification from the AKS VNet passed before the change; brokers advertise host names")
	} else if !strings.Contains(err.Error(), "internal.cloudapp.net") {
		t.Fatalf("verification failed for another reason than the host names: %v", err)
	}

	env0 := f.run(t, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "get", map[string]any{"type": "kafka-env"}))
	env := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "advertise-ips", map[string]any{"type": "kafka-env", "appendContent": snippet, "note": "advertise IPs"}))
	if env["changed"] != true || env["previousTag"] != env0["tag"] || !strings.HasPrefix(env["tag"].(string), "version") {
		t.Fatalf("put kafka-env: %v (before: %v)", env, env0)
	}
	// A retried attempt (same idempotency key) reports the same version.
	again := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "advertise-ips", map[string]any{"type": "kafka-env", "appendContent": snippet, "note": "advertise IPs"}))
	if again["tag"] != env["tag"] || again["previousTag"] != env0["tag"] {
		t.Fatalf("retried put: %v, first: %v", again, env)
	}
	// Another call with the same change writes nothing.
	same := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "other", map[string]any{"type": "kafka-env", "appendContent": snippet}))
	if same["changed"] != false || same["tag"] != env["tag"] {
		t.Fatalf("unchanged put: %v", same)
	}
	// It shares the change another call wrote: what it replaced is that
	// version's base, which the last of the two restores.
	if same["previousTag"] != env0["tag"] {
		t.Fatalf("unchanged put over another call's version: previousTag %v, want the base %v", same["previousTag"], env0["tag"])
	}
	brk := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "listen-all", map[string]any{"type": "kafka-broker", "properties": map[string]any{"listeners": "PLAINTEXT://0.0.0.0:9092"}}))
	got := f.run(t, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "get2", map[string]any{"type": "kafka-broker"}))
	if props := got["properties"].(map[string]any); props["listeners"] != "PLAINTEXT://0.0.0.0:9092" || props["log.dirs"] == nil {
		t.Fatalf("kafka-broker after put (full map expected): %v", props)
	}
	// Saved, not yet restarted: still host names.
	for _, a := range advertised(t, f.sim) {
		if isIP(a) {
			t.Fatalf("a broker advertises %s before the restart", a)
		}
	}
	if err := f.verifyFromAKS(ctx, "saved"); err == nil {
		t.Fatal("verification passed after saving but before restarting")
	}

	on := f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "mm-on", map[string]any{"service": "KAFKA", "state": "ON"}))
	if on["previous"] != "OFF" || on["state"] != "ON" {
		t.Fatalf("maintenance on: %v", on)
	}
	rs := f.run(t, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "restart", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER"}))
	// A retried restart finds its request instead of restarting twice.
	rs2 := f.run(t, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "restart", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER"}))
	if rs2["requestId"] != rs["requestId"] {
		t.Fatalf("retried restart created request %v, first %v", rs2["requestId"], rs["requestId"])
	}
	done := f.waitRequest(t, rs["requestId"])
	if done["status"] != "COMPLETED" || done["progress"] != 100.0 || done["taskCount"] != 3 {
		t.Fatalf("restart request: %v", done)
	}
	off := f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "mm-off", map[string]any{"service": "KAFKA", "state": "OFF"}))
	if off["previous"] != "ON" {
		t.Fatalf("maintenance off: %v", off)
	}
	for _, a := range advertised(t, f.sim) {
		if !isIP(a) {
			t.Fatalf("a broker still advertises %s after the restart", a)
		}
	}
	hosts := f.run(t, activities.Typed(f.a.ListBrokerHosts), call(catalog.AmbariListBrokerHosts, "list", nil))
	bs := hosts["brokers"].([]any)
	if len(bs) != 3 || !strings.HasPrefix(bs[0].(map[string]any)["hostName"].(string), "wn0-") || !isIP(bs[0].(map[string]any)["ip"].(string)) {
		t.Fatalf("brokers: %v", hosts)
	}
	if err := f.verifyFromAKS(ctx, "after"); err != nil {
		t.Fatalf("verification from the AKS VNet after the change: %v", err)
	}
	// The runbook's order: config saved → maintenance on → restart completed → maintenance off.
	var order []string
	for _, e := range f.amb.Events() {
		order = append(order, e.Kind+":"+strings.Fields(e.Detail)[0])
	}
	want := []string{"config:kafka-env", "config:kafka-broker", "maintenance:ON", "request:" + fmt.Sprint(rs["requestId"]), "requestDone:" + fmt.Sprint(rs["requestId"]), "maintenance:OFF"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("Ambari events %v, want %v", order, want)
	}
	_ = brk
}

func TestFailedRestartAndRollback(t *testing.T) {
	f := setup(t)
	env0 := f.run(t, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "get", map[string]any{"type": "kafka-env"}))
	env := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "advertise-ips", map[string]any{"type": "kafka-env", "appendContent": snippet}))
	f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "mm-on", map[string]any{"service": "KAFKA", "state": "ON"}))
	f.sim.Faults.MustAdd(faults.Rule{Op: "ambari.request.task", Kind: faults.Reject, Times: 1})
	rs := f.run(t, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "restart", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER"}))
	done := f.waitRequest(t, rs["requestId"])
	// Ambari runs every host of the command in one stage, in parallel
	// (AmbariCustomCommandExecutionHelper.java addCustomCommandAction): one
	// failed task fails the request, the others complete (none is aborted).
	if done["status"] != "FAILED" || done["failedTaskCount"] != 1 || done["abortedTaskCount"] != 0 || done["abortReason"] == nil {
		t.Fatalf("failed restart: %v", done)
	}
	if k, _ := inventory.Get[*inventory.KafkaInstance](f.sim.Inventory, kafkaID); !k.Brokers[0].Down {
		t.Fatal("the broker whose restart failed is not down")
	}
	// The compensations in reverse order: the restart step's
	// (restore the previous versions and restart again, still in maintenance
	// mode), then maintenance back to its previous state.
	cfgs := []any{map[string]any{"type": "kafka-env", "tag": env["previousTag"]}}
	rb := f.run(t, activities.Typed(f.a.RestoreAndRestart), call(catalog.AmbariRestoreAndRestart, "restart-undo", map[string]any{"configs": cfgs, "pollInterval": "20ms"}))
	if rb["status"] != "COMPLETED" {
		t.Fatalf("restore and restart: %v", rb)
	}
	// A retried attempt writes nothing and restarts nothing more.
	n := len(f.amb.Events())
	again := f.run(t, activities.Typed(f.a.RestoreAndRestart), call(catalog.AmbariRestoreAndRestart, "restart-undo", map[string]any{"configs": cfgs, "pollInterval": "20ms"}))
	if again["requestId"] != rb["requestId"] || len(f.amb.Events()) != n {
		t.Fatalf("retried restore: %v (first %v), events %v", again, rb, f.amb.Events()[n:])
	}
	f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "mm-on-undo", map[string]any{"service": "KAFKA", "state": "OFF"}))
	// The putConfig compensation then finds nothing to change.
	back := f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "advertise-ips-undo", map[string]any{"type": "kafka-env", "restoreTag": env["previousTag"], "note": "topoflow rollback"}))
	if back["changed"] != false {
		t.Fatalf("restore after restoreAndRestart: %v", back)
	}
	cur := f.run(t, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "get2", map[string]any{"type": "kafka-env"}))
	if fmt.Sprint(cur["properties"]) != fmt.Sprint(env0["properties"]) {
		t.Fatalf("restored properties differ:\n%v\nwant\n%v", cur["properties"], env0["properties"])
	}
	for _, a := range advertised(t, f.sim) {
		if isIP(a) {
			t.Fatalf("broker advertises %s after the rollback", a)
		}
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](f.sim.Inventory, kafkaID)
	for _, b := range k.Brokers {
		if b.Down {
			t.Fatalf("broker %d is down after the rollback restart", b.ID)
		}
	}
	var trail []string
	for _, e := range f.amb.Events() {
		trail = append(trail, e.Kind+":"+strings.Fields(e.Detail)[0])
	}
	want := "config:kafka-env maintenance:ON request:11 requestDone:11 config:kafka-env request:12 requestDone:12 maintenance:OFF"
	if strings.Join(trail, " ") != want {
		t.Fatalf("events %v\nwant %s", trail, want)
	}
}

func TestMaintenanceOnRefusesAnotherWindow(t *testing.T) {
	f := setup(t)
	// Another request (or an operator) opened a maintenance window.
	f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "other-on", map[string]any{"service": "KAFKA", "state": "ON"}))
	_, err := activities.Typed(f.a.SetMaintenance)(context.Background(), call(catalog.AmbariSetMaintenance, "mine", map[string]any{"service": "KAFKA", "state": "ON"}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != plan.ErrConflict || !ae.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable Conflict", err)
	}
	// Once it is closed, ours opens with previous OFF.
	f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "other-off", map[string]any{"service": "KAFKA", "state": "OFF"}))
	if out := f.run(t, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "mine", map[string]any{"service": "KAFKA", "state": "ON"})); out["previous"] != "OFF" {
		t.Fatalf("maintenance on: %v", out)
	}
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func TestErrorsAreTyped(t *testing.T) {
	f := setup(t)
	cases := []struct {
		name     string
		setup    func(t *testing.T)
		fn       activities.Func
		call     plan.Call
		wantType string
	}{
		{"wrong password", func(t *testing.T) { t.Setenv("TOPOFLOW_AZ_AMBARI_PASSWORD", "nope") }, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "x", map[string]any{"type": "kafka-env"}), plan.ErrUnauthorized},
		{"unknown config type", nil, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "x", map[string]any{"type": "nope"}), plan.ErrNotFound},
		{"unknown restore tag", nil, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "x", map[string]any{"type": "kafka-env", "restoreTag": "nope"}), plan.ErrNotFound},
		{"bad maintenance state", nil, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "x", map[string]any{"service": "KAFKA", "state": "MAYBE"}), plan.ErrInvalid},
		{"unknown service", nil, activities.Typed(f.a.SetMaintenance), call(catalog.AmbariSetMaintenance, "x", map[string]any{"service": "HDFS", "state": "ON"}), plan.ErrNotFound},
		{"unknown request", nil, activities.Typed(f.a.GetRequest), call(catalog.AmbariGetRequest, "x", map[string]any{"requestId": 999999}), plan.ErrNotFound},
		{"unknown host", nil, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "x", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER", "hosts": []any{"nope"}}), plan.ErrInvalid},
		{"not an ambari account", nil, activities.Typed(f.a.GetConfig), plan.Call{Action: catalog.AmbariGetConfig, Account: "az-hdinsight", Inputs: map[string]any{"type": "kafka-env"}}, plan.ErrInvalid},
		{"server error", func(t *testing.T) {
			id := f.sim.Faults.MustAdd(faults.Rule{Op: "ambari.GET.cluster", Kind: faults.Error})
			t.Cleanup(func() { f.sim.Faults.Remove(id) })
		}, activities.Typed(f.a.GetConfig), call(catalog.AmbariGetConfig, "x", map[string]any{"type": "kafka-env"}), plan.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			_, err := tc.fn(context.Background(), tc.call)
			if errType(err) != tc.wantType {
				t.Fatalf("error %v (type %q), want %q", err, errType(err), tc.wantType)
			}
			if strings.Contains(fmt.Sprint(err), "az-ambari-password") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// TestClientWireRules checks the client against Ambari's wire quirks with a
// recording server: Basic auth and X-Requested-By on every call, text/plain
// JSON, empty bodies, and context cancellation.
func TestClientWireRules(t *testing.T) {
	type seenReq struct {
		method, url, user, pass, requestedBy string
		auth                                 bool
	}
	var (
		mu   sync.Mutex
		seen []seenReq
	)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		mu.Lock()
		seen = append(seen, seenReq{r.Method, r.URL.String(), u, p, r.Header.Get("X-Requested-By"), ok})
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case r.URL.Path == "/api/v1/clusters/c1/services/KAFKA" && r.Method == http.MethodPut:
			w.WriteHeader(http.StatusOK) // empty body
		case r.URL.Path == "/api/v1/clusters/c1/services/KAFKA":
			fmt.Fprint(w, `{"ServiceInfo":{"maintenance_state":"ON","state":"STARTED"}}`)
		case r.URL.Path == "/api/v1/clusters/c1/requests/7":
			<-block
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"status":404,"message":"The requested resource doesn't exist"}`)
		}
	}))
	defer srv.Close()
	defer close(block)
	c := &ambari.Client{Base: srv.URL, Cluster: "c1", User: "admin", Password: "pw"}
	ctx := context.Background()
	info, err := c.Service(ctx, "KAFKA")
	if err != nil || info.MaintenanceState != "ON" {
		t.Fatalf("service: %v %v", info, err)
	}
	if err := c.SetMaintenance(ctx, "KAFKA", "OFF"); err != nil {
		t.Fatalf("empty 200 body: %v", err)
	}
	_, err = c.Request(ctx, 8)
	if ambari.StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "doesn't exist") {
		t.Fatalf("404: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Request(cctx, 7); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled request: %v after %s", err, time.Since(start))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 4 {
		t.Fatalf("server saw %d requests", len(seen))
	}
	for _, r := range seen {
		if !r.auth || r.user != "admin" || r.pass != "pw" || r.requestedBy == "" {
			t.Fatalf("%s %s: auth %v/%v, X-Requested-By %q", r.method, r.url, r.user, r.auth, r.requestedBy)
		}
	}
}

// TestSimCSRFRule checks that the simulated Ambari refuses mutations without
// X-Requested-By, as Ambari's CSRF filter does.
func TestSimCSRFRule(t *testing.T) {
	f := setup(t)
	req, _ := http.NewRequest(http.MethodPut, f.sim.URL()+"/api/v1/clusters/kafka1/services/KAFKA", strings.NewReader(`{"Body":{"ServiceInfo":{"maintenance_state":"ON"}}}`))
	req.SetBasicAuth("admin", "az-ambari-password-5f6a7b8c9d0e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT without X-Requested-By: %d", resp.StatusCode)
	}
	if len(f.amb.Events()) != 0 {
		t.Fatalf("refused request changed state: %v", f.amb.Events())
	}
}

// TestRestartAllAffected: without explicit hosts the restart does what
// Ambari's "Restart all affected" does: only components with stale configs,
// on hosts whose maintenance mode is OFF. With nothing stale it posts no
// request (ID 0, reported COMPLETED).
func TestRestartAllAffected(t *testing.T) {
	f := setup(t)
	k, _ := inventory.Get[*inventory.KafkaInstance](f.sim.Inventory, kafkaID)
	var all []string
	for _, b := range k.Brokers {
		all = append(all, b.Host)
	}
	f.run(t, activities.Typed(f.a.PutConfig), call(catalog.AmbariPutConfig, "advertise-ips", map[string]any{"type": "kafka-env", "appendContent": snippet}))
	inMM := all[1]
	req, _ := http.NewRequest(http.MethodPut, f.sim.URL()+"/api/v1/clusters/kafka1/hosts", strings.NewReader(
		`{"RequestInfo":{"context":"Turn On Maintenance Mode","query":"Hosts/host_name.in(`+inMM+`)"},"Body":{"Hosts":{"maintenance_state":"ON"}}}`))
	req.SetBasicAuth(os.Getenv(accounts.DefaultEnv("az-ambari", "username")), os.Getenv(accounts.DefaultEnv("az-ambari", "password")))
	req.Header.Set("X-Requested-By", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("host maintenance ON: %v %v", resp, err)
	}
	resp.Body.Close()

	rs := f.run(t, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "restart", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER"}))
	want := []any{all[0], all[2]}
	if fmt.Sprint(rs["hosts"]) != fmt.Sprint(want) {
		t.Fatalf("restarted hosts %v, want the stale ones out of maintenance %v", rs["hosts"], want)
	}
	if done := f.waitRequest(t, rs["requestId"]); done["status"] != "COMPLETED" || done["taskCount"] != 2 {
		t.Fatalf("restart request: %v", done)
	}
	// Only the host in maintenance is still stale: a second "all affected"
	// restart finds nothing to do.
	again := f.run(t, activities.Typed(f.a.RestartComponents), call(catalog.AmbariRestartComponents, "restart-2", map[string]any{"service": "KAFKA", "component": "KAFKA_BROKER"}))
	if again["requestId"] != 0 || again["status"] != "COMPLETED" || len(again["hosts"].([]any)) != 0 {
		t.Fatalf("restart with nothing affected: %v", again)
	}
	if got := f.run(t, activities.Typed(f.a.GetRequest), call(catalog.AmbariGetRequest, "get", map[string]any{"requestId": 0})); got["status"] != "COMPLETED" {
		t.Fatalf("request 0: %v", got)
	}
}
