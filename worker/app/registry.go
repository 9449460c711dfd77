package app

import (
	"fmt"

	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/activities/huawei"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// BuildActivities returns one registry holding every provider's actions,
// acting as the accounts of accts (nil: no cloud accounts; actions then
// fail with an error naming the missing account when called).
func BuildActivities(accts *accounts.Registry) (reg *activities.Registry, err error) {
	defer func() {
		// Registries panic on duplicate names, a programming error we
		// report as a start-up failure rather than a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("build activity registry: %v", r)
		}
	}()
	reg = activities.NewRegistry()
	for _, p := range providers {
		p.register(reg, accts)
	}
	return reg, nil
}

// provider is one package of actions.
type provider struct {
	name     string
	register func(reg *activities.Registry, accts *accounts.Registry)
}

// providers lists every provider package wired into the worker.
var providers = []provider{
	{"huawei", func(reg *activities.Registry, accts *accounts.Registry) { huawei.Register(reg, accts) }},
}

// RegisterAll registers the interpreter workflows, the generic wait (which
// polls reg's read actions in-process) and every action of reg on w. It is
// what the worker does at start-up; tests that run their own worker call it
// too. Call it after every action was added to reg.
func RegisterAll(w worker.Registry, reg *activities.Registry) {
	workflows.Register(w)
	core.RegisterWith(w, reg)
	reg.RegisterWith(w)
}

// MissingActions returns the catalog actions that reg does not implement
// (the built-in generic wait is registered separately and not counted).
func MissingActions(reg *activities.Registry) []string {
	var missing []string
	for _, name := range catalog.Names() {
		if name == plan.ActionWait {
			continue
		}
		if _, ok := reg.Get(name); !ok {
			missing = append(missing, name)
		}
	}
	return missing
}
