package plan

import (
	"github.com/expr-lang/expr/ast"
)

// The fast paths below evaluate, without the expression VM, the two shapes
// the compiler writes into every fan-out item's inputs (compiler/huawei.go
// letServices, serviceOfBroker, endpointOfBroker):
//
//   - member and index chains over maps: broker.portId, svc[broker.portId],
//     names[svc[broker.portId]];
//   - a lookup table built once per step: fromPairs(map(list, [#.a, #.b])).
//
// expr reaches map values through reflection (vm/runtime.Fetch), which
// allocates on every access; these read the maps directly. They give
// exactly what the VM gives, or decline (ok false) and the VM evaluates the
// expression as usual, reporting any error in its own words. They decline
// whatever they are not sure of: a value that is not a plain JSON map, a
// key of another kind, optional chaining, $env, a name the environment does
// not hold.

// fastChain evaluates a member/index fastChain against env; ok false: declined.
type fastChain func(sc scope) (v any, ok bool)

// compileChain returns the fast evaluation of n, or nil when n is not a
// member/index fastChain over identifiers and string literals.
func compileChain(n ast.Node) fastChain {
	switch t := n.(type) {
	case *ast.IdentifierNode:
		name := t.Value
		if name == "$env" || name == "" {
			return nil
		}
		return func(sc scope) (any, bool) {
			return sc.get(name)
		}
	case *ast.MemberNode:
		if t.Optional || t.Method {
			return nil
		}
		base := compileChain(t.Node)
		if base == nil {
			return nil
		}
		if s, ok := t.Property.(*ast.StringNode); ok {
			key := s.Value
			return func(sc scope) (any, bool) {
				b, ok := base(sc)
				if !ok {
					return nil, false
				}
				return fetch(b, key)
			}
		}
		prop := compileChain(t.Property)
		if prop == nil {
			return nil
		}
		return func(sc scope) (any, bool) {
			b, ok := base(sc)
			if !ok {
				return nil, false
			}
			k, ok := prop(sc)
			if !ok {
				return nil, false
			}
			return fetch(b, k)
		}
	}
	return nil
}

// fetch is runtime.Fetch for the maps JSON and fromPairs make: a missing key
// gives nil (the zero of the maps' element type, as Fetch gives).
func fetch(from, key any) (any, bool) {
	switch m := from.(type) {
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			// Fetch converts the key through reflection: let it decide.
			return nil, false
		}
		return m[k], true
	case map[any]any:
		if !scalarKey(key) {
			return nil, false
		}
		return m[key], true
	}
	return nil, false
}

// scalarKey reports whether k is a key Go and reflection compare the same
// way and cannot panic on (nil, strings, booleans, ints, floats).
func scalarKey(k any) bool {
	switch k.(type) {
	case nil, string, bool, int, int64, float64:
		return true
	}
	return false
}

// pairsTable is the fast evaluation of fromPairs(map(list, [#.key, #.value]))
// for a list of JSON objects.
type pairsTable struct {
	list       fastChain
	key, value string
}

// maxFastPairs keeps the fast table well under the VM's memory budget
// (conf.DefaultMemoryBudget, 1e6 units), so it never succeeds where the VM
// would fail for size.
const maxFastPairs = 100_000

// compilePairs returns the fast evaluation of n when it is
// fromPairs(map(<fastChain>, [#.<key>, #.<value>])), or nil.
func compilePairs(n ast.Node) *pairsTable {
	fp, ok := n.(*ast.BuiltinNode)
	if !ok || fp.Name != "fromPairs" || len(fp.Arguments) != 1 {
		return nil
	}
	mp, ok := fp.Arguments[0].(*ast.BuiltinNode)
	if !ok || mp.Name != "map" || len(mp.Arguments) != 2 {
		return nil
	}
	list := compileChain(mp.Arguments[0])
	pred, ok := mp.Arguments[1].(*ast.PredicateNode)
	if list == nil || !ok {
		return nil
	}
	arr, ok := pred.Node.(*ast.ArrayNode)
	if !ok || len(arr.Nodes) != 2 {
		return nil
	}
	field := func(n ast.Node) (string, bool) {
		m, ok := n.(*ast.MemberNode)
		if !ok || m.Optional || m.Method {
			return "", false
		}
		if p, ok := m.Node.(*ast.PointerNode); !ok || p.Name != "" {
			return "", false
		}
		s, ok := m.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		return s.Value, true
	}
	k, ok1 := field(arr.Nodes[0])
	v, ok2 := field(arr.Nodes[1])
	if !ok1 || !ok2 {
		return nil
	}
	return &pairsTable{list: list, key: k, value: v}
}

// eval builds the table, or declines.
func (p *pairsTable) eval(env map[string]any) (any, bool) {
	if _, shadowed := env["fromPairs"]; shadowed {
		return nil, false
	}
	if _, shadowed := env["map"]; shadowed {
		return nil, false
	}
	l, ok := p.list(scope{env: env})
	if !ok {
		return nil, false
	}
	list, ok := l.([]any)
	if !ok || len(list) > maxFastPairs {
		return nil, false
	}
	out := make(map[any]any, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		k := m[p.key]
		if !scalarKey(k) {
			return nil, false
		}
		out[k] = m[p.value]
	}
	return out, true
}

// scope is an environment with a fan-out's hoisted names laid over it
// (Memo), read without building the map the VM needs.
type scope struct {
	env    map[string]any
	names  []string
	values []any
}

// get looks a name up: the hoisted names first, then the environment.
func (sc scope) get(name string) (any, bool) {
	for i, n := range sc.names {
		if n == name {
			return sc.values[i], true
		}
	}
	v, ok := sc.env[name]
	return v, ok
}

// flat is the scope as one map, for the VM.
func (sc scope) flat() map[string]any {
	if len(sc.names) == 0 {
		return sc.env
	}
	m := make(map[string]any, len(sc.env)+len(sc.names))
	for k, v := range sc.env {
		m[k] = v
	}
	for i, n := range sc.names {
		m[n] = sc.values[i]
	}
	return m
}
