package workflows

import (
	"fmt"
	"strings"
	"time"
)

// writeGrantState writes a grant's drift watch and last change in the Web
// UI's details (the same Markdown gomarkdown renders as the rest): when the
// last check ran and what it found, and what the last change did.
func (r *interp) writeGrantState(b *strings.Builder) {
	if r.basePhase == "" {
		return // a request, not a grant
	}
	req := strings.TrimSuffix(r.wfID, "/grant")
	if d := r.drift; d != nil {
		if len(d.Findings) == 0 {
			fmt.Fprintf(b, "**Drift**: none: %d check(s) passed at %s (every %s)\n\n", d.Checks, d.CheckedAt.UTC().Format(time.RFC3339), d.Every.Std())
		} else {
			fmt.Fprintf(b, "**Drift** found by the check at %s (every %s): %d of %d checks failed\n\n", d.CheckedAt.UTC().Format(time.RFC3339),
				d.Every.Std(), len(d.Findings), d.Checks)
			b.WriteString("| Step | Item | Action | Error |\n|---|---|---|---|\n")
			for _, f := range d.Findings {
				fmt.Fprintf(b, "| %s | %s | `%s` | %s |\n", cell(f.Step), cell(f.Item), cell(f.Action), cell(oneLine(f.Error, 300)))
			}
			auto := "an operator repairs it as a delta plan, after the approval gates of the plan:"
			if r.p != nil && r.p.Drift != nil && r.p.Drift.AutoRepair {
				auto = "the spec sets drift.autoRepair: the grant repairs it by itself; or, by hand:"
			}
			fmt.Fprintf(b, "\nRepair: %s\n\n```\ntopoflow repair %s --reason '…'\n```\n\n", auto, req)
		}
	}
	if c := r.lastChange; c != nil {
		fmt.Fprintf(b, "**Last change**: %s\n\n", mdText(changeSummary(c)))
		for _, l := range []struct {
			mark  string
			units []string
		}{{"added", c.Added}, {"updated in place", c.Updated}, {"removed", c.Removed}} {
			if len(l.units) > 0 {
				fmt.Fprintf(b, "- %s: %s\n", l.mark, mdText(strings.Join(l.units, ", ")))
			}
		}
		b.WriteString("\n")
	}
}

// cell is text for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return mdText(cellEscaper.Replace(s))
}

// cellEscaper is built once (see mdEscaper).
var cellEscaper = strings.NewReplacer("|", "/", "`", "'", "\n", " ")
