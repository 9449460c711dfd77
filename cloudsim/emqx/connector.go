package emqx

// The deployment's REST API (EMQX 5, /api/v5), as much of it as the
// verification uses: POST /api/v5/connectors_probe tests a connector's
// connectivity without creating it (apps/emqx_connector/src/emqx_connector_api.erl
// '/connectors_probe': create_dry_run, 204 on success, 400 TEST_FAILED
// otherwise). The deployment's connectors run on the deployment, so the
// probe dials from the broker's own address through the strict network:
// our security group must admit the deployment's CIDR, and both route
// tables must hold the way through the peering (or the CCN), or it fails.

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TagDeployment names an EMQX deployment: on its broker port (the
// deployment's ID, as the EMQX Platform console and its Platform API show
// it: https://docs.emqx.com/en/cloud/latest/api/deployment_manage.html
// deploymentID) and on the account (provider emqx) holding its deployment
// API keys.
const TagDeployment = "emqx:deployment"

// CredentialAppKey is the credential type of a deployment API key: App ID
// and App Secret, sent as HTTP Basic (https://docs.emqx.com/en/cloud/latest/api/api_overview.html).
const CredentialAppKey = "appkey"

// DeploymentAPIPrefix is where the twin serves deployment d's REST API:
// DeploymentAPIPrefix + d + "/api/v5" (for real, the address the deployment
// overview shows, https://docs.emqx.com/en/cloud/latest/api/dedicated.html).
const DeploymentAPIPrefix = "/emqx-platform/deployments/"

// ProbeTopic is the topic the Kafka producer connector's health check asks
// metadata for (emqx_bridge_kafka_impl_producer.erl ?PROBE_TOPIC_NAME; an
// unknown topic is fine: only the metadata round trip counts).
const ProbeTopic = "emqx-connector-connectivity-probe"

// Default connect timeouts: Kafka 5s (emqx_bridge_kafka.erl connect_timeout),
// HTTP 15s (emqx_bridge_http_connector.erl connect_timeout).
const (
	kafkaConnectTimeout = 5 * time.Second
	httpConnectTimeout  = 15 * time.Second
)

// connectorName is the pattern of resource names (emqx_resource
// validate_name: letters, digits, '-' and '_', not starting with '-' or '_').
var connectorName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,254}$`)

func (p *platform) mountAPI() {
	p.sim.Mount("POST "+DeploymentAPIPrefix+"{deployment}/api/v5/connectors_probe", http.HandlerFunc(p.connectorsProbe))
}

// apiError writes EMQX's error shape: {"code": CODE, "message": text}
// (apps/emqx_utils/include/emqx_http_api.hrl ?ERROR_MSG).
func apiError(w http.ResponseWriter, status int, code, format string, a ...any) {
	writeJSON(w, status, map[string]string{"code": code, "message": fmt.Sprintf(format, a...)})
}

// broker returns the broker port of deployment id.
func (p *platform) broker(id string) (*inventory.Port, bool) {
	for _, port := range inventory.List[*inventory.Port](p.inv, inventory.Filter{}) {
		if port.DeviceOwner == DeviceOwner && id != "" && port.Tags[TagDeployment] == id {
			return port, true
		}
	}
	return nil, false
}

// authorized checks the deployment API key: App ID and App Secret of an
// emqx account tagged with the deployment (emqx_dashboard.erl api_key
// authorize: 401 BAD_API_KEY_OR_SECRET "Check api_key/api_secret").
func (p *platform) authorized(r *http.Request, deployment string) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return false
	}
	acct, cred, err := p.inv.FindCredential(CredentialAppKey, id)
	if err != nil || acct.Provider != "emqx" || acct.Tags[TagDeployment] != deployment {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(cred.Secret), []byte(secret)) == 1
}

// probeRequest is the connector configuration the probe takes (the fields
// it uses of emqx_connector_schema post_request: type, name, and per type
// bootstrap_hosts (kafka_producer) or url (http), connect_timeout).
type probeRequest struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	BootstrapHosts string `json:"bootstrap_hosts"`
	URL            string `json:"url"`
	ConnectTimeout string `json:"connect_timeout"`
}

// connectorsProbe is POST /api/v5/connectors_probe.
func (p *platform) connectorsProbe(w http.ResponseWriter, r *http.Request) {
	dep := r.PathValue("deployment")
	port, ok := p.broker(dep)
	if !ok {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "deployment %s not found", dep)
		return
	}
	if !p.authorized(r, dep) {
		apiError(w, http.StatusUnauthorized, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret")
		return
	}
	var req probeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid JSON body: %v", err)
		return
	}
	// Schema checks before any dial (emqx_dashboard_swagger filter_check_request_and_translate_body: 400 BAD_REQUEST).
	if !connectorName.MatchString(req.Name) {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "name %q: a connector name is letters, digits, '-' and '_', starting with a letter or digit", req.Name)
		return
	}
	timeout, err := parseTimeout(req.ConnectTimeout, map[string]time.Duration{"kafka_producer": kafkaConnectTimeout, "http": httpConnectTimeout}[req.Type])
	if err != nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "connect_timeout: %v", err)
		return
	}
	dial := p.sim.Net.DialFromHost(port.IP)
	var failure error
	switch req.Type {
	case "kafka_producer":
		hosts, err := servers(req.BootstrapHosts, 9092)
		if err != nil {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bootstrap_hosts: %v", err)
			return
		}
		failure = probeKafka(r.Context(), dial, hosts, timeout)
	case "http":
		host, tlsOn, err := httpTarget(req.URL)
		if err != nil {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "url: %v", err)
			return
		}
		failure = probeHTTP(r.Context(), dial, host, tlsOn, timeout)
	default:
		// Only the connector types the verification uses are modelled; the real API knows many more.
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "unknown connector type %q (the twin models kafka_producer and http)", req.Type)
		return
	}
	if failure != nil {
		// emqx_connector_api.erl '/connectors_probe': ?BAD_REQUEST('TEST_FAILED', Reason).
		apiError(w, http.StatusBadRequest, "TEST_FAILED", "%v", failure)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseTimeout reads an EMQX duration ("5s", "500ms", "1m"; a bare number is milliseconds).
func parseTimeout(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		if def == 0 {
			def = kafkaConnectTimeout
		}
		return def, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	var ms int
	if _, err := fmt.Sscanf(s, "%d", &ms); err == nil && ms > 0 && fmt.Sprint(ms) == s {
		return time.Duration(ms) * time.Millisecond, nil
	}
	return 0, fmt.Errorf("%q is not a duration such as 5s", s)
}

// servers splits "host:port,host:port" (emqx_schema servers_validator; a host without port gets def).
func servers(s string, def int) ([]string, error) {
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, fmt.Sprint(def))
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, errors.New("no host given (want host:port[,host:port])")
	}
	return out, nil
}

func httpTarget(raw string) (string, bool, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", false, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port), u.Scheme == "https", nil
}

type dialFunc = func(ctx context.Context, network, address string) (net.Conn, error)

// probeHTTP is the HTTP connector's health check: its pool's connection to
// the host is up (emqx_bridge_http_connector.erl do_get_status: ehttpc
// health_check of every worker) within connect_timeout; for https that
// includes the TLS handshake (the connector's ssl default verify_none:
// apps/emqx/src/emqx_schema.erl client_ssl_opts_schema).
func probeHTTP(ctx context.Context, dial dialFunc, host string, tlsOn bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("health check of %s failed: %v", host, err)
	}
	defer c.Close()
	if tlsOn {
		h, _, _ := net.SplitHostPort(host)
		tc := tls.Client(c, &tls.Config{ServerName: h, InsecureSkipVerify: true}) // verify_none, EMQX's default
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("health check of %s failed: TLS handshake: %v", host, err)
		}
	}
	return nil
}

// probeKafka is the Kafka producer connector's start: a client on the
// bootstrap hosts, each dialed within connect_timeout, and a metadata
// request for ProbeTopic (emqx_bridge_kafka_impl_producer.erl on_start:
// check_client_connectivity). Failures name each host's reason.
func probeKafka(ctx context.Context, dial dialFunc, hosts []string, timeout time.Duration) error {
	var mu sync.Mutex
	dialErrs := map[string]string{}
	cl, err := kgo.NewClient(kgo.SeedBrokers(hosts...), kgo.RequestRetries(0), kgo.RetryTimeout(timeout),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			c, err := dial(dctx, network, host)
			if err != nil {
				mu.Lock()
				dialErrs[host] = err.Error()
				mu.Unlock()
			}
			return c, err
		}))
	if err != nil {
		return fmt.Errorf("kafka client: %v", err)
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(ProbeTopic)
	req.Topics = append(req.Topics, t)
	_, err = cl.Request(rctx, req)
	if err == nil {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialErrs) > 0 {
		var parts []string
		for _, h := range hosts {
			if e, ok := dialErrs[h]; ok {
				parts = append(parts, h+": "+e)
			}
		}
		return fmt.Errorf("failed to connect to the bootstrap hosts: %s", strings.Join(parts, "; "))
	}
	return fmt.Errorf("metadata request to %s failed: %v", strings.Join(hosts, ","), err)
}
