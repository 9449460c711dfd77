package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/workflows"
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

// TestStepDetailKeepsTheWholeError: a cloud's error is shown whole, on one
// line (it was cut at 117 bytes, mid-sentence).
func TestStepDetailKeepsTheWholeError(t *testing.T) {
	msg := "huawei.vpcep.createEndpoint: create endpoint for service 4f1a0c3e-0000-4000-8000-00000000b001 as hw-client-b: " +
		"HTTP 403 EndPoint.2012: the domain is not in the whitelist of endpoint service 6b2f7e4a-0000-4000-8000-00000000a010\nin region cn-north-4"
	got := stepDetail(workflows.StepProgress{State: workflows.StepParked, LastError: msg})
	want := "error: " + strings.Join(strings.Fields(msg), " ")
	if got != want {
		t.Errorf("detail %q, want %q", got, want)
	}
}

// TestItemsAreNamedByBroker: Huawei fan-outs are keyed by port ID; what
// their items observe and their errors name the broker and its address.
func TestItemsAreNamedByBroker(t *testing.T) {
	p := workflows.Progress{Steps: []workflows.StepProgress{
		{ID: "discover", State: workflows.StepDone, Outputs: map[string]any{"brokers": []any{
			map[string]any{"id": float64(0), "listenerIp": "192.168.0.11", "portId": "port-a"},
			map[string]any{"id": float64(1), "listenerIp": "192.168.0.12", "portId": "port-b"},
		}}},
		{ID: "wait-endpoint-service", State: workflows.StepRunning, Observed: "port-a: available; port-b: creating",
			LastError: "port-b: HTTP 500"},
	}}
	labelItems(&p)
	s := p.Steps[1]
	if s.Observed != "broker 0 (192.168.0.11): available; broker 1 (192.168.0.12): creating" || s.LastError != "broker 1 (192.168.0.12): HTTP 500" {
		t.Errorf("observed %q, error %q", s.Observed, s.LastError)
	}
}

// TestNextHintOfAFailedCompensation: a step parked because its compensation
// failed is retried (the compensation runs again) or skipped, not rolled back.
func TestNextHintOfAFailedCompensation(t *testing.T) {
	p := workflows.Progress{Phase: workflows.PhaseParked,
		Steps:  []workflows.StepProgress{{ID: "open-security-group", State: workflows.StepParked}},
		Leaked: []workflows.Leak{{Step: "open-security-group", Error: "HTTP 403"}}}
	if got := nextHint("id", p); !strings.Contains(got, "topoflow retry id --step open-security-group (runs its compensation again)") || strings.Contains(got, "rollback") {
		t.Errorf("hint %q", got)
	}
	var b bytes.Buffer
	printStatus(&b, "id", "Running", "", p, nil)
	if !strings.Contains(b.String(), "Compensations that failed (retry a step once the cause is fixed") {
		t.Errorf("status:\n%s", b.String())
	}
}
