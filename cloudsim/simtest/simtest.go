// Package simtest starts cloudsim worlds for tests: a sim with the default
// seed world moved to a random part of 127.0.0.0/8, so test packages running
// in parallel do not collide on addresses.
package simtest

import (
	"github.com/topoflow/topoflow/internal/worldshift"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// DefaultWorldPath is the path of cloudsim/worlds/default.yaml.
func DefaultWorldPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "worlds", "default.yaml")
}

// Shifted reads a world file and shifts its addresses by a random delta in
// [0, 200) of the second octet (the default world uses 127.16–127.31).
// It also returns the delta, so tests can compute addresses.
func Shifted(t testing.TB, path string) (*world.World, int) {
	t.Helper()
	w, err := world.ReadFile(path)
	if err != nil {
		t.Fatalf("read world: %v", err)
	}
	delta, release := worldshift.Take() // never a shift another running stack holds
	t.Cleanup(release)
	if err := w.Shift(delta); err != nil {
		t.Fatalf("shift world: %v", err)
	}
	return w, delta
}

// Start starts a sim (providers as in opts) with the default world shifted
// to random addresses and serving on a random port; it is closed at the end
// of the test. Address collisions with other test processes are retried.
func Start(t testing.TB, opts cloudsim.Options) (*cloudsim.Sim, int) {
	t.Helper()
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := cloudsim.New(opts)
		if err != nil {
			t.Fatalf("new sim: %v", err)
		}
		w, delta := Shifted(t, DefaultWorldPath())
		if err := s.LoadWorld(w); err != nil {
			t.Fatalf("load world: %v", err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			last = &listenErr{errs}
			_ = s.Close()
			if strings.Contains(strings.Join(errs, " "), "address already in use") {
				continue
			}
			t.Fatalf("start world: %v", last)
		}
		if _, err := s.Start("127.0.0.1:0", ""); err != nil {
			t.Fatalf("start sim: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, delta
	}
	t.Fatalf("start world: %v", last)
	return nil, 0
}

type listenErr struct{ errs []string }

func (e *listenErr) Error() string { return strings.Join(e.errs, "; ") }

// IDs of the default world (cloudsim/worlds/default.yaml).
const (
	DMSInstance     = "6b2f7e4a-0000-4000-8000-00000000a010"
	DMSVPC          = "4f1a0c3e-0000-4000-8000-00000000a001"
	ClientVPC       = "4f1a0c3e-0000-4000-8000-00000000b001"
	ClientSubnet    = "4f1a0c3e-0000-4000-8000-00000000b002"
	HDInsightKafka  = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-kafka/providers/Microsoft.HDInsight/clusters/kafka1"
	HDInsightVNet   = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-kafka/providers/Microsoft.Network/virtualNetworks/hdi-vnet"
	AKSVNet         = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-aks/providers/Microsoft.Network/virtualNetworks/aks-vnet"
	MSKCluster      = "arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"
	CrossVPCPort    = 9011
	HDInsightPort   = 9092
	DMSOwnerAccount = "hw-kafka-owner"
	ClientAccount   = "hw-client-b"
)

// CrossVPC does what the Huawei cross-VPC runbook does, straight on the
// inventory of a sim started by Start: one endpoint service per DMS broker
// port, one accepted endpoint per service in the client VPC, and the
// brokers' advertised IPs set to the endpoint IPs, and the VPCEP range
// 198.19.128.0/17 allowed on 9011 in the instance's security group (the
// strict network drops VPCEP traffic without it). backendOf[i] is the broker
// whose port endpoint i exposes (nil: broker i), so tests can mis-wire it.
// It returns the endpoint addresses (IP:9011) by broker ID.
func CrossVPC(t testing.TB, s *cloudsim.Sim, backendOf []int) []string {
	t.Helper()
	inst, err := inventory.Get[*inventory.KafkaInstance](s.Inventory, DMSInstance)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.Update(s.Inventory, inst.SecurityGroupID, func(g *inventory.SecurityGroup) error {
		g.Rules = append(g.Rules, inventory.SGRule{ID: inventory.NewID(inventory.KindSecurityGroup), Direction: "ingress", Ethertype: "IPv4",
			Protocol: "tcp", PortMin: CrossVPCPort, PortMax: CrossVPCPort, RemoteCIDR: "198.19.128.0/17", Description: "VPCEP range (runbook 000)"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for i := range inst.Brokers {
		b := inst.Brokers[i]
		if backendOf != nil {
			b = inst.Brokers[backendOf[i]]
		}
		svc, err := inventory.Create(s.Inventory, &inventory.EndpointService{
			Meta:   inventory.Meta{Account: DMSOwnerAccount, Region: "cn-north-4", Status: "available"},
			VPCID:  DMSVPC,
			PortID: b.PortID, ServerType: "VM", ServiceType: "interface", ApprovalEnabled: true,
			Ports: []inventory.PortMapping{{ClientPort: CrossVPCPort, ServerPort: CrossVPCPort, Protocol: "TCP"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := s.Inventory.AllocateIP(ClientSubnet)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inventory.Create(s.Inventory, &inventory.Endpoint{
			Meta:      inventory.Meta{Account: ClientAccount, Region: "cn-north-4", Status: inventory.EndpointAccepted},
			ServiceID: svc.ID, VPCID: ClientVPC, SubnetID: ClientSubnet, IP: ip,
		}); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(CrossVPCPort)))
	}
	Advertise(t, s, DMSInstance, func(id int32) string { h, _, _ := net.SplitHostPort(addrs[id]); return h })
	return addrs
}

// Advertise sets every broker's advertised host of a Kafka instance.
func Advertise(t testing.TB, s *cloudsim.Sim, instance string, host func(id int32) string) {
	t.Helper()
	if _, err := inventory.Update(s.Inventory, instance, func(k *inventory.KafkaInstance) error {
		for i := range k.Brokers {
			k.Brokers[i].Advertised = host(k.Brokers[i].ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
