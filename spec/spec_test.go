package spec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/accounts"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// registryOptions validates against the example account registry.
func registryOptions(t testing.TB) Options {
	t.Helper()
	reg, err := accounts.Load("../specs/accounts.yaml")
	if err != nil {
		t.Fatalf("load account registry: %v", err)
	}
	return Options{
		Accounts: func(n string) (string, bool) {
			a, ok := reg.Get(n)
			if !ok {
				return "", false
			}
			return a.Provider, true
		},
		AccountNames: reg.Names,
		AWSAccountID: func(n string) string {
			if a, ok := reg.Get(n); ok && a.AWS != nil {
				return a.AWS.AccountID
			}
			return ""
		},
		Probes: func(n string) ([]string, bool) {
			a, ok := reg.Get(n)
			if !ok {
				return nil, false
			}
			var nets []string
			for _, p := range a.Probes {
				nets = append(nets, p.Network)
			}
			return nets, true
		},
	}
}

func exampleFiles(t testing.TB) []string {
	files, err := filepath.Glob("../specs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if filepath.Base(f) != "accounts.yaml" {
			out = append(out, f)
		}
	}
	if len(out) < 13 {
		t.Fatalf("expected at least 13 example specs, found %d", len(out))
	}
	return out
}

func TestExamplesAreValid(t *testing.T) {
	opts := registryOptions(t)
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			docs, err := ParseFile(f, opts)
			if err != nil {
				t.Fatalf("example is invalid:\n%v", err)
			}
			for _, d := range docs {
				if d.SHA256 == "" || len(d.SHA256) != 64 {
					t.Errorf("document %s has no sha256", d.Metadata.Name)
				}
			}
		})
	}
}

// TestInvalidGolden checks every bad spec under specs/testdata/invalid against
// its .golden file of expected FILE:LINE:COL: message lines.
func TestInvalidGolden(t *testing.T) {
	opts := registryOptions(t)
	files, _ := filepath.Glob("../specs/testdata/invalid/*.yaml")
	if len(files) < 10 {
		t.Fatalf("expected at least 10 invalid specs, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := ParseFile(f, opts)
			if err == nil {
				t.Fatal("invalid spec was accepted")
			}
			errs := Errors(err)
			var b strings.Builder
			for _, e := range errs {
				if e.Line <= 0 || e.Column <= 0 {
					t.Errorf("error without position: %v", e)
				}
				// Golden files hold base names so they do not depend on the working directory.
				e.File = filepath.Base(e.File)
				b.WriteString(e.Error() + "\n")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test ./spec -update): %v", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestErrorsAreSortedAndComplete(t *testing.T) {
	opts := registryOptions(t)
	_, err := ParseFile("../specs/testdata/invalid/bad-values.yaml", opts)
	errs := Errors(err)
	if len(errs) < 8 {
		t.Fatalf("want every problem reported at once, got %d:\n%v", len(errs), err)
	}
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1], errs[i]
		if a.Line > b.Line || (a.Line == b.Line && a.Column > b.Column) {
			t.Fatalf("errors not sorted by position: %v before %v", a, b)
		}
	}
}

func TestSecretReason(t *testing.T) {
	tests := []struct {
		in     string
		secret bool
	}{
		{"AKIAIOSFODNN7EXAMPLE", true},
		{"HWKAFKAOWNERAK0000001", false}, // 21 chars: not an AK shape
		{"QWERTY12345ABCDE6789", true},   // Huawei-style 20-char AK
		{"-----BEGIN PRIVATE KEY-----\nabc", true},
		{"password: hunter2", true},
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", false}, // contains '/': looks like a path
		{"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY0", true},
		{"6b2f7e4a-0000-4000-8000-00000000a010", false},
		{"arn:aws:kafka:eu-west-1:111111111111:cluster/msk-prod/5a7b9c1d-0000-4000-8000-00000000c001-1", false},
		{"vpc-0a5c0000000msk01", false},
		{"kafka-owner@example.com", false},
		{"Check ticket NET-1042 before approving.", false},
		{"0605767c9a00d5c92f4fc00a1d6e3a11", false},
	}
	for _, tt := range tests {
		if got := SecretReason(tt.in) != ""; got != tt.secret {
			t.Errorf("SecretReason(%q) = %q, want secret=%v", tt.in, SecretReason(tt.in), tt.secret)
		}
	}
}

func TestParseRecordsPositionsAndKinds(t *testing.T) {
	src := "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n  - id: a\n    action: manual\n    gate: {who: [x]}\n---\n"
	docs, err := Parse("w.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Workflow == nil || docs[0].Line != 1 || docs[0].Raw["steps"] == nil {
		t.Fatalf("unexpected documents: %+v", docs)
	}
	// The same document parsed twice hashes the same; a changed value does not.
	again, _ := Parse("other.yaml", []byte(src), Options{})
	changed, _ := Parse("w.yaml", []byte(strings.Replace(src, "[x]", "[y]", 1)), Options{})
	if again[0].SHA256 != docs[0].SHA256 || changed[0].SHA256 == docs[0].SHA256 {
		t.Fatal("spec sha256 is not a function of the document content")
	}
}

func TestHostileInputs(t *testing.T) {
	tests := map[string]string{
		"billion laughs": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
		"deep nesting":   strings.Repeat("[", 500) + strings.Repeat("]", 500),
		"binary":         "\x00\x01\x02\xff",
		"merge key":      "apiVersion: topoflow.io/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  <<: {steps: []}\n",
		"scalar doc":     "42\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("h.yaml", []byte(src), Options{})
			if err == nil {
				t.Fatal("hostile input accepted")
			}
		})
	}
}
