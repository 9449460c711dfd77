// Package alibaba is cloudsim's Alibaba Cloud: the RPC-style OpenAPI of VPC
// peering (VpcPeer 2022-01-01), VPC route entries (Vpc 2016-04-28) and ECS
// security groups (Ecs 2014-05-26), as the official Go SDKs
// (github.com/alibabacloud-go/vpcpeer-20220101, vpc-20160428,
// ecs-20140526) call them, over the shared cloudsim inventory.
//
// Requests are POST / with the action and version in x-acs-action and
// x-acs-version and the parameters in the query and the form body. Every
// request must carry a valid ACS3-HMAC-SHA256 signature, recomputed from
// the account's AccessKey secret in the inventory. Errors use the OpenAPI
// shape {"RequestId","HostId","Code","Message","Recommend"}. A peering goes
// Creating → Accepting (cross-account: until the accepter calls
// AcceptVpcPeerConnection) → Updating → Activated, and Deleting → gone.
// Fault rules (cloudsim/faults) apply to operations "alibaba.<product>.<Action>"
// (e.g. alibaba.vpcpeer.CreateVpcPeerConnection).
package alibaba

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("alibaba", Mount) }

// Product API versions (the Version of each SDK's Params).
const (
	VersionVpcPeer = "2022-01-01" // vpcpeer-20220101 client.go
	VersionVpc     = "2016-04-28" // vpc-20160428 client.go
	VersionEcs     = "2014-05-26" // ecs-20140526 client.go
)

// Timing holds the delays of the asynchronous state machines.
type Timing struct {
	// Create: Creating → Accepting (cross-account) or Activated.
	Create time.Duration
	// Accept: Updating → Activated after AcceptVpcPeerConnection.
	Accept time.Duration
	// Delete: Deleting → gone.
	Delete time.Duration
	// Route: a route entry's Pending → Available, and Deleting → gone.
	Route time.Duration
	// MaxClockSkew refuses requests whose x-acs-date is further from now.
	MaxClockSkew time.Duration
}

// DefaultTiming is used by Mount; tests may change it before cloudsim.New.
var DefaultTiming = Timing{Create: 300 * time.Millisecond, Accept: 300 * time.Millisecond, Delete: 300 * time.Millisecond, Route: 300 * time.Millisecond, MaxClockSkew: 15 * time.Minute}

type api struct {
	inv    *inventory.Store
	faults *faults.Injector
	timing Timing
	mu     sync.Mutex
	ops    map[string]handlerFunc // "<version>/<action>"
	transitions
}

// caller is an authenticated request.
type caller struct {
	acct   *inventory.Account
	params url.Values
	r      *http.Request
}

type handlerFunc func(c *caller) (any, *apiError)

// apiError is an OpenAPI error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func errf(status int, code, format string, a ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// Mount mounts the Alibaba Cloud APIs on a sim.
func Mount(s *cloudsim.Sim) error {
	a := &api{inv: s.Inventory, faults: s.Faults, timing: DefaultTiming, ops: map[string]handlerFunc{}}
	a.registerTransitions(s)
	a.vpcpeerRoutes()
	a.vpcRoutes()
	a.ecsRoutes()
	s.MountFunc(isAlibabaRequest, http.HandlerFunc(a.serve))
	return nil
}

// isAlibabaRequest recognises the SDK's requests by their x-acs-action header.
func isAlibabaRequest(r *http.Request) bool {
	return r.Header.Get("x-acs-action") != "" && r.Header.Get("x-acs-version") != ""
}

func (a *api) op(version, action string, h handlerFunc) { a.ops[version+"/"+action] = h }

var productOf = map[string]string{VersionVpcPeer: "vpcpeer", VersionVpc: "vpc", VersionEcs: "ecs"}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	action, version := r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version")
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeErr(w, errf(http.StatusBadRequest, "InvalidParameter", "The request body could not be read."))
		return
	}
	acct, aerr := a.authenticate(r, body)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	h, ok := a.ops[version+"/"+action]
	if !ok {
		// Unknown action of a product: 404 InvalidAction.NotFound
		// (https://help.aliyun.com/zh/openapi/support/common-error-codes).
		writeErr(w, errf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."))
		return
	}
	params := r.URL.Query()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			writeErr(w, errf(http.StatusBadRequest, "InvalidParameter", "The form body is malformed."))
			return
		}
		for k, v := range form {
			params[k] = v
		}
	}
	opName := "alibaba." + productOf[version] + "." + action
	if f := a.faults.Check(r.Context(), opName); f != nil {
		code := f.Code
		if f.Kind == faults.Throttle && (code == "" || code == "Throttling") {
			code = "Throttling.User" // darabonba-openapi client.go: Throttling, Throttling.User, Throttling.Api
		}
		writeErr(w, errf(f.Status, code, "%s", f.Message))
		return
	}
	a.mu.Lock()
	out, aerr := h(&caller{acct: acct, params: params, r: r})
	a.mu.Unlock()
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	if f := a.faults.Check(r.Context(), opName+"/response"); f != nil {
		writeErr(w, errf(f.Status, f.Code, "%s", f.Message))
		return
	}
	m := map[string]any{}
	if out != nil {
		b, _ := json.Marshal(out)
		_ = json.Unmarshal(b, &m)
	}
	m["RequestId"] = requestID()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(m)
}

// authenticate verifies the ACS3-HMAC-SHA256 signature. The error codes are
// the OpenAPI gateway's (https://help.aliyun.com/zh/openapi/support/common-error-codes):
// IncompleteSignature, InvalidAccessKeyId.NotFound (404), SignatureDoesNotMatch,
// InvalidTimeStamp.Expired.
func (a *api) authenticate(r *http.Request, body []byte) (*inventory.Account, *apiError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, errf(http.StatusBadRequest, "MissingAuthorization", "Authorization is mandatory for this action.")
	}
	ah, err := parseAuthorization(authz)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	}
	acct, cred, err := a.inv.FindCredential("aksk", ah.AccessKeyID)
	if err != nil || acct.Provider != "alibaba" {
		return nil, errf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if d := r.Header.Get("x-acs-date"); a.timing.MaxClockSkew > 0 {
		t, err := time.Parse("2006-01-02T15:04:05Z", d)
		if err != nil || time.Since(t).Abs() > a.timing.MaxClockSkew {
			return nil, errf(http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		}
	}
	if err := verify(r, body, ah, cred.Secret); err != nil {
		return nil, errf(http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
	}
	return acct, nil
}

func requestID() string { return strings.ToUpper(uuid.NewString()) }

func writeErr(w http.ResponseWriter, e *apiError) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"RequestId": requestID(), "HostId": "cloudsim.aliyuncs.com", "Code": e.Code, "Message": e.Message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.Code,
	})
}

// str returns a parameter; required ones answer MissingParameter.
func (c *caller) str(name string, required bool) (string, *apiError) {
	v := strings.TrimSpace(c.params.Get(name))
	if v == "" && required {
		// MissingParameter (https://help.aliyun.com/zh/openapi/support/common-error-codes).
		return "", errf(http.StatusBadRequest, "MissingParameter", "The input parameter \"%s\" that is mandatory for processing this request is not supplied.", name)
	}
	return v, nil
}

// region returns RegionId and checks it is the caller's region (the
// account's resources live in one region in the twin).
func (c *caller) region() (string, *apiError) {
	rg, e := c.str("RegionId", true)
	if e != nil {
		return "", e
	}
	return rg, nil
}

// owned reports whether an inventory object belongs to the caller.
func (c *caller) owned(o inventory.Object) bool { return o.GetMeta().Account == c.acct.ID }

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
