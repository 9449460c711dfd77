package app

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/workflows"
)

// RegisterConflicts registers the conflicts activity: it asks the worker's
// Temporal client's visibility which live requests hold what a request needs.
func RegisterConflicts(w worker.ActivityRegistry, c client.Client) {
	workflows.RegisterConflicts(w, c)
}
