package azure

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// retryOptions are azcore's retry policy options: its defaults
// (sdk/azcore/runtime/policy_retry.go setDefaults: 3 retries, exponential
// backoff from 800 ms up to 60 s, Retry-After honoured) with 401 added to
// the retried status codes, so that a cached token the service rejects (a
// revoked or rotated token, a restarted authority) is replaced within the
// call: reauthPolicy drops the credential's cached token on a 401, and
// azcore's BearerTokenPolicy expires its own copy on a 401
// (runtime/policy_bearer_token.go handleChallenge), so the retry fetches a
// new one. A token the service rejects again after that is a real refusal
// (plan.ErrUnauthorized).
func retryOptions() policy.RetryOptions {
	return policy.RetryOptions{StatusCodes: []int{
		http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusUnauthorized,
	}}
}

// reauthPolicy runs after azcore's bearer token policy (it is a per-retry
// policy of the client options): on a 401 answer it drops the rejected token
// from the credential's cache.
type reauthPolicy struct{ cred *ClientSecretCredential }

// Do implements policy.Policy.
func (p reauthPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		tok, _ := strings.CutPrefix(req.Raw().Header.Get("Authorization"), "Bearer ")
		p.cred.Forget(tok)
	}
	return resp, err
}

// Forget drops token from the cache (every cached token when token is
// empty), so the next GetToken asks the authority for a new one.
func (c *ClientSecretCredential) Forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for scope, t := range c.cache {
		if token == "" || t.Token == token {
			delete(c.cache, scope)
		}
	}
}

// retryAfter reads the delay a throttled ARM answer asks for (0 when none,
// at most 5 minutes): retry-after-ms, x-ms-retry-after-ms, or Retry-After in
// seconds or as an HTTP date, in azcore's order (sdk/azcore/internal/shared RetryAfter).
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	var d time.Duration
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.Atoi(resp.Header.Get(h)); err == nil && ms > 0 {
			d = time.Duration(ms) * time.Millisecond
			break
		}
	}
	if d == 0 {
		v := resp.Header.Get("Retry-After")
		if n, err := strconv.Atoi(v); err == nil {
			d = time.Duration(n) * time.Second
		} else if at, err := http.ParseTime(v); err == nil {
			d = time.Until(at)
		}
	}
	return min(max(d, 0), 5*time.Minute)
}
