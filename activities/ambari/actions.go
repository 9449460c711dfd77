package ambari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// Option configures the Ambari actions.
type Option func(*Actions)

// WithHTTPClient sets the HTTP client (default: 30s timeout, shared transport).
func WithHTTPClient(hc *http.Client) Option { return func(a *Actions) { a.http = hc } }

// WithNow sets the clock used for config tags (tests).
func WithNow(now func() time.Time) Option { return func(a *Actions) { a.now = now } }

// Actions holds what every Ambari action needs.
type Actions struct {
	accts *accounts.Registry
	http  *http.Client
	now   func() time.Time
}

// New returns the Ambari actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: 30 * time.Second}
	}
	return a
}

// typed holds every Ambari action: each resource's file (config.go,
// maintenance.go, request.go, hosts.go, rollback.go) adds its actions'
// typed adapters in its init.
var typed = map[string]func(a *Actions) activities.Func{}

// Funcs returns every Ambari action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	funcs := make(map[string]activities.Func, len(typed))
	for name, fn := range typed {
		funcs[name] = fn(a)
	}
	return funcs
}

// Register adds every Ambari action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

// classify turns a client error into a typed application error.
func classify(action string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return activities.Fail(plan.ErrUnavailable, "%s: %v", action, err)
	}
	if errors.Is(err, errNoHosts) {
		return activities.Fail(plan.ErrInvalid, "%s: %v", action, err)
	}
	var ae *Error
	if !errors.As(err, &ae) {
		return activities.Fail(plan.ErrUnavailable, "%s: %v", action, err)
	}
	if ae.Status == http.StatusNotFound && ae.NotAmbari {
		// A configuration fault, not a missing resource nor a refused credential.
		return activities.Fail(plan.ErrInvalid, "%s: %v: the server answered HTTP 404 without Ambari's JSON error, so it does not serve Ambari's API: "+
			"check the Ambari URL of the account in the account registry (a refused credential is HTTP 401/403)", action, err)
	}
	typ := plan.ErrUnavailable
	switch {
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		typ = plan.ErrUnauthorized
	case ae.Status == http.StatusNotFound:
		typ = plan.ErrNotFound
	case ae.Status == http.StatusConflict:
		typ = plan.ErrConflict
	case ae.Status == http.StatusTooManyRequests:
		typ = plan.ErrThrottled
	case ae.Status >= 400 && ae.Status < 500:
		typ = plan.ErrInvalid
	}
	if typ == plan.ErrThrottled && ae.RetryAfter > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %v", action, err), typ,
			temporal.ApplicationErrorOptions{NextRetryDelay: ae.RetryAfter})
	}
	return activities.Fail(typ, "%s: %v", action, err)
}

// client builds the Ambari client of the call's account.
func (a *Actions) client(ctx context.Context, call plan.Call) (*Client, error) {
	if call.Account == "" {
		return nil, activities.Fail(plan.ErrInvalid, "%s: the step names no account", call.Action)
	}
	acct, ok := a.accts.Get(call.Account)
	if !ok {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is not in the worker's account registry", call.Action, call.Account)
	}
	if acct.Provider != accounts.ProviderAmbari || acct.Ambari == nil {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is a %s account, not ambari", call.Action, call.Account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Fail(plan.ErrUnauthorized, "%s: %v", call.Action, err)
	}
	base := acct.Ambari.URL
	if ep, err := acct.Endpoint("ambari"); err == nil {
		base = ep
	}
	return &Client{Base: base, Cluster: acct.Ambari.Cluster, User: creds.Username, Password: creds.Password, HTTP: a.http}, nil
}
