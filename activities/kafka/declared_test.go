package kafka_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// IDs of cloudsim/worlds/emqx.yaml (runbook 003).
const (
	emqxVPC        = "vpc-emqx0deployment01"
	aliyunRoutes   = "vtb-bp1aliyun0000example"
	emqxRoutes     = "emqx-deployment-routes"
	aliyunKafkaSG  = "sg-bp1aliyun0000kafka"
	aliyunBrokerIP = "192.168.1.11:9092"
)

// A probe in the EMQX deployment's network verifies our Alibaba Kafka at
// its declared address 192.168.1.11:9092 through the peering of
// cloudsim/worlds/emqx.yaml; removing either route or the security group
// rule the runbook's manual steps create drops the connections, and
// restoring it makes the verification pass again.
func TestVerifyDeclaredAddressThroughPeering(t *testing.T) {
	s, delta := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	w, err := world.ReadFile(filepath.Join(filepath.Dir(simtest.DefaultWorldPath()), "emqx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Shift(delta); err != nil { // the same addresses shift as the default world's
		t.Fatal(err)
	}
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"bootstrap": []any{aliyunBrokerIP}, "clientNetwork": emqxVPC, "topic": "emqx-bridge-verify"}
	verify := verifyWith(t, kafka.Options{Probe: socksProbe(t, s, emqxVPC)})
	inv := s.Inventory
	routes := func(id string) []inventory.Route {
		rt, err := inventory.Get[*inventory.RouteTable](inv, id)
		if err != nil {
			t.Fatal(err)
		}
		return rt.Routes
	}
	setRoutes := func(id string, r []inventory.Route) {
		if _, err := inventory.Update(inv, id, func(rt *inventory.RouteTable) error { rt.Routes = r; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	rules := func() []inventory.SGRule {
		g, err := inventory.Get[*inventory.SecurityGroup](inv, aliyunKafkaSG)
		if err != nil {
			t.Fatal(err)
		}
		return g.Rules
	}
	setRules := func(r []inventory.SGRule) {
		if _, err := inventory.Update(inv, aliyunKafkaSG, func(g *inventory.SecurityGroup) error { g.Rules = r; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	mustVerify := func(t *testing.T) {
		t.Helper()
		out, err := verify(context.Background(), call(in))
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if b := out["brokers"].(map[string]any); b["0"] != aliyunBrokerIP || len(b) != 3 {
			t.Errorf("brokers %v, want the declared 192.168.1.11-13:9092", b)
		}
	}
	mustVerify(t)
	for _, tc := range []struct {
		name    string
		remove  func() (restore func())
		wantHop string
	}{
		{"our route to the EMQX CIDR", func() func() {
			r := routes(aliyunRoutes)
			setRoutes(aliyunRoutes, nil)
			return func() { setRoutes(aliyunRoutes, r) }
		}, "no return route"},
		{"the EMQX route to our VPC", func() func() {
			r := routes(emqxRoutes)
			setRoutes(emqxRoutes, nil)
			return func() { setRoutes(emqxRoutes, r) }
		}, "has no route to 192.168.1.11"},
		{"the Kafka security group rule", func() func() {
			r := rules()
			setRules(r[1:])
			return func() { setRules(r) }
		}, "security group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.remove()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			short := map[string]any{}
			for k, v := range in {
				short[k] = v
			}
			short["timeout"] = "3s"
			_, err := verify(ctx, call(short))
			if err == nil || !strings.Contains(err.Error(), kafka.DropHint) {
				t.Fatalf("verify without %s: %v, want dropped connections", tc.name, err)
			}
			if ds := s.Net.Drops(); len(ds) == 0 || !strings.Contains(ds[len(ds)-1].Reason+" "+ds[len(ds)-1].Hop, tc.wantHop) {
				t.Errorf("last drop %+v, want it to name %q", ds, tc.wantHop)
			}
			restore()
			mustVerify(t)
		})
	}
}
