package alibaba

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// SignAlgorithm is the signature the official SDKs send: the darabonba
// OpenAPI client (github.com/alibabacloud-go/darabonba-openapi/v2
// client/client.go DoRequest) defaults SignatureAlgorithm to
// ACS3-HMAC-SHA256 for every RPC-style call made through CallApi
// (https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature).
const SignAlgorithm = "ACS3-HMAC-SHA256"

// authHeader is a parsed Authorization header:
// "ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=a;b,Signature=<hex>".
type authHeader struct {
	AccessKeyID   string
	SignedHeaders []string
	Signature     string
}

func parseAuthorization(v string) (authHeader, error) {
	var ah authHeader
	rest, ok := strings.CutPrefix(v, SignAlgorithm+" ")
	if !ok {
		return ah, errors.New("unsupported signature algorithm")
	}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			ah.AccessKeyID = val
		case "SignedHeaders":
			ah.SignedHeaders = strings.Split(val, ";")
		case "Signature":
			ah.Signature = val
		}
	}
	if ah.AccessKeyID == "" || ah.Signature == "" || len(ah.SignedHeaders) == 0 {
		return ah, errors.New("malformed Authorization header")
	}
	return ah, nil
}

// acsEscape escapes as the SDK's getCanonicalQueryString does
// (darabonba-openapi/v2 utils/client.go): url.QueryEscape, then "+" → "%20",
// "*" → "%2A", "%7E" → "~".
func acsEscape(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

// canonicalRequest rebuilds the string the SDK hashed
// (darabonba-openapi/v2 utils/client.go GetAuthorization,
// getCanonicalQueryString, getCanonicalHeaders): method, path, the sorted
// query with escaped values, the signed headers (lower-case, trimmed), their
// names, and the hex SHA-256 of the body (x-acs-content-sha256).
func canonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		v := q.Get(k)
		if v == "" {
			qs = append(qs, k+"=")
		} else {
			qs = append(qs, k+"="+acsEscape(v))
		}
	}
	var hb strings.Builder
	for _, h := range signed {
		var v string
		if h == "host" {
			v = r.Host
		} else {
			vals := append([]string(nil), r.Header.Values(h)...)
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			sort.Strings(vals)
			v = strings.Join(vals, ",")
		}
		hb.WriteString(h + ":" + v + "\n")
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return r.Method + "\n" + path + "\n" + strings.Join(qs, "&") + "\n" + hb.String() + "\n" +
		strings.Join(signed, ";") + "\n" + payloadHash
}

// signedHeadersComplete reports whether the signed headers are exactly the
// ones the SDK signs: host, content-type when sent, and every x-acs-* header
// (getCanonicalHeaders), so a header added after signing is refused.
func signedHeadersComplete(r *http.Request, signed []string) bool {
	want := map[string]bool{"host": true}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-acs-") || lk == "content-type" {
			want[lk] = true
		}
	}
	if len(want) != len(signed) {
		return false
	}
	for _, h := range signed {
		if !want[h] {
			return false
		}
	}
	return sort.StringsAreSorted(signed)
}

// verify checks the ACS3-HMAC-SHA256 signature of r with secret.
func verify(r *http.Request, body []byte, ah authHeader, secret string) error {
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if got := r.Header.Get("x-acs-content-sha256"); got != payload {
		return errors.New("x-acs-content-sha256 does not match the body")
	}
	if !signedHeadersComplete(r, ah.SignedHeaders) {
		return errors.New("signed headers incomplete")
	}
	cr := sha256.Sum256([]byte(canonicalRequest(r, ah.SignedHeaders, payload)))
	sts := SignAlgorithm + "\n" + hex.EncodeToString(cr[:])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(sts))
	want := hex.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(ah.Signature)) != 1 {
		return errors.New("signature mismatch")
	}
	return nil
}
