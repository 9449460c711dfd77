package cloudsim_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// TestNetworkDiagnoseAndSilentDrop: with the VPCEP range allowed, the admin
// API's diagnosis of client VPC -> endpoint is "allowed"; without it the
// diagnosis names the security group, a connection through the endpoint's
// forwarder stays silent (no data, no reset: a dropped packet), and the
// drop log says why.
func TestNetworkDiagnoseAndSilentDrop(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	addrs := simtest.CrossVPC(t, s, nil)
	diag := func() netmodel.Verdict {
		t.Helper()
		resp, body := do(t, "GET", s.AdminURL()+"/network/diagnose?from="+url.QueryEscape(simtest.ClientVPC)+"&to="+url.QueryEscape(addrs[0]), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("diagnose: %d %s", resp.StatusCode, body)
		}
		var v netmodel.Verdict
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := diag(); !v.Allowed {
		t.Fatalf("diagnosis with the VPCEP rule: %+v", v)
	}
	inst, err := inventory.Get[*inventory.KafkaInstance](s.Inventory, simtest.DMSInstance)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.Update(s.Inventory, inst.SecurityGroupID, func(g *inventory.SecurityGroup) error {
		var keep []inventory.SGRule
		for _, r := range g.Rules {
			if r.RemoteCIDR != netmodel.VPCEPSourceRange {
				keep = append(keep, r)
			}
		}
		g.Rules = keep
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v := diag()
	if v.Allowed || v.Hop != netmodel.HopSecurityGroup || !strings.Contains(v.Reason, "no ingress rule for 198.19.128.0/17 tcp/9011") {
		t.Fatalf("diagnosis without the VPCEP rule: %+v", v)
	}
	c, err := net.DialTimeout("tcp", addrs[0], time.Second)
	if err != nil {
		t.Fatalf("dial the endpoint: %v", err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{0, 0, 0, 1, 0})
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read through a dropping endpoint: %v, want a timeout (no answer, no reset)", err)
	}
	_, body := do(t, "GET", s.AdminURL()+"/network/drops", nil)
	var drops []netmodel.Drop
	if err := json.Unmarshal(body, &drops); err != nil || len(drops) == 0 || drops[len(drops)-1].Reason != v.Reason {
		t.Fatalf("drops %s, want the last one %q", body, v.Reason)
	}
	if resp, _ := do(t, "GET", s.AdminURL()+"/network/diagnose?to=1.2.3.4:1", nil); resp.StatusCode != 400 {
		t.Fatalf("diagnose without from: %d", resp.StatusCode)
	}
}
