package main

import (
	"bytes"
	"testing"
)

// TestOutputsForPeople: bootstrap lists are comma-joined and broker maps one
// broker a line by ID and address, never Go syntax ([a b], map[0:...]).
func TestOutputsForPeople(t *testing.T) {
	var b bytes.Buffer
	printOutputs(&b, map[string]any{
		"bootstrap": []any{"127.17.0.2:9011", "127.17.0.3:9011", "127.17.0.4:9011"},
		"brokers":   map[string]any{"10": "127.17.0.4:9011", "2": "127.17.0.3:9011", "1": "127.17.0.2:9011"},
		"records":   float64(3),
		"topic":     "topoflow-verify",
	})
	want := "Outputs\n" +
		"  bootstrap: 127.17.0.2:9011, 127.17.0.3:9011, 127.17.0.4:9011\n" +
		"  brokers:\n" +
		"    broker 1   127.17.0.2:9011\n" +
		"    broker 2   127.17.0.3:9011\n" +
		"    broker 10  127.17.0.4:9011\n" +
		"  records: 3\n" +
		"  topic: topoflow-verify\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, tt := range []struct {
		in   any
		want string
	}{
		{nil, "-"}, {[]any{}, ""}, {map[string]any{"b": 1.5, "a": []any{"x", "y"}}, "a=x, y, b=1.5"}, {true, "true"},
	} {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
