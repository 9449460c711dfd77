package plan_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// TestMemoEqualsEval checks that evaluating through a Memo gives exactly
// what plain evaluation gives, item by item, errors included.
func TestMemoEqualsEval(t *testing.T) {
	items := []any{
		map[string]any{"portId": "p1", "n": 1},
		map[string]any{"portId": "p2", "n": 2},
		map[string]any{"portId": "p9", "n": 3}, // not in the table
	}
	base := map[string]any{
		"steps": map[string]any{
			"svc": []any{map[string]any{"portId": "p2", "serviceId": "s2"}, map[string]any{"portId": "p1", "serviceId": "s1"}},
			"one": map[string]any{"x": 5},
		},
		"meta": map[string]any{"workflowId": "w"},
	}
	tests := []string{
		// Invariant table, then a lookup by the item: hoisted.
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc[item.portId]`,
		// Two invariant declarations, the second reading the first.
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); let k = keys(svc); len(k) + item.n`,
		// An invariant declaration after a varying one: nothing after the varying one is hoisted.
		`let p = item.portId; let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc[p]`,
		// The index varies too.
		`let i = index * 2; i + steps.one.x`,
		// Shadowing a root name.
		`let steps = 3; steps + item.n`,
		// No declaration at all.
		`item.portId + "-" + meta.workflowId`,
		// A declaration that fails: the error is the whole expression's.
		`let bad = steps.one.x / "a"; item.n`,
		// The rest fails for one item only.
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc[item.portId] + 1`,
		// Predicates with their own locals.
		`let ids = map(steps.svc, #.serviceId); filter(ids, {# != item.portId})`,
	}
	for _, code := range tests {
		t.Run(code, func(t *testing.T) {
			m := plan.NewMemo("item", plan.RootIndex)
			for i, it := range items {
				env := map[string]any{"item": it, plan.RootIndex: i}
				for k, v := range base {
					env[k] = v
				}
				want, werr := plan.Eval(code, env)
				got, gerr := m.Eval(code, env)
				if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(want, got) {
					t.Errorf("item %d: memo gave %#v, %v; Eval gave %#v, %v", i, got, gerr, want, werr)
				}
			}
		})
	}
}

// TestProgramCacheFollowsTypes: the same code compiled for environments
// whose variables have other types gives each its own correct result.
func TestProgramCacheFollowsTypes(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]any
		want any
	}{
		{map[string]any{"a": 1, "b": 2}, 3},
		{map[string]any{"a": "x", "b": "y"}, "xy"},
		{map[string]any{"a": 1.5, "b": 2}, 3.5},
		{map[string]any{"a": 2, "b": 0.5}, 2.5},
	} {
		got, err := plan.Eval("a + b", tt.env)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("a + b with %v = %#v, %v; want %#v", tt.env, got, err, tt.want)
		}
	}
	if _, err := plan.Eval("a +", nil); err == nil {
		t.Error("syntax error accepted")
	}
	if v, err := plan.Eval("missing == nil", map[string]any{}); err != nil || v != true {
		t.Errorf("undefined variable: %v, %v", v, err)
	}
}

// TestMemoFastPathsEqualEval: the fast paths (fastpath.go) for member and
// index chains and for fromPairs(map(...)) lookup tables give exactly what
// the VM gives, and where they decline (values that are not JSON maps, keys
// of other kinds, optional chaining, $env, shadowed builtins, missing names)
// the VM's result or error is the one returned.
func TestMemoFastPathsEqualEval(t *testing.T) {
	items := []any{
		map[string]any{"portId": "p1", "n": 1, "sub": map[string]any{"k": "p2"}},
		map[string]any{"portId": "p2", "n": 2},
		map[string]any{"n": 3},                   // no portId: a nil key
		map[string]any{"portId": 7, "n": 4},      // an int key
		map[string]any{"portId": []any{1}},       // an unhashable key
		map[any]any{"portId": "p1"},              // a map[any]any item
		"just a string",                          // not a map
		nil,                                      // nothing
		map[string]any{"portId": "p9", "n": 2.5}, // not in the tables
	}
	rows := []any{
		map[string]any{"portId": "p2", "serviceId": "s2"},
		map[string]any{"portId": "p1", "serviceId": "s1"},
		map[string]any{"portId": 7, "serviceId": "s7"},
		map[string]any{"serviceId": "s-nil"},                    // a nil key
		map[string]any{"portId": "p1", "serviceId": "s1-again"}, // a duplicate: the last wins
	}
	base := map[string]any{
		"steps": map[string]any{
			"svc":   rows,
			"names": []any{map[string]any{"serviceId": "s1", "name": "one"}, map[string]any{"serviceId": "s2", "name": "two"}},
			"odd":   []any{map[string]any{"portId": "p1"}, "not a map"},
			"bad":   []any{map[string]any{"portId": []any{1}, "serviceId": "s"}},
			"one":   map[string]any{"x": 5},
		},
		"table": map[any]any{"p1": "t1", 7: "t7", nil: "tnil"},
		"meta":  map[string]any{"workflowId": "w"},
	}
	shadow := map[string]any{"fromPairs": "shadowed"}
	tests := []string{
		`item.portId`,
		`item["portId"]`,
		`item.sub.k`,
		`item.missing`,
		`item.portId.deeper`,
		`item?.portId`,
		`$env.item`,
		`table[item.portId]`,
		`steps.one.x`,
		`steps["one"]["x"]`,
		`steps.one[item.portId]`,
		`nothere.portId`,
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc[item.portId]`,
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); let names = fromPairs(map(steps.names, [#.serviceId, #.name])); names[svc[item.portId]]`,
		`let svc = fromPairs(map(steps.odd, [#.portId, #.serviceId])); svc[item.portId]`,
		`let svc = fromPairs(map(steps.bad, [#.portId, #.serviceId])); svc[item.portId]`,
		`let svc = fromPairs(map(steps.one, [#.portId, #.serviceId])); svc[item.portId]`,
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc`,
		`let svc = fromPairs(map(steps.svc, [#.portId, #.serviceId])); svc[item]`,
		`let svc = fromPairs(map(steps.svc, [#?.portId, #.serviceId])); svc[item.portId]`,
	}
	for _, extra := range []map[string]any{nil, shadow} {
		for _, code := range tests {
			t.Run(fmt.Sprintf("%s/shadowed=%v", code, extra != nil), func(t *testing.T) {
				m := plan.NewMemo("item", plan.RootIndex)
				for i, it := range items {
					env := map[string]any{"item": it, plan.RootIndex: i}
					for k, v := range base {
						env[k] = v
					}
					for k, v := range extra {
						env[k] = v
					}
					want, werr := plan.Eval(code, env)
					got, gerr := m.Eval(code, env)
					if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(want, got) {
						t.Errorf("item %d (%#v): memo gave %#v, %v; Eval gave %#v, %v", i, it, got, gerr, want, werr)
					}
				}
			})
		}
	}
}
