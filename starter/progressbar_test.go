package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/workflows"
)

func TestProgressBar(t *testing.T) {
	for _, tt := range []struct {
		done, total, width int
		want               string
	}{
		{0, 5, 10, "[░░░░░░░░░░] 0/5 items"},
		{3, 5, 10, "[██████░░░░] 3/5 items"},
		{5, 5, 10, "[██████████] 5/5 items"},
		{7, 5, 10, "[██████████] 5/5 items"},
		{1, 1000, 20, "[░░░░░░░░░░░░░░░░░░░░] 1/1000 items"},
		{0, 0, 10, ""},
	} {
		if got := progressBar(tt.done, tt.total, tt.width); got != tt.want {
			t.Errorf("progressBar(%d, %d, %d) = %q, want %q", tt.done, tt.total, tt.width, got, tt.want)
		}
	}
}

// TestFollowPrinter: on a terminal a fan-out's bar is redrawn in place
// (cursor up, clear line) while it is the last line printed; to a pipe
// every change is a plain line with "n/m items".
func TestFollowPrinter(t *testing.T) {
	fan := func(done int) workflows.Progress {
		return workflows.Progress{Phase: workflows.PhaseRunning, Steps: []workflows.StepProgress{
			{ID: "create-endpoints", State: workflows.StepRunning, Items: 4, ItemsDone: done}}}
	}
	polls := []workflows.Progress{fan(0), fan(1), fan(1), fan(3),
		{Phase: workflows.PhaseDone, Steps: []workflows.StepProgress{{ID: "create-endpoints", State: workflows.StepDone, Items: 4, ItemsDone: 4}}}}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		tty  bool
		want []string
	}{
		{name: "pipe", want: []string{
			"12:00:00  phase Running",
			"12:00:00  create-endpoints                   running      0/4 items",
			"12:00:00  create-endpoints                   running      1/4 items",
			"12:00:00  create-endpoints                   running      3/4 items",
			"12:00:00  phase Done",
			"12:00:00  create-endpoints                   done         4/4 items",
		}},
		{name: "terminal", tty: true, want: []string{
			"12:00:00  phase Running",
			"12:00:00  create-endpoints                   running      [░░░░░░░░░░░░░░░░░░░░] 0/4 items",
			"\x1b[1A\x1b[2K12:00:00  create-endpoints                   running      [█████░░░░░░░░░░░░░░░] 1/4 items",
			"\x1b[1A\x1b[2K12:00:00  create-endpoints                   running      [███████████████░░░░░] 3/4 items",
			"12:00:00  phase Done",
			"12:00:00  create-endpoints                   done         [████████████████████] 4/4 items",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			fp := newFollowPrinter(&b, "topoflow/Workflow/x", tt.tty)
			for _, p := range polls {
				fp.report(p, at)
			}
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("printed:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer is taken for a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(tty) {
			t.Error("/dev/tty is not taken for a terminal")
		}
	}
}

func TestStepDetailFor(t *testing.T) {
	s := workflows.StepProgress{Items: 2, ItemsDone: 1, Observed: "creating"}
	if got, want := stepDetailFor(s, false), "1/2 items; observed creating"; got != want {
		t.Errorf("plain %q, want %q", got, want)
	}
	if got, want := stepDetailFor(s, true), "[██████████░░░░░░░░░░] 1/2 items; observed creating"; got != want {
		t.Errorf("bars %q, want %q", got, want)
	}
}
