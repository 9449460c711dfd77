package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/spec"
)

const registry = "../specs/accounts.yaml"

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func examples(t *testing.T) []string {
	files, _ := filepath.Glob("../specs/*.yaml")
	if len(files) < 14 {
		t.Fatalf("found %d spec files", len(files))
	}
	return files
}

func TestValidateExamples(t *testing.T) {
	args := append([]string{"validate", "--accounts", registry}, examples(t)...)
	code, out, errOut := runCLI(t, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "KafkaAccess hw-orders-to-client-b is valid") || !strings.Contains(out, "account registry") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"text", []string{"validate", "--accounts", registry, "../specs/testdata/invalid/unknown-keys.yaml"}, 1,
			`../specs/testdata/invalid/unknown-keys.yaml:15:3: unknown key "methd" (did you mean "method"?)`},
		{"valid and invalid", []string{"validate", "--accounts", registry, "../specs/aws-msk-same-vpc.yaml", "../specs/testdata/invalid/secrets.yaml"}, 1,
			"secrets.yaml:7:5: key \"password\" looks like a secret"},
		{"missing file", []string{"validate", "nope.yaml"}, 1, "nope.yaml:0:0: cannot read spec"},
		{"no args", []string{"validate"}, 1, "requires at least 1 arg"},
		{"bad flag", []string{"validate", "--bogus", "x.yaml"}, 2, "unknown flag: --bogus"},
		{"bad output", []string{"validate", "-o", "yaml", "x.yaml"}, 2, `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, tt.code, errOut, tt.want)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := runCLI(t, "validate", "-o", "json", "--accounts", registry, "../specs/testdata/invalid/bad-values.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var errs []spec.Error
	if err := json.Unmarshal([]byte(out), &errs); err != nil {
		t.Fatalf("not a JSON array of errors: %v\n%s", err, out)
	}
	if len(errs) < 8 || errs[0].Line != 4 || errs[0].Column != 9 || errs[0].File == "" {
		t.Errorf("errors = %+v", errs)
	}
	code, out, _ = runCLI(t, "validate", "-o", "json", "--accounts", registry, "../specs/aws-msk-same-vpc.yaml")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("valid file: exit %d, out %q", code, out)
	}
}

func TestGlobalFlagsFromEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "kafka")
	t.Setenv("TOPOFLOW_TASK_QUEUE", "tq")
	t.Setenv("TOPOFLOW_ACCOUNTS", registry)
	if code, _, errOut := runCLI(t, "validate", "../specs/aws-msk-same-vpc.yaml"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := globalFlags{Address: "temporal.example:7233", Namespace: "kafka", Output: "text", Accounts: registry, TaskQueue: "tq"}
	if globals != want {
		t.Errorf("globals = %+v, want %+v", globals, want)
	}
	if code, _, _ := runCLI(t, "-n", "other", "validate", "../specs/aws-msk-same-vpc.yaml"); code != 0 || globals.Namespace != "other" {
		t.Errorf("flag did not override the environment: %+v", globals)
	}
}
