// Package aws implements Topoflow's AWS actions with
// github.com/aws/aws-sdk-go-v2: EC2 (VPC peering, routes, security groups,
// PrivateLink, transit gateway attachments) and MSK (cluster, multi-VPC
// connectivity, cluster policy, VPC connections, bootstrap brokers).
//
// Every call builds its SDK clients from the worker's account registry
// (region, endpoint overrides, credentials resolved inside the activity;
// with aws.roleArn the base credentials assume that role through STS), so no
// secret enters workflow history, logs or errors. Creates never duplicate on
// retries: PrivateLink creates carry a ClientToken derived from
// plan.Call.IdempotencyKey; peerings, attachments and VPC connections carry
// a tag with it and are looked up before anything is created; security-group
// rules carry a marker in their description; routes remember the attempt in
// the activity's heartbeat. Deletes treat "not found" as done. Errors are
// Temporal application errors typed with the plan.Err* constants.
//
// One file per cloud resource (peering.go, route.go, sg.go, sgrules.go,
// endpointservice.go, vpcendpoint.go, tgwattachment.go, tgwroute.go,
// loadbalancer.go, targetgroup.go, listener.go, hostedzone.go, record.go,
// msk.go, mskconnectivity.go, mskpolicy.go, vpcconnection.go): its actions
// over their catalog contracts, a find…ByID returning a typed NotFound, and
// an init registering the actions' typed adapters; waits are the catalog
// descriptors'. This file, ec2.go, elbv2.go and route53.go hold the shared
// session, clients, error classification and idempotency helpers.
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// TagKey is the tag that carries a hash of the idempotency key on the
// resources Topoflow creates (peerings, attachments, VPC connections).
const TagKey = "topoflow:idempotency-key"

// Option configures the AWS actions.
type Option func(*Actions)

// WithHTTPClient sets the HTTP client of the SDK clients (default: a shared client with a 30s timeout).
func WithHTTPClient(c *http.Client) Option { return func(a *Actions) { a.http = c } }

// WithMaxAttempts sets the SDK's own attempts per call (default
// retry.DefaultMaxAttempts, 3, of the standard retryer; Temporal retries
// typed errors on top).
func WithMaxAttempts(n int) Option { return func(a *Actions) { a.attempts = n } }

// Actions holds what every AWS action needs: the account registry, the HTTP
// client and a cache of assumed-role credentials.
type Actions struct {
	accts    *accounts.Registry
	http     *http.Client
	attempts int

	mu      sync.Mutex
	assumed map[string]awssdk.CredentialsProvider
}

// New returns the AWS actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, attempts: retry.DefaultMaxAttempts, assumed: map[string]awssdk.CredentialsProvider{}}
	for _, o := range opts {
		o(a)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}}
	}
	return a
}

// action is one registered AWS action: its contract types and its
// implementation bound to an Actions.
type action struct {
	in, out reflect.Type
	bind    func(a *Actions) activities.Func
}

// typed holds every AWS action: each resource's file registers its actions
// from its init (endpointservice.go, peering.go, ...).
var typed = map[string]action{}

// register adds the action name implemented by method, a method of Actions
// over the action's contract types (catalog.Typed), through
// activities.Typed. The types are kept so a test can check them against the
// descriptor's.
func register[In, Out any](name string, method func(*Actions, context.Context, plan.Call, In) (Out, error)) {
	if _, dup := typed[name]; dup {
		panic("aws: action " + name + " registered twice")
	}
	typed[name] = action{in: reflect.TypeFor[In](), out: reflect.TypeFor[Out](), bind: func(a *Actions) activities.Func {
		return activities.Typed(func(ctx context.Context, call plan.Call, in In) (Out, error) { return method(a, ctx, call, in) })
	}}
}

// Funcs returns every AWS action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	funcs := make(map[string]activities.Func, len(typed))
	for name, act := range typed {
		funcs[name] = act.bind(a)
	}
	return funcs
}

// Register adds every AWS action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

// session is one call's resolved account and SDK configuration.
type session struct {
	acct   *accounts.Account
	cfg    awssdk.Config
	action string
	a      *Actions
}

// session resolves call.Account (or account when non-empty) in region (the account's when empty).
func (a *Actions) session(ctx context.Context, call plan.Call, account, region string) (*session, error) {
	if account == "" {
		account = call.Account
	}
	acct, err := a.awsAccount(call, account)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = acct.Region
	}
	if region == "" {
		return nil, activities.Invalid("%s: account %q has no region", call.Action, account)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Unauthorized("%s: %v", call.Action, err)
	}
	var prov awssdk.CredentialsProvider = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	cfg := awssdk.Config{Region: region, Credentials: prov, HTTPClient: a.http, Retryer: a.retryer()}
	s := &session{acct: acct, cfg: cfg, action: call.Action, a: a}
	if acct.AWS.RoleARN != "" {
		s.cfg.Credentials = a.assumeRole(s, creds.AccessKeyID)
	}
	return s, nil
}

// awsAccount returns a registry account that must be an AWS one.
func (a *Actions) awsAccount(call plan.Call, name string) (*accounts.Account, error) {
	if name == "" {
		return nil, activities.Invalid("%s: the step names no account", call.Action)
	}
	acct, ok := a.accts.Get(name)
	if !ok {
		return nil, activities.Invalid("%s: account %q is not in the worker's account registry", call.Action, name)
	}
	if acct.Provider != accounts.ProviderAWS || acct.AWS == nil {
		return nil, activities.Invalid("%s: account %q is a %s account, not aws", call.Action, name, acct.Provider)
	}
	return acct, nil
}

// assumeRole returns cached credentials of the account's role, assumed
// with its base credentials through STS (refreshed before they expire).
func (a *Actions) assumeRole(s *session, baseKey string) awssdk.CredentialsProvider {
	key := s.acct.Name + "|" + s.cfg.Region + "|" + baseKey
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.assumed[key]; ok {
		return p
	}
	base := s.cfg
	client := sts.NewFromConfig(base, func(o *sts.Options) {
		if ep, err := s.acct.Endpoint("sts"); err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
	p := awssdk.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, s.acct.AWS.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "topoflow-" + s.acct.Name
		o.Duration = time.Hour
	}))
	a.assumed[key] = p
	return p
}

// ec2 returns an EC2 client of the session.
func (s *session) ec2() *ec2.Client {
	return ec2.NewFromConfig(s.cfg, func(o *ec2.Options) {
		if ep, err := s.acct.Endpoint("ec2"); err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
}

// kafka returns an MSK client of the session.
func (s *session) kafka() *kafka.Client {
	return kafka.NewFromConfig(s.cfg, func(o *kafka.Options) {
		ep, err := s.acct.Endpoint("kafka")
		if err != nil {
			ep, err = s.acct.Endpoint("msk")
		}
		if err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
}

// accountID returns the 12-digit ID of a registry account.
func (a *Actions) accountID(call plan.Call, name string) (string, error) {
	acct, err := a.awsAccount(call, name)
	if err != nil {
		return "", err
	}
	if acct.AWS.AccountID == "" {
		return "", activities.Invalid("%s: account %q has no aws.accountId", call.Action, name)
	}
	return acct.AWS.AccountID, nil
}

// --- errors ---

// errorCode returns the AWS error code of err ("" when it is no API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of an API error (0 when none).
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	code := errorCode(err)
	switch code {
	// ELBv2 (elasticloadbalancingv2/types/errors.go) and Route 53 (route53/types/errors.go) not-found codes.
	case "LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound", "NoSuchHostedZone", "NoSuchChange":
		return true
	}
	return strings.HasSuffix(code, ".NotFound") || code == "NotFoundException"
}

// wrongEndpoint reports whether err is an HTTP 404 naming no AWS error code.
// Every AWS API error response names its code
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
// so a bare 404 comes from a server that does not serve the API: a wrong
// endpoint URL in the account registry, never a missing resource (the SDK
// reports it as UnknownError for query protocols, with no code for JSON ones).
func wrongEndpoint(err error) bool {
	code := errorCode(err)
	return httpStatus(err) == http.StatusNotFound && (code == "" || code == "UnknownError")
}

// wrongEndpointHint is what to check after a wrongEndpoint error.
func wrongEndpointHint(account string) string {
	return fmt.Sprintf("the endpoint answered HTTP 404 with no AWS error code, so it does not serve this API: check the endpoints of account %s in the account registry (a credential refused by AWS is HTTP 401/403 with an error code)", account)
}

// classify turns an SDK error into a typed Temporal application error.
// what describes the operation ("create peering vpc-1 → vpc-2").
func (s *session) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	code, status := errorCode(err), httpStatus(err)
	msg := fmt.Sprintf("%s as %s: %v", what, s.acct.Name, err)
	switch {
	case wrongEndpoint(err):
		// A configuration fault: retrying cannot help, and it is not a refused credential.
		return temporal.NewNonRetryableApplicationError(msg+": "+wrongEndpointHint(s.acct.Name), plan.ErrInvalid, err)
	case code == "":
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return temporal.NewApplicationError(msg, plan.ErrUnavailable)
		}
		if status == 0 {
			// Connection refused, timeouts, DNS, deserialization: transient.
			return temporal.NewApplicationError(msg, plan.ErrUnavailable)
		}
	case isNotFound(err):
		return temporal.NewApplicationError(msg, plan.ErrNotFound)
	case isThrottle(code) || status == http.StatusTooManyRequests:
		// The cloud's Retry-After sets the next Temporal attempt's delay.
		return temporal.NewApplicationErrorWithOptions(msg, plan.ErrThrottled, temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter(err)})
	case code == "AuthFailure" || code == "UnauthorizedOperation" || code == "OperationNotPermitted" || code == "UnrecognizedClientException" ||
		code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "InvalidSignatureException" || code == "ForbiddenException" ||
		code == "UnauthorizedException" || code == "AccessDenied" || code == "AccessDeniedException" || code == "MissingAuthenticationToken" ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(msg, plan.ErrUnauthorized, err)
	case code == "PriorRequestNotComplete":
		// Route 53 "still processing a prior request": retry later (route53/types/errors.go PriorRequestNotComplete).
		return temporal.NewApplicationError(msg, plan.ErrThrottled)
	case code == "ConflictException" || code == "IncorrectState" || code == "InvalidStateTransition" || code == "DependencyViolation" ||
		code == "ExistingVpcEndpointConnections" || code == "ResourceInUse" || code == "HostedZoneNotEmpty" ||
		(status == http.StatusConflict && code != "HostedZoneAlreadyExists"):
		// ResourceInUse (an NLB still associated with an endpoint service being deleted, a target group
		// still behind a listener: elasticloadbalancingv2/types/errors.go) and HostedZoneNotEmpty
		// (records still being deleted: route53/types/errors.go) clear once the dependency is gone.
		return temporal.NewApplicationError(msg, plan.ErrConflict)
	}
	if status >= 500 || code == "InternalError" || code == "InternalFailure" || code == "ServiceUnavailable" || code == "Unavailable" ||
		code == "InternalServerErrorException" || code == "ServiceUnavailableException" {
		return temporal.NewApplicationError(msg, plan.ErrUnavailable)
	}
	return temporal.NewNonRetryableApplicationError(msg, plan.ErrInvalid, err)
}

// --- idempotency ---

// shortHash is a 16-hex-digit digest of an idempotency key.
func shortHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:8])
}

// clientToken is the EC2 ClientToken of an idempotency key (at most 64 ASCII characters).
func clientToken(key string) string {
	h := sha256.Sum256([]byte(key))
	return "topoflow-" + hex.EncodeToString(h[:16])
}

// marker is what an idempotency key leaves in a free-text description.
func marker(key string) string { return "[topoflow:" + shortHash(key) + "]" }

// describe appends the idempotency marker to a description.
func describe(desc, key string) string {
	if desc == "" {
		return marker(key)
	}
	return strings.TrimSpace(desc) + " " + marker(key)
}

// attempt is what a create remembers in its heartbeat before it calls the cloud.
type attempt struct {
	Tried bool `json:"tried"`
	// Previous holds state read before a change (e.g. the previous connectivity).
	Previous map[string]any `json:"previous,omitempty"`
}

// priorAttempt returns heartbeat details recorded by an earlier attempt of this activity.
func priorAttempt(ctx context.Context) (attempt, bool) {
	var at attempt
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return at, false
	}
	return at, activity.GetHeartbeatDetails(ctx, &at) == nil && at.Tried
}

// remember records an attempt for later attempts of this activity.
func remember(ctx context.Context, at attempt) {
	if activity.IsActivity(ctx) {
		at.Tried = true
		activity.RecordHeartbeat(ctx, at)
	}
}

// isTyped reports whether err is a Temporal application error of type typ.
func isTyped(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}

// Credentials returns the credentials provider and region of an AWS account
// of the registry, as the AWS actions use them (the account's role assumed
// when it names one). kafka.verify signs MSK IAM tokens with it.
func (a *Actions) Credentials(ctx context.Context, account string) (awssdk.CredentialsProvider, string, error) {
	s, err := a.session(ctx, plan.Call{Action: "aws credentials", Account: account}, "", "")
	if err != nil {
		return nil, "", err
	}
	return s.cfg.Credentials, s.cfg.Region, nil
}
