// Package tencent implements Topoflow's Tencent Cloud actions with the
// official SDK (github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc):
// CCN (云联网) instances and attachments, and security-group policies.
//
// Every call builds its SDK client from the worker's account registry
// (region, endpoint override, SecretId/SecretKey resolved inside the
// activity), so no secret enters workflow history, logs or errors. Creates
// carry the call's idempotency tag in a description and find an earlier
// attempt's resource first; deletes treat "not found" as done.
package tencent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// Actions holds what every Tencent Cloud action needs: the account registry.
type Actions struct{ accts *accounts.Registry }

// New returns the Tencent Cloud actions over an account registry.
func New(accts *accounts.Registry) *Actions { return &Actions{accts: accts} }

// typed collects this package's actions by catalog name (each file registers its own).
var typed = map[string]func(a *Actions) activities.Func{}

// Funcs returns every Tencent Cloud action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	out := map[string]activities.Func{}
	for name, fn := range typed {
		out[name] = fn(a)
	}
	return out
}

// Register adds every Tencent Cloud action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry) {
	for name, fn := range New(accts).Funcs() {
		reg.Add(name, fn)
	}
}

// session is one call's account and VPC client.
type session struct {
	acct   *accounts.Account
	action string
	vpc    *vpc.Client
}

func (a *Actions) session(ctx context.Context, call plan.Call) (*session, error) {
	if call.Account == "" {
		return nil, activities.Invalid("%s: the step names no account", call.Action)
	}
	acct, ok := a.accts.Get(call.Account)
	if !ok {
		return nil, activities.Invalid("%s: account %q is not in the worker's account registry", call.Action, call.Account)
	}
	if acct.Provider != accounts.ProviderTencent || acct.Tencent == nil {
		return nil, activities.Invalid("%s: account %q is a %s account, not tencent", call.Action, call.Account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Unauthorized("%s: %v", call.Action, err)
	}
	cp := profile.NewClientProfile()
	cp.HttpProfile.ReqTimeout = 30
	if ep, err := acct.Endpoint("vpc"); err == nil {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return nil, activities.Invalid("%s: account %q: vpc endpoint %q is not a URL", call.Action, call.Account, ep)
		}
		cp.HttpProfile.Endpoint, cp.HttpProfile.Scheme = u.Host, strings.ToUpper(u.Scheme)
	}
	var cred common.CredentialIface = common.NewCredential(creds.SecretID, creds.SecretKey)
	if creds.Token != "" {
		cred = common.NewTokenCredential(creds.SecretID, creds.SecretKey, creds.Token)
	}
	c, err := vpc.NewClient(cred, acct.Region, cp)
	if err != nil {
		return nil, activities.Invalid("%s: vpc client: %v", call.Action, err)
	}
	return &session{acct: acct, action: call.Action, vpc: c}, nil
}

func code(err error) string {
	var se *tcerr.TencentCloudSDKError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// classify maps an SDK error onto the plan error types. Sources: the API
// 3.0 common error codes (https://cloud.tencent.com/document/api/215/15779)
// and vpc/v20170312 errors.go; ClientError.* are the SDK's own (no answer).
func (s *session) classify(what string, err error) error {
	c := code(err)
	msg := s.action + ": " + what + ": " + err.Error()
	switch {
	case c == "" || strings.HasPrefix(c, "ClientError.NetworkError") || strings.HasPrefix(c, "ClientError.HttpStatusCodeError"):
		return activities.Fail(plan.ErrUnavailable, "%s", msg)
	case c == "RequestLimitExceeded" || strings.HasPrefix(c, "RequestLimitExceeded."):
		return activities.Fail(plan.ErrThrottled, "%s", msg)
	case strings.HasPrefix(c, "AuthFailure") || strings.HasPrefix(c, "UnauthorizedOperation"):
		return activities.Unauthorized("%s", msg)
	case c == "ResourceNotFound" || strings.HasPrefix(c, "ResourceNotFound.") || c == "UnsupportedOperation.CcnNotAttached":
		return activities.NotFound("%s", msg)
	case c == "ResourceInUse" || c == "UnsupportedOperation.MutexOperationTaskRunning" || strings.HasPrefix(c, "InternalError") ||
		c == "ResourceUnavailable" || c == "FailedOperation":
		// A state another operation must leave first, or the service's own failure: retried.
		return activities.Conflict("%s", msg)
	}
	return activities.Invalid("%s", msg)
}

// tag is a short marker of an idempotency key for descriptions.
func tag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "topoflow-" + hex.EncodeToString(sum[:])[:16]
}

func isNotFound(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == plan.ErrNotFound
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
