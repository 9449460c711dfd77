package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(ID)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return s
}

// yamlDocs decodes every document of a YAML file into JSON-compatible values.
func yamlDocs(t *testing.T, path string) []any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []any
	dec := yaml.NewDecoder(f)
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// Round-trip through JSON so numbers and maps have JSON types.
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		j, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
}

// TestExamplesMatchSchema validates every example spec against the generated
// schema, and checks that specs the validator refuses for structural reasons
// are refused by the schema too.
func TestExamplesMatchSchema(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("../specs/*.yaml")
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "accounts.yaml" {
			continue
		}
		for _, d := range yamlDocs(t, f) {
			n++
			if err := s.Validate(d); err != nil {
				t.Errorf("%s does not match the schema: %v", f, err)
			}
		}
	}
	if n < 13 {
		t.Fatalf("validated %d examples", n)
	}
	for _, bad := range []string{"unknown-keys.yaml", "wrong-types.yaml", "missing-required.yaml", "bad-values.yaml", "not-a-spec.yaml"} {
		docs := yamlDocs(t, filepath.Join("../specs/testdata/invalid", bad))
		failed := false
		for _, d := range docs {
			failed = failed || s.Validate(d) != nil
		}
		if !failed {
			t.Errorf("%s passes the schema", bad)
		}
	}
}
