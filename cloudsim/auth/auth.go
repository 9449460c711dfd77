// Package auth checks the clouds' request authentication schemes against the
// inventory's accounts and tells which account a request acts as. Provider
// APIs call it and render the returned *Error in their cloud's error shape
// (e.g. EC2 "AuthFailure", MSK "UnrecognizedClientException" /
// "InvalidSignatureException", ARM "InvalidAuthenticationToken", Ambari 401
// with a Basic challenge). Huawei's SDK-HMAC-SHA256 lives in cloudsim/huawei.
//
//   - AWS Signature Version 4 ([SigV4]): the signature is recomputed with the
//     AWS SDK's own signer over the signed headers and compared.
//   - Bearer tokens ([Bearer]): a token is an account credential of type "token".
//   - HTTP Basic ([Basic]): a credential of type "basic" (Ambari user/password).
package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Reason classifies an authentication failure.
type Reason string

// Reasons.
const (
	// Missing: no or malformed credentials on the request.
	Missing Reason = "missing"
	// UnknownKey: the key ID, token or user is not any account's.
	UnknownKey Reason = "unknownKey"
	// BadSignature: the key exists but the signature or password is wrong.
	BadSignature Reason = "badSignature"
	// Expired: the request's timestamp is too far from now.
	Expired Reason = "expired"
)

// Error is an authentication failure. Its message never contains a secret.
type Error struct {
	Reason  Reason
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("authentication %s: %s", e.Reason, e.Message) }

func fail(r Reason, format string, a ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, a...)}
}

// MaxSkew is how far a signed request's timestamp may be from now.
const MaxSkew = 15 * time.Minute

// SigV4Info is what a verified SigV4 request says about itself.
type SigV4Info struct {
	Account *inventory.Account
	KeyID   string
	Region  string
	Service string
}

// SigV4 verifies an AWS Signature Version 4 Authorization header. The body
// is read and restored. now is the server time (time.Now when zero).
func SigV4(inv *inventory.Store, r *http.Request, now time.Time) (*SigV4Info, error) {
	if now.IsZero() {
		now = time.Now()
	}
	h := r.Header.Get("Authorization")
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, alg) {
		return nil, fail(Missing, "request is not signed with AWS4-HMAC-SHA256")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, alg), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return nil, fail(Missing, "malformed Authorization header")
	}
	keyID, region, service := scope[0], scope[2], scope[3]
	acct, cred, err := inv.FindCredential("aksk", keyID)
	if err != nil || acct.Provider != "aws" {
		return nil, fail(UnknownKey, "the access key ID %s does not exist", keyID)
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return nil, fail(Missing, "missing or malformed X-Amz-Date")
	}
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return nil, fail(Expired, "signature expired: %s is more than %s from server time %s", t.Format(time.RFC3339), MaxSkew, now.UTC().Format(time.RFC3339))
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(r.Body)
		if err != nil {
			return nil, fail(Missing, "read body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	re, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return nil, fail(Missing, "rebuild request: %v", err)
	}
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		switch name {
		case "host":
			continue
		case "content-length":
			// The Go signer signs Content-Length from the request's field, and
			// only when the client signed it too (botocore, the AWS CLI, does not).
			re.ContentLength = int64(len(body))
			continue
		}
		for _, v := range r.Header.Values(name) {
			re.Header.Add(name, v)
		}
	}
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: cred.Secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if err := signer.SignHTTP(context.Background(), creds, re, payload, service, region, t); err != nil {
		return nil, fail(Missing, "recompute signature: %v", err)
	}
	want := ""
	for _, part := range strings.Split(re.Header.Get("Authorization"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "Signature" {
			want = v
		}
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return nil, fail(BadSignature, "the request signature we calculated does not match the signature you provided; check your AWS secret access key and signing method")
	}
	return &SigV4Info{Account: acct, KeyID: keyID, Region: region, Service: service}, nil
}

// Bearer returns the account owning the request's bearer token.
func Bearer(inv *inventory.Store, r *http.Request) (*inventory.Account, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, fail(Missing, "authentication failed: the Authorization header is missing or not a bearer token")
	}
	for _, o := range inv.List(inventory.KindAccount, inventory.Filter{}) {
		a := o.(*inventory.Account)
		for _, c := range a.Credentials {
			if c.Type == "token" && subtle.ConstantTimeCompare([]byte(c.Secret), []byte(tok)) == 1 {
				return a, nil
			}
		}
	}
	return nil, fail(UnknownKey, "the access token is invalid")
}

// Basic returns the account whose "basic" credential matches the request's
// HTTP Basic user and password.
func Basic(inv *inventory.Store, r *http.Request) (*inventory.Account, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, fail(Missing, "authentication required")
	}
	acct, cred, err := inv.FindCredential("basic", user)
	if err != nil {
		return nil, fail(UnknownKey, "invalid username/password combination")
	}
	if subtle.ConstantTimeCompare([]byte(cred.Secret), []byte(pass)) != 1 {
		return nil, fail(BadSignature, "invalid username/password combination")
	}
	return acct, nil
}
