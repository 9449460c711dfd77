package emqx_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/worldshift"
)

// TestCloseFreesTheBrokers: a closed sim leaves no MQTT broker bound, so the
// next stack on the same addresses can start its own (parallel tests reuse
// world shifts once released).
func TestCloseFreesTheBrokers(t *testing.T) {
	dir := filepath.Dir(simtest.DefaultWorldPath())
	w, err := world.ReadFiles(filepath.Join(dir, "default.yaml"), filepath.Join(dir, "emqx-peering.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	shift, release := worldshift.Take()
	defer release()
	if err := w.Shift(shift); err != nil {
		t.Fatal(err)
	}
	s, err := cloudsim.New(cloudsim.Options{Providers: []string{"emqx"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, p := range inventory.List[*inventory.Port](s.Inventory, inventory.Filter{}) {
		if p.DeviceOwner == "emqx" {
			addrs = append(addrs, net.JoinHostPort(p.IP, "1883"))
		}
	}
	if len(addrs) == 0 {
		t.Fatal("emqx-peering.yaml has no EMQX deployment port")
	}
	for _, a := range addrs {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatalf("broker %s not serving: %v", a, err)
		}
		c.Close()
	}
	_ = s.Close()
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("after Close, %s is still bound: %v", a, err)
		}
		ln.Close()
	}
}
