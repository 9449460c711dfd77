package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/topoflow/topoflow/workflows"
)

// barWidth is the number of cells of a fan-out's progress bar.
const barWidth = 20

// isTerminal reports whether w is a terminal (a character device): only
// then do apply --wait and status draw progress bars and redraw them in
// place; a pipe or a file gets plain lines ("3/5 items").
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws done of total in width cells: "[██████░░░░] 3/5 items".
func progressBar(done, total, width int) string {
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	full := done * width / total
	return fmt.Sprintf("[%s%s] %d/%d items", strings.Repeat("█", full), strings.Repeat("░", width-full), done, total)
}

// stepDetailFor is stepDetail with a fan-out's progress drawn as a bar when
// bars is set.
func stepDetailFor(s workflows.StepProgress, bars bool) string {
	d := stepDetail(s)
	if !bars || s.Items == 0 {
		return d
	}
	return strings.Replace(d, fmt.Sprintf("%d/%d items", s.ItemsDone, s.Items), progressBar(s.ItemsDone, s.Items, barWidth), 1)
}

// liveLines prints follow's lines; on a terminal a fan-out step's line that
// follows its own previous line replaces it (cursor up, clear line), so its
// bar moves in place instead of scrolling one line per item.
type liveLines struct {
	w    io.Writer
	tty  bool
	last string // the step whose line was printed last ("": another line)
}

// step prints a step's line.
func (l *liveLines) step(id string, fanout bool, line string) {
	if l.tty && fanout && l.last == id {
		fmt.Fprint(l.w, "\x1b[1A\x1b[2K")
	}
	fmt.Fprintln(l.w, line)
	l.last = ""
	if fanout {
		l.last = id
	}
}

// other prints a line that is not a step's (a phase, a hint).
func (l *liveLines) other(line string) {
	fmt.Fprintln(l.w, line)
	l.last = ""
}

// followPrinter prints what changed in a request's progress, poll after
// poll (apply --wait): the phase, each step whose state, observed status or
// fan-out progress changed, and the next command.
type followPrinter struct {
	lines               liveLines
	id                  string
	seen                map[string]string
	lastPhase, lastHint string
}

func newFollowPrinter(w io.Writer, id string, tty bool) *followPrinter {
	return &followPrinter{lines: liveLines{w: w, tty: tty}, id: id, seen: map[string]string{}}
}

// report prints the changes of p, stamped with now.
func (fp *followPrinter) report(p workflows.Progress, now time.Time) {
	stamp := now.Format(time.TimeOnly)
	if p.Phase != fp.lastPhase {
		line := fmt.Sprintf("%s  phase %s", stamp, p.Phase)
		if len(p.Awaiting) > 0 {
			line += " — awaiting " + strings.Join(p.Awaiting, ", ")
		}
		fp.lines.other(line)
		fp.lastPhase = p.Phase
	}
	for _, s := range p.Steps {
		key := s.State + "|" + s.Observed + "|" + fmt.Sprint(s.ItemsDone)
		if fp.seen[s.ID] == key {
			continue
		}
		if fp.seen[s.ID] == "" && s.State == workflows.StepPending {
			fp.seen[s.ID] = key
			continue
		}
		fp.seen[s.ID] = key
		detail := stepDetailFor(s, fp.lines.tty)
		if detail == "-" {
			detail = ""
		}
		fp.lines.step(s.ID, s.Items > 0, fmt.Sprintf("%s  %-34s %-12s %s", stamp, s.ID, s.State, detail))
	}
	if hint := nextHint(fp.id, p); hint != "" && hint != fp.lastHint {
		fp.lines.other(fmt.Sprintf("%s  next: %s", stamp, hint))
		fp.lastHint = hint
	}
}
