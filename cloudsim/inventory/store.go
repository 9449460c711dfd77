// Package inventory is cloudsim's one in-memory world: every account, VPC,
// subnet, security group, port, Kafka instance, endpoint service, endpoint,
// peering, route table and config behind all provider APIs.
//
// The [Store] is safe for concurrent use. Objects go in and come out as deep
// copies, so a caller can never mutate the world except through
// [Store.Update]. Watchers ([Store.Watch]) see every change after it is
// committed; cloudsim's network model uses them to start and stop forwarders.
//
// Eventual consistency: a resource whose Meta.VisibleAt lies in the future is
// hidden from [Store.Get] and [Store.List] (the provider view) but shown by
// [Store.Snapshot] (the admin view). [Store.VisibilityDelay] sets it at create
// time from the fault injector.
package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Errors returned by the store; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrNoSpace  = errors.New("no free address")
)

// Op is the type of a change.
type Op string

// Change types.
const (
	Created Op = "created"
	Updated Op = "updated"
	Deleted Op = "deleted"
)

// Event describes a committed change. Old is nil for Created, New is nil for Deleted.
type Event struct {
	Op   Op
	Kind Kind
	ID   string
	Old  Object
	New  Object
}

// Filter narrows List. Empty fields match everything.
type Filter struct {
	Account string
	Region  string
	// Match, if set, must return true. It runs under the store's read lock
	// on the stored object: it must neither change it nor call the store.
	Match func(Object) bool
}

// Store is the inventory. The zero value is not usable; call New.
type Store struct {
	mu       sync.RWMutex
	objs     map[Kind]map[string]Object
	used     map[string]string // loopback IP -> owner ("kind/id" or "reserved")
	watchers []func(Event)
	now      func() time.Time

	// VisibilityDelay, if set, is called on Create; a positive result hides the
	// new object from provider reads for that long.
	VisibilityDelay func(kind Kind, obj Object) time.Duration
}

// New returns an empty store.
func New() *Store {
	s := &Store{now: time.Now}
	s.reset()
	return s
}

func (s *Store) reset() {
	s.objs = map[Kind]map[string]Object{}
	for _, k := range Kinds {
		s.objs[k] = map[string]Object{}
	}
	s.used = map[string]string{}
}

// KindOf returns the kind of an object type.
func KindOf(o Object) Kind {
	switch o.(type) {
	case *Account:
		return KindAccount
	case *VPC:
		return KindVPC
	case *Subnet:
		return KindSubnet
	case *SecurityGroup:
		return KindSecurityGroup
	case *Port:
		return KindPort
	case *KafkaInstance:
		return KindKafka
	case *EndpointService:
		return KindEndpointService
	case *Endpoint:
		return KindEndpoint
	case *Peering:
		return KindPeering
	case *RouteTable:
		return KindRouteTable
	case *NetworkACL:
		return KindNetworkACL
	case *Config:
		return KindConfig
	}
	panic(fmt.Sprintf("inventory: unknown object type %T", o))
}

// clone deep-copies an object (maps, slices and pointers included).
func clone(o Object) Object {
	if o == nil {
		return nil
	}
	t := reflect.TypeOf(o).Elem()
	n := reflect.New(t)
	n.Elem().Set(reflect.ValueOf(o).Elem())
	out := n.Interface().(Object)
	deepCopy(n.Elem())
	return out
}

// deepCopy replaces maps and slices reachable from v by copies.
func deepCopy(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				deepCopy(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		for i := 0; i < n.Len(); i++ {
			deepCopy(n.Index(i))
		}
		v.Set(n)
	case reflect.Map:
		if v.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			val := reflect.New(it.Value().Type()).Elem()
			val.Set(it.Value())
			deepCopy(val)
			n.SetMapIndex(it.Key(), val)
		}
		v.Set(n)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(v.Elem())
		deepCopy(n.Elem())
		v.Set(n)
	}
}

// NewID returns a fresh ID for a kind (a UUID, as Huawei and Azure use).
func NewID(kind Kind) string { return uuid.NewString() }

// Create stores a copy of obj, assigning ID, Kind and timestamps, and returns the stored copy.
func (s *Store) Create(obj Object) (Object, error) {
	kind := KindOf(obj)
	o := clone(obj)
	m := o.GetMeta()
	m.Kind = kind
	if m.ID == "" {
		m.ID = NewID(kind)
	}
	now := s.now().UTC()
	m.CreatedAt, m.UpdatedAt = now, now
	if s.VisibilityDelay != nil {
		if d := s.VisibilityDelay(kind, o); d > 0 {
			m.VisibleAt = now.Add(d)
		}
	}
	s.mu.Lock()
	if _, dup := s.objs[kind][m.ID]; dup {
		s.mu.Unlock()
		return nil, fmt.Errorf("create %s %s: %w", kind, m.ID, ErrExists)
	}
	s.objs[kind][m.ID] = o
	s.claimAddresses(o)
	ws := s.watchers
	s.mu.Unlock()
	out := clone(o)
	notify(ws, Event{Op: Created, Kind: kind, ID: m.ID, New: clone(o)})
	return out, nil
}

func notify(ws []func(Event), ev Event) {
	for _, w := range ws {
		w(ev)
	}
}

func (s *Store) visible(o Object) bool {
	v := o.GetMeta().VisibleAt
	return v.IsZero() || !s.now().Before(v)
}

// Get returns a copy of the object as a provider API sees it: ErrNotFound
// when absent or not yet visible.
func (s *Store) Get(kind Kind, id string) (Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[kind][id]
	if !ok || !s.visible(o) {
		return nil, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	return clone(o), nil
}

// List returns copies of the visible objects of a kind that match f, sorted by creation time then ID.
func (s *Store) List(kind Kind, f Filter) []Object {
	return s.list(kind, f, false)
}

func (s *Store) list(kind Kind, f Filter, all bool) []Object {
	s.mu.RLock()
	var out []Object
	for _, o := range s.objs[kind] {
		m := o.GetMeta()
		if (!all && !s.visible(o)) || (f.Account != "" && m.Account != f.Account) || (f.Region != "" && m.Region != f.Region) {
			continue
		}
		// Matched before the copy: a list that keeps a few of thousands
		// copies only those (Match reads, never changes, the object).
		if f.Match != nil && !f.Match(o) {
			continue
		}
		out = append(out, clone(o))
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GetMeta(), out[j].GetMeta()
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return out
}

// Update applies fn to a copy of the object and stores the result. fn's
// error aborts the update and is returned as is. Kind and ID cannot change.
func (s *Store) Update(kind Kind, id string, fn func(Object) error) (Object, error) {
	s.mu.Lock()
	cur, ok := s.objs[kind][id]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("update %s %s: %w", kind, id, ErrNotFound)
	}
	n := clone(cur)
	if err := fn(n); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	m := n.GetMeta()
	m.Kind, m.ID, m.CreatedAt = kind, id, cur.GetMeta().CreatedAt
	m.UpdatedAt = s.now().UTC()
	s.releaseAddresses(cur)
	s.objs[kind][id] = n
	s.claimAddresses(n)
	ws := s.watchers
	s.mu.Unlock()
	notify(ws, Event{Op: Updated, Kind: kind, ID: id, Old: clone(cur), New: clone(n)})
	return clone(n), nil
}

// Delete removes an object.
func (s *Store) Delete(kind Kind, id string) error {
	s.mu.Lock()
	cur, ok := s.objs[kind][id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("delete %s %s: %w", kind, id, ErrNotFound)
	}
	delete(s.objs[kind], id)
	s.releaseAddresses(cur)
	ws := s.watchers
	s.mu.Unlock()
	notify(ws, Event{Op: Deleted, Kind: kind, ID: id, Old: clone(cur)})
	return nil
}

// Watch registers fn to be called synchronously after every committed
// change, in the goroutine that made it. fn must not call Watch.
func (s *Store) Watch(fn func(Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(append([]func(Event){}, s.watchers...), fn)
}

// Reset deletes everything, notifying watchers of each deletion.
func (s *Store) Reset() {
	s.mu.Lock()
	old := s.objs
	s.reset()
	ws := s.watchers
	s.mu.Unlock()
	for i := len(Kinds) - 1; i >= 0; i-- {
		for id, o := range old[Kinds[i]] {
			notify(ws, Event{Op: Deleted, Kind: Kinds[i], ID: id, Old: o})
		}
	}
}

// Snapshot returns every live object by kind (hidden ones included), the admin view.
func (s *Store) Snapshot(f Filter) map[Kind][]Object {
	out := map[Kind][]Object{}
	for _, k := range Kinds {
		if l := s.list(k, f, true); len(l) > 0 {
			out[k] = l
		}
	}
	return out
}

// SnapshotJSON encodes Snapshot as JSON (the admin view; secrets are never encoded).
func (s *Store) SnapshotJSON(f Filter) ([]byte, error) {
	return json.Marshal(s.Snapshot(f))
}

// FindCredential returns the account and credential whose key ID is keyID
// (an AK, access key ID, client ID, token or user name) and type typ ("" = any).
func (s *Store) FindCredential(typ, keyID string) (*Account, Credential, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.objs[KindAccount] {
		a := o.(*Account)
		for _, c := range a.Credentials {
			if c.KeyID == keyID && (typ == "" || c.Type == typ) {
				return clone(a).(*Account), c, nil
			}
		}
	}
	return nil, Credential{}, fmt.Errorf("credential %q: %w", keyID, ErrNotFound)
}

// AccountBy returns the account whose ID, ProjectID, DomainID, AccountID or SubscriptionID equals key.
func (s *Store) AccountBy(key string) (*Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.objs[KindAccount] {
		a := o.(*Account)
		if key != "" && (a.ID == key || a.ProjectID == key || a.DomainID == key || a.AccountID == key || a.SubscriptionID == key) {
			return clone(a).(*Account), nil
		}
	}
	return nil, fmt.Errorf("account %q: %w", key, ErrNotFound)
}

// addresses returns the loopback IPs an object holds.
func addresses(o Object) []string {
	switch v := o.(type) {
	case *Port:
		return []string{v.IP}
	case *Endpoint:
		return []string{v.IP}
	case *KafkaInstance:
		var ips []string
		for _, b := range v.Brokers {
			ips = append(ips, b.ListenerIP)
		}
		return ips
	}
	return nil
}

func (s *Store) claimAddresses(o Object) {
	m := o.GetMeta()
	for _, ip := range addresses(o) {
		if ip != "" {
			s.used[ip] = string(m.Kind) + "/" + m.ID
		}
	}
}

func (s *Store) releaseAddresses(o Object) {
	m := o.GetMeta()
	for _, ip := range addresses(o) {
		if s.used[ip] == string(m.Kind)+"/"+m.ID {
			delete(s.used, ip)
		}
	}
}

// AllocateIP reserves and returns a free loopback address of a subnet (or,
// when subnetID names a VPC, of the VPC's block). The address is held until
// an object carrying it is created and later deleted, or ReleaseIP is called.
// Network (.0), gateway (.1) and broadcast addresses are never handed out.
func (s *Store) AllocateIP(subnetOrVPC string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var block string
	if sn, ok := s.objs[KindSubnet][subnetOrVPC]; ok {
		block = sn.(*Subnet).AddressBlock
	} else if v, ok := s.objs[KindVPC][subnetOrVPC]; ok {
		block = v.(*VPC).AddressBlock
	} else {
		return "", fmt.Errorf("allocate address in %s: %w", subnetOrVPC, ErrNotFound)
	}
	p, err := netip.ParsePrefix(block)
	if err != nil {
		return "", fmt.Errorf("allocate address in %s: bad block %q: %w", subnetOrVPC, block, err)
	}
	p = p.Masked()
	for a := p.Addr().Next().Next(); p.Contains(a); a = a.Next() {
		if !p.Contains(a.Next()) { // broadcast
			break
		}
		if b := a.As4(); b[3] == 0 || b[3] == 255 || b[3] == 1 {
			continue
		}
		if _, taken := s.used[a.String()]; !taken {
			s.used[a.String()] = "reserved"
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("allocate address in %s (%s): %w", subnetOrVPC, block, ErrNoSpace)
}

// ReleaseIP frees an address reserved by AllocateIP that no object holds.
func (s *Store) ReleaseIP(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[ip] == "reserved" {
		delete(s.used, ip)
	}
}

// Owner returns what holds a loopback address ("kind/id", "reserved" or "").
func (s *Store) Owner(ip string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.used[ip]
}

// VPCOf returns the VPC whose AddressBlock contains ip.
func (s *Store) VPCOf(ip string) (*VPC, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("vpc of %q: %w", ip, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.objs[KindVPC] {
		v := o.(*VPC)
		if p, err := netip.ParsePrefix(v.AddressBlock); err == nil && p.Contains(a) {
			return clone(v).(*VPC), nil
		}
	}
	return nil, fmt.Errorf("vpc of %s: %w", ip, ErrNotFound)
}

// Get is the typed form of Store.Get.
func Get[T Object](s *Store, id string) (T, error) {
	var zero T
	o, err := s.Get(KindOf(newOf[T]()), id)
	if err != nil {
		return zero, err
	}
	return o.(T), nil
}

// List is the typed form of Store.List.
func List[T Object](s *Store, f Filter) []T {
	objs := s.List(KindOf(newOf[T]()), f)
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.(T)
	}
	return out
}

// Update is the typed form of Store.Update.
func Update[T Object](s *Store, id string, fn func(T) error) (T, error) {
	var zero T
	o, err := s.Update(KindOf(newOf[T]()), id, func(o Object) error { return fn(o.(T)) })
	if err != nil {
		return zero, err
	}
	return o.(T), nil
}

// Create is the typed form of Store.Create.
func Create[T Object](s *Store, obj T) (T, error) {
	var zero T
	o, err := s.Create(obj)
	if err != nil {
		return zero, err
	}
	return o.(T), nil
}

func newOf[T Object]() Object {
	var zero T
	return reflect.New(reflect.TypeOf(zero).Elem()).Interface().(Object)
}

// FindByTag returns the first visible object of kind whose tag key equals value
// (for idempotent creates keyed by a client token).
func (s *Store) FindByTag(kind Kind, key, value string) (Object, bool) {
	for _, o := range s.List(kind, Filter{}) {
		if o.GetMeta().Tags[key] == value {
			return o, true
		}
	}
	return nil, false
}

// ParseKind returns the kind named s (case-insensitive).
func ParseKind(name string) (Kind, error) {
	for _, k := range Kinds {
		if strings.EqualFold(string(k), name) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q", name)
}
