// Package world reads cloudsim world files: YAML that seeds accounts (with
// their credentials), networks, ports and Kafka clusters into an inventory.
//
//	accounts:        [{id, provider, region, projectId, domainId, accountId, subscriptionId, tenantId, credentials: [{type, keyId, secret}]}]
//	vpcs:            [{id, account, region, name, cidr, addressBlock}]   # addressBlock: the 127.x block addresses come from
//	subnets:         [{id, account, vpc, cidr, addressBlock}]
//	securityGroups:  [{id, account, vpc, rules: [...]}]
//	ports:           [{id, account, vpc, subnet, ip}]                     # ip omitted: allocated from the subnet
//	kafka:           [{id, account, engine, vpc, subnet, status, saslUsers, saslMechanism, tls,
//	                   brokers: [{id, host, listenerIp, port, portId, advertised}]}]
//	networkACLs:     [{id, account, region, subnets: [...], ingressRules: [...], egressRules: [...]}]  # Huawei/OTC network ACLs
//	endpointServices, endpoints, peerings, routeTables, configs: the inventory types' fields
//	include:         [other.yaml, ...]   # world files merged before this one (paths relative to this file)
//
// Several world files make one world with [ReadFiles] (or a file's include
// list): their resources are merged, and a resource ID or an address defined
// twice (the same IP, or overlapping VPC or subnet address blocks) is refused
// with an error naming both files.
//
// A broker without listenerIp gets one from its instance's subnet (or VPC);
// a broker with a portId gets a port (network interface) holding its listener
// IP, as Huawei DMS's cross_vpc_info port_id names one.
package world

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// World is the content of a world file.
type World struct {
	// Include lists world files merged before this one, relative to this
	// file's directory (only in files read with ReadFile/ReadFiles).
	Include          []string                     `yaml:"include"`
	Accounts         []*inventory.Account         `yaml:"accounts"`
	VPCs             []*inventory.VPC             `yaml:"vpcs"`
	Subnets          []*inventory.Subnet          `yaml:"subnets"`
	SecurityGroups   []*inventory.SecurityGroup   `yaml:"securityGroups"`
	Ports            []*inventory.Port            `yaml:"ports"`
	Kafka            []*inventory.KafkaInstance   `yaml:"kafka"`
	EndpointServices []*inventory.EndpointService `yaml:"endpointServices"`
	Endpoints        []*inventory.Endpoint        `yaml:"endpoints"`
	Peerings         []*inventory.Peering         `yaml:"peerings"`
	RouteTables      []*inventory.RouteTable      `yaml:"routeTables"`
	NetworkACLs      []*inventory.NetworkACL      `yaml:"networkACLs"`
	Configs          []*inventory.Config          `yaml:"configs"`
}

// Parse decodes a world file, rejecting unknown fields.
func Parse(data []byte) (*World, error) {
	var w World
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("parse world: %w", err)
	}
	return &w, nil
}

// ReadFile reads and parses a world file, with the files it includes.
func ReadFile(path string) (*World, error) {
	return ReadFiles(path)
}

// ReadFiles reads world files (each with its includes, each file once) and
// merges them into one world, refusing an ID or an address that two files
// (or one file twice) define.
func ReadFiles(paths ...string) (*World, error) {
	m := newMerger()
	for _, p := range paths {
		if err := m.read(p, nil); err != nil {
			return nil, err
		}
	}
	return m.w, nil
}

// Merge merges worlds (named, for errors, by names[i]) into a new one,
// refusing an ID or an address defined twice.
func Merge(names []string, ws []*World) (*World, error) {
	m := newMerger()
	for i, w := range ws {
		name := fmt.Sprintf("world %d", i+1)
		if i < len(names) {
			name = names[i]
		}
		if len(w.Include) > 0 {
			return nil, fmt.Errorf("%s: include is only allowed in world files", name)
		}
		if err := m.add(name, w); err != nil {
			return nil, err
		}
	}
	return m.w, nil
}

// Apply creates the world's resources in inv, in dependency order. Region
// and account default from the owning VPC where empty.
func (w *World) Apply(inv *inventory.Store) error {
	if len(w.Include) > 0 {
		return fmt.Errorf("world: include (%s) is only resolved by ReadFile", strings.Join(w.Include, ", "))
	}
	vpcOf := map[string]*inventory.VPC{}
	create := func(o inventory.Object) error {
		m := o.GetMeta()
		if m.ID == "" {
			return fmt.Errorf("world: %s %q needs an id", inventory.KindOf(o), m.Name)
		}
		if m.Status == "" {
			m.Status = defaultStatus(inventory.KindOf(o))
		}
		if _, err := inv.Create(o); err != nil {
			return fmt.Errorf("world: %w", err)
		}
		return nil
	}
	inherit := func(m *inventory.Meta, vpcID string) {
		if v, ok := vpcOf[vpcID]; ok {
			if m.Account == "" {
				m.Account = v.Account
			}
			if m.Region == "" {
				m.Region = v.Region
			}
		}
	}
	for _, a := range w.Accounts {
		if a.Account == "" {
			a.Account = a.ID
		}
		if err := create(a); err != nil {
			return err
		}
	}
	for _, v := range w.VPCs {
		if v.AddressBlock == "" || !strings.HasPrefix(v.AddressBlock, "127.") {
			return fmt.Errorf("world: vpc %s needs an addressBlock inside 127.0.0.0/8", v.ID)
		}
		vpcOf[v.ID] = v
		if err := create(v); err != nil {
			return err
		}
	}
	for _, s := range w.Subnets {
		inherit(&s.Meta, s.VPCID)
		if s.AddressBlock == "" {
			return fmt.Errorf("world: subnet %s needs an addressBlock", s.ID)
		}
		if err := create(s); err != nil {
			return err
		}
	}
	for _, g := range w.SecurityGroups {
		inherit(&g.Meta, g.VPCID)
		for i := range g.Rules {
			if g.Rules[i].ID == "" {
				g.Rules[i].ID = inventory.NewID(inventory.KindSecurityGroup)
			}
		}
		if err := create(g); err != nil {
			return err
		}
	}
	for _, p := range w.Ports {
		inherit(&p.Meta, p.VPCID)
		if err := allocate(inv, &p.IP, p.SubnetID, p.VPCID); err != nil {
			return fmt.Errorf("world: port %s: %w", p.ID, err)
		}
		if err := create(p); err != nil {
			return err
		}
	}
	for _, k := range w.Kafka {
		inherit(&k.Meta, k.VPCID)
		// MSK serves SASL/SCRAM only over TLS (port 9096; "SASL/SCRAM
		// authentication requires TLS encryption", https://docs.aws.amazon.com/msk/latest/developerguide/msk-password.html):
		// a world cluster with SCRAM users over plaintext would be kinder than MSK.
		if k.Engine == "msk" && len(k.SASLUsers) > 0 && !k.TLS {
			return fmt.Errorf("world: kafka %s: an MSK cluster with saslUsers needs tls: true (MSK serves SASL/SCRAM only over TLS)", k.ID)
		}
		for i := range k.Brokers {
			b := &k.Brokers[i]
			if err := allocate(inv, &b.ListenerIP, k.SubnetID, k.VPCID); err != nil {
				return fmt.Errorf("world: kafka %s broker %d: %w", k.ID, b.ID, err)
			}
			if b.Port == 0 {
				b.Port = 9092
			}
		}
		// Ports (network interfaces) behind the listener IPs come first, so
		// endpoint services can name them.
		for _, b := range k.Brokers {
			if b.PortID == "" {
				continue
			}
			if _, err := inv.Get(inventory.KindPort, b.PortID); err == nil {
				continue
			}
			p := &inventory.Port{Meta: inventory.Meta{ID: b.PortID, Account: k.Account, Region: k.Region, Name: fmt.Sprintf("%s-broker-%d", k.Name, b.ID), Status: "ACTIVE"},
				VPCID: k.VPCID, SubnetID: k.SubnetID, IP: b.ListenerIP, DeviceOwner: "kafka", DeviceID: k.ID}
			if err := create(p); err != nil {
				return err
			}
		}
		if err := create(k); err != nil {
			return err
		}
	}
	for _, s := range w.EndpointServices {
		inherit(&s.Meta, s.VPCID)
		if err := create(s); err != nil {
			return err
		}
	}
	for _, e := range w.Endpoints {
		inherit(&e.Meta, e.VPCID)
		if err := create(e); err != nil {
			return err
		}
	}
	for _, p := range w.Peerings {
		inherit(&p.Meta, p.VPCID)
		if err := create(p); err != nil {
			return err
		}
	}
	for _, r := range w.RouteTables {
		inherit(&r.Meta, r.VPCID)
		if err := create(r); err != nil {
			return err
		}
	}
	for _, acl := range w.NetworkACLs {
		for i := range acl.IngressRules {
			if acl.IngressRules[i].ID == "" {
				acl.IngressRules[i].ID = inventory.NewID(inventory.KindNetworkACL)
			}
		}
		for i := range acl.EgressRules {
			if acl.EgressRules[i].ID == "" {
				acl.EgressRules[i].ID = inventory.NewID(inventory.KindNetworkACL)
			}
		}
		if err := create(acl); err != nil {
			return err
		}
	}
	for _, c := range w.Configs {
		if err := create(c); err != nil {
			return err
		}
	}
	return nil
}

func allocate(inv *inventory.Store, ip *string, subnet, vpc string) error {
	if *ip != "" {
		return nil
	}
	from := subnet
	if from == "" {
		from = vpc
	}
	a, err := inv.AllocateIP(from)
	if err != nil {
		return err
	}
	*ip = a
	return nil
}

func defaultStatus(k inventory.Kind) string {
	switch k {
	case inventory.KindAccount, inventory.KindConfig:
		return ""
	case inventory.KindKafka:
		return "RUNNING"
	case inventory.KindEndpointService:
		return "available"
	case inventory.KindPeering:
		return inventory.PeeringActive
	default:
		return "ACTIVE"
	}
}

// Shift moves every 127.x address of the world (address blocks, gateway,
// port, broker listener, endpoint and advertised IPs) by delta in the second
// octet, so that tests running in parallel can load the same world without
// colliding on addresses. It fails if an address would leave 127.0.0.0/8.
func (w *World) Shift(delta int) error {
	var err error
	mv := func(s *string) {
		if err != nil || !strings.HasPrefix(*s, "127.") {
			return
		}
		parts := strings.SplitN(*s, ".", 3)
		var n int
		if _, e := fmt.Sscanf(parts[1], "%d", &n); e != nil {
			err = fmt.Errorf("shift %q: %w", *s, e)
			return
		}
		if n+delta < 0 || n+delta > 255 {
			err = fmt.Errorf("shift %q by %d leaves 127.0.0.0/8", *s, delta)
			return
		}
		*s = fmt.Sprintf("127.%d.%s", n+delta, parts[2])
	}
	for _, v := range w.VPCs {
		mv(&v.AddressBlock)
	}
	for _, s := range w.Subnets {
		mv(&s.AddressBlock)
		mv(&s.GatewayIP)
	}
	for _, p := range w.Ports {
		mv(&p.IP)
	}
	for _, k := range w.Kafka {
		for i := range k.Brokers {
			mv(&k.Brokers[i].ListenerIP)
			mv(&k.Brokers[i].Advertised)
			mv(&k.Brokers[i].PendingAdvertised)
		}
	}
	for _, e := range w.Endpoints {
		mv(&e.IP)
	}
	return err
}
