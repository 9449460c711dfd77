package huawei

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// SignAlgorithm is the algorithm name of Huawei's default AK/SK signer.
const SignAlgorithm = "SDK-HMAC-SHA256"

// sdkDateLayout is the layout of the X-Sdk-Date header.
const sdkDateLayout = "20060102T150405Z"

// authHeader is a parsed Authorization header.
type authHeader struct {
	Access, SignedHeaders, Signature string
}

// parseAuthorization parses "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...".
func parseAuthorization(v string) (authHeader, error) {
	if !strings.HasPrefix(v, SignAlgorithm+" ") {
		return authHeader{}, fmt.Errorf("authorization is not %s", SignAlgorithm)
	}
	var a authHeader
	for _, part := range strings.Split(strings.TrimPrefix(v, SignAlgorithm+" "), ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Access":
			a.Access = val
		case "SignedHeaders":
			a.SignedHeaders = val
		case "Signature":
			a.Signature = val
		}
	}
	if a.Access == "" || a.SignedHeaders == "" || a.Signature == "" {
		return authHeader{}, fmt.Errorf("authorization lacks Access, SignedHeaders or Signature")
	}
	return a, nil
}

// escape is the SDK's RFC 3986 escape: unreserved characters stay, every
// other byte becomes %XX (upper-case hex).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalRequest rebuilds the SDK's canonical request (core/auth/signer).
func canonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	segs := strings.Split(r.URL.Path, "/")
	for i := range segs {
		segs[i] = escape(segs[i])
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			qs = append(qs, escape(k)+"="+escape(v))
		}
	}
	var ch strings.Builder
	for _, h := range signedHeaders {
		ch.WriteString(h + ":" + strings.TrimSpace(headerValue(r, h)) + "\n")
	}
	payload := r.Header.Get("X-Sdk-Content-Sha256")
	if payload != "UNSIGNED-PAYLOAD" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	return strings.Join([]string{r.Method, uri, strings.Join(qs, "&"), ch.String(), strings.Join(signedHeaders, ";"), payload}, "\n")
}

func headerValue(r *http.Request, name string) string {
	if strings.EqualFold(name, "host") {
		return r.Host
	}
	return r.Header.Get(name)
}

// Sign computes the signature of a canonical request (hex HMAC-SHA256 with
// the secret key over "SDK-HMAC-SHA256\n<date>\n<hex sha256(canonical)>").
func Sign(canonical, sdkDate, sk string) string {
	h := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(SignAlgorithm + "\n" + sdkDate + "\n" + hex.EncodeToString(h[:])))
	return hex.EncodeToString(m.Sum(nil))
}

// verifySignature checks r's signature with sk. maxSkew > 0 also refuses an
// X-Sdk-Date further than that from now.
func verifySignature(r *http.Request, body []byte, a authHeader, sk string, now time.Time, maxSkew time.Duration) error {
	date := r.Header.Get("X-Sdk-Date")
	t, err := time.Parse(sdkDateLayout, date)
	if err != nil {
		return fmt.Errorf("X-Sdk-Date missing or malformed")
	}
	if maxSkew > 0 && (now.Sub(t) > maxSkew || t.Sub(now) > maxSkew) {
		return fmt.Errorf("X-Sdk-Date is outside the allowed clock skew")
	}
	signed := strings.Split(a.SignedHeaders, ";")
	want := Sign(canonicalRequest(r, body, signed), date, sk)
	if !hmac.Equal([]byte(want), []byte(a.Signature)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}
