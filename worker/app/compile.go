package app

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
	"github.com/topoflow/topoflow/workflows"
)

// RegisterCompile registers the compile activity: a request's spec is
// validated against the worker's account registry (accts, nil for none)
// and compiled again; the workflow runs the plan only when the hashes agree.
func RegisterCompile(w worker.ActivityRegistry, accts *accounts.Registry) {
	var opts spec.Options
	if accts != nil {
		opts = spec.Options{
			Accounts: func(name string) (string, bool) {
				a, ok := accts.Get(name)
				if !ok {
					return "", false
				}
				return a.Provider, true
			},
			AccountNames: accts.Names,
		}
	}
	workflows.RegisterCompile(w, func(_ context.Context, src workflows.SpecSource) (string, error) {
		docs, err := spec.Parse(src.File, []byte(src.YAML), opts)
		if err != nil {
			// Validation and compilation are deterministic: retrying cannot help.
			return "", temporal.NewNonRetryableApplicationError(err.Error(), plan.ErrInvalid, nil)
		}
		if len(docs) != 1 {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s holds %d spec documents, want 1", src.File, len(docs)), plan.ErrInvalid, nil)
		}
		p, err := compiler.Compile(docs[0])
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(err.Error(), plan.ErrInvalid, nil)
		}
		return p.Hash()
	})
}
