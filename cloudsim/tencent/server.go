// Package tencent is cloudsim's Tencent Cloud: the VPC API 3.0 (version
// 2017-03-12) actions of CCN (云联网) and security-group policies, as the
// official Go SDK (github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc)
// calls them, over the shared cloudsim inventory.
//
// Requests are POST / with a JSON body, the action in X-TC-Action, the
// version in X-TC-Version and a TC3-HMAC-SHA256 Authorization header,
// recomputed here from the account's SecretKey in the inventory. Every
// answer is HTTP 200 with {"Response": {..., "RequestId"}}; errors put
// {"Code","Message"} in Response.Error (common/http/response.go
// ParseErrorFromHTTPResponse). A CCN attachment of another account's VPC
// waits PENDING until the CCN owner accepts it (ACTIVE) or rejects it
// (REJECTED); a request nobody accepts in Timing.AttachExpiry turns EXPIRED.
// Fault rules apply to operations "tencent.vpc.<Action>".
package tencent

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("tencent", Mount) }

// VersionVpc is the VPC API version (vpc/v20170312 client.go APIVersion).
const VersionVpc = "2017-03-12"

// Timing holds the delays of the asynchronous state machines.
type Timing struct {
	// Attach: ATTACHING → ACTIVE (same account) or PENDING (another account's CCN).
	Attach time.Duration
	// AttachExpiry: a PENDING cross-account request nobody accepts turns
	// EXPIRED (runbook 003: "您需要在 10 分钟内完成…否则将视为失败").
	AttachExpiry time.Duration
	// Detach: DETACHING → gone.
	Detach time.Duration
	// MaxClockSkew refuses signatures whose X-TC-Timestamp is further from now
	// (AuthFailure.SignatureExpire: "签名过期…与服务器时间相差不得超过五分钟",
	// https://cloud.tencent.com/document/api/215/15779).
	MaxClockSkew time.Duration
}

// DefaultTiming is used by Mount; tests may change it before cloudsim.New.
var DefaultTiming = Timing{Attach: 300 * time.Millisecond, AttachExpiry: 10 * time.Minute, Detach: 300 * time.Millisecond, MaxClockSkew: 5 * time.Minute}

type api struct {
	inv    *inventory.Store
	faults *faults.Injector
	timing Timing
	mu     sync.Mutex
	ops    map[string]handlerFunc
	transitions
}

type caller struct {
	acct   *inventory.Account
	body   []byte
	region string
}

type handlerFunc func(c *caller) (any, *apiError)

// apiError is a Response.Error.
type apiError struct{ Code, Message string }

func errf(code, format string, a ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Mount mounts the Tencent Cloud API on a sim.
func Mount(s *cloudsim.Sim) error {
	a := &api{inv: s.Inventory, faults: s.Faults, timing: DefaultTiming, ops: map[string]handlerFunc{}}
	a.registerTransitions(s)
	a.ccnRoutes()
	a.sgRoutes()
	s.MountFunc(func(r *http.Request) bool { return r.Header.Get("X-TC-Action") != "" }, http.HandlerFunc(a.serve))
	return nil
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeErr(w, errf("InvalidParameter", "request body could not be read"))
		return
	}
	acct, aerr := a.authenticate(r, body)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	action := r.Header.Get("X-TC-Action")
	h, ok := a.ops[r.Header.Get("X-TC-Version")+"/"+action]
	if !ok {
		// InvalidAction (https://cloud.tencent.com/document/api/215/15779 公共错误码).
		writeErr(w, errf("InvalidAction", "接口不存在。 The action %s does not exist.", action))
		return
	}
	op := "tencent.vpc." + action
	if f := a.faults.Check(r.Context(), op); f != nil {
		code := f.Code
		if f.Kind == faults.Throttle && (code == "" || code == "Throttling") {
			code = "RequestLimitExceeded" // 公共错误码: 请求的次数超过了频率限制
		}
		writeErr(w, errf(code, "%s", f.Message))
		return
	}
	a.mu.Lock()
	out, aerr := h(&caller{acct: acct, body: body, region: r.Header.Get("X-TC-Region")})
	a.mu.Unlock()
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	if f := a.faults.Check(r.Context(), op+"/response"); f != nil {
		writeErr(w, errf(f.Code, "%s", f.Message))
		return
	}
	m := map[string]any{}
	if out != nil {
		b, _ := json.Marshal(out)
		_ = json.Unmarshal(b, &m)
	}
	m["RequestId"] = uuid.NewString()
	writeJSON(w, map[string]any{"Response": m})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers an error the way API 3.0 does: HTTP 200, Response.Error.
func writeErr(w http.ResponseWriter, e *apiError) {
	writeJSON(w, map[string]any{"Response": map[string]any{"Error": map[string]string{"Code": e.Code, "Message": e.Message}, "RequestId": uuid.NewString()}})
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacsha256(msg, key string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return string(h.Sum(nil))
}

// authenticate verifies TC3-HMAC-SHA256 as the SDK signs it
// (tencentcloud/common client.go sendWithSignatureV3): canonical request
// "POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\n<sha256(body)>",
// credential scope <date>/<service>/tc3_request, key derived from "TC3"+SecretKey.
// Error codes: AuthFailure.SecretIdNotFound, AuthFailure.SignatureFailure,
// AuthFailure.SignatureExpire, AuthFailure.InvalidAuthorization
// (https://cloud.tencent.com/document/api/215/15779).
func (a *api) authenticate(r *http.Request, body []byte) (*inventory.Account, *apiError) {
	authz := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(authz, "TC3-HMAC-SHA256 ")
	if !ok {
		return nil, errf("AuthFailure.InvalidAuthorization", "请求头部的 Authorization 不符合腾讯云标准。")
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 4 || parts[3] != "tc3_request" || sig == "" || signed != "content-type;host" {
		return nil, errf("AuthFailure.InvalidAuthorization", "请求头部的 Authorization 不符合腾讯云标准。")
	}
	secretID, date, service := parts[0], parts[1], parts[2]
	acct, c, err := a.inv.FindCredential("aksk", secretID)
	if err != nil || acct.Provider != "tencent" {
		return nil, errf("AuthFailure.SecretIdNotFound", "密钥不存在。 The SecretId is not found.")
	}
	tsStr := r.Header.Get("X-TC-Timestamp")
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if err != nil {
		return nil, errf("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or malformed.")
	}
	t := time.Unix(ts, 0).UTC()
	if a.timing.MaxClockSkew > 0 && time.Since(t).Abs() > a.timing.MaxClockSkew {
		return nil, errf("AuthFailure.SignatureExpire", "签名过期。 The signature expired.")
	}
	if t.Format("2006-01-02") != date {
		return nil, errf("AuthFailure.SignatureFailure", "请求签名验证失败。 The credential date does not match X-TC-Timestamp.")
	}
	canonical := fmt.Sprintf("%s\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s", r.Method, r.Header.Get("Content-Type"), r.Host, sha256hex(body))
	scope := date + "/" + service + "/tc3_request"
	sts := "TC3-HMAC-SHA256\n" + tsStr + "\n" + scope + "\n" + sha256hex([]byte(canonical))
	key := hmacsha256("tc3_request", hmacsha256(service, hmacsha256(date, "TC3"+c.Secret)))
	want := hex.EncodeToString([]byte(hmacsha256(sts, key)))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return nil, errf("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确。 The provided credentials could not be validated.")
	}
	return acct, nil
}

// decode decodes the JSON body; a malformed one answers InvalidParameter (公共错误码).
func (c *caller) decode(v any) *apiError {
	if err := json.NewDecoder(bytes.NewReader(c.body)).Decode(v); err != nil {
		return errf("InvalidParameter", "参数错误: %v", err)
	}
	return nil
}

func missing(name string) *apiError {
	return errf("MissingParameter", "缺少参数错误。 The parameter `%s` is missing.", name)
}

func newID(prefix string) string {
	return prefix + strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
