package emqx

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim"
	cemqx "github.com/topoflow/topoflow/cloudsim/emqx"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/worldshift"
	"github.com/topoflow/topoflow/plan"
)

func worldFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "cloudsim", "worlds", name)
}

// startSim serves the EMQX twin on the four SaaSPeering worlds (shifted),
// and returns a prober whose registry names the deployments' API accounts
// with the world's keys.
func startSim(t *testing.T) (*cloudsim.Sim, *Prober) {
	t.Helper()
	var w *world.World
	var s *cloudsim.Sim
	for attempt := 0; ; attempt++ {
		var err error
		if s, err = cloudsim.New(cloudsim.Options{Providers: []string{"emqx"}}); err != nil {
			t.Fatal(err)
		}
		if w, err = world.ReadFiles(worldFile("default.yaml"), worldFile("emqx-peering.yaml"), worldFile("alibaba.yaml"), worldFile("tencent.yaml")); err != nil {
			t.Fatal(err)
		}
		shift, release := worldshift.Take()
		t.Cleanup(release)
		if err := w.Shift(shift); err != nil {
			t.Fatal(err)
		}
		if err := s.LoadWorld(w); err != nil {
			t.Fatal(err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 && attempt < 4 {
			_ = s.Close()
			continue
		}
		break
	}
	url, err := s.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var reg strings.Builder
	reg.WriteString("accounts:\n")
	for _, a := range w.Accounts {
		if a.Provider != "emqx" {
			continue
		}
		reg.WriteString("  " + a.ID + ": {provider: emqx, endpoints: {emqx: '" + url + cemqx.DeploymentAPIPrefix + a.Tags[cemqx.TagDeployment] + "/api/v5'}}\n")
		t.Setenv(accounts.DefaultEnv(a.ID, "appId"), a.Credentials[0].KeyID)
		t.Setenv(accounts.DefaultEnv(a.ID, "appSecret"), a.Credentials[0].Secret)
	}
	accts, err := accounts.Parse("r.yaml", []byte(reg.String()))
	if err != nil {
		t.Fatal(err)
	}
	return s, NewProber(accts)
}

// peeringCase is one cloud of runbook 003: our VPC with its Kafka behind our
// security group, the deployment's VPC and broker, and how they are joined.
type peeringCase struct {
	cloud, api           string
	ourVPC, ourRoutes    string
	emqxVPC, emqxRoutes  string
	ourCIDR, emqxCIDR    string
	ourSG, kafka, broker string
	ccn                  bool // Tencent: joined by a CCN, no route tables
}

var peeringCases = []peeringCase{
	{cloud: "huawei", api: "emqx-hw-api", ourVPC: "4f1a0c3e-0000-4000-8000-00000000e001", ourRoutes: "8d2b6f0a-0000-4000-8000-00000000e004",
		emqxVPC: "4f1a0c3e-0000-4000-8000-00000000f001", emqxRoutes: "8d2b6f0a-0000-4000-8000-00000000f004", ourCIDR: "172.16.0.0/20", emqxCIDR: "10.64.130.0/24",
		ourSG: "4f1a0c3e-0000-4000-8000-00000000e003", kafka: "172.16.0.11:9092", broker: "10.64.130.10"},
	{cloud: "aws", api: "emqx-aws-api", ourVPC: "vpc-0a5c000000e00001", ourRoutes: "rtb-0a5c000000e00001",
		emqxVPC: "vpc-0e3e00000000d0001", emqxRoutes: "rtb-0e3e00000000d0001", ourCIDR: "172.17.0.0/20", emqxCIDR: "10.64.131.0/24",
		ourSG: "sg-0a5c000000e00001", kafka: "172.17.0.11:9092", broker: "10.64.131.10"},
	{cloud: "alibaba", api: "emqx-ali-api", ourVPC: "vpc-bp1ours00000000000001", ourRoutes: "vtb-bp1ours00000000000001",
		emqxVPC: "vpc-bp1emqx00000000000001", emqxRoutes: "vtb-bp1emqx00000000000001", ourCIDR: "172.16.0.0/17", emqxCIDR: "10.64.130.0/24",
		ourSG: "sg-bp1ours00000000000001", kafka: "172.16.1.11:9092", broker: "10.64.130.10"},
	{cloud: "tencent", api: "emqx-tc-api", ourVPC: "vpc-tcours001", emqxVPC: "vpc-tcemqx01", ourCIDR: "172.20.0.0/17", emqxCIDR: "10.64.140.0/24",
		ourSG: "sg-tcours01", kafka: "172.20.1.11:9092", broker: "10.64.140.10", ccn: true},
}

func setRoutes(t *testing.T, s *cloudsim.Sim, table string, routes ...inventory.Route) {
	t.Helper()
	if _, err := inventory.Update(s.Inventory, table, func(rt *inventory.RouteTable) error { rt.Routes = routes; return nil }); err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, s *cloudsim.Sim, p *inventory.Peering) {
	t.Helper()
	if _, err := inventory.Create(s.Inventory, p); err != nil {
		t.Fatal(err)
	}
}

// TestProbeCrossesThePeeringBack: emqx.probeConnector asks the deployment
// to reach our Kafka, and the deployment dials from its broker's address:
// on every cloud it fails (TEST_FAILED, a retryable verification failure)
// while the way is missing, then naming our security group's missing
// ingress rule for the deployment's CIDR once the peering (or CCN) and both
// routes exist, passes once the rule is there, and fails again without our
// route back to the deployment.
func TestProbeCrossesThePeeringBack(t *testing.T) {
	s, pr := startSim(t)
	for _, c := range peeringCases {
		t.Run(c.cloud, func(t *testing.T) {
			probe := func() (catalog.EMQXProbeConnectorOut, error) {
				return pr.Probe(context.Background(), plan.Call{Action: catalog.EMQXProbeConnector, Account: c.api, IdempotencyKey: "wf/verify-connector"},
					catalog.EMQXProbeConnectorIn{Type: catalog.EMQXConnectorKafka, Target: c.kafka, ConnectTimeout: "500ms"})
			}
			wantFail := func(step string, want ...string) {
				t.Helper()
				_, err := probe()
				t.Logf("%s: %v", step, err)
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != plan.ErrVerifyFailed || ae.NonRetryable() || !strings.Contains(err.Error(), "TEST_FAILED") {
					t.Fatalf("%s: want a retryable VerifyFailed TEST_FAILED, got %v", step, err)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("%s: the failure does not name %q: %v", step, w, err)
					}
				}
			}
			// Nothing joins the VPCs yet: the deployment has no way to our CIDR.
			wantFail("nothing joined", "no route to "+strings.Split(c.kafka, ":")[0])

			// The peering (or the CCN) and both routes, as the plan and the EMQX console leave them.
			pid := "peering-probe-" + c.cloud
			if c.ccn {
				ccn := "ccn-probe0001"
				create(t, s, &inventory.Peering{Meta: inventory.Meta{ID: pid + "-ours", Account: "tc-ours", Status: "ACTIVE"}, VPCID: c.ourVPC, PeerVPCID: ccn,
					Attrs: map[string]string{"tencentType": "ccn-attachment"}})
				create(t, s, &inventory.Peering{Meta: inventory.Meta{ID: pid + "-emqx", Account: "emqx-tencent", Status: "ACTIVE"}, VPCID: c.emqxVPC, PeerVPCID: ccn,
					Attrs: map[string]string{"tencentType": "ccn-attachment"}})
			} else {
				create(t, s, &inventory.Peering{Meta: inventory.Meta{ID: pid, Status: inventory.PeeringActive}, VPCID: c.ourVPC, PeerVPCID: c.emqxVPC})
				setRoutes(t, s, c.ourRoutes, inventory.Route{Destination: c.emqxCIDR, NextHopType: "peering", NextHop: pid})
				setRoutes(t, s, c.emqxRoutes, inventory.Route{Destination: c.ourCIDR, NextHopType: "peering", NextHop: pid})
			}
			// Our security group has no rule for the deployment's CIDR: the probe names it.
			wantFail("no rule", "security group "+c.ourSG, "has no ingress rule for "+c.broker+"/32 tcp/9092")

			// The plan's open-security-group: TCP 9092 from the deployment's CIDR.
			rule := inventory.SGRule{ID: "probe-rule-" + c.cloud, Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: 9092, PortMax: 9092, RemoteCIDR: c.emqxCIDR}
			if _, err := inventory.Update(s.Inventory, c.ourSG, func(g *inventory.SecurityGroup) error { g.Rules = append(g.Rules, rule); return nil }); err != nil {
				t.Fatal(err)
			}
			out, err := probe()
			if err != nil {
				t.Fatalf("probe with the rule: %v", err)
			}
			if out.Target != c.kafka || out.Type != catalog.EMQXConnectorKafka || !strings.Contains(out.API, cemqx.DeploymentAPIPrefix) {
				t.Fatalf("outputs: %+v", out)
			}
			if c.ccn {
				return
			}
			// Our route to the deployment's CIDR is also the replies' way back.
			setRoutes(t, s, c.ourRoutes)
			wantFail("our route removed", "the route table of VPC "+c.ourVPC+" has no return route to "+c.broker+"/32")
			setRoutes(t, s, c.ourRoutes, inventory.Route{Destination: c.emqxCIDR, NextHopType: "peering", NextHop: pid})
			if _, err := probe(); err != nil {
				t.Fatalf("probe with every hop back: %v", err)
			}
		})
	}
}

// TestProbeClassifiesTheAPIAnswers: what the deployment API answers maps to
// the step's outcome; the request carries the key as HTTP Basic and the
// connector fields EMQX takes.
func TestProbeClassifiesTheAPIAnswers(t *testing.T) {
	var got struct {
		user, pass string
		body       map[string]any
	}
	status, answer := 0, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v5/connectors_probe" {
			http.NotFound(w, r)
			return
		}
		got.user, got.pass, _ = r.BasicAuth()
		b, _ := io.ReadAll(r.Body)
		got.body = nil
		_ = json.Unmarshal(b, &got.body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	t.Setenv("TOPOFLOW_EMQX_T_APP_ID", "app-1")
	t.Setenv("TOPOFLOW_EMQX_T_APP_SECRET", "secret-1")
	accts, err := accounts.Parse("r.yaml", []byte("accounts:\n  emqx-t: {provider: emqx, endpoints: {emqx: '"+srv.URL+"/api/v5'}}\n  other: {provider: external}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pr := NewProber(accts)
	call := plan.Call{Action: catalog.EMQXProbeConnector, Account: "emqx-t"}
	kafka := catalog.EMQXProbeConnectorIn{Type: catalog.EMQXConnectorKafka, Target: "172.16.0.11:9092"}
	for _, c := range []struct {
		name      string
		status    int
		answer    string
		account   string
		in        catalog.EMQXProbeConnectorIn
		wantType  string // "" passes
		retryable bool
		want      string
	}{
		{"204 passes", 204, "", "", kafka, "", false, ""},
		{"TEST_FAILED is a retryable verification failure", 400, `{"code":"TEST_FAILED","message":"connection refused"}`, "", kafka, plan.ErrVerifyFailed, true, "(TEST_FAILED): connection refused"},
		{"BAD_REQUEST fails for good", 400, `{"code":"BAD_REQUEST","message":"bad name"}`, "", kafka, plan.ErrInvalid, false, "400 BAD_REQUEST bad name"},
		{"401 is the key", 401, `{"code":"BAD_API_KEY_OR_SECRET","message":"Check api_key/api_secret"}`, "", kafka, plan.ErrUnauthorized, false, "refused account \"emqx-t\"'s API key"},
		{"5xx is retried", 503, `{"code":"SERVICE_UNAVAILABLE","message":"busy"}`, "", kafka, plan.ErrUnavailable, true, "busy"},
		{"not an emqx account", 204, "", "other", kafka, plan.ErrInvalid, false, "is a external account, not emqx"},
		{"kafka target form", 204, "", "", catalog.EMQXProbeConnectorIn{Type: catalog.EMQXConnectorKafka, Target: "http://x"}, plan.ErrInvalid, false, "not host:port"},
		{"http target form", 204, "", "", catalog.EMQXProbeConnectorIn{Type: catalog.EMQXConnectorHTTP, Target: "172.16.0.11:80"}, plan.ErrInvalid, false, "not an http(s) URL"},
		{"type", 204, "", "", catalog.EMQXProbeConnectorIn{Type: "mysql", Target: "x:1"}, plan.ErrInvalid, false, "want kafka_producer or http"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, answer = c.status, c.answer
			cl := call
			if c.account != "" {
				cl.Account = c.account
			}
			_, err := pr.Probe(context.Background(), cl, c.in)
			if c.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.user != "app-1" || got.pass != "secret-1" || got.body["type"] != "kafka_producer" || got.body["bootstrap_hosts"] != "172.16.0.11:9092" || got.body["name"] != DefaultConnectorName {
					t.Fatalf("request: %+v", got)
				}
				return
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != c.wantType || ae.NonRetryable() == c.retryable || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %s (retryable %t) containing %q", err, c.wantType, c.retryable, c.want)
			}
			if strings.Contains(err.Error(), "secret-1") {
				t.Fatalf("the error holds the secret: %v", err)
			}
		})
	}
}
