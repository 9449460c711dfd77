// Package huawei implements Topoflow's Huawei Cloud (and Open Telekom Cloud)
// actions with github.com/huaweicloud/huaweicloud-sdk-go-v3: DMS for Kafka v2,
// VPC Endpoint v1 and VPC v2/v3.
//
// Every call builds its SDK client from the worker's account registry (region,
// project ID, endpoint override, AK/SK resolved inside the activity), so no
// secret enters workflow history, logs or errors. Creates look up what an
// earlier attempt with the same plan.Call.IdempotencyKey created before they
// create anything; deletes treat "not found" as done. Errors are Temporal
// application errors typed with the plan.Err* constants.
package huawei

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// Option configures the Huawei actions.
type Option func(*Actions)

// WithTransport sets the HTTP transport the SDK clients use (default: a
// shared http.Transport).
func WithTransport(rt http.RoundTripper) Option { return func(a *Actions) { a.transport = rt } }

// WithHTTPTimeout bounds one HTTP request (default 30s).
func WithHTTPTimeout(d time.Duration) Option { return func(a *Actions) { a.timeout = d } }

// WithBusyBudget bounds how long one attempt of a DMS modification waits for
// a busy instance (not RUNNING, or answering DMS.00400026) before it returns
// a retryable Conflict (default 4 minutes, under the 5-minute attempt
// timeout; the step's retry policy gives further attempts). poll is the
// first delay between checks, doubled up to 10s (Terraform polls every 10s).
func WithBusyBudget(budget, poll time.Duration) Option {
	return func(a *Actions) { a.busyBudget, a.busyPoll = budget, poll }
}

// Actions holds what every Huawei action needs: the account registry and
// the HTTP transport.
type Actions struct {
	accts      *accounts.Registry
	transport  http.RoundTripper
	timeout    time.Duration
	busyBudget time.Duration
	busyPoll   time.Duration
}

// New returns the Huawei actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, timeout: 30 * time.Second, busyBudget: 4 * time.Minute, busyPoll: time.Second}
	for _, o := range opts {
		o(a)
	}
	if a.transport == nil {
		a.transport = sharedTransport
	}
	return a
}

var sharedTransport = &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	MaxIdleConnsPerHost: 16,
	IdleConnTimeout:     90 * time.Second,
}

// typed holds every Huawei action: each resource's file (one per cloud
// resource: endpointservice.go, endpoint.go, peering.go, ...) adds its
// actions' typed adapters in its init.
var typed = map[string]func(a *Actions) activities.Func{}

// Funcs returns every Huawei action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	funcs := make(map[string]activities.Func, len(typed))
	for name, fn := range typed {
		funcs[name] = fn(a)
	}
	return funcs
}

// Register adds every Huawei action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

// session is one call's resolved account and SDK plumbing.
type session struct {
	acct   *accounts.Account
	cred   *basic.Credentials
	http   *config.HttpConfig
	rt     *retryAfterTripper
	action string
}

// session resolves call.Account (or account when non-empty) and its credentials.
func (a *Actions) session(ctx context.Context, call plan.Call, account string) (*session, error) {
	if account == "" {
		account = call.Account
	}
	if account == "" {
		return nil, activities.Invalid("%s: the step names no account", call.Action)
	}
	acct, ok := a.accts.Get(account)
	if !ok {
		return nil, activities.Invalid("%s: account %q is not in the worker's account registry", call.Action, account)
	}
	if acct.Provider != accounts.ProviderHuawei || acct.Huawei == nil {
		return nil, activities.Invalid("%s: account %q is a %s account, not huawei", call.Action, account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Unauthorized("%s: %v", call.Action, err)
	}
	b := basic.NewCredentialsBuilder().WithAk(creds.AK).WithSk(creds.SK).WithProjectId(acct.Huawei.ProjectID)
	if creds.SecurityToken != "" {
		b = b.WithSecurityToken(creds.SecurityToken)
	}
	cred, err := b.SafeBuild()
	if err != nil {
		return nil, activities.Unauthorized("%s: account %q: credentials incomplete", call.Action, account)
	}
	rt := &retryAfterTripper{base: a.transport, ctx: ctx}
	hc := config.DefaultHttpConfig().WithTimeout(a.timeout).WithHttpRoundTripper(rt)
	return &session{acct: acct, cred: cred, http: hc, rt: rt, action: call.Action}, nil
}

// hcClient builds an SDK HTTP client for service (vpcep, dms, vpc).
func (s *session) hcClient(service string) (*core.HcHttpClient, error) {
	ep, err := s.acct.Endpoint(service)
	if err != nil {
		ep = defaultEndpoint(s.acct, service)
		if ep == "" {
			return nil, activities.Invalid("%s: %v", s.action, err)
		}
	}
	c, err := core.NewHcHttpClientBuilder().
		WithEndpoints([]string{ep}).
		WithCredential(s.cred).
		WithHttpConfig(s.http).
		SafeBuild()
	if err != nil {
		return nil, activities.Invalid("%s: build %s client for account %q: %v", s.action, service, s.acct.Name, err)
	}
	return c, nil
}

// defaultEndpoint is the public endpoint of a service in the account's
// region when the registry gives none.
func defaultEndpoint(a *accounts.Account, service string) string {
	svc := service
	if a.Region == "" {
		return ""
	}
	if a.Huawei.Cloud == accounts.CloudOTC {
		return "https://" + svc + "." + a.Region + ".otc.t-systems.com"
	}
	if euDomain[a.Region+"/"+svc] {
		return "https://" + svc + "." + a.Region + ".myhuaweicloud.eu"
	}
	return "https://" + svc + "." + a.Region + ".myhuaweicloud.com"
}

// euDomain lists the region/service pairs served under myhuaweicloud.eu:
// huaweicloud-sdk-go-v3 services/kafka/v2/region/region.go (dms.eu-west-101.myhuaweicloud.eu)
// and services/vpcep/v1/region/region.go (vpcep.eu-west-101.myhuaweicloud.eu); VPC stays
// vpc.eu-west-101.myhuaweicloud.com (services/vpc/v2 and v3/region/region.go).
var euDomain = map[string]bool{"eu-west-101/dms": true, "eu-west-101/vpcep": true}

// retryAfterTripper remembers the last Retry-After the cloud sent, and ties
// every request to the activity's context: the SDK takes no context, so
// without it a cancelled activity (worker shutdown, heartbeat timeout,
// workflow cancellation) would keep its HTTP call running until the HTTP
// timeout.
type retryAfterTripper struct {
	base http.RoundTripper
	ctx  context.Context
	mu   sync.Mutex
	last time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t *retryAfterTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	release := func() {}
	if t.ctx != nil && t.ctx.Done() != nil {
		ctx, cancel := context.WithCancel(r.Context())
		stop := context.AfterFunc(t.ctx, cancel)
		release = func() { stop(); cancel() }
		r = r.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if v := resp.Header.Get("Retry-After"); v != "" {
			var d time.Duration
			if n, perr := strconv.Atoi(v); perr == nil {
				d = time.Duration(n) * time.Second
			} else if at, perr := http.ParseTime(v); perr == nil {
				d = time.Until(at)
			}
			t.mu.Lock()
			t.last = d
			t.mu.Unlock()
		}
	}
	return resp, err
}

// releaseBody releases a request's context when its body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

// Close implements io.Closer.
func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func (t *retryAfterTripper) retryAfter() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// classify turns an SDK error into a typed Temporal application error.
// what describes the operation ("create endpoint service for port p-1").
func (s *session) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		msg := fmt.Sprintf("%s as %s: HTTP %d %s: %s", what, s.acct.Name, sre.StatusCode, sre.ErrorCode, sre.ErrorMessage)
		switch {
		case wrongEndpoint(err):
			// A configuration fault: retrying cannot help, and it is not a refused credential.
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s as %s: HTTP 404 %s: the endpoint answered with no Huawei Cloud error code, so it does not serve this API: "+
				"check the endpoints of account %s in the account registry (a credential refused by the cloud is HTTP 401/403 with an error code)",
				what, s.acct.Name, strings.Join(strings.Fields(sre.ErrorMessage), " "), s.acct.Name), plan.ErrInvalid, nil)
		case isInstanceBusy(err):
			// DMS.00400026 (HTTP 400) "not allowed due to the instance status" clears once the
			// instance is RUNNING again: retried (terraform-provider-huaweicloud
			// huaweicloud/services/kafka/resource_huaweicloud_dms_kafka_instance.go handleMultiOperationsError).
			return temporal.NewApplicationError(msg, plan.ErrConflict)
		case sre.StatusCode == http.StatusNotFound:
			return temporal.NewApplicationError(msg, plan.ErrNotFound)
		case sre.StatusCode == http.StatusTooManyRequests:
			return temporal.NewApplicationErrorWithOptions(msg, plan.ErrThrottled, temporal.ApplicationErrorOptions{NextRetryDelay: s.rt.retryAfter()})
		case sre.StatusCode == http.StatusUnauthorized || sre.StatusCode == http.StatusForbidden:
			return temporal.NewNonRetryableApplicationError(msg, plan.ErrUnauthorized, nil)
		case sre.StatusCode == http.StatusConflict:
			return temporal.NewApplicationError(msg, plan.ErrConflict)
		case sre.StatusCode >= 500:
			return temporal.NewApplicationError(msg, plan.ErrUnavailable)
		default:
			return temporal.NewNonRetryableApplicationError(msg, plan.ErrInvalid, nil)
		}
	}
	// Connection refused, timeouts, DNS: transient.
	return temporal.NewApplicationError(fmt.Sprintf("%s as %s: %v", what, s.acct.Name, err), plan.ErrUnavailable)
}

// isInstanceBusy reports whether err is DMS's 400 DMS.00400026: the
// instance is busy (restarting, applying a previous change) and the
// operation may be retried once it is RUNNING (terraform-provider-huaweicloud
// resource_huaweicloud_dms_kafka_instance.go:2258-2279, ..._user_client_quota.go:441).
func isInstanceBusy(err error) bool {
	var sre *sdkerr.ServiceResponseError
	return errors.As(err, &sre) && sre.StatusCode == http.StatusBadRequest && sre.ErrorCode == "DMS.00400026"
}

// isNotFound reports whether err is the cloud's 404 (with its error code).
func isNotFound(err error) bool {
	var sre *sdkerr.ServiceResponseError
	return errors.As(err, &sre) && sre.StatusCode == http.StatusNotFound && !wrongEndpoint(err)
}

// wrongEndpoint reports whether err is an HTTP 404 with no error code: Huawei
// Cloud APIs answer errors as {"error_code", "error_msg"} (or {"code",
// "message"}), which the SDK reads into ErrorCode (huaweicloud-sdk-go-v3
// core/sdkerr/errors.go NewServiceResponseError); a bare 404 comes from a
// server that does not serve the API (a wrong endpoint URL), never from a
// missing resource.
func wrongEndpoint(err error) bool {
	var sre *sdkerr.ServiceResponseError
	return errors.As(err, &sre) && sre.StatusCode == http.StatusNotFound && sre.ErrorCode == ""
}

// marker is the tag an idempotency key leaves in a resource's description.
func marker(key string) string { return "[topoflow:" + shortHash(key) + "]" }

// shortHash is a 16-hex-digit digest of key, for names with length limits.
func shortHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:8])
}

// describe appends the idempotency marker to a free-text description.
func describe(desc, key string) string {
	m := marker(key)
	if desc == "" {
		return m
	}
	return strings.TrimSpace(desc) + " " + m
}

// --- attempt memory ---

// priorAttempt returns heartbeat details recorded by an earlier attempt of
// this activity (nil outside an activity or on the first attempt).
func priorAttempt(ctx context.Context, into any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, into) == nil
}

// remember records details for later attempts of this activity.
func remember(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func temporalNotFound(msg string) error { return temporal.NewApplicationError(msg, plan.ErrNotFound) }
