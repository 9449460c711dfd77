package catalog

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/actions.md")

const actionsDoc = "../docs/actions.md"

// TestActionsDocInSync fails when docs/actions.md is stale (make docs, or
// go test ./catalog -run TestActionsDocInSync -update, regenerates it).
func TestActionsDocInSync(t *testing.T) {
	got := Markdown()
	if *updateDocs {
		if err := os.WriteFile(actionsDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(actionsDoc)
	if err != nil {
		t.Fatalf("read %s (make docs): %v", actionsDoc, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the catalog: run make docs and commit it", actionsDoc)
	}
	for _, name := range Names() {
		if !bytes.Contains(want, []byte("### `"+name+"`")) {
			t.Errorf("%s does not describe %s", actionsDoc, name)
		}
	}
}
