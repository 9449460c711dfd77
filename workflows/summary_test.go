package workflows

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomarkdown/markdown"
	"github.com/gomarkdown/markdown/html"
	"github.com/gomarkdown/markdown/parser"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// renderLikeWebUI renders Markdown as the Temporal Web UI does: ui-server
// v2.42.1 (the pinned Temporal CLI's), server/route/ui.go processMarkdown,
// gomarkdown at the version its go.mod requires.
func renderLikeWebUI(md string) string {
	p := parser.NewWithExtensions(parser.CommonExtensions | parser.AutoHeadingIDs)
	r := html.NewRenderer(html.RendererOptions{Flags: html.CommonFlags | html.HrefTargetBlank})
	return string(markdown.Render(p.Parse([]byte(md)), r))
}

var (
	tagRE  = regexp.MustCompile(`<[^>]+>`)
	codeRE = regexp.MustCompile(`(?s)<code>.*?</code>`)
	// literalQuoteRE is a ">" that began a line of Markdown but was not
	// parsed as a block quote (as in a list item).
	literalQuoteRE = regexp.MustCompile(`(?m)(^|<li>)\s*&gt;`)
	preRE          = regexp.MustCompile(`(?s)<pre><code>(.*?)</code></pre>`)
)

// visibleProse is the rendered text outside code, as a person reads it.
func visibleProse(h string) string {
	return tagRE.ReplaceAllString(codeRE.ReplaceAllString(h, ""), "")
}

// codeBlocks are the fenced blocks a person copies, unescaped.
func codeBlocks(h string) []string {
	var out []string
	for _, m := range preRE.FindAllStringSubmatch(h, -1) {
		out = append(out, strings.TrimSpace(strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&", "&#39;", "'").Replace(m[1])))
	}
	return out
}

func testInterp(steps ...*stepRun) *interp {
	r := &interp{wfID: "topoflow/Workflow/demo", phase: PhaseRunning, byID: map[string]*stepRun{}}
	for _, sr := range steps {
		r.steps = append(r.steps, sr)
		r.byID[sr.s.ID] = sr
	}
	return r
}

func TestDetailsMarkdownRendersInTheWebUI(t *testing.T) {
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	approval := &plan.Step{ID: "ok", Title: "Approve the access", Action: plan.ActionApproval,
		Gate: &plan.Gate{Who: []string{"alice"}, Instructions: "Check the ticket.\n> and the CIDR | 10.0.0.0/8\n- [x] done", Deadline: plan.D(24 * time.Hour)}}
	manual := &plan.Step{ID: "cabling", Title: "Plug the cable", Action: plan.ActionManual,
		Gate: &plan.Gate{Who: []string{"group:net"}, Instructions: "Port 7"}}
	action := &plan.Step{ID: "create", Title: "Create <endpoint> service", Action: "huawei.vpcep.createService"}
	type want struct {
		lead     string // the first rendered line, as text
		commands []string
		payloads []any // each decoded strictly into its type and compared
		prose    []string
		codes    []string // inline code spans, unescaped
	}
	tests := []struct {
		name  string
		setup func() *interp
		want  want
	}{
		{"approval", func() *interp {
			r := testInterp(
				&stepRun{s: approval, state: StepWaiting, awaiting: []string{"alice"}, gateKind: PhaseWaitingApproval, started: started},
				&stepRun{s: action, state: StepPending})
			r.phase, r.awaiting = PhaseWaitingApproval, []string{"alice"}
			return r
		}, want{
			lead:     "🟡 WaitingApproval — alice must act",
			commands: []string{"topoflow approve topoflow/Workflow/demo --step ok --as alice"},
			payloads: []any{&Decision{Step: "ok", Identity: "alice"}},
			prose:    []string{"Deadline: 2026-12-02 10:00:00 UTC (24h after it started); then: reject", "Check the ticket.", "Send an Update", "Reject"},
		}},
		{"manual for a group", func() *interp {
			r := testInterp(&stepRun{s: manual, state: StepWaiting, awaiting: []string{"bob", "erin"}, gateKind: PhaseWaitingManual, started: started})
			r.phase, r.awaiting = PhaseWaitingManual, []string{"bob", "erin"}
			return r
		}, want{
			lead:     "🟡 WaitingManual — bob, erin must act",
			commands: []string{`topoflow complete topoflow/Workflow/demo --step cabling --as bob --comment "what was done"`},
			payloads: []any{&Decision{Step: "cabling", Identity: "bob", Comment: "what was done"}},
			prose:    []string{"Port 7", "one of bob, erin"},
		}},
		{"parked, strict", func() *interp {
			r := testInterp(&stepRun{s: action, state: StepParked, awaiting: []string{"carol"}, lastErr: "huawei.vpcep.createService: Forbidden: `403`"})
			r.phase, r.awaiting = PhaseParked, []string{"carol"}
			r.snap = &trust.Snapshot{Mode: trust.ModeStrict}
			return r
		}, want{
			lead:     "🟠 Parked — carol must act",
			commands: []string{"topoflow retry topoflow/Workflow/demo --step create --as carol"},
			payloads: []any{&OperatorAction{Step: "create", Identity: "carol"}},
			prose:    []string{"Skip", "Roll back", "strict", "Create &lt;endpoint&gt; service"},
		}},
		{"rolled back", func() *interp {
			r := testInterp(&stepRun{s: approval, state: StepFailed, lastErr: "rejected by alice"}, &stepRun{s: action, state: StepCompensated})
			r.phase, r.final = PhaseRolledBack, true
			r.stop = &stopReq{reason: "step ok: rejected by alice"}
			return r
		}, want{
			lead:  "↩️ RolledBack — the request was undone on purpose (not a crash)",
			prose: []string{"compensated", "rejected by alice"},
		}},
		{"drifted grant", func() *interp {
			r := testInterp(&stepRun{s: approval, state: StepDone}, &stepRun{s: action, state: StepDone})
			r.wfID = "topoflow/Workflow/demo/grant"
			r.phase, r.basePhase = PhaseDrifted, PhaseDrifted
			r.drift = &Drift{CheckedAt: started, Checks: 3, Every: plan.D(time.Hour),
				Findings: []DriftFinding{{Step: "wait-endpoint", Item: "port-1", Action: "huawei.vpcep.getEndpoint", Error: "NotFound | gone"}}}
			r.lastChange = &ChangeResult{N: 2, Kind: "apply", PlanSHA256: "abcdef0123456789", Outcome: ChangeChanged,
				Added: []string{"create-endpoint[port-4]"}, Updated: []string{"set-advertised-ips"}, Kept: 9}
			return r
		}, want{
			lead:     "🟠 Drifted — 1 of 3 drift checks failed; an operator repairs it with",
			commands: []string{"topoflow repair topoflow/Workflow/demo --reason '…'"},
			prose: []string{"Drift found by the check at 2026-12-01T10:00:00Z (every 1h0m0s): 1 of 3 checks failed", "wait-endpoint", "port-1",
				"NotFound / gone", "after the approval gates of the plan", "Last change", "1 added, 1 updated, 0 removed, 9 kept", "create-endpoint[port-4]"},
			codes: []string{"topoflow repair topoflow/Workflow/demo", "huawei.vpcep.getEndpoint"},
		}},
		{"done", func() *interp {
			r := testInterp(&stepRun{s: approval, state: StepDone}, &stepRun{s: action, state: StepDone})
			r.phase, r.final = PhaseDone, true
			r.outputs = map[string]any{"bootstrap": []any{"10.0.0.1:9011", "10.0.0.2:9011"}, "brokers": map[string]any{"0": "10.0.0.1"}}
			return r
		}, want{lead: "🟢 Done — every step is done", prose: []string{"Steps (2 of 2 done)", "Outputs"}, codes: []string{"10.0.0.1:9011,10.0.0.2:9011", `{"0":"10.0.0.1"}`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := tc.setup().detailsMarkdown()
			h := renderLikeWebUI(md)
			prose := visibleProse(h)
			lead := strings.TrimSpace(strings.SplitN(strings.TrimSpace(prose), "\n", 2)[0])
			if !strings.HasPrefix(lead, tc.want.lead) {
				t.Errorf("first line = %q, want it to start with %q\nmarkdown:\n%s", lead, tc.want.lead, md)
			}
			// What the UI's renderer leaves literal: task boxes, quote marks.
			for _, bad := range []string{"[x]", "[ ]"} {
				if strings.Contains(prose, bad) {
					t.Errorf("rendered text shows a literal %q:\n%s", bad, h)
				}
			}
			if m := literalQuoteRE.FindString(prose); m != "" {
				t.Errorf("rendered text shows a literal quote marker %q:\n%s", m, h)
			}
			for _, w := range tc.want.prose {
				if !strings.Contains(prose, w) {
					t.Errorf("rendered text lacks %q:\n%s", w, prose)
				}
			}
			for _, c := range tc.want.codes {
				if !strings.Contains(h, "<code>"+htmlEscape(c)+"</code>") {
					t.Errorf("no code span %q:\n%s", c, h)
				}
			}
			blocks := codeBlocks(h)
			if len(tc.want.commands)+len(tc.want.payloads) == 0 && len(blocks) > 0 {
				t.Errorf("a finished request shows commands: %q", blocks)
			}
			for _, c := range tc.want.commands {
				if !containsStr(blocks, c) {
					t.Errorf("no code block %q among %q", c, blocks)
				}
			}
			for _, p := range tc.want.payloads {
				found := false
				for _, blk := range blocks {
					if !strings.HasPrefix(blk, "{") {
						continue
					}
					got := newLike(p)
					dec := json.NewDecoder(bytes.NewReader([]byte(blk)))
					dec.DisallowUnknownFields() // as the workflow decodes Update payloads
					if dec.Decode(got) == nil && jsonEqual(got, p) {
						found = true
					}
				}
				if !found {
					t.Errorf("no pasteable payload %+v among %q", p, blocks)
				}
			}
			// Every table row has its state's colour.
			if !strings.Contains(h, "<table>") {
				t.Errorf("no step table:\n%s", h)
			}
		})
	}
}

// TestInstructionsAreTopLevelQuotes: multi-line instructions render as one
// block quote, never as literal ">" inside a list item.
func TestInstructionsAreTopLevelQuotes(t *testing.T) {
	s := &plan.Step{ID: "ok", Title: "Approve", Action: plan.ActionApproval,
		Gate: &plan.Gate{Who: []string{"alice"}, Instructions: "line one\nline two **bold**"}}
	r := testInterp(&stepRun{s: s, state: StepWaiting, awaiting: []string{"alice"}})
	r.phase, r.awaiting = PhaseWaitingApproval, []string{"alice"}
	h := renderLikeWebUI(r.detailsMarkdown())
	if !regexp.MustCompile(`(?s)<blockquote>\s*<p>line one\s*line two <strong>bold</strong></p>\s*</blockquote>`).MatchString(h) {
		t.Errorf("instructions are not one block quote:\n%s", h)
	}
	// A list right after a text line, with task boxes: a real list in the quote.
	s.Gate.Instructions = "Check:\n- [x] the CIDR\n- [ ] the port\n1. then approve"
	h = renderLikeWebUI(r.detailsMarkdown())
	if !regexp.MustCompile(`(?s)<blockquote>\s*<p>Check:</p>\s*<ul>\s*<li>☑ the CIDR</li>\s*<li>☐ the port</li>\s*</ul>`).MatchString(h) {
		t.Errorf("instructions' list is not a list in the quote:\n%s", h)
	}
}

func TestStyleOfEveryState(t *testing.T) {
	seen := map[string]string{}
	for _, st := range StepStates {
		s, ok := stepStyles[st]
		if !ok || s.Emoji == "" || s.Fill == "" || s.Stroke == "" {
			t.Errorf("state %s has no full style: %+v", st, s)
		}
		if other, dup := seen[s.Emoji]; dup {
			t.Errorf("states %s and %s share emoji %s", st, other, s.Emoji)
		}
		seen[s.Emoji] = st
	}
	if StyleOf("nonsense") != stepStyles[StepPending] {
		t.Errorf("unknown state is not shown as pending")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newLike(p any) any {
	switch p.(type) {
	case *Decision:
		return &Decision{}
	case *OperatorAction:
		return &OperatorAction{}
	}
	panic("unknown payload type")
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestRolledBackIsNotACrash: a clean rollback's failure (what the Web UI
// shows in red) says it was deliberate and clean; one that left resources
// behind does not say so.
func TestRolledBackIsNotACrash(t *testing.T) {
	for _, tc := range []struct {
		name     string
		undoFail bool
		wantType string
		wantCalm bool
	}{
		{"clean", false, ErrRolledBack, true},
		{"leaked", true, ErrCompensationFailed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.fail = func(c plan.Call, n int) error {
				switch {
				case c.Action == "fake.undo" && tc.undoFail:
					return nonRetryable("cloud says no")
				case strings.HasSuffix(c.IdempotencyKey, "/b"):
					return nonRetryable("b fails")
				}
				return nil
			}
			env := newEnv(t, rec)
			skipParkedLeaks(t, env) // the leak waits for an operator (compretry.go)
			err := run(t, env, request(mkPlan(plan.FailRollback, create("a"), create("b", "a"))))
			if appErrType(err) != tc.wantType {
				t.Fatalf("error %v, want type %s", err, tc.wantType)
			}
			calm := strings.Contains(err.Error(), "request rolled back as designed, not a crash") &&
				strings.Contains(err.Error(), "nothing left behind")
			if calm != tc.wantCalm || !strings.Contains(err.Error(), "step b failed") {
				t.Errorf("failure message %q (calm %v, want %v)", err, calm, tc.wantCalm)
			}
		})
	}
}
