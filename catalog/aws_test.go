package catalog

import (
	"strings"
	"testing"

	"github.com/topoflow/topoflow/plan"
)

// TestCloudDescriptors checks the AWS, Azure and Ambari descriptors: inverses
// and wait actions exist, waits are sane contracts on read actions, inverse
// inputs only read the step's input/output, and lock expressions parse.
func TestCloudDescriptors(t *testing.T) {
	n := 0
	for _, name := range Names() {
		a, _ := Lookup(name)
		if a.Provider != "aws" && a.Provider != "azure" && a.Provider != "ambari" {
			continue
		}
		n++
		if !strings.HasPrefix(name, a.Provider+".") {
			t.Errorf("%s: provider %s does not match the name", name, a.Provider)
		}
		if a.Title == "" {
			t.Errorf("%s: no title", name)
		}
		if a.Wait != nil {
			if !a.Read {
				t.Errorf("%s: wait contract on an action that is not a read", name)
			}
			checkWait(t, name, a.Wait)
		}
		if a.Read && a.Inverse != nil {
			t.Errorf("%s: a read action has an inverse", name)
		}
		if inv := a.Inverse; inv != nil {
			if _, ok := Lookup(inv.Action); !ok {
				t.Errorf("%s: inverse %s is not registered", name, inv.Action)
			}
			for k, v := range inv.Inputs {
				if !v.IsExpr() {
					continue
				}
				refs, err := plan.ParseRefs(v.Expr)
				if err != nil {
					t.Errorf("%s: inverse input %s: %v", name, k, err)
				}
				for _, r := range refs.Roots {
					if r != plan.RootInput && r != plan.RootOutput {
						t.Errorf("%s: inverse input %s reads %s", name, k, r)
					}
				}
			}
			if inv.Wait != nil {
				w, ok := Lookup(inv.WaitAction)
				if !ok || !w.Read {
					t.Errorf("%s: inverse wait action %q is not a registered read", name, inv.WaitAction)
				}
				checkWait(t, name+" inverse", inv.Wait)
			}
		}
		for _, l := range a.Locks {
			if _, err := plan.ParseRefs(l); err != nil {
				t.Errorf("%s: lock %q: %v", name, l, err)
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d AWS/Azure/Ambari actions registered", n)
	}
}

func checkWait(t *testing.T, name string, w *plan.Wait) {
	t.Helper()
	p := plan.Plan{APIVersion: plan.APIVersion, OnFailure: plan.FailRollback,
		Steps: []plan.Step{{ID: "s", Action: name, Wait: w}}}
	if err := p.Check(); err != nil {
		t.Errorf("%s: wait contract: %v", name, err)
	}
}
