package main

// A browser test of what a person sees in the Temporal Web UI: headless
// Chromium (Debian's package, installed by `make deps` from deps/apt.txt)
// driven through the DevTools protocol by chromedp, against the real dev
// server's embedded Web UI of this package's stack (TestMain).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/topoflow/topoflow/workflows"
)

// envChromium names the environment variable that points at the browser.
const envChromium = "TOPOFLOW_CHROMIUM"

// chromiumPath finds the browser: $TOPOFLOW_CHROMIUM, else Debian's chromium on PATH.
func chromiumPath() string {
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium for the test, or skips the test when
// no Chromium is installed (and only then).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		t.Skipf("no Chromium: install Debian's chromium package (make deps; deps/apt.txt lists it) or set %s", envChromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // root in CI containers
		chromedp.UserDataDir(t.TempDir()),
		// Without these, Chromium keeps calling Google's hosts, which this network refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1400, 1600),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium %s: %v", bin, err)
	}
	return ctx
}

// pageText is the visible text of the page and of every same-origin frame
// (the Web UI renders user metadata in iframes).
const pageTextJS = `(() => {
  const parts = [document.body ? document.body.innerText : ""];
  for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentDocument && f.contentDocument.body) parts.push(f.contentDocument.body.innerText); } catch (e) {}
  }
  return parts.join("\n----\n");
})()`

// frameHTMLJS is the HTML of every same-origin frame.
const frameHTMLJS = `(() => Array.from(document.querySelectorAll('iframe')).map(f => {
  try { return f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerHTML : ""; } catch (e) { return ""; }
}).join("\n----\n"))()`

// waitText polls the page until every pattern matches its text.
func waitText(t *testing.T, ctx context.Context, what string, patterns ...string) string {
	t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	deadline := time.Now().Add(30 * time.Second)
	var text string
	for {
		var err error
		text, err = chromedp.Run(ctx, chromedp.Evaluate[string](pageTextJS))
		if err != nil {
			t.Fatalf("%s: read page: %v", what, err)
		}
		missing := ""
		for i, re := range res {
			if !re.MatchString(text) {
				missing = patterns[i]
				break
			}
		}
		if missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if len(shot) > 0 {
				p := t.TempDir() + "/page.png"
				_ = os.WriteFile(p, shot, 0o644)
				t.Logf("screenshot: %s", p)
			}
			t.Fatalf("%s: the page never showed %q; it shows:\n%s", what, missing, text)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// pause lets the Web UI's menus and dialogs finish their transitions.
func pause(ctx context.Context) { _ = chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)) }

// clickVisible clicks, with a real mouse event, the centre of the first
// visible element of the CSS selector whose text contains text ("" for any).
func clickVisible(t *testing.T, ctx context.Context, css, text string) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
  for (const el of document.querySelectorAll(%q)) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && (%q === "" || (el.innerText || el.value || "").trim() === %q || (el.innerText || "").includes(%q) && el.children.length > 0)) {
      el.scrollIntoView({block: "center"});
      const q = el.getBoundingClientRect();
      return [q.left + q.width / 2, q.top + q.height / 2];
    }
  }
  return [];
})()`, css, text, text, text)
	deadline := time.Now().Add(20 * time.Second)
	for {
		xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
		if err != nil {
			t.Fatalf("find %s %q: %v", css, text, err)
		}
		if len(xy) == 2 {
			if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
				t.Fatalf("click %s %q: %v", css, text, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no visible %s with text %q", css, text)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// approveSpec: an approval by alice with instructions and a deadline, then the test action.
const approveSpec = `  steps:
  - id: ok
    action: approval
    gate:
      who: [alice]
      deadline: 1h
      instructions: |
        Check ticket NET-1042 for the browser test.
        - [x] the CIDR is the client VPC
  - id: echo
    action: test.flaky
    dependsOn: [ok]
    inputs: {fail: false, msg: approved in the browser}
  outputs:
    msg: ${{ steps.echo.msg }}
`

// TestBrowserApproveThroughTheWebUI opens the link apply printed in headless
// Chromium, sees in the request's User Metadata who must act, the deadline,
// the instructions, the command and the Update input, approves through the
// Web UI's "Send an Update" with the input copied from the page, and sees
// the request finish.
func TestBrowserApproveThroughTheWebUI(t *testing.T) {
	ctx := newBrowser(t)
	start := time.Now()
	// A second request, rejected at once, is looked at once rolled back.
	rbID := "topoflow/Workflow/ui-rolled-back"
	mustCLI(t, "apply", writeSpec(t, "ui-rolled-back", gatedSpec("x")))
	waitFor(t, rbID, "approval", phaseIs(workflows.PhaseWaitingApproval))
	mustCLI(t, "reject", rbID, "--as", "alice", "--comment", "browser test: rejected")
	file := writeSpec(t, "ui-approve", approveSpec)
	id := "topoflow/Workflow/ui-approve"
	out := mustCLI(t, "apply", file)
	m := regexp.MustCompile(`(?m)^Web UI +(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("apply printed no Web UI link:\n%s", out)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(m[1])); err != nil {
		t.Fatalf("open %s: %v", m[1], err)
	}
	waitText(t, ctx, "the request's page", `topoflow/Workflow/ui-approve`, `User Metadata`)
	clickVisible(t, ctx, `[data-testid="user-metadata-tab"]`, "User Metadata")
	payload := `{"step":"ok","identity":"alice"}`
	text := waitText(t, ctx, "who must act",
		`🟡 WaitingApproval — alice must act`,
		`Deadline: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(1h after it started\); then: reject`,
		`Check ticket NET-1042 for the browser test\.`,
		`☑ the CIDR is the client VPC`,
		regexp.QuoteMeta(`topoflow approve `+id+` --step ok --as alice`),
		`Send an Update, Update name approve, input:`,
		regexp.QuoteMeta(payload),
		`🟡\s+Approval: ok \(ok\)\s+waiting\s+waiting for alice`,
		`⚪\s+Test action: fails when fail is true \(echo\)\s+pending`)
	frames, err := chromedp.Run(ctx, chromedp.Evaluate[string](frameHTMLJS))
	if err != nil {
		t.Fatal(err)
	}
	// What the Web UI's renderer used to leave literal.
	for _, bad := range []string{"[x]", "[ ]", "> >"} {
		if strings.Contains(text, bad) {
			t.Errorf("the page shows a literal %q:\n%s", bad, text)
		}
	}
	if !strings.Contains(frames, "<blockquote>") || !strings.Contains(frames, "<table>") {
		t.Errorf("instructions or steps not rendered as Markdown:\n%s", frames)
	}
	// The payload a person copies: the code block after "Send an Update".
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
  for (const f of document.querySelectorAll('iframe')) {
    const d = f.contentDocument; if (!d) continue;
    for (const p of d.querySelectorAll('p')) {
      if (p.innerText.includes('Send an Update')) {
        const pre = p.nextElementSibling; if (pre && pre.tagName === 'PRE') return pre.innerText.trim();
      }
    }
  }
  return "";
})()`))
	if err != nil || copied != payload {
		t.Fatalf("payload copied from the page = %q (%v), want %q", copied, err, payload)
	}

	// Send an Update, as a person would: More Actions, Send an Update, name, input, Submit.
	clickVisible(t, ctx, `button[aria-controls="workflow-actions"]`, "More Actions")
	clickVisible(t, ctx, `[data-testid="update-button"]`, "Send an Update")
	clickVisible(t, ctx, `[data-testid="update-select-button"]`, "")
	// The Update list describes each Update and its input.
	waitText(t, ctx, "the Update's description", `Approve a waiting approval step\. Input \{"step": "<step id>", "identity": "<you>"`)
	pause(ctx)
	clickVisible(t, ctx, `#update-select-select li[role=option] span`, "approve")
	pause(ctx)
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('dialog[open] input#update-select')).map(i => i.value).join("|")`)); got != workflows.UpdateApprove {
		t.Fatalf("the Update chosen is %q, want %s", got, workflows.UpdateApprove)
	}
	clickVisible(t, ctx, `dialog[open] [role=textbox][data-language=json]`, "")
	pause(ctx)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(copied)); err != nil {
		t.Fatalf("type the input: %v", err)
	}
	typed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('dialog[open] [role=textbox][data-language=json]')).map(e => e.innerText.trim()).filter(x => x).join("|")`))
	if err != nil || typed != payload {
		t.Fatalf("the input field holds %q (%v), want %q", typed, err, payload)
	}
	// Leave the field first: the editor reformats the JSON on blur, which moves the button.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`)); err != nil {
		t.Fatal(err)
	}
	pause(ctx)
	clickVisible(t, ctx, `dialog[open] [data-testid="confirm-modal-button"]`, "Submit")

	// The request finishes; the page says so.
	s := waitFor(t, id, "done", closedWith("Completed", "Done"))
	approved := false
	for _, a := range s.Audit {
		if a.Action == "approve" && a.Identity == "alice" && a.Step == "ok" {
			approved = true
		}
	}
	if !approved {
		t.Errorf("no approve by alice in the audit: %+v", s.Audit)
	}
	// It came as an Update (the history has the accepted Update), not as a signal.
	var updates, signals int
	it := testStack.Client.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil && a.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateApprove {
			updates++
		}
		if ev.GetWorkflowExecutionSignaledEventAttributes() != nil {
			signals++
		}
	}
	if updates != 1 || signals != 0 {
		t.Errorf("history has %d approve Updates and %d signals, want 1 and 0", updates, signals)
	}
	// The page refreshes its details (the UI's "R"); open the link again as a person would.
	if err := chromedp.Do(ctx, chromedp.Navigate(m[1])); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the finished request's page", `Completed`, `User Metadata`)
	clickVisible(t, ctx, `[data-testid="user-metadata-tab"]`, "User Metadata")
	waitText(t, ctx, "the finished request", `Completed`, `🟢 Done — every step is done`,
		`🟢\s+Test action: fails when fail is true \(echo\)\s+done`, `approved in the browser`)

	// A request rolled back on purpose (rejected) is no crash: the Web UI
	// shows it Completed, its details say it was undone (workflows/outcome.go).
	waitFor(t, rbID, "rolled back", closedWith("Completed", workflows.PhaseRolledBack))
	if err := chromedp.Do(ctx, chromedp.Navigate(testStack.UIWorkflowURL(rbID))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the rolled-back request's page", `topoflow/Workflow/ui-rolled-back`, `Completed`, `User Metadata`)
	clickVisible(t, ctx, `[data-testid="user-metadata-tab"]`, "User Metadata")
	text = waitText(t, ctx, "the rolled-back request", `Completed`, `↩️ RolledBack — the request was undone on purpose \(not a crash\)`)
	if regexp.MustCompile(`(?m)^\s*Failed\s*$`).MatchString(text) {
		t.Errorf("the rolled-back request shows a Failed status:\n%s", text)
	}
	t.Logf("browser test took %s", time.Since(start).Round(time.Second))
}
