package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/internal/temporalconn"
	"github.com/topoflow/topoflow/workflows"
)

// Environment variables read by the Temporal commands besides the global
// flags' (TLS and API key follow the worker's names).
const (
	envIdentity       = "TOPOFLOW_IDENTITY"
	envUIURL          = "TOPOFLOW_UI_URL"
	envConnectTimeout = "TOPOFLOW_CONNECT_TIMEOUT"
)

// connect dials Temporal with the global flags and the TLS/API-key
// environment (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS, TEMPORAL_API_KEY). An unreachable
// server gives an error that says where it looked and what to do.
func connect(ctx context.Context) (client.Client, error) {
	tlsOn, _ := strconv.ParseBool(os.Getenv(temporalconn.EnvTLS))
	conn := temporalconn.Conn{
		Address:       globals.Address,
		Namespace:     globals.Namespace,
		TLSCert:       os.Getenv(temporalconn.EnvTLSCert),
		TLSKey:        os.Getenv(temporalconn.EnvTLSKey),
		TLSCA:         os.Getenv(temporalconn.EnvTLSCA),
		TLSServerName: os.Getenv(temporalconn.EnvTLSServerName),
		TLS:           tlsOn,
		APIKey:        os.Getenv(temporalconn.EnvAPIKey),
	}
	// The SDK's own logs go to stderr at warn level so they never mix with --output json.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := conn.ClientOptions(logger, nil)
	if err != nil {
		return nil, err
	}
	opts.Logger = tlog.NewStructuredLogger(logger)
	opts.Identity = identityDefault() + "@topoflow-cli"
	timeout := 5 * time.Second
	if v := os.Getenv(envConnectTimeout); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %v\n"+
			"Is the server running? Start the local stack with `make dev`, or point --address / TEMPORAL_ADDRESS at your cluster",
			conn.Address, conn.Namespace, rootCause(err))
	}
	return c, nil
}

// rootCause strips the SDK's wrapping down to the innermost message.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// identityDefault is who acts when --as is not given: $TOPOFLOW_IDENTITY,
// else the login name.
func identityDefault() string {
	if v := os.Getenv(envIdentity); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// uiBase returns the Web UI base URL: the flag, $TOPOFLOW_UI_URL, or the
// Temporal dev server's convention (frontend port + 1000 on the same host).
func uiBase(flag string) string {
	if flag != "" {
		return strings.TrimSuffix(flag, "/")
	}
	if v := os.Getenv(envUIURL); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	host, port, err := net.SplitHostPort(globals.Address)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, strconv.Itoa(n+1000)))
}

// uiLink is the Web UI page of a workflow. The namespace and the workflow ID
// are path segments: a workflow ID's "/" must be escaped (%2F), or the Web UI
// routes the link to a page that does not exist.
func uiLink(base, workflowID string) string {
	if base == "" {
		return ""
	}
	return base + "/namespaces/" + url.PathEscape(globals.Namespace) + "/workflows/" + url.PathEscape(workflowID)
}

// resolveWorkflowID turns a command argument into a workflow ID: a spec
// file (its request's ID), "Kind/Name", or a workflow ID as is.
func resolveWorkflowID(arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		opts, err := specOptions()
		if err != nil {
			return "", err
		}
		p, err := compiler.CompileFile(arg, opts)
		if err != nil {
			return "", fmt.Errorf("%s: %w", arg, err)
		}
		return workflows.WorkflowID(p.Source), nil
	}
	if strings.HasPrefix(arg, "topoflow/") {
		return arg, nil
	}
	if kind, name, ok := strings.Cut(arg, "/"); ok && kind != "" && name != "" && !strings.Contains(name, "/") {
		return "topoflow/" + kind + "/" + name, nil
	}
	return arg, nil
}

// queryProgress asks a request for its progress.
func queryProgress(ctx context.Context, c client.Client, id string) (workflows.Progress, error) {
	var p workflows.Progress
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", workflows.QueryProgress)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return p, fmt.Errorf("no request %s in namespace %s", id, globals.Namespace)
		}
		if errors.Is(err, context.DeadlineExceeded) || qctx.Err() != nil {
			return p, fmt.Errorf("query progress of %s: no answer; is a Topoflow worker polling task queue %s?", id, globals.TaskQueue)
		}
		return p, fmt.Errorf("query progress of %s: %w", id, err)
	}
	if err := v.Get(&p); err != nil {
		return p, fmt.Errorf("decode progress of %s: %w", id, err)
	}
	return p, nil
}

// parseKeyValues parses k=v arguments; a value that is valid JSON is used
// as such (numbers, booleans, objects), anything else as a string.
func parseKeyValues(kvs []string, jsonObj string) (map[string]any, error) {
	out := map[string]any{}
	if jsonObj != "" {
		if err := json.Unmarshal([]byte(jsonObj), &out); err != nil {
			return nil, usageError{fmt.Sprintf("invalid JSON object %q: %v", jsonObj, err)}
		}
	}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Sprintf("%q: want key=value", kv)}
		}
		var val any
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			val = v
		}
		out[k] = val
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// emitJSON writes v as indented JSON.
func emitJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// sortedKeysOf returns m's keys in order.
func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
