package azure

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// TestWrongEndpointIsNotARefusedCredentialNorAMissingResource: azcore's own
// parsing (runtime.NewResponseError) of a bare 404 gives no ARM error code:
// a configuration fault saying to check the endpoint; a login endpoint that
// answers 404 is one too, not a refused credential. A 404 with an ARM code
// stays a missing resource, and a 403 with one a refused credential.
func TestWrongEndpointIsNotARefusedCredentialNorAMissingResource(t *testing.T) {
	resp := func(status int, ctype, body string) error {
		u, _ := url.Parse("https://management.example/subscriptions/s/resourceGroups/rg")
		return runtime.NewResponseError(&http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}},
			Body: io.NopCloser(strings.NewReader(body)), Request: &http.Request{Method: http.MethodGet, URL: u}})
	}
	tests := []struct {
		name string
		err  error
		typ  string
		says string
	}{
		{"wrong endpoint", resp(404, "text/plain", "404 page not found\n"), plan.ErrInvalid, "does not serve this API: check the account's management endpoint"},
		{"no such peering", resp(404, "application/json", `{"error":{"code":"NotFound","message":"Resource not found."}}`), plan.ErrNotFound, "NotFound"},
		{"refused", resp(403, "application/json", `{"error":{"code":"AuthorizationFailed","message":"no access"}}`), plan.ErrUnauthorized, "AuthorizationFailed"},
		{"wrong login endpoint", &TokenError{Status: 404, Desc: "404 page not found"}, plan.ErrInvalid, "check the account's login endpoint and tenant"},
		{"refused secret", &TokenError{Status: 401, Code: "invalid_client", Desc: "AADSTS7000215: Invalid client secret"}, plan.ErrUnauthorized, "AADSTS7000215"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae *temporal.ApplicationError
			if err := classify("get peering", tt.err); !errors.As(err, &ae) || ae.Type() != tt.typ || !strings.Contains(ae.Message(), tt.says) {
				t.Errorf("classify = %v, want type %s saying %q", err, tt.typ, tt.says)
			} else if tt.typ != plan.ErrNotFound && !ae.NonRetryable() {
				t.Error("retried")
			}
		})
	}
}
