package workflows

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// TestProgressPagesLargeFanOuts: the progress of a fan-out with more than
// MaxProgressItems items carries its counts, not its items' outputs
// (before, 5,000 brokers' outputs took the answer over gRPC's 4 MB); the
// items query answers them a page at a time, every item once, and refuses
// what is not a fan-out. A small fan-out's progress is as before.
func TestProgressPagesLargeFanOuts(t *testing.T) {
	for _, n := range []int{4, MaxProgressItems + 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rec := newRecorder()
			env := newEnv(t, rec)
			p := mkPlan(plan.FailRollback, brokers(n), fanout(200))
			if err := run(t, env, request(p)); err != nil {
				t.Fatal(err)
			}
			prog := queryProgress(t, env)
			b, _ := json.Marshal(prog)
			sp := prog.Steps[1]
			t.Logf("%d items: progress %d bytes", n, len(b))
			if sp.Items != n || sp.ItemsDone != n {
				t.Fatalf("endpoint %d/%d items, want %d", sp.ItemsDone, sp.Items, n)
			}
			if n <= MaxProgressItems {
				if items, _ := sp.Outputs["items"].([]any); sp.ItemsPaged || len(items) != n {
					t.Fatalf("a small fan-out's progress: paged %v, %d outputs; want its %d items' outputs", sp.ItemsPaged, len(items), n)
				}
				return
			}
			if !sp.ItemsPaged || sp.Outputs != nil {
				t.Fatalf("paged %v, outputs %d; want the items paged and no outputs", sp.ItemsPaged, len(sp.Outputs))
			}
			if len(b) > 64<<10 {
				t.Errorf("progress of %d items is %d bytes, want it bounded by the steps, not the items", n, len(b))
			}
			seen := map[string]bool{}
			for off := 0; ; {
				v, err := env.QueryWorkflow(QueryItems, ItemsQuery{Step: "endpoint", Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				var pg ItemsPage
				if err := v.Get(&pg); err != nil {
					t.Fatal(err)
				}
				if pg.Total != n || len(pg.Items) > MaxItemsPage {
					t.Fatalf("page at %d: total %d, %d items", off, pg.Total, len(pg.Items))
				}
				if len(pg.Items) == 0 {
					break
				}
				for _, it := range pg.Items {
					if seen[it.Key] || it.State != StepDone || it.Outputs["id"] == nil {
						t.Fatalf("item %+v (seen %v)", it, seen[it.Key])
					}
					seen[it.Key] = true
				}
				off += len(pg.Items)
			}
			if len(seen) != n {
				t.Errorf("%d items paged, want %d", len(seen), n)
			}
			for _, q := range []ItemsQuery{{Step: "list"}, {Step: "nope"}, {Step: "endpoint", Offset: -1}} {
				if _, err := env.QueryWorkflow(QueryItems, q); err == nil {
					t.Errorf("items query %+v answered, want refused", q)
				}
			}
		})
	}
}
