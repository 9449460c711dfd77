package spec

import (
	"strings"
	"testing"
)

// TestYAMLErrorLine: syntax errors are reported at the line that breaks the
// file, not at the start of the enclosing block (yaml.v3's context mark).
func TestYAMLErrorLine(t *testing.T) {
	long := "apiVersion: topoflow.io/v1\nkind: KafkaAccess\nmetadata:\n  labels:\n" +
		strings.Repeat("    k: v\n", 20000) + "   bad: indent\n"
	tests := []struct {
		name, src string
		want      string
	}{
		{"mis-indented key", "a:\n  b: 1\n  c:\n    d: 2\n   e: 3\n", "t.yaml:5:4: invalid YAML: did not find expected key: the indentation of this line matches no mapping above it"},
		{"unclosed flow mapping", "a: {b: 1\nc: 2\n", "t.yaml:1:1: invalid YAML: did not find expected ',' or '}'"},
		{"tab indentation", "a:\n\tb: 1\n", "t.yaml:2:1: invalid YAML: found character that cannot start any token"},
		{"deep in a long file", long, "t.yaml:20005:4: invalid YAML: did not find expected key: the indentation of this line matches no mapping above it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src), Options{})
			errs := Errors(err)
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Errorf("errors: %v\nwant: %s", errs, tt.want)
			}
		})
	}
}
