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
	var against string
	var live bool
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Compile a spec and show its plan (table, --output wide, json or mermaid)",
		Long: `Plan compiles the spec in FILE and prints the plan the workflow would run:
a table of steps that fits 120 columns (step, action, account, whether a
rollback undoes it, and under each waiting step what it waits for), every
detail in one wide table (--output wide: depends on, waits for, compensated
by), the canonical plan JSON (--output json; its sha256 is the plan's
identity), or a Mermaid flowchart (--output mermaid). With --against
REQUEST it compares the plan with what a Done request created: steps to add,
change, remove or keep.`,
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
			if against != "" {
				if len(plans) != 1 {
					return usageError{"plan --against takes one FILE"}
				}
				return runDelta(cmd.Context(), cmd.OutOrStdout(), plans[0], against) // delta.go
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
	cmd.Flags().StringVar(&against, "against", "", "compare with what this Done request created (REQUEST: workflow ID, Kind/Name or spec file)")
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
	case "wide":
		return planTable(w, p)
	default:
		return planNarrow(w, p)
	}
}

// planTable writes the plan's header and its steps as an aligned table with
// every detail (plan -o wide).
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
func Mermaid(p *plan.Plan) string { return mermaid(p, nil) }

// mermaid renders the flowchart; note, if set, adds a line to each step's
// label (status adds the step's state).
func mermaid(p *plan.Plan, note func(s *plan.Step) string) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	node := mermaidNode
	for _, s := range p.Steps {
		label := s.ID + "<br/>" + s.Action
		if s.ForEach != nil {
			label += "<br/>for each " + itemName(s.ForEach)
		}
		if s.Compensation != nil {
			label += "<br/>undo: " + s.Compensation.Action
		}
		if note != nil {
			label += "<br/>" + note(&s)
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

// narrowWidth is the width planNarrow keeps to.
const narrowWidth = 120

// planNarrow writes the plan's header and its steps in at most 120 columns:
// step, action, account and undo on one line, what a step waits for on the
// next (plan -o wide shows every detail in columns).
func planNarrow(w io.Writer, p *plan.Plan) error {
	sum, err := p.Hash()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Plan %s/%s  sha256:%s\n", p.Source.Kind, p.Source.Name, sum)
	for _, l := range wrap(p.Summary, narrowWidth) {
		fmt.Fprintln(w, l)
	}
	head := "On failure: " + string(p.OnFailure)
	if len(p.Accounts) > 0 {
		head += "  Accounts: " + strings.Join(p.Accounts, ", ")
	}
	for _, l := range wrap(head, narrowWidth) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	rows := [][]string{{"#", "STEP", "ACTION", "ACCOUNT", "UNDO"}}
	var waits []string
	fanout := false
	for i, s := range p.Steps {
		id := s.ID
		if s.ForEach != nil {
			id += " *"
			fanout = true
		}
		undo := "-"
		if s.Compensation != nil {
			undo = "yes"
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), id, s.Action, dash(s.Account), undo})
		waits = append(waits, waitsFor(&s))
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, c := range r {
			widths[j] = max(widths[j], len(c))
		}
	}
	for i, r := range rows {
		var b strings.Builder
		for j, c := range r {
			if j == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[j], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i > 0 && waits[i-1] != "-" {
			indent := strings.Repeat(" ", widths[0]+2)
			for _, l := range wrap("waits for "+waits[i-1], narrowWidth-len(indent)-2) {
				fmt.Fprintln(w, indent+"  "+l)
			}
		}
	}
	if fanout {
		fmt.Fprintln(w, "\n* once per item of its list (each broker)   -o wide: dependencies and compensations")
	} else {
		fmt.Fprintln(w, "\n-o wide: dependencies and compensations")
	}
	return nil
}

// wrap breaks text into lines of at most width runes at spaces (a longer
// word keeps its own line).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
