package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/aws"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/activities/mqtt"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// ProbeConfig configures probe mode (topoflow-worker probe): the worker
// runs only kafka.verify and mqtt.verify, on its own task queue, dialing from the network
// it sits in.
type ProbeConfig struct {
	// Name identifies the probe in verify outputs (default: the task queue).
	Name string
	// Network labels the network the probe sits in (the client's VPC/VNet ID,
	// as the account registry's probes name it).
	Network string
	// SOCKS5 is how the probe dials: "" directly (the probe runs inside the
	// client network), "socks5://host:port" through that proxy, or "cloudsim"
	// through the SOCKS5 endpoint the twin serves for Network (looked up on
	// the cloudsim admin API at $CLOUDSIM_URL for every verification).
	SOCKS5 string
}

// SOCKS5Cloudsim is the ProbeConfig.SOCKS5 value that asks cloudsim.
const SOCKS5Cloudsim = "cloudsim"

// Environment variables of probe mode.
const (
	EnvProbeName    = "TOPOFLOW_PROBE_NAME"
	EnvProbeNetwork = "TOPOFLOW_PROBE_NETWORK"
	EnvProbeSOCKS5  = "TOPOFLOW_PROBE_SOCKS5"
)

// ProbeSettings are the settings probe mode adds to [Settings].
func ProbeSettings() []Setting {
	probe := func(c *Config) *ProbeConfig {
		if c.Probe == nil {
			c.Probe = &ProbeConfig{}
		}
		return c.Probe
	}
	return []Setting{
		{Flag: "network", Env: EnvProbeNetwork, Usage: "the network the probe sits in (VPC/VNet ID, as the account registry's probes name it); required",
			set: func(c *Config, v string) error { probe(c).Network = v; return nil }},
		{Flag: "probe-name", Env: EnvProbeName, Usage: "name of the probe in verify outputs (default: the task queue)",
			set: func(c *Config, v string) error { probe(c).Name = v; return nil }},
		{Flag: "socks5", Env: EnvProbeSOCKS5, Usage: "dial through this SOCKS5 proxy (socks5://host:port), or \"cloudsim\": the twin's endpoint of --network; empty dials directly",
			set: func(c *Config, v string) error {
				if v != "" && v != SOCKS5Cloudsim {
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "socks5" && u.Scheme != "socks5h") || u.Host == "" || u.User != nil {
						return fmt.Errorf("want socks5://host:port (no credentials) or %q, got %q", SOCKS5Cloudsim, v)
					}
				}
				probe(c).SOCKS5 = v
				return nil
			}},
	}
}

// ParseProbeConfig parses the arguments of `topoflow-worker probe`: the
// worker's settings (without a default task queue) and [ProbeSettings].
func ParseProbeConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	cfg := Config{Probe: &ProbeConfig{}}
	var settings []Setting
	for _, s := range Settings() {
		switch s.Flag {
		case "task-queue":
			s.Default = ""
			s.Usage = "the probe's own task queue, as the account registry's probes name it; required"
		case "strict-catalog":
			continue // a probe implements kafka.verify and mqtt.verify only
		}
		settings = append(settings, s)
	}
	settings = append(settings, ProbeSettings()...)
	return parseSettings("topoflow-worker probe", "Usage: topoflow-worker probe --task-queue Q --network N [--socks5 URL|cloudsim] [flags]\n\n"+
		"Runs a probe: only kafka.verify and mqtt.verify, on its own task queue, dialing from the network the probe sits in.\n"+
		"Start it inside the client network and name it in the client account's probes in the account registry.\n\n",
		settings, cfg, args, getenv, out)
}

// validateProbe checks probe mode's settings.
func (c Config) validateProbe() []error {
	var errs []error
	if c.Probe.Network == "" {
		errs = append(errs, errors.New("probe: --network is required (the network the probe sits in)"))
	}
	if c.TaskQueue == workflows.DefaultTaskQueue {
		errs = append(errs, fmt.Errorf("probe: task queue %q is the main worker's: give the probe its own (e.g. topoflow-probe-<account>)", c.TaskQueue))
	}
	if c.Probe.SOCKS5 == SOCKS5Cloudsim && c.CloudsimURL == "" {
		errs = append(errs, errors.New("probe: --socks5 cloudsim needs --cloudsim-url (the twin's admin API)"))
	}
	return errs
}

// probeOptions returns kafka.verify's probe settings of cfg.
func probeOptions(cfg Config) *kafka.Probe {
	p := cfg.Probe
	kp := &kafka.Probe{Name: p.Name, Network: p.Network, TaskQueue: cfg.TaskQueue, Via: "direct"}
	switch {
	case p.SOCKS5 == SOCKS5Cloudsim:
		kp.Via = "socks5 (cloudsim)"
		base := strings.TrimSuffix(cfg.CloudsimURL, "/")
		kp.Dialer = func(ctx context.Context) (kafka.DialFunc, string, error) {
			addr, err := CloudsimSOCKS5(ctx, base, p.Network)
			if err != nil {
				return nil, "", err
			}
			d, err := kafka.SOCKS5Dialer(addr)
			if err != nil {
				return nil, "", err
			}
			return withTwinDiagnosis(d, base, p.Network), "socks5 " + addr + " (cloudsim endpoint of the network)", nil
		}
	case p.SOCKS5 != "":
		u, _ := url.Parse(p.SOCKS5) // checked by the setting
		kp.Via = "socks5 " + u.Host
		kp.Dialer = func(context.Context) (kafka.DialFunc, string, error) {
			d, err := kafka.SOCKS5Dialer(u.Host)
			return d, "", err
		}
	}
	return kp
}

// CloudsimSOCKS5 asks the cloudsim admin API at base (a provider base URL;
// the admin API is under /_cloudsim) for the SOCKS5 endpoint of network.
func CloudsimSOCKS5(ctx context.Context, base, network string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := base + "/_cloudsim/network/socks"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask cloudsim for the socks5 endpoint of %s: %w", network, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("ask cloudsim for the socks5 endpoints (GET %s): HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var addrs map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&addrs); err != nil {
		return "", fmt.Errorf("decode cloudsim's socks5 endpoints: %w", err)
	}
	a, ok := addrs[network]
	if !ok {
		return "", fmt.Errorf("cloudsim has no network %s (it has %d networks)", network, len(addrs))
	}
	return a, nil
}

// withTwinDiagnosis adds to a refused dial the twin's own reason (cloudsim
// remembers why its SOCKS5 endpoint refused a CONNECT): twin-only, so the
// probe dialing for real never needs it.
func withTwinDiagnosis(dial kafka.DialFunc, base, network string) kafka.DialFunc {
	return func(ctx context.Context, netw, address string) (net.Conn, error) {
		c, err := dial(ctx, netw, address)
		if err == nil {
			return c, nil
		}
		if why := cloudsimRefusalSoon(ctx, base, network, address); why != "" {
			return nil, fmt.Errorf("%w (cloudsim: %s)", err, why)
		}
		return nil, err
	}
}

// cloudsimRefusal is the twin's reason for its latest refusal of a CONNECT
// from network to target in the last minute ("" when unknown).
func cloudsimRefusal(ctx context.Context, base, network, target string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	q := url.Values{"network": {network}, "target": {target}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_cloudsim/network/socks/failures?"+q.Encode(), nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var fs []struct {
		At    time.Time `json:"at"`
		Error string    `json:"error"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&fs) != nil || len(fs) == 0 {
		return ""
	}
	last := fs[len(fs)-1]
	if time.Since(last.At) > time.Minute {
		return ""
	}
	return last.Error
}

// cloudsimRefusalSoon waits briefly for the twin's reason: after a dial that
// timed out on the probe's side, the twin records its refusal only once it
// sees the probe hang up.
func cloudsimRefusalSoon(ctx context.Context, base, network, target string) string {
	for i := 0; ; i++ {
		if why := cloudsimRefusal(ctx, base, network, target); why != "" || i == 4 {
			return why
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BuildProbeActivities returns the registry of a probe: kafka.verify and mqtt.verify,
// dialing from the probe's network, with SASL credentials from accts.
func BuildProbeActivities(accts *accounts.Registry, cfg Config) *activities.Registry {
	reg := activities.NewRegistry()
	probe := probeOptions(cfg)
	kafka.Register(reg, kafka.Options{Credentials: saslCredentials(accts), AWSCredentials: aws.New(accts).Credentials, Probe: probe,
		ExtraRootCAs: kafkaRootCAs(cfg)})
	// mqtt.verify dials from the probe's network as kafka.verify does (SaaSPeering verification).
	mqtt.Register(reg, mqtt.Options{Probe: probe})
	return reg
}

// probeRoute implements plan.ActionProbeRoute on the main worker: the probe
// registered for the call's account (the client account) and input network.
func probeRoute(accts *accounts.Registry) activities.Func {
	return func(_ context.Context, call plan.Call) (plan.Outputs, error) {
		network, _ := call.Inputs["network"].(string)
		out := plan.Outputs{"account": call.Account, "network": network, "taskQueue": ""}
		a, ok := accts.Get(call.Account)
		if !ok {
			out["reason"] = fmt.Sprintf("account %s is not in the worker's account registry", call.Account)
			return out, nil
		}
		p, ok := a.ProbeFor(network)
		if !ok {
			out["reason"] = fmt.Sprintf("account %s registers no probe for network %q", call.Account, network)
			return out, nil
		}
		out["taskQueue"] = p.TaskQueue
		out["probeNetwork"] = p.Network
		out["startTimeout"] = p.StartTimeout.String()
		out["registeredAt"] = p.Pos
		return out, nil
	}
}
