package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// refHash is the hash as Plan.Hash took it before hash.go: sha256 of the
// json.Encoder's indented output.
func refHash(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// TestHashCanonicalMatchesIndent: hashCanonical gives the sha256 of the
// canonical (indented) JSON for values whose strings hold JSON punctuation,
// escapes and HTML, for empty and nested objects and arrays, and for every
// compiled example plan; Plan.Hash equals the hash of Plan.JSON.
func TestHashCanonicalMatchesIndent(t *testing.T) {
	long := bytes.Repeat([]byte(`{"a":[1,2,{}],"b":"x\"y"}`), 400)
	cases := []struct {
		name string
		v    any
	}{
		{"empty object", map[string]any{}},
		{"empty array", []any{}},
		{"nested empties", map[string]any{"a": map[string]any{}, "b": []any{}, "c": []any{map[string]any{}, []any{}}}},
		{"punctuation in strings", map[string]any{"k{[,:]}": `v{"[,:]}\`, "e": "\"", "q": `\"`, "b": "\\"}},
		{"html and unicode", map[string]any{"h": "<a href=\"x\">&</a>", "u": "路由 \u2028 \u0001 é"}},
		{"numbers and literals", map[string]any{"n": 1.5e300, "i": -3, "t": true, "f": false, "z": nil}},
		{"array of arrays", []any{[]any{1, []any{2, []any{3}}}, "x"}},
		{"long strings", map[string]any{"s": string(long), "t": []string{string(long), "", "]"}}},
		{"a string", "just a string"},
		{"a number", 42},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := hashCanonical(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if want := refHash(t, c.v); got != want {
				t.Errorf("hashCanonical = %s, want %s", got, want)
			}
		})
	}
	files, err := filepath.Glob("../compiler/testdata/*.plan.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no compiled plans (%v)", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got, err := p.Hash()
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.JSON()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if want := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: Hash %s, sha256 of JSON %s", f, got, want)
		}
	}
}

// FuzzHashCanonical: for any JSON value, hashCanonical equals the hash of
// the indented encoding.
func FuzzHashCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[{},[]],"b":"\"}"}`, `"x"`, `[1,{"k":null}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		got, err := hashCanonical(v)
		if err != nil {
			return
		}
		if want := refHash(t, v); got != want {
			t.Errorf("%q: hashCanonical = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkPlanHash(b *testing.B) {
	raw, err := os.ReadFile("../compiler/testdata/aws-msk-cross-account.plan.json")
	if err != nil {
		b.Skip(err)
	}
	p, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("canonical", func(b *testing.B) {
		for range b.N {
			if _, err := p.Hash(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("indent", func(b *testing.B) {
		for range b.N {
			refHash(b, p)
		}
	})
}
