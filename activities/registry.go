// Package activities holds the implementations of Topoflow's actions, grouped
// by provider in sub-packages, and the registry that turns them into Temporal
// activities. Every action is registered under its catalog name; the generic
// wait activity (plan.ActionWait) polls registered read actions in-process.
package activities

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/plan"
)

// Func implements one action. It must be idempotent: a retried call with the
// same plan.Call.IdempotencyKey must not create a second resource.
type Func func(ctx context.Context, call plan.Call) (plan.Outputs, error)

// Registry maps action names to implementations.
type Registry struct {
	mu    sync.RWMutex
	funcs map[string]Func
	check func(action string, out plan.Outputs) error
}

// ErrContract is the error type of an action that returned outputs its
// descriptor does not declare (see [Registry.CheckOutputs]).
const ErrContract = "ContractViolation"

// CheckOutputs makes every action got from r check its outputs with check
// (the test stacks pass contract.CheckOutputs): an output the action's
// descriptor does not declare fails the call, non-retryably, with type
// [ErrContract].
func (r *Registry) CheckOutputs(check func(action string, out plan.Outputs) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.check = check
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]Func{}} }

// Add registers fn under name. It panics on a duplicate: registries are built
// at start-up and a duplicate is a programming error.
func (r *Registry) Add(name string, fn Func) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[name]; dup {
		panic(fmt.Sprintf("activities: action %q registered twice", name))
	}
	r.funcs[name] = fn
}

// Get returns the implementation of name.
func (r *Registry) Get(name string) (Func, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.funcs[name]
	if !ok || r.check == nil {
		return fn, ok
	}
	check := r.check
	return func(ctx context.Context, call plan.Call) (plan.Outputs, error) {
		out, err := fn(ctx, call)
		if err == nil {
			if cerr := check(name, out); cerr != nil {
				return nil, temporal.NewNonRetryableApplicationError(cerr.Error(), ErrContract, nil)
			}
		}
		return out, err
	}, true
}

// Names returns the registered action names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RegisterWith registers every action as a Temporal activity named after it.
func (r *Registry) RegisterWith(w worker.ActivityRegistry) {
	for _, name := range r.Names() {
		fn, _ := r.Get(name)
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
