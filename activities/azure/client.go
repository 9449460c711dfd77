// Package azure implements Topoflow's Azure actions with the Azure SDK for
// Go: VNet peering (armnetwork/v6, VirtualNetworkPeeringsClient with its
// long-running operations) and HDInsight clusters (armhdinsight, the Ambari
// endpoint of a Kafka cluster).
//
// Credentials: every call resolves its account (provider azure) from the
// worker's account registry and builds an azcore.TokenCredential inside the
// activity: [ClientSecretCredential], the OAuth2 client-credentials grant of
// the Microsoft identity platform (POST {login}/{tenant}/oauth2/v2.0/token),
// with the account's tenant, client ID and client secret (resolved from the
// environment or a file, never from the plan). The ARM and login endpoints
// come from the account's endpoints (arm, login), defaulting to Azure's public
// cloud. An http:// ARM endpoint (cloudsim) is allowed by setting azcore's
// InsecureAllowCredentialWithHTTP, since azcore's bearer policy otherwise
// refuses to send a token over plain HTTP; https endpoints never set it.
//
// Errors are Temporal application errors typed with the plan.Err* constants.
// A 409 AnotherOperationInProgress (Azure serializes peering operations on a
// VNet) is retried inside the activity for a while, then reported as
// plan.ErrConflict, which the step's retry policy retries.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

// Public cloud defaults.
const (
	DefaultARMEndpoint   = "https://management.azure.com"
	DefaultLoginEndpoint = "https://login.microsoftonline.com"
	armAudience          = "https://management.core.windows.net/"
)

// ClientSecretCredential is an azcore.TokenCredential for a service
// principal: the OAuth2 client-credentials grant against the Microsoft
// identity platform v2.0 token endpoint. Tokens are cached per scope until
// five minutes before they expire. (azidentity.ClientSecretCredential does
// the same through MSAL, which refuses non-https authorities such as
// cloudsim's; this one speaks the same wire protocol to any endpoint.)
type ClientSecretCredential struct {
	// Login is the authority host (e.g. https://login.microsoftonline.com).
	Login string
	// TenantID, ClientID and Secret identify the service principal.
	TenantID, ClientID string
	Secret             string
	// HTTP sends the token requests.
	HTTP *http.Client

	mu    sync.Mutex
	cache map[string]azcore.AccessToken
}

// String redacts the secret.
func (c *ClientSecretCredential) String() string {
	return fmt.Sprintf("ClientSecretCredential{tenant=%s client=%s}", c.TenantID, c.ClientID)
}

// TokenError is a refused token request.
type TokenError struct {
	Status int
	Code   string
	Desc   string
}

// Error implements error.
func (e *TokenError) Error() string {
	return fmt.Sprintf("token request refused: HTTP %d %s: %s", e.Status, e.Code, e.Desc)
}

// GetToken implements azcore.TokenCredential.
func (c *ClientSecretCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scope := strings.Join(opts.Scopes, " ")
	c.mu.Lock()
	if t, ok := c.cache[scope]; ok && time.Until(t.ExpiresOn) > 5*time.Minute {
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()
	tenant := c.TenantID
	if opts.TenantID != "" {
		tenant = opts.TenantID
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.Secret}, "scope": {scope}}
	u := strings.TrimSuffix(c.Login, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return azcore.AccessToken{}, fmt.Errorf("token request to %s: %w", c.Login, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Desc        string `json:"error_description"`
	}
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return azcore.AccessToken{}, &TokenError{Status: resp.StatusCode, Code: body.Error, Desc: body.Desc}
	}
	tok := azcore.AccessToken{Token: body.AccessToken, ExpiresOn: time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)}
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]azcore.AccessToken{}
	}
	c.cache[scope] = tok
	c.mu.Unlock()
	return tok, nil
}

// session is one call's account, credential and SDK options.
type session struct {
	acct *accounts.Account
	cred azcore.TokenCredential
	opts *arm.ClientOptions
}

// session resolves an azure account and builds its credential and options.
func (a *Actions) session(ctx context.Context, action, account string) (*session, error) {
	if account == "" {
		return nil, activities.Fail(plan.ErrInvalid, "%s: the step names no account", action)
	}
	acct, ok := a.accts.Get(account)
	if !ok {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is not in the worker's account registry", action, account)
	}
	if acct.Provider != accounts.ProviderAzure || acct.Azure == nil {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is a %s account, not azure", action, account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Fail(plan.ErrUnauthorized, "%s: %v", action, err)
	}
	armURL, err := acct.Endpoint("arm")
	if err != nil {
		armURL = DefaultARMEndpoint
	}
	login, err := acct.Endpoint("login")
	if err != nil {
		login = DefaultLoginEndpoint
	}
	key := account + "\x00" + creds.ClientSecret
	a.mu.Lock()
	cred := a.creds[key]
	if cred == nil {
		cred = &ClientSecretCredential{Login: login, TenantID: acct.Azure.TenantID, ClientID: acct.Azure.ClientID, Secret: creds.ClientSecret, HTTP: a.http}
		a.creds[key] = cred
	}
	a.mu.Unlock()
	opts := &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: strings.TrimSuffix(login, "/") + "/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: armURL, Audience: armAudience},
				},
			},
			Transport:                       a.http,
			InsecureAllowCredentialWithHTTP: strings.HasPrefix(armURL, "http://"),
			Retry:                           retryOptions(),
			PerRetryPolicies:                []policy.Policy{reauthPolicy{cred: cred}},
			Telemetry:                       policy.TelemetryOptions{ApplicationID: "topoflow"},
		},
		DisableRPRegistration: true,
	}
	return &session{acct: acct, cred: cred, opts: opts}, nil
}

// errorCode returns the ARM error code and HTTP status of err ("" and 0 if
// it is not an ARM answer).
func errorCode(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

// armMessage extracts {"error":{"message"}} from a response error.
func armMessage(re *azcore.ResponseError) string {
	if re.RawResponse == nil || re.RawResponse.Body == nil {
		return ""
	}
	raw, err := io.ReadAll(io.LimitReader(re.RawResponse.Body, 1<<20))
	if err != nil {
		return ""
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil {
		return body.Error.Message
	}
	return ""
}

// classify turns an SDK error into a typed application error with a short message.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var te *TokenError
	if errors.As(err, &te) {
		if te.Status == http.StatusNotFound {
			// The login endpoint does not serve the token API: a configuration fault, not a refused credential.
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v: the login endpoint answered HTTP 404, so it does not serve the Microsoft identity platform's token API: "+
				"check the account's login endpoint and tenant in the account registry (a refused credential is HTTP 400/401 with an AADSTS error)", what, te), plan.ErrInvalid, nil)
		}
		typ := plan.ErrUnauthorized
		if te.Status >= 500 || te.Status == http.StatusTooManyRequests {
			typ = plan.ErrUnavailable
		}
		return activities.Fail(typ, "%s: %v", what, te)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return activities.Fail(plan.ErrUnavailable, "%s: %v", what, err)
	}
	msg := fmt.Sprintf("%s: HTTP %d %s", what, re.StatusCode, re.ErrorCode)
	if m := armMessage(re); m != "" {
		msg += ": " + m
	}
	typ := plan.ErrUnavailable
	switch {
	case re.StatusCode == http.StatusNotFound && re.ErrorCode == "":
		// ARM answers errors as {"error": {"code", "message"}}
		// (https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/common-deployment-errors):
		// a 404 with no code comes from a server that does not serve the API, not a missing resource.
		return temporal.NewNonRetryableApplicationError(msg+": the endpoint answered with no ARM error code, so it does not serve this API: "+
			"check the account's management endpoint in the account registry (a refused credential is HTTP 401/403 with an error code)", plan.ErrInvalid, nil)
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		typ = plan.ErrUnauthorized
	case re.StatusCode == http.StatusNotFound:
		typ = plan.ErrNotFound
	case re.StatusCode == http.StatusConflict:
		typ = plan.ErrConflict
	case busyCodes[re.ErrorCode]:
		// 400 ReferencedResourceNotProvisioned clears when the remote VNet's operation ends: retried
		// (terraform-provider-azurerm internal/services/network/virtual_network_peering_resource.go).
		typ = plan.ErrConflict
	case re.StatusCode == http.StatusTooManyRequests:
		// The next Temporal attempt waits the service's Retry-After.
		return temporal.NewApplicationErrorWithOptions(msg, plan.ErrThrottled,
			temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter(re.RawResponse)})
	case re.StatusCode >= 400 && re.StatusCode < 500:
		typ = plan.ErrInvalid
	case re.StatusCode == http.StatusOK || re.StatusCode == http.StatusCreated:
		// A long-running operation that ended Failed: the cloud refused it.
		typ = plan.ErrConflict
	}
	return activities.Fail(typ, "%s", msg)
}
