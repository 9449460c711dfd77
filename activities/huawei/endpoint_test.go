package huawei

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/plan"
)

// TestWrongEndpointIsNotARefusedCredentialNorAMissingResource: the SDK's
// own parsing (sdkerr.NewServiceResponseError) of a bare 404 (a server that
// does not serve the API) gives no error code: a configuration fault saying
// to check the endpoint, never "already gone"; a 404 with Huawei's error
// code stays a missing resource and a 401 with one a refused credential.
func TestWrongEndpointIsNotARefusedCredentialNorAMissingResource(t *testing.T) {
	resp := func(status int, ctype, body string) error {
		return sdkerr.NewServiceResponseError(&http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}},
			Body: io.NopCloser(strings.NewReader(body))})
	}
	s := &session{acct: &accounts.Account{Name: "hw-kafka-owner"}, rt: &retryAfterTripper{}}
	tests := []struct {
		name     string
		err      error
		typ      string
		notFound bool
		says     string
	}{
		{"wrong endpoint", resp(404, "text/plain; charset=utf-8", "404 page not found\n"), plan.ErrInvalid, false, "does not serve this API: check the endpoints of account hw-kafka-owner"},
		{"no such group", resp(404, "application/json", `{"error_code":"VPC.0601","error_msg":"Security group sg-1 does not exist"}`), plan.ErrNotFound, true, "VPC.0601"},
		{"refused", resp(401, "application/json", `{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}`), plan.ErrUnauthorized, false, "APIGW.0301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isNotFound(tt.err); got != tt.notFound {
				t.Errorf("isNotFound = %v, want %v", got, tt.notFound)
			}
			var ae *temporal.ApplicationError
			if err := s.classify("delete security group rule", tt.err); !errors.As(err, &ae) || ae.Type() != tt.typ || !strings.Contains(ae.Message(), tt.says) {
				t.Errorf("classify = %v, want type %s saying %q", err, tt.typ, tt.says)
			} else if tt.typ == plan.ErrInvalid && !ae.NonRetryable() {
				t.Error("a wrong endpoint is retried")
			}
		})
	}
}
