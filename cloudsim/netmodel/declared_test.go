package netmodel

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// A declared (cloud) address dialed from a VPC lands where that VPC's
// routing takes it: its own subnet, the peer VPC of the chosen peering, or
// the VPC behind a transit gateway's attachment; without a route, or when
// the VPC there does not hold it, it reaches nothing.
func TestFromDeclared(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*inventory.Store)
		from   string
		ip     string
		want   string // loopback address, or "!" + a substring of the reason
	}{
		{name: "own subnet", from: "msk", ip: "10.20.1.11", want: "127.240.1.11"},
		{name: "through a peering", from: "cli", ip: "10.20.1.11", want: "127.240.1.11"},
		{name: "through the other side of a peering", from: "msk", ip: "10.21.1.7", want: "127.241.1.7"},
		{name: "Huawei peering", from: "client", ip: "192.168.0.61", want: "127.243.0.61"},
		{name: "transit gateway from on-premises", from: "dc", ip: "10.20.1.11", want: "127.240.1.11"},
		{name: "no route", from: "aks", ip: "10.20.1.11", want: "!has no route to 10.20.1.11"},
		{name: "route removed", change: routeUpdate("rtb-cli", nil), from: "cli", ip: "10.20.1.11", want: "!has no route"},
		{name: "outside every subnet: the VPC's block", from: "cli", ip: "10.20.9.9", want: "127.240.9.9"},
		{name: "outside the peer VPC", change: routeUpdate("rtb-cli", []inventory.Route{{Destination: "10.0.0.0/8", NextHopType: "vpc-peering-connection", NextHop: "pcx-1"}}), from: "cli", ip: "10.99.0.1", want: "!no subnet of VPC msk holds 10.99.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := policyNet(t, tc.change)
			got, why, ok := n.fromDeclared(tc.from, netip.MustParseAddr(tc.ip))
			if rest, refused := strings.CutPrefix(tc.want, "!"); refused {
				if ok || !strings.Contains(why, rest) {
					t.Fatalf("fromDeclared(%s, %s) = %v, %q, %v; want refused with %q", tc.from, tc.ip, got, why, ok, rest)
				}
				return
			}
			if !ok || got.String() != tc.want {
				t.Fatalf("fromDeclared(%s, %s) = %v, %q, %v; want %s", tc.from, tc.ip, got, why, ok, tc.want)
			}
		})
	}
}
