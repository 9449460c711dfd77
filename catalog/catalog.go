// Package catalog is Topoflow's component registry: the descriptor of every
// action a plan step may name, with its inputs, outputs, default wait
// contract and inverse. The compiler derives compensations from it, the
// validator checks Workflow specs against it, and the worker checks that
// every descriptor has an implementation.
package catalog

import (
	"fmt"
	"sort"
	"sync"

	"github.com/topoflow/topoflow/plan"
)

// Param describes one input of an action.
type Param struct {
	// Name of the input key.
	Name string
	// Type is a JSON type name: string, integer, number, boolean, array, object, any.
	Type string
	// Required inputs must be given.
	Required bool
	// Doc says what the input is.
	Doc string
	// Format, if set, is a string format the validator checks: cidr,
	// duration or hostport.
	Format string
}

// Inverse says how to undo an action.
type Inverse struct {
	// Action is the undoing action.
	Action string
	// Title describes the undo.
	Title string
	// Inputs map the inverse's inputs from the original step's `input` and `output`.
	Inputs map[string]plan.Value
	// WaitAction and Wait, if set, poll until the undo has finished (e.g. gone).
	WaitAction string
	Wait       *plan.Wait
}

// GrantKind says what an input lets in when its action runs.
type GrantKind string

// Kinds of grants.
const (
	// GrantCIDR: the input is an address range (a CIDR string) allowed to reach a resource.
	GrantCIDR GrantKind = "cidr"
	// GrantPrincipal: the input names the accounts or principals allowed to
	// use a resource (a string or a list of strings).
	GrantPrincipal GrantKind = "principal"
)

// Grant names an input through which an action opens access. Package policy
// refuses broad grants (e.g. 0.0.0.0/0, a wildcard principal) unless the
// spec opts in.
type Grant struct {
	// Input is the input's name.
	Input string
	// Kind is what the input grants.
	Kind GrantKind
	// UnlessInput and UnlessValue, when set, name an input value under which
	// the input grants nothing (e.g. direction egress for a security-group rule).
	UnlessInput, UnlessValue string
}

// Action describes a registered action.
type Action struct {
	// Name is the action's registered name, e.g. "huawei.vpcep.createEndpointService".
	Name string
	// Provider is huawei, aws, azure, ambari, kafka or topoflow.
	Provider string
	// Title is a short description.
	Title string
	// Doc is a longer description.
	Doc string
	// Inputs the action accepts.
	Inputs []Param
	// Outputs the action returns (keys of its result map).
	Outputs []string
	// Read marks actions without side effects (usable in waits). Every other
	// action mutates (see [Action.Mutates]).
	Read bool
	// Wait is the default wait contract when the action is polled.
	Wait *plan.Wait
	// Inverse undoes the action; nil for reads and actions with nothing to undo.
	Inverse *Inverse
	// Locks are lock-key expressions the action holds (e.g. one Kafka instance's listeners).
	Locks []string
	// Grants name the inputs through which the action opens access (ingress
	// ranges, allowed principals).
	Grants []Grant
	// Contract, when set, holds the Go types the Inputs and Outputs were
	// derived from (see [Typed]).
	Contract *Contract
}

// Mutates reports whether the action changes things: every action that is
// not a read. Package policy requires an approval before mutating steps of
// Workflow plans.
func (a *Action) Mutates() bool { return !a.Read }

var (
	mu      sync.RWMutex
	actions = map[string]*Action{}
)

// Register adds an action descriptor. It panics on a duplicate name: the
// catalog is built at init time and a duplicate is a programming error.
func Register(a Action) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := actions[a.Name]; dup {
		panic(fmt.Sprintf("catalog: action %q registered twice", a.Name))
	}
	actions[a.Name] = &a
}

// Lookup returns the descriptor of the named action.
func Lookup(name string) (*Action, bool) {
	mu.RLock()
	defer mu.RUnlock()
	a, ok := actions[name]
	return a, ok
}

// Names returns every registered action name, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(actions))
	for n := range actions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
