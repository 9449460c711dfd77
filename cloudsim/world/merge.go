package world

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// merger accumulates world files into one world and remembers which file
// defined each ID and address, to refuse duplicates.
type merger struct {
	w      *World
	ids    map[string]string // kind/id → file
	ips    map[string]string // IP → "file (what)"
	blocks []block
	seen   map[string]bool // absolute paths already merged
}

type block struct {
	prefix netip.Prefix
	kind   string // "vpc" or "subnet": only blocks of the same kind must be disjoint
	what   string // "file: vpc ID"
}

func newMerger() *merger {
	return &merger{w: &World{}, ids: map[string]string{}, ips: map[string]string{}, seen: map[string]bool{}}
}

// read merges a world file after the files it includes; stack holds the
// files being read (to report an include cycle).
func (m *merger) read(path string, stack []string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("read world %s: %w", path, err)
	}
	for _, s := range stack {
		if s == abs {
			return fmt.Errorf("world %s: include cycle: %s -> %s", path, strings.Join(stack, " -> "), abs)
		}
	}
	if m.seen[abs] {
		return nil // included twice (e.g. by two files): merged once
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read world: %w", err)
	}
	w, err := Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, inc := range w.Include {
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(path), inc)
		}
		if err := m.read(inc, append(stack, abs)); err != nil {
			return err
		}
	}
	w.Include = nil
	m.seen[abs] = true
	return m.add(path, w)
}

// add merges one world, named name in errors.
func (m *merger) add(name string, w *World) error {
	var objs []inventory.Object
	for _, a := range w.Accounts {
		objs = append(objs, a)
	}
	for _, v := range w.VPCs {
		objs = append(objs, v)
	}
	for _, s := range w.Subnets {
		objs = append(objs, s)
	}
	for _, g := range w.SecurityGroups {
		objs = append(objs, g)
	}
	for _, p := range w.Ports {
		objs = append(objs, p)
	}
	for _, k := range w.Kafka {
		objs = append(objs, k)
	}
	for _, s := range w.EndpointServices {
		objs = append(objs, s)
	}
	for _, e := range w.Endpoints {
		objs = append(objs, e)
	}
	for _, p := range w.Peerings {
		objs = append(objs, p)
	}
	for _, r := range w.RouteTables {
		objs = append(objs, r)
	}
	for _, a := range w.NetworkACLs {
		objs = append(objs, a)
	}
	for _, c := range w.Configs {
		objs = append(objs, c)
	}
	for _, o := range objs {
		id := o.GetMeta().ID
		if id == "" {
			continue // Apply reports it
		}
		key := string(inventory.KindOf(o)) + " " + id
		if prev, dup := m.ids[key]; dup {
			return fmt.Errorf("%s: %s is already defined in %s: merged world files must not define the same resource twice", name, key, prev)
		}
		m.ids[key] = name
	}
	// Broker ports named by port ID are created by Apply unless defined.
	ip := func(addr, what string) error {
		if addr == "" {
			return nil
		}
		if prev, dup := m.ips[addr]; dup {
			return fmt.Errorf("%s: %s address %s is already used by %s: give it another address", name, what, addr, prev)
		}
		m.ips[addr] = name + " (" + what + ")"
		return nil
	}
	blk := func(cidr, kind, id string) error {
		if cidr == "" {
			return nil // Apply reports it
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return fmt.Errorf("%s: %s %s: addressBlock %q: %w", name, kind, id, cidr, err)
		}
		what := name + ": " + kind + " " + id
		for _, b := range m.blocks {
			if b.kind == kind && b.prefix.Overlaps(p) {
				return fmt.Errorf("%s: addressBlock %s overlaps %s of %s: give it a disjoint block", what, cidr, b.prefix, b.what)
			}
		}
		m.blocks = append(m.blocks, block{prefix: p, kind: kind, what: what})
		return nil
	}
	for _, v := range w.VPCs {
		if err := blk(v.AddressBlock, "vpc", v.ID); err != nil {
			return err
		}
	}
	for _, s := range w.Subnets {
		if err := blk(s.AddressBlock, "subnet", s.ID); err != nil {
			return err
		}
		if err := ip(s.GatewayIP, "gateway of subnet "+s.ID); err != nil {
			return err
		}
	}
	for _, p := range w.Ports {
		if err := ip(p.IP, "port "+p.ID); err != nil {
			return err
		}
	}
	for _, k := range w.Kafka {
		for _, b := range k.Brokers {
			if err := ip(b.ListenerIP, fmt.Sprintf("broker %d of kafka %s", b.ID, k.ID)); err != nil {
				return err
			}
		}
	}
	for _, e := range w.Endpoints {
		if err := ip(e.IP, "endpoint "+e.ID); err != nil {
			return err
		}
	}
	m.w.Accounts = append(m.w.Accounts, w.Accounts...)
	m.w.VPCs = append(m.w.VPCs, w.VPCs...)
	m.w.Subnets = append(m.w.Subnets, w.Subnets...)
	m.w.SecurityGroups = append(m.w.SecurityGroups, w.SecurityGroups...)
	m.w.Ports = append(m.w.Ports, w.Ports...)
	m.w.Kafka = append(m.w.Kafka, w.Kafka...)
	m.w.EndpointServices = append(m.w.EndpointServices, w.EndpointServices...)
	m.w.Endpoints = append(m.w.Endpoints, w.Endpoints...)
	m.w.Peerings = append(m.w.Peerings, w.Peerings...)
	m.w.RouteTables = append(m.w.RouteTables, w.RouteTables...)
	m.w.NetworkACLs = append(m.w.NetworkACLs, w.NetworkACLs...)
	m.w.Configs = append(m.w.Configs, w.Configs...)
	return nil
}
