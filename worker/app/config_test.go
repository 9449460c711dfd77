package app

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	acct := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(acct, []byte("accounts: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				want := Config{
					Conn:      Conn{Address: "localhost:7233", Namespace: "default"},
					TaskQueue: "topoflow", MetricsAddr: ":9090", LogLevel: "info", LogFormat: "json",
					ShutdownTimeout: 30 * time.Second, Endpoints: map[string]string{}, StrictCatalog: true,
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "environment",
			env: map[string]string{
				EnvAddress: "temporal:7233", EnvNamespace: "prod", EnvTaskQueue: "tq", EnvAPIKey: "k",
				EnvAccounts: acct, EnvMaxActivities: "7", EnvShutdownTimeout: "2m", EnvStrictCatalog: "true",
				EnvEndpoints: "hw-a.vpcep=https://vpcep.example.com/, hw-a.dms=http://x:1",
			},
			check: func(t *testing.T, c Config) {
				if c.Address != "temporal:7233" || c.Namespace != "prod" || c.TaskQueue != "tq" || c.APIKey != "k" ||
					c.Accounts != acct || c.MaxConcurrentActivities != 7 || c.ShutdownTimeout != 2*time.Minute || !c.StrictCatalog {
					t.Errorf("env not applied: %+v", c)
				}
				want := map[string]string{"hw-a.vpcep": "https://vpcep.example.com", "hw-a.dms": "http://x:1"}
				if !reflect.DeepEqual(c.Endpoints, want) {
					t.Errorf("endpoints = %v, want %v", c.Endpoints, want)
				}
				if !c.UseTLS() {
					t.Error("an API key must imply TLS")
				}
			},
		},
		{
			name: "flags win over environment",
			args: []string{"--address", "a:1", "--task-queue=q2", "--tls", "--log-format", "text", "--strict-catalog=false"},
			env:  map[string]string{EnvAddress: "b:2", EnvTaskQueue: "q1", EnvStrictCatalog: "true"},
			check: func(t *testing.T, c Config) {
				if c.Address != "a:1" || c.TaskQueue != "q2" || !c.TLS || c.LogFormat != "text" || c.StrictCatalog {
					t.Errorf("flags not applied: %+v", c)
				}
			},
		},
		{name: "cert without key", args: []string{"--tls-cert", acct}, wantErr: "tls-cert and tls-key go together"},
		{name: "missing accounts file", args: []string{"--accounts", filepath.Join(dir, "nope.yaml")}, wantErr: "accounts:"},
		{name: "bad env integer", env: map[string]string{EnvMaxActivities: "-1"}, wantErr: "$" + EnvMaxActivities},
		{name: "bad env bool", env: map[string]string{EnvStrictCatalog: "maybe"}, wantErr: "$" + EnvStrictCatalog},
		{name: "bad duration", args: []string{"--shutdown-timeout", "soon"}, wantErr: "duration"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "log level"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "log format"},
		{name: "bad endpoint", args: []string{"--endpoint", "vpcep=https://x"}, wantErr: "account.service=URL"},
		{name: "endpoint not a URL", args: []string{"--endpoint", "a.vpcep=ftp://x"}, wantErr: "http://"},
		{name: "empty task queue", args: []string{"--task-queue", ""}, wantErr: "task queue is empty"},
		{name: "positional argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestHelpListsEveryEnvVar(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseConfig([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, s := range Settings() {
		if !strings.Contains(out.String(), "--"+s.Flag+"  [$"+s.Env+"]") {
			t.Errorf("help lacks --%s [$%s]:\n%s", s.Flag, s.Env, out.String())
		}
	}
}

func TestLogValueHasNoSecrets(t *testing.T) {
	c := Config{Conn: Conn{Address: "a:1", APIKey: "super-secret-key"}}
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("cfg", "config", c)
	if strings.Contains(buf.String(), "super-secret-key") {
		t.Fatalf("secret in log: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"apiKey":true`) {
		t.Fatalf("log should say an API key is set: %s", buf.String())
	}
}

func TestClientOptionsTLS(t *testing.T) {
	tests := []struct {
		name    string
		conn    Conn
		wantTLS bool
		wantErr string
	}{
		{name: "plain", conn: Conn{Address: "a:1"}},
		{name: "tls flag", conn: Conn{Address: "a:1", TLS: true}, wantTLS: true},
		{name: "api key", conn: Conn{Address: "a:1", APIKey: "k"}, wantTLS: true},
		{name: "missing cert", conn: Conn{Address: "a:1", TLSCert: "/nope.pem", TLSKey: "/nope.key"}, wantErr: "load TLS client certificate"},
		{name: "missing ca", conn: Conn{Address: "a:1", TLSCA: "/nope.pem"}, wantErr: "read TLS CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.conn.ClientOptions(nil, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (o.ConnectionOptions.TLS != nil) != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", o.ConnectionOptions.TLS != nil, tt.wantTLS)
			}
			if (o.Credentials != nil) != (tt.conn.APIKey != "") {
				t.Errorf("credentials set = %v", o.Credentials != nil)
			}
		})
	}
}

func TestEveryCatalogActionHasAnImplementation(t *testing.T) {
	reg, err := BuildActivities(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if missing := MissingActions(reg); len(missing) > 0 {
		t.Errorf("catalog actions without an implementation: %v", missing)
	}
}
