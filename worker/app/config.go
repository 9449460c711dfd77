// Package app is the Topoflow worker as a library: configuration (flags and
// environment), the Temporal connection (plain, mTLS or API key), logging,
// metrics, the health endpoint, the activity registry with every provider, and
// the run loop with graceful shutdown. The worker binary (package
// github.com/topoflow/topoflow/worker) is a thin main around it, and the test
// harness (internal/stack) runs it in-process.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/internal/temporalconn"
	"github.com/topoflow/topoflow/workflows"
)

// Conn is how to reach a Temporal frontend (see package temporalconn).
type Conn = temporalconn.Conn

// Config is the worker's configuration.
type Config struct {
	Conn
	// TaskQueue is the task queue to poll.
	TaskQueue string
	// Identity names this worker in Temporal (default: the SDK's pid@host).
	Identity string
	// Accounts is the account registry file; empty means no cloud accounts.
	Accounts string
	// Trust is the trust file (identities, groups, OIDC providers, mode);
	// empty means dev mode without identities (names are taken as given).
	Trust string
	// CloudsimURL, when set, is exported as CLOUDSIM_URL before the account
	// registry is loaded, so every ${CLOUDSIM_URL} endpoint points at it;
	// kafka.verify then also trusts the twin's CA (its TLS listeners').
	CloudsimURL string
	// KafkaCA is a PEM file of CA certificates kafka.verify trusts besides
	// the system roots (a private CA of the company's Kafka).
	KafkaCA string
	// Endpoints override account endpoints: "account.service" → base URL.
	Endpoints map[string]string
	// MetricsAddr is the listen address of /metrics and /healthz; empty disables it.
	MetricsAddr string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// MaxConcurrentActivities bounds activities run at once (0: SDK default).
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds workflow tasks run at once (0: SDK default).
	MaxConcurrentWorkflowTasks int
	// ShutdownTimeout bounds the wait for running activities on shutdown.
	ShutdownTimeout time.Duration
	// StrictCatalog makes start-up fail when a catalog action has no implementation.
	StrictCatalog bool
	// Probe, if set, runs the worker in probe mode (see [ParseProbeConfig]).
	Probe *ProbeConfig
}

// Setting describes one configuration knob: its flag, environment variable,
// default and meaning. The worker's flags, its --help, the README and the
// docker-compose test all derive from [Settings].
type Setting struct {
	Flag    string
	Env     string
	Default string
	Usage   string
	// Secret settings are never printed.
	Secret bool
	// Bool settings are flags that need no value (--tls means --tls=true).
	Bool bool
	set  func(c *Config, v string) error
}

// Environment variable names of the worker's settings.
const (
	EnvAddress          = temporalconn.EnvAddress
	EnvNamespace        = temporalconn.EnvNamespace
	EnvTLSCert          = temporalconn.EnvTLSCert
	EnvTLSKey           = temporalconn.EnvTLSKey
	EnvTLSCA            = temporalconn.EnvTLSCA
	EnvTLSServerName    = temporalconn.EnvTLSServerName
	EnvTLS              = temporalconn.EnvTLS
	EnvAPIKey           = temporalconn.EnvAPIKey
	EnvTaskQueue        = "TOPOFLOW_TASK_QUEUE"
	EnvIdentity         = "TOPOFLOW_WORKER_IDENTITY"
	EnvAccounts         = "TOPOFLOW_ACCOUNTS"
	EnvTrust            = "TOPOFLOW_TRUST"
	EnvCloudsimURL      = "CLOUDSIM_URL"
	EnvKafkaCA          = "TOPOFLOW_KAFKA_CA"
	EnvEndpoints        = "TOPOFLOW_ENDPOINTS"
	EnvMetricsAddr      = "TOPOFLOW_METRICS_ADDR"
	EnvLogLevel         = "TOPOFLOW_LOG_LEVEL"
	EnvLogFormat        = "TOPOFLOW_LOG_FORMAT"
	EnvMaxActivities    = "TOPOFLOW_MAX_CONCURRENT_ACTIVITIES"
	EnvMaxWorkflowTasks = "TOPOFLOW_MAX_CONCURRENT_WORKFLOW_TASKS"
	EnvShutdownTimeout  = "TOPOFLOW_SHUTDOWN_TIMEOUT"
	EnvStrictCatalog    = "TOPOFLOW_STRICT_CATALOG"
)

// Settings returns every setting of the worker, in flag order.
func Settings() []Setting {
	str := func(p func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *p(c) = v; return nil }
	}
	integer := func(p func(*Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a non-negative integer, got %q", v)
			}
			*p(c) = n
			return nil
		}
	}
	boolean := func(p func(*Config) *bool) func(*Config, string) error {
		return func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*p(c) = b
			return nil
		}
	}
	return []Setting{
		{Flag: "address", Env: EnvAddress, Default: "localhost:7233", Usage: "Temporal frontend host:port",
			set: str(func(c *Config) *string { return &c.Address })},
		{Flag: "namespace", Env: EnvNamespace, Default: "default", Usage: "Temporal namespace",
			set: str(func(c *Config) *string { return &c.Namespace })},
		{Flag: "task-queue", Env: EnvTaskQueue, Default: workflows.DefaultTaskQueue, Usage: "task queue to poll",
			set: str(func(c *Config) *string { return &c.TaskQueue })},
		{Flag: "tls-cert", Env: EnvTLSCert, Usage: "PEM client certificate for mTLS (with --tls-key)",
			set: str(func(c *Config) *string { return &c.TLSCert })},
		{Flag: "tls-key", Env: EnvTLSKey, Usage: "PEM private key of the client certificate",
			set: str(func(c *Config) *string { return &c.TLSKey })},
		{Flag: "tls-ca", Env: EnvTLSCA, Usage: "PEM CA certificates of the server (default: system roots)",
			set: str(func(c *Config) *string { return &c.TLSCA })},
		{Flag: "tls-server-name", Env: EnvTLSServerName, Usage: "server name to verify in the server's certificate",
			set: str(func(c *Config) *string { return &c.TLSServerName })},
		{Flag: "tls", Env: EnvTLS, Default: "false", Usage: "use TLS without client certificates (implied by the other TLS settings and the API key)", Bool: true,
			set: boolean(func(c *Config) *bool { return &c.TLS })},
		{Flag: "api-key", Env: EnvAPIKey, Usage: "Temporal Cloud API key (prefer the environment variable)", Secret: true,
			set: str(func(c *Config) *string { return &c.APIKey })},
		{Flag: "identity", Env: EnvIdentity, Usage: "worker identity shown in Temporal (default pid@host)",
			set: str(func(c *Config) *string { return &c.Identity })},
		{Flag: "accounts", Env: EnvAccounts, Usage: "account registry file (YAML); empty: no cloud accounts",
			set: str(func(c *Config) *string { return &c.Accounts })},
		{Flag: "trust", Env: EnvTrust, Usage: "trust file (YAML: identities, groups, OIDC providers, mode strict|dev); empty: dev mode, unsigned decisions accepted as unverified",
			set: str(func(c *Config) *string { return &c.Trust })},
		{Flag: "cloudsim-url", Env: EnvCloudsimURL, Usage: "base URL substituted for ${CLOUDSIM_URL} in the registry's endpoints",
			set: str(func(c *Config) *string { return &c.CloudsimURL })},
		{Flag: "kafka-ca", Env: EnvKafkaCA, Usage: "PEM CA certificates kafka.verify trusts besides the system roots (a private CA; the twin's CA comes from --cloudsim-url)",
			set: str(func(c *Config) *string { return &c.KafkaCA })},
		{Flag: "endpoint", Env: EnvEndpoints, Usage: "endpoint overrides, comma-separated account.service=URL (e.g. hw-kafka-owner.vpcep=https://vpcep.eu-de.otc.t-systems.com)",
			set: func(c *Config, v string) error {
				m, err := parseEndpoints(v)
				if err != nil {
					return err
				}
				c.Endpoints = m
				return nil
			}},
		{Flag: "metrics-addr", Env: EnvMetricsAddr, Default: ":9090", Usage: "listen address of /metrics and /healthz (empty disables)",
			set: str(func(c *Config) *string { return &c.MetricsAddr })},
		{Flag: "log-level", Env: EnvLogLevel, Default: "info", Usage: "debug, info, warn or error",
			set: str(func(c *Config) *string { return &c.LogLevel })},
		{Flag: "log-format", Env: EnvLogFormat, Default: "json", Usage: "json or text",
			set: str(func(c *Config) *string { return &c.LogFormat })},
		{Flag: "max-concurrent-activities", Env: EnvMaxActivities, Default: "0", Usage: "activities run at once (0: SDK default)",
			set: integer(func(c *Config) *int { return &c.MaxConcurrentActivities })},
		{Flag: "max-concurrent-workflow-tasks", Env: EnvMaxWorkflowTasks, Default: "0", Usage: "workflow tasks run at once (0: SDK default)",
			set: integer(func(c *Config) *int { return &c.MaxConcurrentWorkflowTasks })},
		{Flag: "shutdown-timeout", Env: EnvShutdownTimeout, Default: "30s", Usage: "how long shutdown waits for running activities",
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 {
					return fmt.Errorf("want a duration such as 30s, got %q", v)
				}
				c.ShutdownTimeout = d
				return nil
			}},
		{Flag: "strict-catalog", Env: EnvStrictCatalog, Default: "true", Usage: "refuse to start when a catalog action has no implementation", Bool: true,
			set: boolean(func(c *Config) *bool { return &c.StrictCatalog })},
	}
}

// ParseConfig builds the configuration from defaults, then the environment
// (getenv), then the command-line flags in args: a flag wins over its
// environment variable, which wins over the default. Usage goes to out.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	return parseSettings("topoflow-worker", "Usage: topoflow-worker [flags]\n\nRuns a Topoflow worker: the interpreter workflow and every cloud action.\nEach flag can also be set by the environment variable shown.\n\n",
		Settings(), Config{}, args, getenv, out)
}

// parseSettings sets cfg from the settings' defaults, then the environment,
// then the flags in args (the command name, and header: the usage's first
// lines), and validates it.
func parseSettings(name, header string, settings []Setting, cfg Config, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, header)
		for _, s := range settings {
			def := s.Default
			if def != "" {
				def = " (default " + strconv.Quote(def) + ")"
			}
			fmt.Fprintf(out, "  --%s  [$%s]\n        %s%s\n", s.Flag, s.Env, s.Usage, def)
		}
	}
	var errs []error
	for _, s := range settings {
		v := s.Default
		if e := getenv(s.Env); e != "" {
			v = e
		}
		if v != "" || s.Flag == "endpoint" {
			if err := s.set(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", s.Env, err))
			}
		}
		if s.Bool {
			fs.BoolFunc(s.Flag, s.Usage, func(v string) error { return s.set(&cfg, v) })
		} else {
			fs.Func(s.Flag, s.Usage, func(v string) error { return s.set(&cfg, v) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration for contradictions and missing parts.
func (c Config) Validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("address is empty"))
	}
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("task queue is empty"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log format must be json or text, not %q", c.LogFormat))
	}
	if c.Probe != nil {
		errs = append(errs, c.validateProbe()...)
	}
	for _, p := range []struct{ what, path string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}, {"tls-ca", c.TLSCA}, {"accounts", c.Accounts}, {"trust", c.Trust}} {
		if p.path == "" {
			continue
		}
		if _, err := os.Stat(p.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.what, err))
		}
	}
	return errors.Join(errs...)
}

// LogValue prints the configuration without secrets.
func (c Config) LogValue() slog.Value {
	eps := make([]string, 0, len(c.Endpoints))
	for k := range c.Endpoints {
		eps = append(eps, k)
	}
	sort.Strings(eps)
	attrs := []slog.Attr{
		slog.String("address", c.Address),
		slog.String("namespace", c.Namespace),
		slog.String("taskQueue", c.TaskQueue),
		slog.Bool("tls", c.UseTLS()),
		slog.Bool("mTLS", c.TLSCert != ""),
		slog.Bool("apiKey", c.APIKey != ""),
		slog.String("accounts", c.Accounts),
		slog.String("trust", c.Trust),
		slog.String("cloudsimURL", c.CloudsimURL),
		slog.String("kafkaCA", c.KafkaCA),
		slog.Any("endpointOverrides", eps),
		slog.String("metricsAddr", c.MetricsAddr),
		slog.Bool("strictCatalog", c.StrictCatalog),
	}
	if c.Probe != nil {
		attrs = append(attrs, slog.Group("probe", slog.String("name", c.Probe.Name), slog.String("network", c.Probe.Network), slog.String("socks5", c.Probe.SOCKS5)))
	}
	return slog.GroupValue(attrs...)
}

// parseEndpoints parses "account.service=URL,account.service=URL".
func parseEndpoints(v string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, url, ok := strings.Cut(part, "=")
		acct, svc, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || acct == "" || svc == "" || url == "" {
			return nil, fmt.Errorf("endpoint override %q: want account.service=URL", part)
		}
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return nil, fmt.Errorf("endpoint override %q: URL must start with http:// or https://", part)
		}
		m[key] = strings.TrimSuffix(url, "/")
	}
	return m, nil
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// NewLogger returns the worker's structured logger.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format must be json or text, not %q", format)
	}
}
