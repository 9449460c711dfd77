package aws

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/plan"
)

// TestWrongEndpointIsNotARefusedCredentialNorAMissingResource: a server
// that does not serve the API answers a bare HTTP 404; real SDK clients
// report it as UnknownError (EC2, query protocol) or with no code (MSK, JSON):
// it is a configuration fault (InvalidInput, not retried) that says to
// check the endpoint, never Unauthorized, and never "already gone" for a
// compensation. A 404 with an AWS error code stays a missing resource, and
// a 403 with one a refused credential.
func TestWrongEndpointIsNotARefusedCredentialNorAMissingResource(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/wrong/", http.NotFound)
	mux.HandleFunc("/msk/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "NotFoundException")
		w.Header().Set("X-Amzn-Requestid", "r-1")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"cluster arn:x not found"}`))
	})
	mux.HandleFunc("/ec2denied/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors><RequestID>r-2</RequestID></Response>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := awssdk.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""), RetryMaxAttempts: 1}
	ec2Call := func(path string) error {
		_, err := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = awssdk.String(srv.URL + path) }).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
		return err
	}
	mskCall := func(path string) error {
		_, err := kafka.NewFromConfig(cfg, func(o *kafka.Options) { o.BaseEndpoint = awssdk.String(srv.URL + path) }).
			DescribeClusterV2(context.Background(), &kafka.DescribeClusterV2Input{ClusterArn: awssdk.String("arn:x")})
		return err
	}
	s := &session{acct: &accounts.Account{Name: "aws-msk"}}
	tests := []struct {
		name     string
		err      error
		typ      string
		notFound bool
		says     string
	}{
		{"EC2 at a wrong endpoint", ec2Call("/wrong/"), plan.ErrInvalid, false, "does not serve this API: check the endpoints of account aws-msk"},
		{"MSK at a wrong endpoint", mskCall("/wrong/"), plan.ErrInvalid, false, "does not serve this API"},
		{"MSK: no such cluster", mskCall("/msk/"), plan.ErrNotFound, true, "NotFoundException"},
		{"EC2: refused", ec2Call("/ec2denied/"), plan.ErrUnauthorized, false, "UnauthorizedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the call succeeded")
			}
			if got := isNotFound(tt.err); got != tt.notFound {
				t.Errorf("isNotFound = %v, want %v (%v)", got, tt.notFound, tt.err)
			}
			var ae *temporal.ApplicationError
			if err := s.classify("describe", tt.err); !errors.As(err, &ae) || ae.Type() != tt.typ || !strings.Contains(ae.Message(), tt.says) {
				t.Errorf("classify = %v, want type %s saying %q", err, tt.typ, tt.says)
			} else if tt.typ == plan.ErrInvalid && !ae.NonRetryable() {
				t.Error("a wrong endpoint is retried")
			}
		})
	}
}
