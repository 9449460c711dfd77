// Package ambari implements Topoflow's Ambari actions (Kafka on Azure
// HDInsight, runbook 004) on a small Apache Ambari REST API v1 client built on
// net/http: no usable Go Ambari library exists (the only one has no modules,
// no context and hard-coded sleeps).
//
// The client sends Basic auth and X-Requested-By (Ambari's CSRF filter
// refuses mutations without it), honours the context, parses JSON whatever
// the Content-Type (Ambari answers text/plain) and accepts empty bodies
// (synchronous changes answer 200 with nothing). It never follows the hrefs
// Ambari returns: they name the head node's internal address.
//
// Actions resolve the account (provider ambari) from the worker's account
// registry inside the activity: the Ambari URL (endpoints.ambari overrides
// ambari.url), the cluster name and the user's credentials.
package ambari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RequestedBy is the X-Requested-By value Topoflow sends.
const RequestedBy = "topoflow"

// Client talks to one Ambari cluster.
type Client struct {
	// Base is the Ambari URL without /api/v1 (e.g. https://kafka1.azurehdinsight.net).
	Base string
	// Cluster is the cluster name as in /api/v1/clusters/{Cluster} (case-sensitive).
	Cluster string
	// User and Password are the Ambari HTTP user's credentials.
	User, Password string
	// HTTP is the HTTP client (default: a client with a 30s timeout).
	HTTP *http.Client
}

// Error is an HTTP error answer of Ambari ({"status":N,"message":"..."}).
type Error struct {
	// Op names the call, e.g. "PUT /clusters/kafka1".
	Op string
	// Status is the HTTP status code.
	Status int
	// Message is Ambari's message (or the start of a non-JSON body).
	Message string
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter time.Duration
	// NotAmbari is set when the body is not Ambari's JSON error
	// ({"status", "message"}, apache/ambari ambari-server/docs/api/v1/index.md):
	// the server does not serve Ambari's API (a wrong URL in the registry).
	NotAmbari bool
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("ambari %s: HTTP %d: %s", e.Op, e.Status, e.Message)
}

// StatusOf returns the HTTP status of an Ambari error (0 if err is not one).
func StatusOf(err error) int {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// do sends one request to /api/v1/clusters/{cluster}{path} and decodes the
// answer into out (when out is not nil and the body is not empty). It
// returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	u := strings.TrimSuffix(c.Base, "/") + "/api/v1/clusters/" + url.PathEscape(c.Cluster) + path
	if len(query) > 0 {
		u += "?" + encodeQuery(query)
	}
	op := method + " /clusters/" + c.Cluster + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("ambari %s: encode body: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("ambari %s: %w", op, err)
	}
	req.SetBasicAuth(c.User, c.Password)
	req.Header.Set("X-Requested-By", RequestedBy)
	req.Header.Set("Accept", "application/json, text/plain")
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("ambari %s: %w", op, redactURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("ambari %s: read answer: %w", op, err)
	}
	if resp.StatusCode >= 400 {
		e := &Error{Op: op, Status: resp.StatusCode}
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &m) == nil && m.Message != "" {
			e.Message = m.Message
		} else {
			e.NotAmbari = true
			e.Message = strings.TrimSpace(string(raw))
			if len(e.Message) > 200 {
				e.Message = e.Message[:200] + "…"
			}
			if e.Message == "" {
				e.Message = http.StatusText(resp.StatusCode)
			}
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, e
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("ambari %s: decode answer (%s): %w", op, resp.Header.Get("Content-Type"), err)
		}
	}
	return resp.StatusCode, nil
}

// encodeQuery keeps Ambari's '/' in keys and values readable (Ambari accepts
// both forms; url.Values.Encode would escape them).
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, esc(k)+"="+esc(v))
		}
	}
	return strings.Join(parts, "&")
}

// redactURL drops the URL from transport errors (it carries no secret, but
// keeps errors short and stable).
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// DesiredConfig is the desired version of one config type.
type DesiredConfig struct {
	Tag     string `json:"tag"`
	Version int    `json:"version"`
	User    string `json:"user"`
}

// DesiredConfigs returns the desired tag of every config type.
func (c *Client) DesiredConfigs(ctx context.Context) (map[string]DesiredConfig, error) {
	var out struct {
		Clusters struct {
			DesiredConfigs map[string]DesiredConfig `json:"desired_configs"`
		} `json:"Clusters"`
	}
	if _, err := c.do(ctx, http.MethodGet, "", url.Values{"fields": {"Clusters/desired_configs"}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Clusters.DesiredConfigs, nil
}

// ConfigVersion is one version of a config type.
type ConfigVersion struct {
	Type       string            `json:"type"`
	Tag        string            `json:"tag"`
	Version    int               `json:"version"`
	Properties map[string]string `json:"properties"`
}

// Configs returns the versions of a config type (every tag when tag is empty).
func (c *Client) Configs(ctx context.Context, typ, tag string) ([]ConfigVersion, error) {
	q := url.Values{"type": {typ}}
	if tag != "" {
		q.Set("tag", tag)
	}
	var out struct {
		Items []ConfigVersion `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/configurations", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Config returns the properties of one config version.
func (c *Client) Config(ctx context.Context, typ, tag string) (ConfigVersion, error) {
	items, err := c.Configs(ctx, typ, tag)
	if err != nil {
		return ConfigVersion{}, err
	}
	for _, it := range items {
		if it.Tag == tag {
			if it.Properties == nil {
				it.Properties = map[string]string{}
			}
			return it, nil
		}
	}
	return ConfigVersion{}, &Error{Op: "GET /clusters/" + c.Cluster + "/configurations", Status: http.StatusNotFound,
		Message: fmt.Sprintf("config %s with tag %s not found", typ, tag)}
}

// PutConfig creates a new version of a config type with the full property
// map and makes it desired.
func (c *Client) PutConfig(ctx context.Context, typ, tag string, props map[string]string, note string) error {
	body := map[string]any{"Clusters": map[string]any{"desired_config": map[string]any{
		"type": typ, "tag": tag, "properties": props, "service_config_version_note": note,
	}}}
	_, err := c.do(ctx, http.MethodPut, "", nil, body, nil)
	return err
}

// ServiceInfo is a service's state.
type ServiceInfo struct {
	MaintenanceState string `json:"maintenance_state"`
	State            string `json:"state"`
}

// Service returns a service's maintenance mode and state.
func (c *Client) Service(ctx context.Context, svc string) (ServiceInfo, error) {
	var out struct {
		ServiceInfo ServiceInfo `json:"ServiceInfo"`
	}
	_, err := c.do(ctx, http.MethodGet, "/services/"+url.PathEscape(svc), url.Values{"fields": {"ServiceInfo/maintenance_state,ServiceInfo/state"}}, nil, &out)
	return out.ServiceInfo, err
}

// SetMaintenance turns a service's maintenance mode ON or OFF.
func (c *Client) SetMaintenance(ctx context.Context, svc, state string) error {
	word := "on"
	if state == "OFF" {
		word = "off"
	}
	body := map[string]any{
		"RequestInfo": map[string]any{"context": fmt.Sprintf("Turn %s Maintenance Mode for %s", word, svc)},
		"Body":        map[string]any{"ServiceInfo": map[string]any{"maintenance_state": state}},
	}
	_, err := c.do(ctx, http.MethodPut, "/services/"+url.PathEscape(svc), nil, body, nil)
	return err
}

// ComponentHosts returns the hosts of a service component, sorted.
func (c *Client) ComponentHosts(ctx context.Context, svc, comp string) ([]string, error) {
	var out struct {
		HostComponents []struct {
			HostRoles struct {
				HostName string `json:"host_name"`
			} `json:"HostRoles"`
		} `json:"host_components"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/services/"+url.PathEscape(svc)+"/components/"+url.PathEscape(comp),
		url.Values{"fields": {"host_components/HostRoles/host_name"}}, nil, &out); err != nil {
		return nil, err
	}
	var hosts []string
	for _, hc := range out.HostComponents {
		hosts = append(hosts, hc.HostRoles.HostName)
	}
	sort.Strings(hosts)
	return hosts, nil
}

// AffectedHosts returns the hosts "Restart all affected" restarts: those
// whose svc/comp host component has stale_configs=true, on hosts whose
// maintenance mode is OFF (apache/ambari ambari-web/app/utils/batch_scheduled_requests.js:75-91,
// restartAllServiceHostComponents with staleConfigsOnly: stale_configs=true and
// Hosts/maintenance_state=OFF). Sorted.
func (c *Client) AffectedHosts(ctx context.Context, svc, comp string) ([]string, error) {
	var stale struct {
		Items []struct {
			HostRoles struct {
				HostName string `json:"host_name"`
			} `json:"HostRoles"`
		} `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/host_components", url.Values{
		"HostRoles/service_name": {svc}, "HostRoles/component_name": {comp}, "HostRoles/stale_configs": {"true"},
		"fields": {"HostRoles/host_name"},
	}, nil, &stale); err != nil {
		return nil, err
	}
	var active struct {
		Items []struct {
			Hosts struct {
				HostName string `json:"host_name"`
			} `json:"Hosts"`
		} `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/hosts", url.Values{"Hosts/maintenance_state": {"OFF"}, "fields": {"Hosts/host_name"}}, nil, &active); err != nil {
		return nil, err
	}
	on := map[string]bool{}
	for _, it := range active.Items {
		on[it.Hosts.HostName] = true
	}
	var hosts []string
	for _, it := range stale.Items {
		if h := it.HostRoles.HostName; on[h] {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	return hosts, nil
}

// HostIPs returns every host's IP by host name.
func (c *Client) HostIPs(ctx context.Context) (map[string]string, error) {
	var out struct {
		Items []struct {
			Hosts struct {
				HostName string `json:"host_name"`
				IP       string `json:"ip"`
			} `json:"Hosts"`
		} `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/hosts", url.Values{"fields": {"Hosts/host_name,Hosts/ip"}}, nil, &out); err != nil {
		return nil, err
	}
	ips := map[string]string{}
	for _, it := range out.Items {
		ips[it.Hosts.HostName] = it.Hosts.IP
	}
	return ips, nil
}

// Restart asks Ambari to restart a component on hosts (RESTART command at
// SERVICE operation level, so maintenance mode does not skip it). It returns
// the request ID.
func (c *Client) Restart(ctx context.Context, svc, comp string, hosts []string, reqContext string) (int, string, error) {
	body := map[string]any{
		"RequestInfo": map[string]any{
			"command": "RESTART", "context": reqContext,
			"operation_level": map[string]any{"level": "SERVICE", "cluster_name": c.Cluster, "service_name": svc},
		},
		"Requests/resource_filters": []any{map[string]any{"service_name": svc, "component_name": comp, "hosts": strings.Join(hosts, ",")}},
	}
	var out struct {
		Requests struct {
			ID     int    `json:"id"`
			Status string `json:"status"`
		} `json:"Requests"`
	}
	status, err := c.do(ctx, http.MethodPost, "/requests", nil, body, &out)
	if err != nil {
		return 0, "", err
	}
	if out.Requests.ID == 0 {
		return 0, "", fmt.Errorf("ambari POST /clusters/%s/requests: HTTP %d without a request id", c.Cluster, status)
	}
	return out.Requests.ID, out.Requests.Status, nil
}

// Request is the state of an Ambari request.
type Request struct {
	ID                 int     `json:"id"`
	Context            string  `json:"request_context"`
	Status             string  `json:"request_status"`
	Progress           float64 `json:"progress_percent"`
	TaskCount          int     `json:"task_count"`
	CompletedTaskCount int     `json:"completed_task_count"`
	FailedTaskCount    int     `json:"failed_task_count"`
	AbortedTaskCount   int     `json:"aborted_task_count"`
	AbortReason        string  `json:"abort_reason"`
}

// Request returns the state of request id.
func (c *Client) Request(ctx context.Context, id int) (Request, error) {
	var out struct {
		Requests Request `json:"Requests"`
	}
	_, err := c.do(ctx, http.MethodGet, "/requests/"+strconv.Itoa(id), nil, nil, &out)
	return out.Requests, err
}

// Requests lists the cluster's requests (id, context, status).
func (c *Client) Requests(ctx context.Context) ([]Request, error) {
	var out struct {
		Items []struct {
			Requests Request `json:"Requests"`
		} `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/requests", url.Values{"fields": {"Requests/id,Requests/request_context,Requests/request_status"}}, nil, &out); err != nil {
		return nil, err
	}
	var rs []Request
	for _, it := range out.Items {
		rs = append(rs, it.Requests)
	}
	return rs, nil
}
