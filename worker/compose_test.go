package main

// docker-compose.yml is checked here against the worker's configuration:
// loaded with the Compose specification's Go library, its services,
// dependencies, ports and the worker's environment must match what the
// worker accepts (app.Settings) and what the interpreter needs.

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/worker/app"
	"github.com/topoflow/topoflow/workflows"
)

func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("topoflow"), cli.WithProfiles(profiles),
		// A clean environment: the file's defaults must be enough.
		cli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func TestComposeServicesAndDependencies(t *testing.T) {
	p := loadCompose(t)
	want := []string{"postgresql", "temporal", "temporal-admin-tools", "temporal-schema", "temporal-ui", "worker"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services = %v, want %v (cloudsim only with --profile sim)", sorted(got), want)
	}
	deps := []struct{ service, on, condition string }{
		{"temporal", "postgresql", types.ServiceConditionHealthy},
		{"temporal", "temporal-schema", types.ServiceConditionCompletedSuccessfully},
		{"temporal-schema", "postgresql", types.ServiceConditionHealthy},
		{"temporal-admin-tools", "temporal", types.ServiceConditionStarted},
		{"temporal-ui", "temporal", types.ServiceConditionStarted},
		{"worker", "temporal", types.ServiceConditionStarted},
		{"worker", "temporal-admin-tools", types.ServiceConditionCompletedSuccessfully},
	}
	for _, d := range deps {
		s := p.Services[d.service]
		dep, ok := s.DependsOn[d.on]
		if !ok || dep.Condition != d.condition {
			t.Errorf("%s depends on %s: %+v (present %v), want condition %s", d.service, d.on, dep, ok, d.condition)
		}
	}
	if p.Services["postgresql"].HealthCheck == nil {
		t.Error("postgresql needs a healthcheck (temporal waits for service_healthy)")
	}

	published := map[string][]uint32{}
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.Published != "" {
				published[name] = append(published[name], port.Target)
			}
		}
	}
	if !slices.Equal(published["temporal"], []uint32{7233}) || !slices.Equal(published["temporal-ui"], []uint32{8080}) {
		t.Errorf("published ports = %v, want temporal 7233 and temporal-ui 8080", published)
	}
	if len(published["worker"]) > 0 || len(published["postgresql"]) > 0 {
		t.Errorf("worker and postgresql must not publish ports (workers run replicated): %v", published)
	}

	sim := loadCompose(t, "sim")
	if _, ok := sim.Services["cloudsim"]; !ok {
		t.Error("the sim profile has no cloudsim service")
	}
}

func TestComposeRegistersTheSearchAttributes(t *testing.T) {
	s := loadCompose(t).Services["temporal-admin-tools"]
	script := strings.Join(s.Command, " ")
	for _, sa := range stack.SearchAttributeFlags() {
		if !strings.Contains(script, sa) {
			t.Errorf("temporal-admin-tools does not register %s", sa)
		}
	}
	if !strings.Contains(script, "search-attribute create") {
		t.Error("temporal-admin-tools does not create search attributes")
	}
	// The same list drives make dev.
	root, _ := stack.RepoRoot()
	dev, err := os.ReadFile(filepath.Join(root, "scripts", "dev.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dev), "SEARCH_ATTRIBUTES=("+strings.Join(stack.SearchAttributeFlags(), " ")+")") {
		t.Error("scripts/dev.sh registers other search attributes than workflows/api.go declares")
	}
}

func TestComposeWorkerEnvironmentMatchesWorkerConfig(t *testing.T) {
	p := loadCompose(t)
	w := p.Services["worker"]
	if w.Build == nil || w.Build.Context == "" || filepath.Base(w.Build.Dockerfile) != "Dockerfile" {
		t.Fatalf("worker must be built from the Dockerfile: %+v", w.Build)
	}
	if w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas < 2 {
		t.Errorf("run at least two workers: %+v", w.Deploy)
	}

	known := map[string]bool{}
	for _, s := range app.Settings() {
		known[s.Env] = true
	}
	credential := regexp.MustCompile(`^TOPOFLOW_[A-Z0-9_]+_(AK|SK|SECURITY_TOKEN|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CLIENT_SECRET|USERNAME|PASSWORD)$`)
	env := map[string]string{}
	for k, v := range w.Environment {
		if !known[k] && !credential.MatchString(k) {
			t.Errorf("worker environment %s is not a worker setting (see topoflow-worker --help)", k)
		}
		if v != nil {
			env[k] = *v
		}
	}

	// Temporal's address is the temporal service on its container port.
	host, port, err := net.SplitHostPort(env[app.EnvAddress])
	if err != nil || host != "temporal" || port != "7233" {
		t.Errorf("%s = %q, want temporal:7233", app.EnvAddress, env[app.EnvAddress])
	}
	if env[app.EnvTaskQueue] != workflows.DefaultTaskQueue {
		t.Errorf("%s = %q, want %q", app.EnvTaskQueue, env[app.EnvTaskQueue], workflows.DefaultTaskQueue)
	}
	// The metrics port is exposed for scraping.
	_, mport, err := net.SplitHostPort(env[app.EnvMetricsAddr])
	if err != nil || !slices.Contains([]string(w.Expose), mport) {
		t.Errorf("%s = %q must name a port in expose %v", app.EnvMetricsAddr, env[app.EnvMetricsAddr], w.Expose)
	}
	// CLOUDSIM_URL points at the sim profile's cloudsim.
	if env[app.EnvCloudsimURL] != "http://cloudsim:8700" {
		t.Errorf("%s = %q", app.EnvCloudsimURL, env[app.EnvCloudsimURL])
	}

	// The worker accepts this environment, with container paths mapped to
	// the repository files the Dockerfile copies there.
	copies := dockerfileCopies(t)
	if src, ok := copies[env[app.EnvAccounts]]; !ok {
		t.Errorf("%s = %q is not a file the Dockerfile copies into the image (%v)", app.EnvAccounts, env[app.EnvAccounts], copies)
	} else {
		env[app.EnvAccounts] = src
	}
	if _, err := app.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("the worker refuses the compose environment: %v", err)
	}
	// The grace period covers the worker's shutdown timeout.
	cfg, _ := app.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if w.StopGracePeriod == nil || int64(*w.StopGracePeriod) <= int64(cfg.ShutdownTimeout) {
		t.Errorf("stop_grace_period %v must exceed the shutdown timeout %v", w.StopGracePeriod, cfg.ShutdownTimeout)
	}
}

// dockerfileCopies maps the image paths of the Dockerfile's final-stage
// COPY lines from the build context to their repository paths.
func dockerfileCopies(t *testing.T) map[string]string {
	t.Helper()
	root, _ := stack.RepoRoot()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "COPY" && !strings.HasPrefix(fields[1], "--") {
			out[fields[2]] = filepath.Join(root, fields[1])
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestREADMEDocumentsEveryWorkerSetting(t *testing.T) {
	root, _ := stack.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(app.Settings(), app.ProbeSettings()...) {
		if !strings.Contains(string(b), "`--"+s.Flag+"`") || !strings.Contains(string(b), "`"+s.Env+"`") {
			t.Errorf("README.md does not document --%s / %s", s.Flag, s.Env)
		}
	}
}

// TestComposeSharesTheProdLocalConfig keeps docker-compose.yml and make
// prod-local (scripts/prod-local.sh) on one Temporal configuration: the
// temporal service runs temporalio/server (not the deprecated auto-setup
// image) from deploy/temporal/config.yaml, both set every variable the file
// reads without a default, both set up the schema with the same embedded
// schema names, and the images are the versions prod-local builds.
func TestComposeSharesTheProdLocalConfig(t *testing.T) {
	root, _ := stack.RepoRoot()
	p := loadCompose(t)
	tmp := p.Services["temporal"]
	image, tag, _ := strings.Cut(tmp.Image, ":")
	if image != "temporalio/server" {
		t.Errorf("temporal runs %s, want temporalio/server (auto-setup is deprecated)", tmp.Image)
	}
	// The config file is mounted from deploy/temporal and named by --config-file.
	mounted := ""
	for _, v := range tmp.Volumes {
		if filepath.Clean(v.Source) == filepath.Join(root, "deploy", "temporal") {
			mounted = v.Target
		}
	}
	entry := strings.Join(tmp.Entrypoint, " ")
	if mounted == "" || !strings.Contains(entry, "--config-file "+mounted+"/config.yaml") {
		t.Errorf("temporal must mount ./deploy/temporal and start from its config.yaml: volumes %+v, entrypoint %q", tmp.Volumes, entry)
	}
	local, err := os.ReadFile(filepath.Join(root, "scripts", "prod-local.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(local), "--config-file deploy/temporal/config.yaml") {
		t.Error("scripts/prod-local.sh does not start Temporal from deploy/temporal/config.yaml")
	}

	cfg, err := os.ReadFile(filepath.Join(root, "deploy", "temporal", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`env "([A-Z0-9_]+)"( \| default)?`)
	refs := ref.FindAllStringSubmatch(string(cfg), -1)
	if len(refs) < 10 {
		t.Fatalf("deploy/temporal/config.yaml reads %d variables: is it still a template?", len(refs))
	}
	for _, m := range refs {
		name, hasDefault := m[1], m[2] != ""
		// Every variable is set by prod-local.sh (exported or passed to the services).
		if !regexp.MustCompile(`\b` + name + `=`).Match(local) {
			t.Errorf("scripts/prod-local.sh does not set %s, which deploy/temporal/config.yaml reads", name)
		}
		if _, ok := tmp.Environment[name]; !ok && !hasDefault {
			t.Errorf("the temporal service does not set %s, which deploy/temporal/config.yaml reads without a default", name)
		}
	}
	// Inside a container, the services bind every interface and announce the container's fixed address.
	env := func(k string) string {
		if v := tmp.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	if env("BIND_ON_IP") != "0.0.0.0" || env("POSTGRES_SEEDS") != "postgresql" {
		t.Errorf("temporal BIND_ON_IP=%q POSTGRES_SEEDS=%q, want 0.0.0.0 and postgresql", env("BIND_ON_IP"), env("POSTGRES_SEEDS"))
	}
	if n := tmp.Networks["default"]; n == nil || n.Ipv4Address == "" || n.Ipv4Address != env("TEMPORAL_BROADCAST_ADDRESS") {
		t.Errorf("TEMPORAL_BROADCAST_ADDRESS %q must be the temporal container's fixed address %+v", env("TEMPORAL_BROADCAST_ADDRESS"), n)
	}

	// The schema job runs the same steps as prod-local.sh.
	schema := strings.Join(p.Services["temporal-schema"].Command, " ")
	for _, step := range []string{"create-database", "setup-schema -v 0.0", `update-schema --schema-name "postgresql/v12/$$schema"`,
		"temporal:temporal temporal_visibility:visibility"} {
		step = strings.ReplaceAll(step, "$$", "$")
		if !strings.Contains(schema, step) || !strings.Contains(string(local), step) {
			t.Errorf("the schema step %q is not in both the temporal-schema job and scripts/prod-local.sh", step)
		}
	}

	// The images are the versions make prod-local builds (Makefile and scripts/prod-tools.sh).
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := os.ReadFile(filepath.Join(root, "scripts", "prod-tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	pin := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + ` \?= (\S+)$`).FindSubmatch(mk)
		if m == nil {
			t.Fatalf("the Makefile does not pin %s", name)
		}
		if !strings.Contains(string(tools), name+":-"+string(m[1])+"}") {
			t.Errorf("scripts/prod-tools.sh's default %s is not the Makefile's %s", name, m[1])
		}
		return string(m[1])
	}
	server, ui := pin("TEMPORAL_SERVER_VERSION"), pin("TEMPORAL_UI_SERVER_VERSION")
	if tag != server {
		t.Errorf("temporalio/server:%s, but make prod-local builds server %s", tag, server)
	}
	for _, svc := range []string{"temporal-schema", "temporal-admin-tools"} {
		if img := p.Services[svc].Image; img != "temporalio/admin-tools:"+server {
			t.Errorf("%s runs %s, want temporalio/admin-tools:%s", svc, img, server)
		}
	}
	if img := p.Services["temporal-ui"].Image; img != "temporalio/ui:"+ui {
		t.Errorf("temporal-ui runs %s, want temporalio/ui:%s (the ui-server make prod-local builds)", img, ui)
	}
}
