package azure

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
)

// Option configures the Azure actions.
type Option func(*Actions)

// WithHTTPClient sets the HTTP client of the SDK and token requests.
func WithHTTPClient(hc *http.Client) Option { return func(a *Actions) { a.http = hc } }

// WithPollFrequency sets the long-running-operation poll frequency when the
// service sends no Retry-After (default 1s, azcore's minimum outside tests;
// cloudsim sends Retry-After-Ms so polls are fast anyway).
func WithPollFrequency(d time.Duration) Option { return func(a *Actions) { a.pollEvery = d } }

// WithConflictRetry bounds the in-activity retries of 409 AnotherOperationInProgress.
func WithConflictRetry(attempts int, delay time.Duration) Option {
	return func(a *Actions) { a.conflictAttempts, a.conflictDelay = attempts, delay }
}

// Actions holds what every Azure action needs.
type Actions struct {
	accts            *accounts.Registry
	http             *http.Client
	pollEvery        time.Duration
	conflictAttempts int
	conflictDelay    time.Duration

	mu    sync.Mutex
	creds map[string]*ClientSecretCredential
}

// New returns the Azure actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, pollEvery: time.Second, conflictAttempts: 20, conflictDelay: 250 * time.Millisecond,
		creds: map[string]*ClientSecretCredential{}}
	for _, o := range opts {
		o(a)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: 60 * time.Second}
	}
	return a
}

// typed holds every Azure action: each resource's file (peering.go,
// hdinsight.go) adds its actions' typed adapters in its init.
var typed = map[string]func(a *Actions) activities.Func{}

// Funcs returns every Azure action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	funcs := make(map[string]activities.Func, len(typed))
	for name, fn := range typed {
		funcs[name] = fn(a)
	}
	return funcs
}

// Register adds every Azure action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

// busyCodes are the ARM answers that clear once another operation ends.
var busyCodes = map[string]bool{
	// 409: another peering operation runs on the VNet.
	"AnotherOperationInProgress": true,
	// 400: the remote VNet is Updating (its own peering PUT); azurerm retries the PUT
	// (terraform-provider-azurerm internal/services/network/virtual_network_peering_resource.go, resourceVirtualNetworkPeeringCreate).
	"ReferencedResourceNotProvisioned": true,
}

// onConflict runs op, retrying while Azure answers one of busyCodes, with a
// delay doubling from the configured one up to 15s (azurerm polls every 15s).
func (a *Actions) onConflict(ctx context.Context, op func() error) error {
	var err error
	delay := a.conflictDelay
	for i := 0; i < a.conflictAttempts; i++ {
		err = op()
		code, _ := errorCode(err)
		if !busyCodes[code] {
			return err
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, "waiting: "+code)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
	return err
}

func (a *Actions) pollOpts() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: a.pollEvery}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
