package huawei

import (
	"net/http"
	"strings"
	"testing"
)

// Vectors from the SDK's core/auth/signer/signer_test.go.
func TestSignMatchesSDKVectors(t *testing.T) {
	tests := []struct {
		name, method, url, body, want string
		headers                       map[string]string
	}{
		{"get", "GET", "https://example.huaweicloud.com/path?limit=1", "", "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624",
			map[string]string{"X-Sdk-Date": "20060102T150405Z", "TEST_UNDERSCORE": "TEST"}},
		{"post", "POST", "https://example.huaweicloud.com/path?key=value", "{\"Name\":\"test\",\"Id\":1}\n", "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59",
			map[string]string{"X-Sdk-Date": "20060102T150405Z", "Content-Type": "application/json", "TEST_UNDERSCORE": "TEST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got := Sign(canonicalRequest(r, []byte(tc.body), []string{"x-sdk-date"}), "20060102T150405Z", "SecretKey")
			if got != tc.want {
				t.Fatalf("signature %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=abc", true},
		{"SDK-HMAC-SHA256 Access=AK, Signature=abc", false},
		{"AWS4-HMAC-SHA256 Credential=x", false},
		{"", false},
	} {
		_, err := parseAuthorization(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseAuthorization(%q) err = %v", tc.in, err)
		}
	}
}
