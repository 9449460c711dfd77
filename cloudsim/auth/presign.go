package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// PresignedInfo is what a verified SigV4 presigned URL says about itself.
type PresignedInfo struct {
	SigV4Info
	// SessionToken is the X-Amz-Security-Token of temporary credentials ("" for an account key).
	SessionToken string
	// Expires is when the presigned URL stops being valid (X-Amz-Date + X-Amz-Expires).
	Expires time.Time
}

// emptySHA256 is the hex SHA-256 of an empty payload, the payload hash a
// presigned GET signs.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// PresignedSigV4 verifies an AWS Signature Version 4 presigned URL (query
// string authentication: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature;
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#add-signature-to-request)
// of a GET with only the host header signed. The signature is recomputed
// with the AWS SDK's own presigner over every query parameter except
// X-Amz-Signature and the names in unsigned (parameters a client appends
// after signing, e.g. the MSK IAM signer's User-Agent) and compared. now is
// the server time (time.Now when zero).
func PresignedSigV4(inv *inventory.Store, u *url.URL, now time.Time, unsigned ...string) (*PresignedInfo, error) {
	if now.IsZero() {
		now = time.Now()
	}
	q := u.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return nil, fail(Missing, "the URL is not presigned with AWS4-HMAC-SHA256")
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || q.Get("X-Amz-Signature") == "" {
		return nil, fail(Missing, "malformed X-Amz-Credential or missing X-Amz-Signature")
	}
	if sh := q.Get("X-Amz-SignedHeaders"); sh != "host" {
		return nil, fail(Missing, "X-Amz-SignedHeaders is %q; only host is accepted here", sh)
	}
	keyID, region, service := scope[0], scope[2], scope[3]
	acct, cred, err := inv.FindCredential("aksk", keyID)
	if err != nil || acct.Provider != "aws" {
		return nil, fail(UnknownKey, "the access key ID %s does not exist", keyID)
	}
	t, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return nil, fail(Missing, "missing or malformed X-Amz-Date")
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	// A presigned URL is valid for at most 7 days (X-Amz-Expires 1..604800):
	// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
	if err != nil || secs < 1 || secs > 604800 {
		return nil, fail(Missing, "X-Amz-Expires must be 1..604800 seconds, got %q", q.Get("X-Amz-Expires"))
	}
	expires := t.Add(time.Duration(secs) * time.Second)
	if t.Sub(now) > MaxSkew {
		return nil, fail(Expired, "signature not yet valid: X-Amz-Date %s is more than %s after server time %s", t.Format(time.RFC3339), MaxSkew, now.UTC().Format(time.RFC3339))
	}
	if now.After(expires) {
		return nil, fail(Expired, "signature expired: the URL signed at %s expired at %s (server time %s)", t.Format(time.RFC3339), expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	sig := q.Get("X-Amz-Signature")
	token := q.Get("X-Amz-Security-Token")
	// The request as the client built it before presigning: every other
	// parameter; the presigner adds the X-Amz-* authentication parameters back.
	base := url.Values{}
	for k, vs := range q {
		if strings.HasPrefix(k, "X-Amz-") && k != "X-Amz-Expires" {
			continue
		}
		skip := false
		for _, s := range unsigned {
			skip = skip || k == s
		}
		if !skip {
			base[k] = vs
		}
	}
	re := url.URL{Scheme: "https", Host: u.Host, Path: u.Path, RawQuery: base.Encode()}
	if re.Path == "" {
		re.Path = "/"
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, re.String(), nil)
	if err != nil {
		return nil, fail(Missing, "rebuild request: %v", err)
	}
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: cred.Secret, SessionToken: token}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, service, region, t)
	if err != nil {
		return nil, fail(Missing, "recompute signature: %v", err)
	}
	su, err := url.Parse(signed)
	if err != nil {
		return nil, fail(Missing, "recompute signature: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(su.Query().Get("X-Amz-Signature")), []byte(sig)) != 1 {
		return nil, fail(BadSignature, "the request signature we calculated does not match the signature you provided; check your AWS secret access key and signing method")
	}
	return &PresignedInfo{SigV4Info: SigV4Info{Account: acct, KeyID: keyID, Region: region, Service: service}, SessionToken: token, Expires: expires}, nil
}
