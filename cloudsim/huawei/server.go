// Package huawei is cloudsim's Huawei Cloud (and Open Telekom Cloud): the
// VPC Endpoint v1, DMS for Kafka v2 and VPC v2.0/v3 APIs on the paths
// github.com/huaweicloud/huaweicloud-sdk-go-v3 uses, over the shared
// cloudsim inventory.
//
// Every request must carry a valid SDK-HMAC-SHA256 signature (recomputed
// with the SDK's algorithm from the account's secret key in the inventory)
// and an X-Project-Id equal to the caller's project; failures answer with the
// API gateway's real error bodies ({"error_code":"APIGW.0301",...}). Errors
// use the {"error_code","error_msg","request_id"} shape. State machines are
// asynchronous: an endpoint service goes creating → available; an endpoint
// creating → pendingAcceptance (approval enabled) or accepted, then accepted
// on "receive" or rejected on "reject"; deletes go through deleting and then
// answer 404. Fault rules (cloudsim/faults) apply to operations named
// "huawei.<service>.<SDK method>" (e.g. huawei.vpcep.CreateEndpoint) and to
// state transitions "huawei.vpcep.service.create", "huawei.vpcep.endpoint.create"
// and "huawei.vpcep.endpoint.accept"; rules on "<operation>/response" hit
// after the operation took effect (a lost or late response).
package huawei

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("huawei", Mount) }

// Timing holds the delays of the asynchronous state machines.
type Timing struct {
	// ServiceCreate: endpoint service creating → available.
	ServiceCreate time.Duration
	// EndpointCreate: endpoint creating → pendingAcceptance/accepted.
	EndpointCreate time.Duration
	// Delete: deleting → gone (services and endpoints).
	Delete time.Duration
	// MaxClockSkew refuses signatures whose X-Sdk-Date is further from now (0 = no check).
	MaxClockSkew time.Duration
	// DMSModifyBusy: how long a DMS instance stays busy after crossvpc/modify
	// (a further modify answers 400 DMS.00400026 meanwhile).
	DMSModifyBusy time.Duration
	// DMSRestart: how long a restarted DMS instance stays RESTARTING.
	DMSRestart time.Duration
	// DMSExtend: how long a DMS instance stays EXTENDING while brokers are added.
	DMSExtend time.Duration
}

// DefaultTiming is used by Mount; tests may change it before cloudsim.New.
var DefaultTiming = Timing{
	ServiceCreate:  300 * time.Millisecond,
	EndpointCreate: 300 * time.Millisecond,
	Delete:         300 * time.Millisecond,
	MaxClockSkew:   15 * time.Minute,
	DMSModifyBusy:  1500 * time.Millisecond,
	DMSRestart:     2 * time.Second,
	DMSExtend:      2 * time.Second,
}

// api is one mounted Huawei provider.
type api struct {
	sim    *cloudsim.Sim
	inv    *inventory.Store
	faults *faults.Injector
	timing Timing
	mux    *http.ServeMux
	mu     sync.Mutex // serialises read-modify-write sequences across resources
	marker int32
	// busyUntil holds, per DMS instance, the end of its running background
	// task (a crossvpc modify being applied).
	busyMu    sync.Mutex
	busyUntil map[string]time.Time
	transitions
}

// resources holds the route registrations of every cloud resource the twin
// serves: each resource's file (endpointservice.go, endpoint.go, peering.go,
// route.go, sgrule.go, networkacl.go, dms_instance.go, ...) appends its own
// in init.
var resources []func(*api)

// routes registers every resource's routes.
func (a *api) routes() {
	for _, r := range resources {
		r(a)
	}
}

// Mount mounts the Huawei APIs on a sim.
func Mount(s *cloudsim.Sim) error {
	a := &api{sim: s, inv: s.Inventory, faults: s.Faults, timing: DefaultTiming, mux: http.NewServeMux(), busyUntil: map[string]time.Time{}}
	a.registerTransitions(s)
	a.routes()
	s.MountFunc(isHuaweiRequest, a.mux)
	return nil
}

// isHuaweiRequest recognises SDK requests: AK/SK-signed or carrying the
// SDK's X-Project-Id / X-Sdk-Date headers.
func isHuaweiRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), SignAlgorithm) ||
		r.Header.Get("X-Project-Id") != "" || r.Header.Get("X-Sdk-Date") != ""
}

// caller is an authenticated request.
type caller struct {
	acct *inventory.Account
	body []byte
	r    *http.Request
}

type handlerFunc func(w http.ResponseWriter, c *caller)

// handle wraps h with authentication, the project check and fault injection.
func (a *api) handle(pattern, op string, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			writeErr(w, http.StatusBadRequest, "APIGW.0201", "Request body read failed")
			return
		}
		acct, status, code, msg := a.authenticate(r, body)
		if acct == nil {
			writeErr(w, status, code, msg)
			return
		}
		if pid := r.PathValue("project_id"); pid != "" && pid != acct.ProjectID {
			writeErr(w, http.StatusForbidden, "APIGW.0306", "The project ID in the URL does not match the credentials")
			return
		}
		if f := a.faults.Check(r.Context(), op); f != nil {
			if f.RetryAfter > 0 || f.Status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", f.RetryAfterHeader())
			}
			code := f.Code
			if f.Kind == faults.Throttle && code == "Throttling" {
				code = "APIGW.0308"
			}
			writeErr(w, f.Status, code, f.Message)
			return
		}
		// The operation takes effect, then its response may be delayed or
		// lost: a client that times out or crashes here has changed the
		// cloud without learning the outcome.
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		h(rec, &caller{acct: acct, body: body, r: r})
		if f := a.faults.Check(r.Context(), op+ResponseSuffix); f != nil {
			writeErr(w, f.Status, f.Code, f.Message)
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// ResponseSuffix names the response phase of an operation for fault rules:
// a rule on "huawei.vpcep.CreateEndpointService/response" lets the create
// take effect, then delays (latency) or loses (error, timeout) its response.
// Globs such as "huawei.*" do not match it ("*" stops at "/").
const ResponseSuffix = faults.ResponseSuffix

// recorder buffers a handler's response until the response-phase faults ran.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// authenticate verifies the AK/SK signature and the X-Project-Id header.
func (a *api) authenticate(r *http.Request, body []byte) (*inventory.Account, int, string, string) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, http.StatusUnauthorized, "APIGW.0101", "Authorization header is missing"
	}
	ah, err := parseAuthorization(authz)
	if err != nil {
		return nil, http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: " + err.Error()
	}
	acct, cred, err := a.inv.FindCredential("aksk", ah.Access)
	if err != nil || acct.Provider != "huawei" {
		return nil, http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: ak " + ah.Access + " not exist"
	}
	if err := verifySignature(r, body, ah, cred.Secret, time.Now().UTC(), a.timing.MaxClockSkew); err != nil {
		return nil, http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail"
	}
	if pid := r.Header.Get("X-Project-Id"); pid != acct.ProjectID {
		return nil, http.StatusForbidden, "APIGW.0306", "The X-Project-Id header does not match the credentials"
	}
	return acct, 0, "", ""
}

// writeErr writes Huawei's error body.
func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "error_msg": msg, "request_id": uuid.NewString()})
}

// writeJSON writes a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode strictly decodes a JSON body.
func (c *caller) decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid request body: %v", err)
	}
	return nil
}

// owned reports whether an inventory object belongs to the caller.
func (c *caller) owned(o inventory.Object) bool { return o.GetMeta().Account == c.acct.ID }

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func isNotFound(err error) bool { return errors.Is(err, inventory.ErrNotFound) }

func (a *api) now() time.Time { return time.Now().UTC() }
