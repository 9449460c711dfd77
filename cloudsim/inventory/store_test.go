package inventory

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCRUDCopiesAndEvents(t *testing.T) {
	s := New()
	var events []Event
	var mu sync.Mutex
	s.Watch(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() })

	in := &SecurityGroup{Meta: Meta{Account: "a", Tags: map[string]string{"k": "v"}}, Rules: []SGRule{{ID: "r1"}}}
	sg, err := Create(s, in)
	if err != nil {
		t.Fatal(err)
	}
	if sg.ID == "" || sg.Kind != KindSecurityGroup || sg.CreatedAt.IsZero() {
		t.Fatalf("meta not filled: %+v", sg.Meta)
	}
	// Mutating what went in or came out does not change the store.
	in.Rules[0].ID, sg.Rules[0].ID, sg.Tags["k"] = "x", "y", "z"
	got, _ := Get[*SecurityGroup](s, sg.ID)
	if got.Rules[0].ID != "r1" || got.Tags["k"] != "v" {
		t.Fatalf("store aliased caller memory: %+v", got)
	}
	if _, err := Create(s, &SecurityGroup{Meta: Meta{ID: sg.ID}}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate create: %v", err)
	}
	up, err := Update(s, sg.ID, func(g *SecurityGroup) error { g.Rules = append(g.Rules, SGRule{ID: "r2"}); g.ID = "hijack"; return nil })
	if err != nil || len(up.Rules) != 2 || up.ID != sg.ID {
		t.Fatalf("update: %v %+v", err, up)
	}
	boom := errors.New("boom")
	if _, err := Update(s, sg.ID, func(g *SecurityGroup) error { g.Rules = nil; return boom }); !errors.Is(err, boom) {
		t.Errorf("aborted update: %v", err)
	}
	if got, _ := Get[*SecurityGroup](s, sg.ID); len(got.Rules) != 2 {
		t.Errorf("aborted update was applied")
	}
	if err := s.Delete(KindSecurityGroup, sg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(KindSecurityGroup, sg.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := s.Delete(KindSecurityGroup, sg.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("double delete: %v", err)
	}
	var ops []Op
	for _, e := range events {
		ops = append(ops, e.Op)
	}
	if fmt.Sprint(ops) != "[created updated deleted]" {
		t.Errorf("events %v", ops)
	}
}

func TestListFilterVisibilityAndCredentials(t *testing.T) {
	s := New()
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	s.VisibilityDelay = func(k Kind, _ Object) time.Duration {
		if k == KindEndpoint {
			return time.Second
		}
		return 0
	}
	Create(s, &Account{Meta: Meta{ID: "acct-a", Account: "acct-a"}, ProjectID: "p-a", Credentials: []Credential{{Type: "aksk", KeyID: "AK1", Secret: "SK1"}}})
	Create(s, &Endpoint{Meta: Meta{ID: "e1", Account: "acct-a"}})
	Create(s, &Endpoint{Meta: Meta{ID: "e2", Account: "acct-b"}})
	if n := len(List[*Endpoint](s, Filter{})); n != 0 {
		t.Errorf("%d endpoints visible before their time", n)
	}
	if n := len(s.Snapshot(Filter{})[KindEndpoint]); n != 2 {
		t.Errorf("admin snapshot shows %d endpoints", n)
	}
	now = now.Add(time.Second)
	if l := List[*Endpoint](s, Filter{Account: "acct-b"}); len(l) != 1 || l[0].ID != "e2" {
		t.Errorf("filtered list %v", l)
	}
	a, c, err := s.FindCredential("aksk", "AK1")
	if err != nil || a.ID != "acct-a" || c.Secret != "SK1" {
		t.Errorf("find credential: %v %v", a, err)
	}
	if _, _, err := s.FindCredential("aksk", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if a, err := s.AccountBy("p-a"); err != nil || a.ID != "acct-a" {
		t.Errorf("account by project: %v %v", a, err)
	}
}

func TestAllocateIP(t *testing.T) {
	s := New()
	Create(s, &VPC{Meta: Meta{ID: "v"}, AddressBlock: "127.40.0.0/16"})
	Create(s, &Subnet{Meta: Meta{ID: "sn"}, VPCID: "v", AddressBlock: "127.40.7.0/29"})
	var got []string
	for {
		ip, err := s.AllocateIP("sn")
		if errors.Is(err, ErrNoSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip)
	}
	if fmt.Sprint(got) != "[127.40.7.2 127.40.7.3 127.40.7.4 127.40.7.5 127.40.7.6]" {
		t.Errorf("allocated %v", got)
	}
	// An address held by a port is freed when the port goes.
	s.ReleaseIP("127.40.7.3")
	p, _ := Create(s, &Port{Meta: Meta{ID: "p"}, IP: "127.40.7.3"})
	if s.Owner(p.IP) != "port/p" {
		t.Errorf("owner %q", s.Owner(p.IP))
	}
	s.Delete(KindPort, "p")
	if ip, err := s.AllocateIP("sn"); err != nil || ip != "127.40.7.3" {
		t.Errorf("reallocate: %s %v", ip, err)
	}
	if v, err := s.VPCOf("127.40.7.3"); err != nil || v.ID != "v" {
		t.Errorf("vpc of: %v %v", v, err)
	}
	if _, err := s.AllocateIP("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing subnet: %v", err)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	s := New()
	Create(s, &Config{Meta: Meta{ID: "c"}, Properties: map[string]string{}})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			Update(s, "c", func(c *Config) error { c.Version++; c.Properties[fmt.Sprint(i)] = "x"; return nil })
			s.List(KindConfig, Filter{})
		}(i)
	}
	wg.Wait()
	c, _ := Get[*Config](s, "c")
	if c.Version != 50 || len(c.Properties) != 50 {
		t.Errorf("lost updates: version %d, %d properties", c.Version, len(c.Properties))
	}
}
