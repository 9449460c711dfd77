package app

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/plan"
)

func TestParseProbeConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    ProbeConfig
		wantErr string
	}{
		{name: "direct", args: []string{"--task-queue", "topoflow-probe-a", "--network", "vpc-1"},
			want: ProbeConfig{Network: "vpc-1"}},
		{name: "socks5 and name from the environment", args: []string{"--task-queue", "q"},
			env:  map[string]string{EnvProbeNetwork: "vpc-2", EnvProbeSOCKS5: "socks5://127.0.0.1:1080", EnvProbeName: "p1"},
			want: ProbeConfig{Network: "vpc-2", SOCKS5: "socks5://127.0.0.1:1080", Name: "p1"}},
		{name: "cloudsim", args: []string{"--task-queue", "q", "--network", "n", "--socks5", "cloudsim", "--cloudsim-url", "http://127.0.0.1:8700"},
			want: ProbeConfig{Network: "n", SOCKS5: "cloudsim"}},
		{name: "no task queue", args: []string{"--network", "n"}, wantErr: "task queue is empty"},
		{name: "main queue", args: []string{"--network", "n", "--task-queue", "topoflow"}, wantErr: "is the main worker's"},
		{name: "no network", args: []string{"--task-queue", "q"}, wantErr: "--network is required"},
		{name: "bad proxy", args: []string{"--task-queue", "q", "--network", "n", "--socks5", "http://x:1"}, wantErr: "want socks5://host:port"},
		{name: "proxy credentials", args: []string{"--task-queue", "q", "--network", "n", "--socks5", "socks5://u:p@x:1"}, wantErr: "no credentials"},
		{name: "cloudsim without url", args: []string{"--task-queue", "q", "--network", "n", "--socks5", "cloudsim"}, wantErr: "needs --cloudsim-url"},
		{name: "no strict-catalog in probe mode", args: []string{"--task-queue", "q", "--network", "n", "--strict-catalog"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseProbeConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Probe == nil || *cfg.Probe != tc.want {
				t.Fatalf("probe = %+v, want %+v", cfg.Probe, tc.want)
			}
		})
	}
	// The main worker knows no probe flags.
	if _, err := ParseConfig([]string{"--network", "n"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("the main worker accepted --network")
	}
}

func TestProbeRoute(t *testing.T) {
	reg, err := accounts.Parse("r.yaml", []byte(`accounts:
  a:
    provider: ambari
    ambari: {url: 'http://x', cluster: c}
    probes: [{network: vpc-1, taskQueue: q1, startTimeout: 5s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	route := probeRoute(reg)
	tests := []struct {
		name, account, network, wantQueue, wantStart, wantReason string
	}{
		{"registered", "a", "vpc-1", "q1", "5s", ""},
		{"other network", "a", "vpc-2", "", "", `account a registers no probe for network "vpc-2"`},
		{"unknown account", "z", "vpc-1", "", "", "account z is not in the worker's account registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := route(context.Background(), plan.Call{Action: plan.ActionProbeRoute, Account: tc.account, Inputs: map[string]any{"network": tc.network}})
			if err != nil {
				t.Fatal(err)
			}
			if out["taskQueue"] != tc.wantQueue || (tc.wantStart != "" && out["startTimeout"] != tc.wantStart) ||
				(tc.wantReason != "" && out["reason"] != tc.wantReason) {
				t.Fatalf("route = %v", out)
			}
		})
	}
}
