// Package alibaba implements Topoflow's Alibaba Cloud actions with the
// official SDKs: VPC peering (github.com/alibabacloud-go/vpcpeer-20220101),
// custom route entries (vpc-20160428) and ECS security-group rules
// (ecs-20140526).
//
// Every call builds its SDK client from the worker's account registry
// (region, endpoint override, AccessKey resolved inside the activity), so no
// secret enters workflow history, logs or errors. Creates carry the call's
// idempotency key (a ClientToken, an entry name, a rule description) and
// find an earlier attempt's resource before they create one; deletes treat
// "not found" as done. Errors are classified onto the plan.Err* types.
package alibaba

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// Actions holds what every Alibaba Cloud action needs: the account registry.
type Actions struct {
	accts   *accounts.Registry
	timeout time.Duration
}

// New returns the Alibaba Cloud actions over an account registry.
func New(accts *accounts.Registry) *Actions { return &Actions{accts: accts, timeout: 30 * time.Second} }

// typed collects the typed actions of this package by catalog name (each
// file registers its own from init).
var typed = map[string]func(a *Actions) activities.Func{}

// Funcs returns every Alibaba Cloud action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	out := map[string]activities.Func{}
	for name, fn := range typed {
		out[name] = fn(a)
	}
	return out
}

// Register adds every Alibaba Cloud action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry) {
	for name, fn := range New(accts).Funcs() {
		reg.Add(name, fn)
	}
}

// session is one call's resolved account and SDK configuration.
type session struct {
	acct   *accounts.Account
	action string
	cfg    func(service string) (*openapi.Config, error)
}

// session resolves call.Account (or account when not empty).
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
	if acct.Provider != accounts.ProviderAlibaba || acct.Alibaba == nil {
		return nil, activities.Invalid("%s: account %q is a %s account, not alibaba", call.Action, account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Unauthorized("%s: %v", call.Action, err)
	}
	timeout := int(a.timeout / time.Millisecond)
	s := &session{acct: acct, action: call.Action}
	s.cfg = func(service string) (*openapi.Config, error) {
		c := &openapi.Config{AccessKeyId: tea.String(creds.AccessKeyID), AccessKeySecret: tea.String(creds.AccessKeySecret),
			RegionId: tea.String(acct.Region), ReadTimeout: tea.Int(timeout), ConnectTimeout: tea.Int(timeout)}
		if creds.SecurityToken != "" {
			c.SecurityToken = tea.String(creds.SecurityToken)
		}
		if ep, err := acct.Endpoint(service); err == nil {
			u, err := url.Parse(ep)
			if err != nil || u.Host == "" {
				return nil, activities.Invalid("%s: account %q: endpoint %q of %s is not a URL", call.Action, account, ep, service)
			}
			c.Endpoint, c.Protocol = tea.String(u.Host), tea.String(u.Scheme)
		} else if service == "vpcpeer" {
			// VpcPeer is a central endpoint (vpcpeer-20220101 client.go Init: EndpointRule "central").
			c.Endpoint = tea.String("vpcpeer.aliyuncs.com")
		} else {
			c.Endpoint = tea.String(service + "." + acct.Region + ".aliyuncs.com")
		}
		return c, nil
	}
	return s, nil
}

func (s *session) peer() (*vpcpeer.Client, error) {
	c, err := s.cfg("vpcpeer")
	if err != nil {
		return nil, err
	}
	cl, err := vpcpeer.NewClient(c)
	if err != nil {
		return nil, activities.Invalid("%s: vpcpeer client: %v", s.action, err)
	}
	return cl, nil
}

func (s *session) vpc() (*vpc.Client, error) {
	c, err := s.cfg("vpc")
	if err != nil {
		return nil, err
	}
	cl, err := vpc.NewClient(c)
	if err != nil {
		return nil, activities.Invalid("%s: vpc client: %v", s.action, err)
	}
	return cl, nil
}

func (s *session) ecs() (*ecs.Client, error) {
	c, err := s.cfg("ecs")
	if err != nil {
		return nil, err
	}
	cl, err := ecs.NewClient(c)
	if err != nil {
		return nil, activities.Invalid("%s: ecs client: %v", s.action, err)
	}
	return cl, nil
}

// code returns the OpenAPI error code and HTTP status of an SDK error.
func code(err error) (string, int) {
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
	}
	return "", 0
}

// classify maps an SDK error onto the plan error types. Sources: the
// OpenAPI common error codes (https://help.aliyun.com/zh/openapi/support/common-error-codes)
// and darabonba-openapi/v2 client.go (Throttling, Throttling.User,
// Throttling.Api are the throttling codes; 5xx are server errors).
func (s *session) classify(what string, err error) error {
	c, st := code(err)
	msg := s.action + ": " + what + ": " + strings.TrimSpace(errText(err))
	switch {
	case c == "":
		// No API answer: a network failure or timeout (retried).
		return activities.Fail(plan.ErrUnavailable, "%s", msg)
	case strings.HasPrefix(c, "Throttling"), c == "ServiceUnavailable":
		return activities.Fail(plan.ErrThrottled, "%s", msg)
	case c == "SignatureDoesNotMatch", c == "IncompleteSignature", strings.HasPrefix(c, "InvalidAccessKeyId"),
		strings.HasPrefix(c, "Forbidden"), c == "InvalidSecurityToken.Expired":
		return activities.Unauthorized("%s", msg)
	case strings.HasPrefix(c, "InvalidTimeStamp"):
		// The request's date was refused: the clock may be off; retry with a fresh signature.
		return activities.Fail(plan.ErrUnavailable, "%s", msg)
	case strings.HasPrefix(c, "ResourceNotFound"), strings.HasSuffix(c, ".NotFound"):
		return activities.NotFound("%s", msg)
	case strings.HasPrefix(c, "IncorrectStatus"), strings.HasPrefix(c, "Conflict"), strings.HasPrefix(c, "OperationDenied"),
		strings.HasPrefix(c, "OperationConflict"), c == "LastTokenProcessing", strings.HasPrefix(c, "IncorrectBusinessStatus"),
		c == "IncorrectRouteEntryStatus", c == "TaskConflict", c == "IncorrectVpcStatus":
		// A state that another operation must leave first (vpcpeer error codes: Conflict.Operation "try again later";
		// route entries: terraform-provider-alicloud resource_alicloud_route_entry.go retries IncorrectRouteEntryStatus,
		// TaskConflict and IncorrectVpcStatus on create and delete).
		return activities.Conflict("%s", msg)
	case st >= 500:
		return activities.Fail(plan.ErrUnavailable, "%s", msg)
	}
	return activities.Invalid("%s", msg)
}

// errText is the SDK error's message (which never carries a secret: the
// OpenAPI answer's code, message and request ID).
func errText(err error) string {
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code) + ": " + tea.StringValue(se.Message)
	}
	return err.Error()
}

// token is an idempotency key as an OpenAPI ClientToken (ASCII, at most 64
// characters: vpcpeer-20220101 CreateVpcPeerConnectionRequest.ClientToken).
func token(key string) string {
	if len(key) <= 64 && isASCII(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "tf-" + hex.EncodeToString(sum[:])[:40]
}

// tag is a short marker of an idempotency key for names and descriptions.
func tag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "topoflow-" + hex.EncodeToString(sum[:])[:16]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}

// isNotFound reports whether a classified error is plan.ErrNotFound.
func isNotFound(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == plan.ErrNotFound
}
