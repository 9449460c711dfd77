package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

func init() {
	var live bool
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Compile a spec and show its plan (table, --output json or mermaid)",
		Long: `Plan compiles the spec in FILE and prints the plan the workflow would run:
a table of steps (step, action, depends on, waits for, compensated by), the
canonical plan JSON (--output json; its sha256 is the plan's identity), or a
Mermaid flowchart (--output mermaid).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := specOptions()
			if err != nil {
				return err
			}
			plans, err := compiler.CompileAll(args, opts)
			if err != nil {
				for _, e := range spec.Errors(err) {
					fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
				}
				return exitCode(1)
			}
			conflicts := false
			for i, p := range plans {
				if i > 0 && globals.Output != "json" {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				if err := printPlan(cmd.OutOrStdout(), p, globals.Output); err != nil {
					return err
				}
				if globals.Output == "json" || globals.Output == "mermaid" {
					continue
				}
				printClaims(cmd.OutOrStdout(), p)
				if live {
					if clash, err := planConflicts(cmd.Context(), cmd.OutOrStdout(), p); err != nil {
						return err
					} else if clash {
						conflicts = true
					}
				}
			}
			if conflicts {
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&live, "live", false, "also check the plan against the live requests in Temporal (what apply refuses)")
	rootCmd.AddCommand(cmd)
}

// printPlan writes p in the given format.
func printPlan(w io.Writer, p *plan.Plan, format string) error {
	switch format {
	case "json":
		b, err := p.JSON()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "mermaid":
		_, err := io.WriteString(w, Mermaid(p))
		return err
	default:
		return planTable(w, p)
	}
}

// planTable writes the plan's header and its steps as an aligned table.
func planTable(w io.Writer, p *plan.Plan) error {
	sum, err := p.Hash()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Plan %s/%s  sha256:%s\n%s\n", p.Source.Kind, p.Source.Name, sum, p.Summary)
	fmt.Fprintf(w, "On failure: %s", p.OnFailure)
	if len(p.Accounts) > 0 {
		fmt.Fprintf(w, "  Accounts: %s", strings.Join(p.Accounts, ", "))
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tACTION\tDEPENDS ON\tWAITS FOR\tCOMPENSATED BY")
	for i, s := range p.Steps {
		id := s.ID
		if s.ForEach != nil {
			id += " [each " + itemName(s.ForEach) + "]"
		}
		action := s.Action
		if s.Account != "" {
			action += " @" + s.Account
		}
		deps := "-"
		if len(s.DependsOn) > 0 {
			deps = strings.Join(s.DependsOn, ", ")
		}
		comp := "-"
		if s.Compensation != nil {
			comp = s.Compensation.Action
			if s.Compensation.WaitAction != "" {
				comp += " (+ wait gone)"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, id, action, deps, waitsFor(&s), comp)
	}
	return tw.Flush()
}

func itemName(fe *plan.ForEach) string {
	if fe.As != "" {
		return fe.As
	}
	return "item"
}

// waitsFor describes what a step waits for: cloud states or people.
func waitsFor(s *plan.Step) string {
	switch {
	case s.Gate != nil:
		what := "approval"
		if s.Action == plan.ActionManual {
			what = "completion"
		}
		out := what + " by " + strings.Join(s.Gate.Who, ", ")
		if s.Gate.Deadline > 0 {
			exp := s.Gate.OnExpiry
			if exp == "" {
				exp = plan.ExpireReject
			}
			out += fmt.Sprintf(" (deadline %s, then %s)", s.Gate.Deadline, exp)
		}
		return out
	case s.Wait != nil:
		target := strings.Join(s.Wait.Target, "|")
		if s.Wait.Gone {
			target = "gone"
		}
		from := ""
		if len(s.Wait.Pending) > 0 {
			from = strings.Join(s.Wait.Pending, "|") + " -> "
		}
		return fmt.Sprintf("%s%s (timeout %s)", from, target, s.Wait.Timeout)
	}
	return "-"
}

// Mermaid renders the plan as a Mermaid flowchart: one node per step,
// edges for dependencies, gates as hexagons, waits as stadiums, fan-out
// steps as subroutines.
func Mermaid(p *plan.Plan) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	node := func(id string) string { return "s_" + strings.ReplaceAll(id, "-", "_") }
	for _, s := range p.Steps {
		label := s.ID + "<br/>" + s.Action
		if s.ForEach != nil {
			label += "<br/>for each " + itemName(s.ForEach)
		}
		if s.Compensation != nil {
			label += "<br/>undo: " + s.Compensation.Action
		}
		label = strings.ReplaceAll(label, `"`, "'")
		var shape string
		switch {
		case s.Gate != nil:
			shape = `{{"` + label + `"}}`
		case s.Wait != nil:
			shape = `(["` + label + `"])`
		case s.ForEach != nil:
			shape = `[["` + label + `"]]`
		default:
			shape = `["` + label + `"]`
		}
		fmt.Fprintf(&b, "  %s%s\n", node(s.ID), shape)
	}
	// Draw only the direct edges that are not implied transitively.
	ancestors := map[string]map[string]bool{}
	for _, s := range p.Steps {
		anc := map[string]bool{}
		for _, d := range s.DependsOn {
			anc[d] = true
			for a := range ancestors[d] {
				anc[a] = true
			}
		}
		ancestors[s.ID] = anc
		deps := append([]string(nil), s.DependsOn...)
		sort.Strings(deps)
		for _, d := range deps {
			implied := false
			for _, o := range deps {
				if o != d && ancestors[o][d] {
					implied = true
				}
			}
			if !implied {
				fmt.Fprintf(&b, "  %s --> %s\n", node(d), node(s.ID))
			}
		}
	}
	return b.String()
}
