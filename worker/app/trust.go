package app

import (
	"context"
	"net/http"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

// RegisterTrust registers the trust activity: it reads the trust file at
// path (re-read at every call, so edits take effect at a request's next
// refresh) and fetches every OIDC provider's JWKS; "" gives dev mode
// without identities.
func RegisterTrust(w worker.ActivityRegistry, path string) {
	hc := &http.Client{Timeout: 10 * time.Second}
	workflows.RegisterTrust(w, func(ctx context.Context) (trust.Snapshot, error) {
		return trust.Load(ctx, path, hc)
	})
}
