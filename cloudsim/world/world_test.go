package world

import (
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func TestDefaultWorld(t *testing.T) {
	w, err := ReadFile("../worlds/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Shift(100); err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	if err := w.Apply(inv); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"hw-kafka-owner", "hw-client-b", "aws-msk", "aws-client-b", "az-hdinsight", "az-ambari"} {
		a, err := inventory.Get[*inventory.Account](inv, acct)
		if err != nil || len(a.Credentials) == 0 || a.Credentials[0].Secret == "" {
			t.Errorf("account %s: %v %+v", acct, err, a)
		}
	}
	dms, err := inventory.Get[*inventory.KafkaInstance](inv, "6b2f7e4a-0000-4000-8000-00000000a010")
	if err != nil || len(dms.Brokers) != 3 || dms.Brokers[0].ListenerIP != "127.116.0.61" {
		t.Fatalf("dms %v %+v", err, dms)
	}
	for _, b := range dms.Brokers {
		p, err := inventory.Get[*inventory.Port](inv, b.PortID)
		if err != nil || p.IP != b.ListenerIP {
			t.Errorf("port of broker %d: %v %+v", b.ID, err, p)
		}
	}
	hdi := inventory.List[*inventory.KafkaInstance](inv, inventory.Filter{Account: "az-hdinsight"})
	if len(hdi) != 1 || !strings.HasPrefix(hdi[0].Brokers[0].AdvertisedHost(), "wn0-") {
		t.Errorf("hdinsight %+v", hdi)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "vpcs: [{id: v, colour: red}]", "colour"},
		{"no block", "vpcs: [{id: v, cidr: 10.0.0.0/16}]", "addressBlock"},
		{"no id", "vpcs: [{cidr: 10.0.0.0/16, addressBlock: 127.9.0.0/16}]", "needs an id"},
		{"msk scram over plaintext", "vpcs: [{id: v, cidr: 10.0.0.0/16, addressBlock: 127.9.0.0/16}]\nsubnets: [{id: s, vpc: v, cidr: 10.0.0.0/24, addressBlock: 127.9.0.0/24}]\n" +
			"kafka: [{id: k, engine: msk, vpc: v, subnet: s, saslUsers: {app: pw}, brokers: [{id: 1}]}]", "needs tls: true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Parse([]byte(tc.yaml))
			if err == nil {
				err = w.Apply(inventory.New())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	w := &World{VPCs: []*inventory.VPC{{AddressBlock: "127.250.0.0/16"}}}
	if err := w.Shift(10); err == nil {
		t.Error("shift past 127.255 accepted")
	}
}
