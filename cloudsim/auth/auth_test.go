package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func store() *inventory.Store {
	s := inventory.New()
	inventory.Create(s, &inventory.Account{Meta: inventory.Meta{ID: "aws-msk"}, Provider: "aws", Credentials: []inventory.Credential{{Type: "aksk", KeyID: "AKIA1", Secret: "secret1"}}})
	inventory.Create(s, &inventory.Account{Meta: inventory.Meta{ID: "az"}, Provider: "azure", Credentials: []inventory.Credential{{Type: "token", KeyID: "t", Secret: "tok-123"}}})
	inventory.Create(s, &inventory.Account{Meta: inventory.Meta{ID: "amb"}, Provider: "ambari", Credentials: []inventory.Credential{{Type: "basic", KeyID: "admin", Secret: "pw"}}})
	return s
}

// signed returns a request signed by the AWS SDK's own SigV4 signer.
func signed(t *testing.T, key, secret string, at time.Time, body string) *http.Request {
	t.Helper()
	r, _ := http.NewRequest("POST", "http://127.0.0.1:8700/?Action=DescribeVpcs&Version=2016-11-15", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "ec2", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func reason(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestSigV4(t *testing.T) {
	s := store()
	now := time.Now()
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want Reason
	}{
		{"valid", func() *http.Request { return signed(t, "AKIA1", "secret1", now, "Action=DescribeVpcs") }, ""},
		{"wrong secret", func() *http.Request { return signed(t, "AKIA1", "nope", now, "x") }, BadSignature},
		{"unknown key", func() *http.Request { return signed(t, "AKIA9", "secret1", now, "x") }, UnknownKey},
		{"expired", func() *http.Request { return signed(t, "AKIA1", "secret1", now.Add(-time.Hour), "x") }, Expired},
		{"tampered body", func() *http.Request {
			r := signed(t, "AKIA1", "secret1", now, "a=1")
			r.Header.Del("X-Amz-Content-Sha256")
			r.Body = http.NoBody
			return r
		}, BadSignature},
		{"content-length not signed (botocore)", func() *http.Request {
			body := "Action=DescribeVpcs"
			r, _ := http.NewRequest("POST", "http://127.0.0.1:8700/", strings.NewReader(body))
			r.ContentLength = 0 // the Go signer then leaves content-length out of SignedHeaders, as botocore does
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "secret1"}, r, hex.EncodeToString(sum[:]), "ec2", "eu-west-1", now); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Header.Get("Authorization"), "content-length") {
				t.Fatal("test setup: content-length was signed")
			}
			r.ContentLength = int64(len(body))
			return r
		}, ""},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", "http://x/", nil); return r }, Missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := SigV4(s, tc.req(), now)
			if got := reason(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if err == nil && (info.Account.ID != "aws-msk" || info.Region != "eu-west-1" || info.Service != "ec2") {
				t.Errorf("info %+v", info)
			}
			if err != nil && strings.Contains(err.Error(), "secret1") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestBearerAndBasic(t *testing.T) {
	s := store()
	r, _ := http.NewRequest("GET", "http://x/", nil)
	if _, err := Bearer(s, r); reason(err) != Missing {
		t.Errorf("no token: %v", err)
	}
	r.Header.Set("Authorization", "Bearer tok-123")
	if a, err := Bearer(s, r); err != nil || a.ID != "az" {
		t.Errorf("token: %v %v", a, err)
	}
	r.Header.Set("Authorization", "Bearer other")
	if _, err := Bearer(s, r); reason(err) != UnknownKey {
		t.Errorf("bad token: %v", err)
	}
	r.Header.Del("Authorization")
	if _, err := Basic(s, r); reason(err) != Missing {
		t.Errorf("no basic: %v", err)
	}
	r.SetBasicAuth("admin", "pw")
	if a, err := Basic(s, r); err != nil || a.ID != "amb" {
		t.Errorf("basic: %v %v", a, err)
	}
	r.SetBasicAuth("admin", "wrong")
	if _, err := Basic(s, r); reason(err) != BadSignature {
		t.Errorf("wrong password: %v", err)
	}
	r.SetBasicAuth("who", "pw")
	if _, err := Basic(s, r); reason(err) != UnknownKey {
		t.Errorf("unknown user: %v", err)
	}
}
