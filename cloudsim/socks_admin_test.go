package cloudsim_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

func TestAdminListsTheSOCKS5EndpointOfEveryNetwork(t *testing.T) {
	s, _ := simtest.Start(t, cloudsim.Options{Providers: []string{}})
	_, body := do(t, "GET", s.AdminURL()+"/network/socks", nil)
	var addrs map[string]string
	if err := json.Unmarshal(body, &addrs); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, vpc := range []string{simtest.ClientVPC, simtest.AKSVNet} {
		if !strings.HasPrefix(addrs[vpc], "127.0.0.1:") {
			t.Errorf("network %s: socks5 %q", vpc, addrs[vpc])
		}
	}
	tests := []struct {
		name, path string
		code       int
		want       string
	}{
		{"one network", "/network/socks/" + simtest.ClientVPC, 200, addrs[simtest.ClientVPC]},
		{"an Azure VNet ID without its leading slash", "/network/socks" + simtest.AKSVNet, 200, addrs[simtest.AKSVNet]},
		{"unknown network", "/network/socks/vpc-nope", 404, "not found"},
		{"failures, none yet", "/network/socks/failures?" + url.Values{"network": {simtest.ClientVPC}}.Encode(), 200, "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "GET", s.AdminURL()+tc.path, nil)
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
				t.Errorf("GET %s: %d %s, want %d with %q", tc.path, resp.StatusCode, body, tc.code, tc.want)
			}
		})
	}
}
