package emqx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// DefaultConnectorName names the probed connector when the step names none
// (nothing is created: connectors_probe is a dry run).
const DefaultConnectorName = "topoflow-verify"

// Prober runs emqx.probeConnector as the deployment API accounts of a registry.
type Prober struct {
	accts  *accounts.Registry
	client *http.Client
}

// NewProber returns a prober acting as accts' emqx accounts.
func NewProber(accts *accounts.Registry) *Prober {
	return &Prober{accts: accts, client: &http.Client{Timeout: 2 * time.Minute}}
}

// apiError is EMQX's error body (apps/emqx_utils/include/emqx_http_api.hrl ?ERROR_MSG).
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Probe asks the deployment to test a connector to the target without
// creating it: POST <api>/connectors_probe (apps/emqx_connector/src/emqx_connector_api.erl
// '/connectors_probe'; the deployment API of EMQX Platform Dedicated v5 is the
// EMQX 5 REST API: https://docs.emqx.com/en/cloud/latest/api/dedicated.html).
func (p *Prober) Probe(ctx context.Context, call plan.Call, in catalog.EMQXProbeConnectorIn) (catalog.EMQXProbeConnectorOut, error) {
	var none catalog.EMQXProbeConnectorOut
	const action = catalog.EMQXProbeConnector
	body := map[string]any{"type": in.Type, "name": in.Name, "enable": true}
	if in.Name == "" {
		body["name"] = DefaultConnectorName
	}
	switch in.Type {
	case catalog.EMQXConnectorKafka:
		for _, h := range strings.Split(in.Target, ",") {
			host, port, err := net.SplitHostPort(strings.TrimSpace(h))
			if n, perr := strconv.Atoi(port); err != nil || host == "" || strings.Contains(host, "/") || perr != nil || n < 1 || n > 65535 {
				return none, activities.Invalid("%s: target %q is not host:port[,host:port] (the Kafka bootstrap hosts)", action, in.Target)
			}
		}
		// The fields of a kafka_producer connector (apps/emqx_bridge_kafka/src/emqx_bridge_kafka.erl kafka_connector_config_fields).
		body["bootstrap_hosts"], body["authentication"] = in.Target, "none"
	case catalog.EMQXConnectorHTTP:
		if u, err := url.Parse(in.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return none, activities.Invalid("%s: target %q is not an http(s) URL", action, in.Target)
		}
		body["url"] = in.Target
	default:
		return none, activities.Invalid("%s: type %q: want %s or %s", action, in.Type, catalog.EMQXConnectorKafka, catalog.EMQXConnectorHTTP)
	}
	if in.ConnectTimeout != "" {
		if d, err := time.ParseDuration(in.ConnectTimeout); err != nil || d <= 0 {
			return none, activities.Invalid("%s: connectTimeout %q is not a positive duration", action, in.ConnectTimeout)
		}
		body["connect_timeout"] = in.ConnectTimeout
	}
	api, appID, appSecret, err := p.account(ctx, call)
	if err != nil {
		return none, err
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/connectors_probe", bytes.NewReader(b))
	if err != nil {
		return none, activities.Invalid("%s: %v", action, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// Deployment API keys authenticate as HTTP Basic, App ID and App Secret (https://docs.emqx.com/en/cloud/latest/api/api_overview.html).
	req.SetBasicAuth(appID, appSecret)
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return none, ctx.Err()
		}
		return none, activities.Fail(plan.ErrUnavailable, "%s: POST %s/connectors_probe: %v", action, api, stripUserinfo(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	out := catalog.EMQXProbeConnectorOut{Type: in.Type, Target: in.Target, API: api, ElapsedMs: time.Since(start).Milliseconds()}
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
		return out, nil // 204 Test connector OK (emqx_connector_api.erl schema("/connectors_probe"))
	}
	var e apiError
	if json.Unmarshal(raw, &e) != nil || e.Code == "" {
		e = apiError{Code: resp.Status, Message: strings.TrimSpace(string(raw))}
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest && e.Code == "TEST_FAILED":
		// The connector could not reach the target from the deployment: retried, as a
		// rule or route may still be on its way; a verification failure once retries end.
		return none, activities.Fail(plan.ErrVerifyFailed, "%s: the EMQX deployment could not reach %s %s from its network (TEST_FAILED): %s; "+
			"check our security group's ingress rule for the deployment's CIDR, our route to it, the peering and the deployment's route back",
			action, in.Type, in.Target, e.Message)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return none, activities.Unauthorized("%s: the deployment API refused account %q's API key: %s %s", action, call.Account, e.Code, e.Message)
	case resp.StatusCode == http.StatusNotFound:
		return none, activities.Invalid("%s: %s/connectors_probe: %s %s (is endpoints.emqx of account %q the deployment's API address?)", action, api, e.Code, e.Message, call.Account)
	case resp.StatusCode == http.StatusTooManyRequests:
		return none, activities.Fail(plan.ErrThrottled, "%s: %s %s", action, e.Code, e.Message)
	case resp.StatusCode >= 500:
		return none, activities.Fail(plan.ErrUnavailable, "%s: %s %s", action, e.Code, e.Message)
	}
	return none, activities.Invalid("%s: the deployment API refused the probe: %d %s %s", action, resp.StatusCode, e.Code, e.Message)
}

// account resolves the step's deployment API account: its address and key.
func (p *Prober) account(ctx context.Context, call plan.Call) (api, id, secret string, err error) {
	const action = catalog.EMQXProbeConnector
	if call.Account == "" {
		return "", "", "", activities.Invalid("%s: the step names no account (an emqx account: the deployment API address and key)", action)
	}
	acct, ok := p.accts.Get(call.Account)
	if !ok {
		return "", "", "", activities.Invalid("%s: account %q is not in the worker's account registry", action, call.Account)
	}
	if acct.Provider != accounts.ProviderEMQX {
		return "", "", "", activities.Invalid("%s: account %q is a %s account, not emqx (the deployment API)", action, call.Account, acct.Provider)
	}
	api, err = acct.Endpoint("emqx")
	if err != nil {
		return "", "", "", activities.Invalid("%s: %v", action, err)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return "", "", "", activities.Unauthorized("%s: %v", action, err)
	}
	return strings.TrimSuffix(api, "/"), creds.AppID, creds.AppSecret, nil
}

// stripUserinfo keeps a transport error's text free of URL credentials.
func stripUserinfo(err error) string {
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.User = nil
			return fmt.Sprintf("%s %s: %v", ue.Op, u.Redacted(), ue.Err)
		}
	}
	return err.Error()
}
