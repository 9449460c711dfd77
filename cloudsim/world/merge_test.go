package world

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestExamplesWorld reads the world of make dev (every file the examples
// need), shifts it and applies it.
func TestExamplesWorld(t *testing.T) {
	w, err := ReadFile("../worlds/examples.yaml")
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
	for _, id := range []string{"6b2f7e4a-0000-4000-8000-00000000a010", "9c1d2e3f-0000-4000-8000-0000000e0010",
		"arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1"} {
		if _, err := inventory.Get[*inventory.KafkaInstance](inv, id); err != nil {
			t.Errorf("kafka %s: %v", id, err)
		}
	}
	for _, id := range []string{"vpc-0a5c000000clia01", "9c1d2e3f-0000-4000-8000-0000000e0b01"} {
		if _, err := inventory.Get[*inventory.VPC](inv, id); err != nil {
			t.Errorf("vpc %s: %v", id, err)
		}
	}
	if _, err := inventory.Get[*inventory.RouteTable](inv, "tgw-rtb-0a5c0000tr001"); err != nil {
		t.Error(err)
	}
}

func TestMergeRefusesDuplicates(t *testing.T) {
	const base = `vpcs: [{id: v1, account: a, cidr: 10.0.0.0/16, addressBlock: 127.9.0.0/16}]
subnets: [{id: s1, vpc: v1, cidr: 10.0.0.0/24, addressBlock: 127.9.0.0/24, gatewayIp: 127.9.0.1}]
ports: [{id: p1, vpc: v1, subnet: s1, ip: 127.9.0.5}]
`
	for _, tc := range []struct{ name, other, want string }{
		{"same id", "vpcs: [{id: v1, account: b, cidr: 10.1.0.0/16, addressBlock: 127.10.0.0/16}]", "vpc v1 is already defined in"},
		{"overlapping vpc block", "vpcs: [{id: v2, account: b, cidr: 10.1.0.0/16, addressBlock: 127.9.128.0/17}]", "overlaps 127.9.0.0/16"},
		{"same ip", "ports: [{id: p2, vpc: v1, subnet: s1, ip: 127.9.0.5}]", "address 127.9.0.5 is already used by"},
		{"same gateway", "kafka: [{id: k, vpc: v1, brokers: [{id: 0, listenerIp: 127.9.0.1}]}]", "(gateway of subnet s1)"},
		{"same kind, other id space", "securityGroups: [{id: v1, vpc: v1}]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "base.yaml", base)
			write(t, dir, "other.yaml", tc.other)
			_, err := ReadFiles(filepath.Join(dir, "base.yaml"), filepath.Join(dir, "other.yaml"))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "other.yaml") || !strings.Contains(err.Error(), "base.yaml") {
				t.Fatalf("got %v, want an error naming both files and %q", err, tc.want)
			}
		})
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "vpcs: [{id: va, account: a, cidr: 10.0.0.0/16, addressBlock: 127.9.0.0/16}]\n")
	write(t, dir, "sub/b.yaml", "include: [../a.yaml]\nsubnets: [{id: sb, vpc: va, cidr: 10.0.0.0/24, addressBlock: 127.9.0.0/24}]\n")
	write(t, dir, "top.yaml", "include: [a.yaml, sub/b.yaml]\n")
	w, err := ReadFile(filepath.Join(dir, "top.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.VPCs) != 1 || len(w.Subnets) != 1 || len(w.Include) != 0 {
		t.Fatalf("merged %d vpcs, %d subnets, include %v", len(w.VPCs), len(w.Subnets), w.Include)
	}
	// The subnet inherits its account from a VPC of another file.
	inv := inventory.New()
	if err := w.Apply(inv); err != nil {
		t.Fatal(err)
	}
	if s, err := inventory.Get[*inventory.Subnet](inv, "sb"); err != nil || s.Account != "a" {
		t.Fatalf("subnet %+v %v", s, err)
	}

	write(t, dir, "loop1.yaml", "include: [loop2.yaml]\n")
	write(t, dir, "loop2.yaml", "include: [loop1.yaml]\n")
	if _, err := ReadFile(filepath.Join(dir, "loop1.yaml")); err == nil || !strings.Contains(err.Error(), "include cycle") {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing-include.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
	p, err := Parse([]byte("include: [a.yaml]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(inventory.New()); err == nil || !strings.Contains(err.Error(), "include") {
		t.Fatalf("include outside a file applied: %v", err)
	}
	if _, err := Merge([]string{"posted"}, []*World{p}); err == nil || !strings.Contains(err.Error(), "posted: include") {
		t.Fatalf("merge of an include: %v", err)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
