package workflows

import (
	"slices"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// TestStepEnvNamesWhatIsRead: a step's environment holds the settled steps
// its expressions name, the same entries env() holds for them, and the
// whole map when an expression reads steps without naming them.
func TestStepEnvNamesWhatIsRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		step plan.Step
		want []string // nil: every settled step
	}{
		{"literal inputs", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Lit(1)}}, []string{}},
		{"member", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Expr("steps.a.id")}}, []string{"a"}},
		{"index by name, when, lock", plan.Step{ID: "x", When: `steps["b"].id != ""`, Locks: []string{"steps.a.id"}}, []string{"a", "b"}},
		{"forEach", plan.Step{ID: "x", ForEach: &plan.ForEach{Items: "steps.b.list", Key: "item"}}, []string{"b"}},
		{"not yet settled", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Expr("steps.p.id")}}, []string{}},
		{"index by value", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Expr(`steps[meta.specName].id`)}}, nil},
		{"bare", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Expr("len(steps)")}}, nil},
		{"$env", plan.Step{ID: "x", Inputs: map[string]plan.Value{"n": plan.Expr(`$env.steps.a.id`)}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkPlan(plan.FailRollback, create("a"), create("b"), create("p"), tc.step)
			r := &interp{p: &p, byID: map[string]*stepRun{}, meta: map[string]any{"specName": "a"}}
			for i := range p.Steps {
				sr := &stepRun{s: &p.Steps[i], state: StepPending}
				r.steps = append(r.steps, sr)
				r.byID[sr.s.ID] = sr
			}
			r.sched = r.newSched()
			r.byID["a"].state, r.byID["a"].outputs = StepDone, plan.Outputs{"id": "A"}
			r.byID["b"].state = StepSkipped
			full := r.envScheduled()[plan.RootSteps].(map[string]any)
			got := r.stepEnv(r.byID["x"])[plan.RootSteps].(map[string]any)
			want := tc.want
			if want == nil {
				want = []string{"a", "b"}
			}
			keys := sortedKeys(got)
			if !slices.Equal(keys, want) {
				t.Fatalf("steps %v, want %v", keys, want)
			}
			for _, k := range keys {
				if payload(got[k]) != payload(full[k]) {
					t.Errorf("steps.%s = %v, env() has %v", k, got[k], full[k])
				}
			}
		})
	}
}
