package inventory

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Dump is the whole store as data, secrets included: what cloudsim's state
// directory keeps between runs (never served by the admin API).
type Dump struct {
	// Objects by kind, each the object's JSON.
	Objects map[Kind][]json.RawMessage `json:"objects"`
	// Secrets holds the fields the JSON form leaves out (json:"-"): every
	// credential's secret by account ID, every Kafka instance's SASL users.
	Secrets map[string][]string          `json:"secrets,omitempty"`
	SASL    map[string]map[string]string `json:"sasl,omitempty"`
	// Used is every held loopback address and its owner ("reserved" too).
	Used map[string]string `json:"used"`
}

// Dump returns the store's content (hidden objects included).
func (s *Store) Dump() (*Dump, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := &Dump{Objects: map[Kind][]json.RawMessage{}, Secrets: map[string][]string{}, SASL: map[string]map[string]string{}, Used: map[string]string{}}
	for _, k := range Kinds {
		ids := make([]string, 0, len(s.objs[k]))
		for id := range s.objs[k] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			o := s.objs[k][id]
			b, err := json.Marshal(o)
			if err != nil {
				return nil, fmt.Errorf("dump %s %s: %w", k, id, err)
			}
			d.Objects[k] = append(d.Objects[k], b)
			switch v := o.(type) {
			case *Account:
				var sec []string
				for _, c := range v.Credentials {
					sec = append(sec, c.Secret)
				}
				d.Secrets[id] = sec
			case *KafkaInstance:
				if v.SASLUsers != nil {
					d.SASL[id] = clone(v).(*KafkaInstance).SASLUsers
				}
			}
		}
	}
	for ip, owner := range s.used {
		d.Used[ip] = owner
	}
	return d, nil
}

// Restore replaces the store's content with a dump, keeping every object's
// metadata (IDs, timestamps) as dumped, then tells the watchers about every
// object as created, once all are in (so a watcher that looks for related
// objects finds them, as after the original creates).
func (s *Store) Restore(d *Dump) error {
	objs := map[Kind]map[string]Object{}
	for _, k := range Kinds {
		objs[k] = map[string]Object{}
	}
	var order []Object
	for _, k := range Kinds {
		for _, raw := range d.Objects[k] {
			o := newOfKind(k)
			if err := json.Unmarshal(raw, o); err != nil {
				return fmt.Errorf("restore %s: %w", k, err)
			}
			fillOmittedMaps(reflect.ValueOf(o).Elem())
			m := o.GetMeta()
			m.Kind = k
			switch v := o.(type) {
			case *Account:
				sec := d.Secrets[m.ID]
				for i := range v.Credentials {
					if i < len(sec) {
						v.Credentials[i].Secret = sec[i]
					}
				}
			case *KafkaInstance:
				if u, ok := d.SASL[m.ID]; ok {
					v.SASLUsers = u
				}
			}
			objs[k][m.ID] = o
			order = append(order, o)
		}
	}
	used := map[string]string{}
	for ip, owner := range d.Used {
		used[ip] = owner
	}
	s.mu.Lock()
	if n := s.count(); n > 0 {
		s.mu.Unlock()
		return fmt.Errorf("restore: the store already holds %d objects", n)
	}
	s.objs, s.used = objs, used
	ws := s.watchers
	s.mu.Unlock()
	for _, o := range order {
		m := o.GetMeta()
		notify(ws, Event{Op: Created, Kind: m.Kind, ID: m.ID, New: clone(o)})
	}
	return nil
}

func (s *Store) count() int {
	n := 0
	for _, m := range s.objs {
		n += len(m)
	}
	return n
}

// newOfKind returns a new empty object of a kind.
func newOfKind(k Kind) Object {
	switch k {
	case KindAccount:
		return &Account{}
	case KindVPC:
		return &VPC{}
	case KindSubnet:
		return &Subnet{}
	case KindSecurityGroup:
		return &SecurityGroup{}
	case KindPort:
		return &Port{}
	case KindKafka:
		return &KafkaInstance{}
	case KindEndpointService:
		return &EndpointService{}
	case KindEndpoint:
		return &Endpoint{}
	case KindPeering:
		return &Peering{}
	case KindRouteTable:
		return &RouteTable{}
	case KindNetworkACL:
		return &NetworkACL{}
	case KindConfig:
		return &Config{}
	}
	panic(fmt.Sprintf("inventory: unknown kind %q", k))
}

// fillOmittedMaps makes the nil maps of fields whose JSON form omits them
// when empty (omitempty) empty maps again: JSON cannot tell an empty map
// from none there, and providers write into maps they created empty. Maps
// JSON keeps (no omitempty) come back exactly.
func fillOmittedMaps(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillOmittedMaps(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			fillOmittedMaps(v.Index(i))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Map && fv.IsNil() && strings.Contains(f.Tag.Get("json"), ",omitempty") {
				fv.Set(reflect.MakeMap(fv.Type()))
				continue
			}
			fillOmittedMaps(fv)
		}
	}
}
