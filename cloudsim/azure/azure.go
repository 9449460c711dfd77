// Package azure is cloudsim's Azure: the slice of Azure Resource Manager and
// Microsoft Entra ID (AAD) that Topoflow drives, spoken as the real wire
// protocol so the real Azure SDK for Go clients (azcore, armnetwork,
// armhdinsight) run against it unchanged.
//
//   - POST /{tenant}/oauth2/v2.0/token: OAuth2 client-credentials grant
//     (client_id, client_secret, scope) checked against the inventory's
//     "clientSecret" credentials; it mints a bearer token bound to the account.
//   - Every ARM request needs "Authorization: Bearer <token>" (a minted token
//     or an account's static "token" credential) whose account owns the
//     subscription in the path, and a known api-version query parameter.
//   - Microsoft.Network virtualNetworkPeerings: PUT/GET/DELETE/list. PUT and
//     DELETE are long-running operations answered with 201/200/202, an
//     Azure-AsyncOperation URL and Retry-After-Ms (fast polls); the operation
//     status is InProgress, then Succeeded or Failed. A peering is Initiated
//     until its reciprocal peering exists, then both are Connected (the
//     network model routes between the VNets); deleting one side leaves the
//     other Disconnected. A second peering operation on a VNet while one
//     runs gets 409 AnotherOperationInProgress.
//   - Microsoft.HDInsight clusters GET: the Kafka instances with engine
//     "hdinsight", with their connectivityEndpoints (HTTPS → Ambari).
//
// Peerings are inventory.Peering objects whose ID is the ARM resource ID;
// Status is "initiated", "active" (Connected) or "disconnected", and Attrs
// hold the ARM properties. Fault ops: azure.aad.token,
// azure.network.peerings.{createOrUpdate,get,list,delete},
// azure.hdinsight.clusters.get; outcome azure.network.peering.provision
// (stuck keeps the operation InProgress, reject fails it).
package azure

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("azure", Mount) }

// Peering statuses in the inventory (Status of inventory.Peering).
const (
	StatusInitiated    = "initiated"
	StatusConnected    = inventory.PeeringActive
	StatusDisconnected = "disconnected"
)

// Provisioning states (ARM provisioningState).
const (
	ProvUpdating  = "Updating"
	ProvDeleting  = "Deleting"
	ProvSucceeded = "Succeeded"
	ProvFailed    = "Failed"
)

// Supported api-version values per resource provider.
var apiVersions = map[string]map[string]bool{
	"Microsoft.Network": {"2022-07-01": true, "2023-04-01": true, "2023-09-01": true, "2023-11-01": true,
		"2024-01-01": true, "2024-03-01": true, "2024-05-01": true, "2024-07-01": true, "2025-01-01": true, "2025-05-01": true},
	"Microsoft.HDInsight": {"2021-06-01": true, "2023-04-15-preview": true, "2023-08-15-preview": true, "2024-08-01-preview": true},
}

// Options tune the simulated Azure.
type Options struct {
	// OperationDelay is how long a peering create/delete stays InProgress (default 150ms).
	OperationDelay time.Duration
	// RetryAfter is sent as Retry-After-Ms on long-running responses (default 25ms).
	RetryAfter time.Duration
	// TokenLifetime is the lifetime of minted tokens (default 1h).
	TokenLifetime time.Duration
}

// Server is the simulated Azure of one sim.
type Server struct {
	sim  *cloudsim.Sim
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	tokens map[string]tokenInfo  // minted bearer token → account
	ops    map[string]*operation // async operation ID → state
	busy   map[string]string     // lower-case VNet ID → running operation ID
	// completeLater schedules an operation's completion (a durable transition).
	completeLater func(time.Duration, string)

	// peeringMu serializes the completion of peering operations: settling a
	// peering reads its reciprocal's state and may update both, so two
	// reciprocal operations completing at once must not interleave (each
	// would see the other unprovisioned and both would stay Initiated).
	peeringMu sync.Mutex
	// settling, when set (tests), runs between reading a peering's reciprocal
	// and writing the settled states.
	settling func()
}

type tokenInfo struct {
	account string
	expires time.Time
}

type operation struct {
	ID        string
	Status    string // InProgress, Succeeded, Failed
	ErrCode   string
	ErrMsg    string
	VNet      string
	PeeringID string
	Delete    bool
	Started   time.Time
}

var servers sync.Map // *cloudsim.Sim → *Server

// ServerOf returns the server mounted on s (by Mount or MountWith).
func ServerOf(s *cloudsim.Sim) (*Server, bool) {
	v, ok := servers.Load(s)
	if !ok {
		return nil, false
	}
	return v.(*Server), true
}

// Mount registers the Azure endpoints on s with default options.
func Mount(s *cloudsim.Sim) error {
	_, err := MountWith(s, Options{})
	return err
}

// resources holds the route registrations of every resource the twin
// serves: each resource's file (peering.go, hdinsight.go) appends its own in
// init.
var resources []func(*Server)

// MountWith registers the Azure endpoints on s and returns the server (for
// tests that tune or inspect it).
func MountWith(s *cloudsim.Sim, opts Options) (*Server, error) {
	if opts.OperationDelay <= 0 {
		opts.OperationDelay = 150 * time.Millisecond
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 25 * time.Millisecond
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	srv := &Server{sim: s, opts: opts, mux: http.NewServeMux(),
		tokens: map[string]tokenInfo{}, ops: map[string]*operation{}, busy: map[string]string{}}
	srv.registerState(s)
	login := http.NewServeMux()
	login.HandleFunc("POST /{tenant}/oauth2/v2.0/token", srv.token)
	for _, r := range resources {
		r(srv)
	}
	srv.mux.HandleFunc("/subscriptions/", func(w http.ResponseWriter, r *http.Request) {
		armError(w, http.StatusNotFound, "InvalidResourceType", fmt.Sprintf("The resource type could not be found for %s %s.", r.Method, r.URL.Path))
	})
	s.MountFunc(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/subscriptions/") }, srv.mux)
	s.MountFunc(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") }, login)
	servers.Store(s, srv)
	return srv, nil
}

// Handler returns the server's router (for mounting elsewhere).
func (srv *Server) Handler() http.Handler { return srv.mux }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// armError writes ARM's error shape.
func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("x-ms-request-id", newID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-request-id", newID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func renderFault(w http.ResponseWriter, f *faults.Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", f.RetryAfterHeader())
	}
	armError(w, f.Status, f.Code, f.Message)
}

// token implements the client-credentials grant of the Microsoft identity platform v2.0.
func (srv *Server) token(w http.ResponseWriter, r *http.Request) {
	aadErr := func(status int, code, desc string) {
		writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
	}
	if f := srv.sim.Faults.Check(r.Context(), "azure.aad.token"); f != nil {
		renderFault(w, f)
		return
	}
	if err := r.ParseForm(); err != nil {
		aadErr(http.StatusBadRequest, "invalid_request", "AADSTS900144: malformed request body")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		aadErr(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: grant_type "+gt+" is not supported")
		return
	}
	clientID, secret, scope := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("scope")
	if !strings.HasSuffix(scope, "/.default") {
		aadErr(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: the scope must end with /.default for the client credentials flow")
		return
	}
	acct, cred, err := srv.sim.Inventory.FindCredential("clientSecret", clientID)
	if err != nil {
		aadErr(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: application "+clientID+" was not found in the directory")
		return
	}
	if cred.Secret != secret {
		aadErr(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: invalid client secret provided")
		return
	}
	if tenant := r.PathValue("tenant"); acct.TenantID != "" && !strings.EqualFold(tenant, acct.TenantID) {
		aadErr(http.StatusBadRequest, "invalid_request", "AADSTS90002: tenant "+tenant+" not found for application "+clientID)
		return
	}
	tok := "simaz." + strings.ReplaceAll(newID(), "-", "")
	srv.mu.Lock()
	srv.tokens[tok] = tokenInfo{account: acct.ID, expires: time.Now().Add(srv.opts.TokenLifetime)}
	srv.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(srv.opts.TokenLifetime / time.Second),
		"ext_expires_in": int(srv.opts.TokenLifetime / time.Second), "access_token": tok})
}

// caller returns the account of the request's bearer token.
func (srv *Server) caller(r *http.Request) (*inventory.Account, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, false
	}
	srv.mu.Lock()
	ti, minted := srv.tokens[tok]
	srv.mu.Unlock()
	if minted {
		if time.Now().After(ti.expires) {
			return nil, false
		}
		a, err := inventory.Get[*inventory.Account](srv.sim.Inventory, ti.account)
		return a, err == nil
	}
	for _, a := range inventory.List[*inventory.Account](srv.sim.Inventory, inventory.Filter{}) {
		for _, c := range a.Credentials {
			if c.Type == "token" && c.Secret == tok {
				return a, true
			}
		}
	}
	return nil, false
}

// arm wraps an ARM handler with authentication, authorization and the api-version check.
func (srv *Server) arm(provider string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, ok := srv.caller(r)
		if !ok {
			if r.Header.Get("Authorization") == "" {
				armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
			} else {
				armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid or expired.")
			}
			return
		}
		sub := r.PathValue("sub")
		if !strings.EqualFold(acct.SubscriptionID, sub) {
			armError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("The client does not have authorization to perform action over scope '/subscriptions/%s' or the scope is invalid.", sub))
			return
		}
		v := r.URL.Query().Get("api-version")
		if v == "" {
			armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
			return
		}
		if !apiVersions[provider][v] {
			armError(w, http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid for resource provider '%s'.", v, provider))
			return
		}
		h(w, r)
	})
}

func vnetID(r *http.Request) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s",
		r.PathValue("sub"), r.PathValue("rg"), r.PathValue("vnet"))
}

// findVNet looks a VNet up by ARM ID, case-insensitively as ARM does.
func (srv *Server) findVNet(id string) (*inventory.VPC, bool) {
	if v, err := inventory.Get[*inventory.VPC](srv.sim.Inventory, id); err == nil {
		return v, true
	}
	for _, v := range inventory.List[*inventory.VPC](srv.sim.Inventory, inventory.Filter{}) {
		if strings.EqualFold(v.ID, id) {
			return v, true
		}
	}
	return nil, false
}

func (srv *Server) findPeering(id string) (*inventory.Peering, bool) {
	if p, err := inventory.Get[*inventory.Peering](srv.sim.Inventory, id); err == nil {
		return p, true
	}
	for _, p := range inventory.List[*inventory.Peering](srv.sim.Inventory, inventory.Filter{}) {
		if strings.EqualFold(p.ID, id) {
			return p, true
		}
	}
	return nil, false
}

func (srv *Server) vnetNotFound(w http.ResponseWriter, r *http.Request) {
	armError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.Network/virtualNetworks/%s' under resource group '%s' was not found.", r.PathValue("vnet"), r.PathValue("rg")))
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (srv *Server) asyncURL(r *http.Request, region, opID string) string {
	if region == "" {
		region = "westeurope"
	}
	return fmt.Sprintf("%s/subscriptions/%s/providers/Microsoft.Network/locations/%s/operations/%s?api-version=%s",
		baseURL(r), r.PathValue("sub"), region, opID, r.URL.Query().Get("api-version"))
}
