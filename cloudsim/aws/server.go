// Package aws is cloudsim's Amazon Web Services: the EC2 Query API (VPC
// peering, routes, security groups, PrivateLink, transit gateway
// attachments), the MSK REST-JSON API (clusters, nodes, multi-VPC
// connectivity, cluster policies, VPC connections, bootstrap brokers), the
// Elastic Load Balancing v2 Query API (network load balancers, target
// groups, listeners), Route 53 REST-XML (private hosted zones, record sets,
// changes) and STS (AssumeRole, GetCallerIdentity), on the wire shapes
// github.com/aws/aws-sdk-go-v2 and the AWS CLI use, over the shared cloudsim
// inventory.
//
// Every request must be signed with AWS Signature Version 4 by a key of an
// AWS account of the inventory (or a temporary key minted by AssumeRole,
// with its session token); the caller's account and region come from the
// signature. EC2 answers form-encoded `Action=...` POSTs with XML in the
// 2016-11-15 namespace (lists as xxxSet/item, errors as
// Response/Errors/Error); MSK answers lowerCamel JSON with typed errors in
// X-Amzn-ErrorType; STS answers awsQuery XML.
//
// State machines are asynchronous (see [Timing]): a peering goes
// initiating-request → pending-acceptance → (accept) provisioning → active,
// or expired when nobody accepts; an endpoint service Pending → Available; an
// interface endpoint pendingAcceptance → (accept) pending → available; a
// transit gateway attachment pending(Acceptance) → available; a VPC
// connection CREATING → AVAILABLE; UpdateConnectivity restarts the brokers one
// by one. The network model follows: an active peering joins the VPCs, an
// available interface endpoint forwards its ports to the load balancer's
// targets. Fault rules apply to operations "aws.ec2.<Action>",
// "aws.kafka.<Operation>", "aws.sts.<Action>", "aws.elbv2.<Action>",
// "aws.route53.<Operation>" and to the transitions
// "aws.ec2.peering.request", "aws.ec2.peering.accept",
// "aws.ec2.endpoint.create", "aws.ec2.attachment.create",
// "aws.kafka.vpcConnection.create" and "aws.kafka.connectivity.update".
package aws

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/auth"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("aws", Mount) }

// Timing holds the delays of the asynchronous state machines.
type Timing struct {
	// LoadBalancerCreate: network load balancer provisioning → active.
	LoadBalancerCreate time.Duration
	// DNSChange: Route 53 change PENDING → INSYNC.
	DNSChange time.Duration
	// PeeringRequest: initiating-request → pending-acceptance.
	PeeringRequest time.Duration
	// PeeringProvision: provisioning → active after an accept.
	PeeringProvision time.Duration
	// PeeringExpiry: pending-acceptance → expired when nobody accepts (AWS: 7 days).
	PeeringExpiry time.Duration
	// ServiceCreate: endpoint service Pending → Available.
	ServiceCreate time.Duration
	// EndpointCreate: endpoint → pendingAcceptance (or pending), and pending → available.
	EndpointCreate time.Duration
	// AttachmentCreate: transit gateway attachment pending → available.
	AttachmentCreate time.Duration
	// VpcConnectionCreate: MSK VPC connection CREATING → AVAILABLE.
	VpcConnectionCreate time.Duration
	// BrokerRestart: how long each broker is down during a rolling restart.
	BrokerRestart time.Duration
	// Delete: deleting → gone (peerings, endpoints, services, attachments, VPC connections).
	Delete time.Duration
	// PeeringVisible: how long a deleted, rejected, failed or expired peering
	// stays visible before it disappears (AWS: 2 hours to 2 days).
	PeeringVisible time.Duration
}

// DefaultTiming is used by Mount; tests may change it before cloudsim.New.
var DefaultTiming = Timing{
	LoadBalancerCreate:  300 * time.Millisecond,
	DNSChange:           300 * time.Millisecond,
	PeeringRequest:      300 * time.Millisecond,
	PeeringProvision:    300 * time.Millisecond,
	PeeringExpiry:       7 * 24 * time.Hour,
	ServiceCreate:       300 * time.Millisecond,
	EndpointCreate:      300 * time.Millisecond,
	AttachmentCreate:    300 * time.Millisecond,
	VpcConnectionCreate: 300 * time.Millisecond,
	BrokerRestart:       200 * time.Millisecond,
	Delete:              300 * time.Millisecond,
	PeeringVisible:      2 * time.Hour,
}

// api is one mounted AWS provider.
type api struct {
	sim    *cloudsim.Sim
	inv    *inventory.Store
	faults *faults.Injector
	timing Timing
	msk    *http.ServeMux
	// mu serialises read-check-write sequences (duplicate rules, routes).
	mu sync.Mutex
	// lmu serialises the creation of VPC connections' client-side listeners.
	lmu sync.Mutex
	// sessions holds the temporary credentials AssumeRole minted.
	smu      sync.Mutex
	sessions map[string]session
	// changes holds the Route 53 changes by ID.
	cmu     sync.Mutex
	changes map[string]*r53ChangeState
	// tokens remembers the ClientTokens of idempotent creates (clienttoken.go).
	tokens tokens
	transitions
}

// session is one set of temporary credentials.
type session struct {
	token   string
	expires time.Time
	arn     string
}

// Mount mounts the AWS APIs on a sim.
func Mount(s *cloudsim.Sim) error {
	a := &api{sim: s, inv: s.Inventory, faults: s.Faults, timing: DefaultTiming, msk: http.NewServeMux(), sessions: map[string]session{}, changes: map[string]*r53ChangeState{}}
	a.registerTransitions(s)
	a.mskRoutes()
	a.watchVpcConnections()
	a.registerIAM()
	s.MountFunc(func(r *http.Request) bool { return sigv4Service(r) == "kafka" }, a.msk)
	s.MountFunc(func(r *http.Request) bool { return sigv4Service(r) == "ec2" || unsignedQuery(r) }, http.HandlerFunc(a.serveEC2))
	s.MountFunc(func(r *http.Request) bool { return sigv4Service(r) == "sts" }, http.HandlerFunc(a.serveSTS))
	s.MountFunc(func(r *http.Request) bool { return sigv4Service(r) == "elasticloadbalancing" }, http.HandlerFunc(a.serveELB))
	s.MountFunc(func(r *http.Request) bool { return sigv4Service(r) == "route53" }, a.route53Mux())
	return nil
}

// sigv4Service returns the service of a SigV4 Authorization header's
// credential scope ("" when the request is not SigV4-signed).
func sigv4Service(r *http.Request) string {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return ""
	}
	i := strings.Index(rest, "Credential=")
	if i < 0 {
		return ""
	}
	cred := rest[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// unsignedQuery recognises an unsigned AWS Query request (POST / with a
// form body and no Authorization), which EC2 answers with
// MissingAuthenticationToken.
func unsignedQuery(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("Authorization") == "" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// caller is an authenticated AWS request.
type caller struct {
	acct   *inventory.Account
	region string
	keyID  string
	// principal is the caller's ARN (root or assumed role).
	principal string
}

// authenticate verifies the SigV4 signature and, for temporary keys, the session token.
func (a *api) authenticate(r *http.Request) (*caller, *auth.Error) {
	info, err := sigV4(a.inv, r)
	if err != nil {
		ae, ok := err.(*auth.Error)
		if !ok {
			ae = &auth.Error{Reason: auth.Missing, Message: err.Error()}
		}
		return nil, ae
	}
	c := &caller{acct: info.Account, region: info.Region, keyID: info.KeyID, principal: "arn:aws:iam::" + info.Account.AccountID + ":root"}
	a.smu.Lock()
	s, temp := a.sessions[info.KeyID]
	a.smu.Unlock()
	if temp {
		if r.Header.Get("X-Amz-Security-Token") != s.token {
			return nil, &auth.Error{Reason: auth.UnknownKey, Message: "the security token included in the request is invalid"}
		}
		if time.Now().After(s.expires) {
			return nil, &auth.Error{Reason: auth.Expired, Message: "the security token included in the request is expired"}
		}
		c.principal = s.arn
	}
	return c, nil
}

// sigV4 verifies a SigV4 signature with cloudsim/auth.
func sigV4(inv *inventory.Store, r *http.Request) (*auth.SigV4Info, error) {
	return auth.SigV4(inv, r, time.Time{})
}

// newID returns prefix + 17 lowercase hex digits, as EC2 IDs look.
func newID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)[:17]
}

// requestID returns a fresh request ID.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// accountByAWSID returns the AWS account with a 12-digit account ID.
func (a *api) accountByAWSID(id string) (*inventory.Account, bool) {
	for _, acct := range inventory.List[*inventory.Account](a.inv, inventory.Filter{}) {
		if acct.Provider == "aws" && acct.AccountID == id {
			return acct, true
		}
	}
	return nil, false
}

// awsID returns the 12-digit account ID of an inventory account name.
func (a *api) awsID(name string) string {
	acct, err := inventory.Get[*inventory.Account](a.inv, name)
	if err != nil {
		return ""
	}
	return acct.AccountID
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
