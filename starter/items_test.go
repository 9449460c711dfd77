package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/workflows"
)

// jsonValue is a query's answer as the client decodes it (unit tests only).
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }
func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// fakeItems answers the items query of one fan-out step from items, as
// the workflow does (workflows/itemspage.go), and counts the pages asked.
type fakeItems struct {
	client.Client
	step  string
	items []workflows.ItemProgress
	pages int
}

func (c *fakeItems) QueryWorkflow(_ context.Context, _, _, query string, args ...any) (converter.EncodedValue, error) {
	q, ok := args[0].(workflows.ItemsQuery)
	if query != workflows.QueryItems || !ok || q.Step != c.step || q.Limit > workflows.MaxItemsPage {
		return nil, fmt.Errorf("unexpected query %s %+v", query, args)
	}
	c.pages++
	end := min(q.Offset+q.Limit, len(c.items))
	return jsonValue{workflows.ItemsPage{Step: q.Step, Total: len(c.items), Offset: q.Offset, Items: c.items[q.Offset:end]}}, nil
}

// TestFillPagedItems: `status -o json` reads the outputs of a fan-out the
// progress shows by its counts only, a page at a time, into outputs.items
// in item order, as a small fan-out's progress has them.
func TestFillPagedItems(t *testing.T) {
	n := workflows.MaxProgressItems + 700
	var items []workflows.ItemProgress
	for i := 0; i < n; i++ {
		items = append(items, workflows.ItemProgress{Key: fmt.Sprint(i), State: workflows.StepDone, Outputs: map[string]any{"id": fmt.Sprintf("ep-%d", i)}})
	}
	fc := &fakeItems{step: "endpoint", items: items}
	p := workflows.Progress{Steps: []workflows.StepProgress{
		{ID: "list", Outputs: map[string]any{"n": 1.0}},
		{ID: "endpoint", Items: n, ItemsDone: n, ItemsPaged: true},
	}}
	if err := fillPagedItems(context.Background(), fc, "req", &p); err != nil {
		t.Fatal(err)
	}
	outs, _ := p.Steps[1].Outputs["items"].([]any)
	if len(outs) != n || fc.pages != (n+workflows.MaxItemsPage-1)/workflows.MaxItemsPage {
		t.Fatalf("%d outputs in %d pages, want %d in %d", len(outs), fc.pages, n, (n+workflows.MaxItemsPage-1)/workflows.MaxItemsPage)
	}
	for i, o := range outs {
		if m, _ := o.(map[string]any); m["id"] != fmt.Sprintf("ep-%d", i) {
			t.Fatalf("output %d is %v", i, o)
		}
	}
	if p.Steps[0].Outputs["n"] != 1.0 {
		t.Errorf("a step not paged changed: %v", p.Steps[0].Outputs)
	}
}
