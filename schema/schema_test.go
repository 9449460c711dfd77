package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite topoflow.schema.json")

// TestCommittedSchemaInSync fails when the Go types changed without
// regenerating the committed schema (go test ./schema -update).
func TestCommittedSchemaInSync(t *testing.T) {
	got, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(File, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(File)
	if err != nil {
		t.Fatalf("read %s (go test ./schema -update): %v", File, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with package spec: run go test ./schema -update and commit it", File)
	}
}

func TestSchemaShape(t *testing.T) {
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required []string                  `json:"required"`
		Defs     map[string]map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Required) != 4 {
		t.Errorf("required = %v", s.Required)
	}
	for _, def := range []string{"KafkaAccess", "Workflow", "WorkflowStep", "KafkaRef", "ClientNetwork", "Approval", "Wait", "Gate"} {
		d, ok := s.Defs[def]
		if !ok {
			t.Errorf("missing $defs/%s", def)
			continue
		}
		if d["additionalProperties"] != false {
			t.Errorf("%s allows unknown keys", def)
		}
	}
	step := s.Defs["WorkflowStep"]["properties"].(map[string]any)
	if step["id"].(map[string]any)["pattern"] == nil {
		t.Error("step id has no pattern")
	}
	kafka := s.Defs["KafkaAccess"]["properties"].(map[string]any)
	if len(kafka["method"].(map[string]any)["enum"].([]any)) != 7 {
		t.Error("method enum incomplete")
	}
	port := s.Defs["KafkaRef"]["properties"].(map[string]any)["port"].(map[string]any)
	if port["maximum"] != float64(65535) || port["minimum"] != float64(1) {
		t.Errorf("port bounds = %v", port)
	}
}
