package compiler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/topoflow/topoflow/spec"
)

// FuzzCompile checks that every document the validator accepts compiles to a
// plan that passes plan.Check, without panicking.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("../specs/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	opts := options(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := spec.Parse("fuzz.yaml", data, opts)
		if err != nil {
			return
		}
		for _, d := range docs {
			p, err := Compile(d)
			if err != nil {
				t.Fatalf("valid document does not compile: %v", err)
			}
			if err := p.Check(); err != nil {
				t.Fatalf("compiled plan fails Check: %v", err)
			}
		}
	})
}
