package workflows

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/plan"
)

// The Web UI's current details (workflow.SetCurrentDetails) of a request.
//
// The Temporal Web UI (ui-server v2.42.1, embedded in the pinned Temporal
// CLI) renders user metadata through its /render route with gomarkdown,
// parser.CommonExtensions and html.CommonFlags, inside an iframe whose CSP
// allows no inline style (server/route/ui.go). So: no task lists (`- [x]`
// stays literal), no block quote nested in a list item (its `>` stays
// literal), every font size is 100 % (headings look like bold text), but
// tables, fenced code, bold and emoji render. States are therefore
// coloured by emoji, instructions are top-level block quotes, and the
// commands and payloads are fenced code a person can copy.
//
// Setting the current details issues no command and adds no event, so its
// text may change without a workflow.GetVersion guard.

// StepStyle is how a step state is shown: an emoji for the Web UI's details
// and a fill and stroke colour for `topoflow status -o mermaid`.
type StepStyle struct {
	Emoji  string
	Fill   string
	Stroke string
}

// stepStyles maps each step state to its colour; the same palette serves
// the Web UI details and the Mermaid graph.
var stepStyles = map[string]StepStyle{
	StepPending:     {Emoji: "⚪", Fill: "#f3f4f6", Stroke: "#9ca3af"},
	StepRunning:     {Emoji: "🔵", Fill: "#dbeafe", Stroke: "#2563eb"},
	StepWaiting:     {Emoji: "🟡", Fill: "#fef9c3", Stroke: "#ca8a04"},
	StepDone:        {Emoji: "🟢", Fill: "#dcfce7", Stroke: "#16a34a"},
	StepSkipped:     {Emoji: "⏭️", Fill: "#e5e7eb", Stroke: "#6b7280"},
	StepFailed:      {Emoji: "🔴", Fill: "#fee2e2", Stroke: "#dc2626"},
	StepParked:      {Emoji: "🟠", Fill: "#ffedd5", Stroke: "#ea580c"},
	StepCompensated: {Emoji: "↩️", Fill: "#ede9fe", Stroke: "#7c3aed"},
	StepCompFailed:  {Emoji: "⛔", Fill: "#fecaca", Stroke: "#991b1b"},
}

// StyleOf returns the style of a step state (pending's for an unknown state).
func StyleOf(state string) StepStyle {
	if s, ok := stepStyles[state]; ok {
		return s
	}
	return stepStyles[StepPending]
}

// StepStates lists every step state in the order a legend shows them.
var StepStates = []string{StepPending, StepRunning, StepWaiting, StepParked, StepDone, StepSkipped,
	StepFailed, StepCompensated, StepCompFailed}

// phaseEmoji colours the phase line.
var phaseEmoji = map[string]string{
	PhaseRunning: "🔵", PhaseWaitingApproval: "🟡", PhaseWaitingManual: "🟡", PhaseParked: "🟠",
	PhaseRollingBack: "↩️", PhaseDone: "🟢", PhaseRolledBack: "↩️", PhaseFailed: "🔴",
	// The phases of a Done request's grant (day-two work on main).
	"Granted": "🟢", "Drifted": "🟠", "Revoking": "↩️", "Revoked": "⚪", "Changing": "🔵",
}

// Act is one way a person can move a request on: the topoflow command and
// the equivalent Temporal Update with its ready-to-paste payload.
type Act struct {
	// What names the act, e.g. "Approve".
	What string `json:"what"`
	// Command is the topoflow command line.
	Command string `json:"command"`
	// Update is the Update's name and Payload its JSON input.
	Update  string `json:"update"`
	Payload string `json:"payload"`
}

// gateActs are the acts on a waiting gate or a parked step, as identity.
func gateActs(wfID string, s *plan.Step, state, identity string) []Act {
	q := shellQuote(wfID)
	dec := func(name, what, extra string, d Decision) Act {
		return Act{What: what, Update: name, Payload: payload(d),
			Command: fmt.Sprintf("topoflow %s %s --step %s --as %s%s", name, q, shellQuote(s.ID), shellQuote(identity), extra)}
	}
	op := func(name, what, extra string, a OperatorAction) Act {
		c := fmt.Sprintf("topoflow %s %s", name, q)
		if a.Step != "" {
			c += " --step " + shellQuote(a.Step)
		}
		return Act{What: what, Update: name, Payload: payload(a), Command: c + " --as " + shellQuote(identity) + extra}
	}
	switch {
	case state == StepWaiting && s.Action == plan.ActionApproval:
		return []Act{
			dec(UpdateApprove, "Approve", "", Decision{Step: s.ID, Identity: identity}),
			dec(UpdateReject, "Reject (the request rolls back)", ` --comment "why"`, Decision{Step: s.ID, Identity: identity, Comment: "why"}),
		}
	case state == StepWaiting && s.Action == plan.ActionManual:
		return []Act{dec(UpdateComplete, "Confirm done", ` --comment "what was done"`,
			Decision{Step: s.ID, Identity: identity, Comment: "what was done"})}
	case state == StepParked:
		return []Act{
			op(UpdateRetry, "Retry (after fixing the cause)", "", OperatorAction{Step: s.ID, Identity: identity}),
			op(UpdateSkip, "Skip (go on without it)", ` --reason "why"`, OperatorAction{Step: s.ID, Identity: identity, Reason: "why"}),
			op(UpdateRollback, "Roll back the request", ` --reason "why"`, OperatorAction{Identity: identity, Reason: "why"}),
		}
	}
	return nil
}

// outputText shows an output value: strings as they are, lists of
// strings comma-joined, anything else as compact JSON.
func outputText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return payload(v)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ",")
	}
	return payload(v)
}

// payload is v as compact JSON (the payloads hold only strings).
func payload(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '-' || r == '_' || r == '.' || r == ':' || r == '@' || r == '=' || r == ',' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// mdText makes s safe inside Markdown inline text and table cells: one line,
// no raw HTML, no table separators, no code-span breaks.
func mdText(s string) string {
	return strings.TrimSpace(mdEscaper.Replace(s))
}

// mdEscaper and outputEscaper are built once: a Replacer builds its tables
// on first use, and building one per call was most of the CPU a replay of a
// long chain spent rendering the details.
var (
	mdEscaper     = strings.NewReplacer("\r", " ", "\n", " ", "<", `\<`, ">", `\>`, "|", `\|`, "`", "'")
	outputEscaper = strings.NewReplacer("`", "'", "|", "/")
)

// quoteInstructions quotes a gate's Markdown instructions as one top-level
// block quote. The Web UI's renderer does not let a list interrupt a
// paragraph (CommonMark does), so a list item right after a text line gets
// an empty quoted line before it; task boxes become characters.
func quoteInstructions(text string) string {
	var b strings.Builder
	prevText := false
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimRight(line, " \t\r")
		item := isListItem(line)
		if item && prevText {
			b.WriteString(">\n")
		}
		fmt.Fprintf(&b, "> %s\n", taskBoxes(line))
		prevText = line != "" && !item
	}
	return b.String()
}

// isListItem reports whether a Markdown line starts a list item.
func isListItem(line string) bool {
	t := strings.TrimLeft(line, " \t")
	for _, bullet := range []string{"- ", "* ", "+ "} {
		if strings.HasPrefix(t, bullet) {
			return true
		}
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' '
}

// taskBoxes shows a Markdown task-list item's box as a character: the Web
// UI's renderer has no task lists and would show "[x]" literally.
func taskBoxes(line string) string {
	trimmed := strings.TrimLeft(line, " \t")
	indent := line[:len(line)-len(trimmed)]
	for _, bullet := range []string{"- ", "* ", "+ "} {
		rest, ok := strings.CutPrefix(trimmed, bullet)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(rest, "[x] "), strings.HasPrefix(rest, "[X] "):
			return indent + bullet + "☑ " + rest[4:]
		case strings.HasPrefix(rest, "[ ] "):
			return indent + bullet + "☐ " + rest[4:]
		}
	}
	return line
}

// rolledBackMessage is the message of a rolled-back request: Result.Message
// since rolledBackChange (the workflow completes, outcome.go), the failure
// message before it (the Web UI shows a failed workflow in red beside a
// Reset button). It says first that this is a deliberate, clean undo.
func rolledBackMessage(reason string, leaked bool) string {
	if leaked {
		return "request rolled back: " + reason
	}
	return "request rolled back as designed, not a crash (every completed step undone, nothing left behind; apply the spec again when ready, no Reset needed): " + reason
}

// phaseLine is the first line: the phase in words and who must act.
func (r *interp) phaseLine() string {
	emoji := phaseEmoji[r.phase]
	var b strings.Builder
	fmt.Fprintf(&b, "%s **%s**", emoji, r.phase)
	switch {
	case r.phase == PhaseRolledBack:
		b.WriteString(" — the request was undone on purpose (not a crash): every completed step was compensated and nothing is left behind")
	case r.phase == PhaseDone:
		b.WriteString(" — every step is done")
	case r.stop != nil:
		// RollingBack, or a final Failed.
	case len(r.awaiting) > 0:
		fmt.Fprintf(&b, " — **%s** must act", mdText(strings.Join(r.awaiting, ", ")))
	case r.phase == PhaseDrifted && r.drift != nil:
		fmt.Fprintf(&b, " — %d of %d drift checks failed; an operator repairs it with `topoflow repair %s`", len(r.drift.Findings), r.drift.Checks,
			strings.TrimSuffix(r.wfID, "/grant"))
	default:
		b.WriteString(" — nobody needs to act now")
	}
	if r.stop != nil {
		fmt.Fprintf(&b, " — %s", mdText(r.stopReason()))
	}
	return b.String()
}

// detailsMarkdown is the Web UI's current details: the phase and who must
// act first, then, for each step waiting for people, its deadline,
// instructions, the topoflow command and the Update payload, then a table
// of the steps coloured by state.
func (r *interp) detailsMarkdown() string {
	var b strings.Builder
	b.WriteString(r.phaseLine())
	b.WriteString("\n\n")
	if !r.final && r.stop == nil {
		for _, sr := range r.steps {
			if sr.state == StepWaiting || sr.state == StepParked {
				r.writeActing(&b, sr)
			}
		}
	}
	if r.phase == PhaseDone && len(r.outputs) > 0 {
		b.WriteString("**Outputs**\n\n| Output | Value |\n|---|---|\n")
		for _, k := range sortedKeys(r.outputs) {
			fmt.Fprintf(&b, "| %s | `%s` |\n", mdText(k), outputEscaper.Replace(oneLine(outputText(r.outputs[k]), 500)))
		}
		b.WriteString("\n")
	}
	r.writeGrantState(&b) // summary_grant.go
	r.writeSteps(&b)
	if len(r.leaks) > 0 {
		b.WriteString("\n**Left behind** (clean up by hand):\n\n")
		leaks := append([]Leak(nil), r.leaks...)
		sort.SliceStable(leaks, func(i, j int) bool { return leaks[i].Step < leaks[j].Step })
		for _, l := range leaks {
			fmt.Fprintf(&b, "- %s %s: %s\n", mdText(l.Step), mdText(l.Resource), mdText(oneLine(l.Error, 200)))
		}
	}
	return b.String()
}

// writeActing writes what the people a step waits for must know and do.
func (r *interp) writeActing(b *strings.Builder, sr *stepRun) {
	s := sr.s
	what := "Waiting"
	if sr.state == StepParked {
		what = "Parked"
	}
	fmt.Fprintf(b, "%s %s: **%s** (step `%s`)", StyleOf(sr.state).Emoji, what, mdText(s.Title), mdText(s.ID))
	if len(sr.awaiting) > 0 {
		fmt.Fprintf(b, " — waiting for **%s**", mdText(strings.Join(sr.awaiting, ", ")))
	}
	if sr.state == StepWaiting && s.Gate != nil && required(s.Gate) > 1 && r.trustV >= 1 {
		fmt.Fprintf(b, " — %d of %d approvals", len(sr.approvals), required(s.Gate))
	}
	b.WriteString("\n\n")
	if sr.state == StepWaiting && s.Gate != nil && s.Gate.Deadline > 0 && !sr.started.IsZero() {
		policy := s.Gate.OnExpiry
		if policy == "" {
			policy = plan.ExpireReject
		}
		at := sr.started.Add(s.Gate.Deadline.Std()).UTC()
		fmt.Fprintf(b, "**Deadline**: %s (%s after it started); then: %s\n\n", at.Format("2006-01-02 15:04:05 UTC"), s.Gate.Deadline, policy)
	}
	if sr.state == StepWaiting && s.Gate != nil && strings.TrimSpace(s.Gate.Instructions) != "" {
		b.WriteString(quoteInstructions(s.Gate.Instructions))
		b.WriteString("\n")
	}
	if sr.state == StepParked && sr.lastErr != "" {
		fmt.Fprintf(b, "Error: `%s`\n\n", mdText(oneLine(sr.lastErr, 300)))
	}
	identity := "you"
	if len(sr.awaiting) > 0 {
		identity = sr.awaiting[0]
	}
	acts := gateActs(r.wfID, s, sr.state, identity)
	if len(acts) == 0 {
		return
	}
	if len(sr.awaiting) > 1 {
		fmt.Fprintf(b, "Act as yourself: set `identity` (and `--as`) to one of %s.\n\n", mdText(strings.Join(sr.awaiting, ", ")))
	}
	for i, a := range acts {
		if i == 0 {
			fmt.Fprintf(b, "**%s** with the topoflow CLI (an Update; it signs the decision when a key is set):\n\n```\n%s\n```\n\n", a.What, a.Command)
			fmt.Fprintf(b, "or in this page: **Send an Update**, Update name `%s`, input:\n\n```\n%s\n```\n\n", a.Update, a.Payload)
			continue
		}
		fmt.Fprintf(b, "%s: `%s` (Update `%s`, input `%s`)\n\n", a.What, mdText(a.Command), a.Update, mdText(a.Payload))
	}
	if r.snap != nil && r.snap.Strict() {
		b.WriteString("This worker's trust is strict: an unsigned decision is refused, so act with the topoflow CLI and your key.\n\n")
	} else {
		b.WriteString("Prefer Updates: a refused Update says why at once; a Signal of the same name is kept for compatibility, and a refused one is only recorded in the audit.\n\n")
	}
}

// writeSteps writes the steps as a table, each row coloured by its state.
func (r *interp) writeSteps(b *strings.Builder) {
	done := 0
	for _, sr := range r.steps {
		if sr.state == StepDone || sr.state == StepSkipped {
			done++
		}
	}
	fmt.Fprintf(b, "**Steps** (%d of %d done)\n\n| | Step | State | Detail |\n|---|---|---|---|\n", done, len(r.steps))
	for i := range r.steps {
		b.WriteString(r.stepRowText(i)) // hotpath.go
	}
}
