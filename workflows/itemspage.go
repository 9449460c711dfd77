package workflows

import (
	"fmt"
	"strings"
)

// The progress query at scale (issue 14). A query's answer travels in one
// gRPC message, which Temporal's frontend bounds at 4 MB
// (frontend.maxGRPCMessageSize... grpc's default MaxRecvMsgSize, 4 MB, on the
// client); with every fan-out item's outputs in it, the progress of a
// 5,000-broker request was over it and `topoflow status` failed. A query
// changes no history, so the bound needs no version: the progress shows a
// fan-out step with more than MaxProgressItems items by its counts and
// marks it ItemsPaged, its items' outputs and errors are read a page at a
// time with the QueryItems query, and a step's joined item errors are cut
// at maxItemErrors.

// QueryItems is the query of one fan-out step's items, a page at a time
// (ItemsQuery in, ItemsPage out).
const QueryItems = "items"

// MaxProgressItems is the largest fan-out whose items' outputs the progress
// query carries; MaxItemsPage the largest page QueryItems answers.
const (
	MaxProgressItems = 1000
	MaxItemsPage     = 500
	maxItemErrors    = 20
)

// ItemsQuery asks for the items of Step from Offset, at most Limit (0 or
// more than MaxItemsPage: MaxItemsPage).
type ItemsQuery struct {
	Step   string `json:"step"`
	Offset int    `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// ItemsPage is a page of a fan-out step's items.
type ItemsPage struct {
	Step string `json:"step"`
	// Total is the step's number of items; Offset the first one here.
	Total  int            `json:"total"`
	Offset int            `json:"offset"`
	Items  []ItemProgress `json:"items"`
}

// ItemProgress is one fan-out item.
type ItemProgress struct {
	Key       string         `json:"key"`
	State     string         `json:"state"`
	LastError string         `json:"lastError,omitempty"`
	Outputs   map[string]any `json:"outputs,omitempty"`
}

// itemsPage answers QueryItems.
func (r *interp) itemsPage(q ItemsQuery) (ItemsPage, error) {
	sr, ok := r.byID[q.Step]
	if !ok {
		return ItemsPage{}, fmt.Errorf("no step %s in this request", quote(q.Step))
	}
	if !sr.fanout {
		return ItemsPage{}, fmt.Errorf("step %q is not a fan-out", q.Step)
	}
	if q.Offset < 0 {
		return ItemsPage{}, fmt.Errorf("offset %d is negative", q.Offset)
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxItemsPage {
		limit = MaxItemsPage
	}
	pg := ItemsPage{Step: q.Step, Total: len(sr.items), Offset: q.Offset, Items: []ItemProgress{}}
	for i := q.Offset; i < len(sr.items) && i < q.Offset+limit; i++ {
		it := sr.items[i]
		ip := ItemProgress{Key: it.key, State: it.state, LastError: it.lastErr}
		if it.outputs != nil {
			ip.Outputs = map[string]any(it.outputs)
		}
		pg.Items = append(pg.Items, ip)
	}
	return pg, nil
}

// joinItemErrors is a fan-out step's item errors for the progress, cut.
func joinItemErrors(errs []string) string {
	if len(errs) <= maxItemErrors {
		return strings.Join(errs, "; ")
	}
	return strings.Join(errs[:maxItemErrors], "; ") + fmt.Sprintf("; … and %d more (the %q query has every item)", len(errs)-maxItemErrors, QueryItems)
}
