package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/workflows"
)

// fillPagedItems reads the items of each fan-out step the progress shows
// by its counts only (more than workflows.MaxProgressItems items: their
// outputs would take the query's answer over gRPC's 4 MB) a page at a time
// with the items query, and puts their outputs where a smaller fan-out's
// are (outputs.items, in item order), so that `status -o json` reads the
// same whatever the size.
func fillPagedItems(ctx context.Context, c client.Client, id string, p *workflows.Progress) error {
	for i := range p.Steps {
		s := &p.Steps[i]
		if !s.ItemsPaged {
			continue
		}
		var outs []any
		for off := 0; ; {
			pg, err := queryItems(ctx, c, id, workflows.ItemsQuery{Step: s.ID, Offset: off, Limit: workflows.MaxItemsPage})
			if err != nil {
				return err
			}
			for _, it := range pg.Items {
				if it.Outputs != nil {
					outs = append(outs, it.Outputs)
				} else {
					outs = append(outs, nil)
				}
			}
			off += len(pg.Items)
			if len(pg.Items) == 0 || off >= pg.Total {
				break
			}
		}
		if s.ItemsDone > 0 {
			s.Outputs = map[string]any{"items": outs}
		}
	}
	return nil
}

// queryItems asks a request for a page of a fan-out step's items.
func queryItems(ctx context.Context, c client.Client, id string, q workflows.ItemsQuery) (workflows.ItemsPage, error) {
	var pg workflows.ItemsPage
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", workflows.QueryItems, q)
	if err != nil {
		return pg, fmt.Errorf("query the items of step %s of %s: %w", q.Step, id, err)
	}
	if err := v.Get(&pg); err != nil {
		return pg, fmt.Errorf("decode the items of step %s of %s: %w", q.Step, id, err)
	}
	return pg, nil
}
