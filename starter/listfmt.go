package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// listWidth is the width list's table fits in (-o wide: no limit).
const listWidth = 120

// printList renders list's rows for people: request, phase, who must act,
// summary and labels in listWidth columns (the first of several people
// and how many more; summary and labels shortened with "…" when the row
// would not fit); wide adds the status, provider and start time and
// shortens nothing.
func printList(w io.Writer, rows []listRow, wide bool) error {
	head := []string{"REQUEST", "PHASE", "AWAITING", "SUMMARY", "LABELS"}
	if wide {
		head = append(head, "STATUS", "PROVIDER", "STARTED")
	}
	table := [][]string{head}
	for _, r := range rows {
		awaiting := strings.Join(r.Awaiting, ",")
		if !wide && len(r.Awaiting) > 1 {
			awaiting = fmt.Sprintf("%s +%d", r.Awaiting[0], len(r.Awaiting)-1)
		}
		line := []string{r.WorkflowID, dash(r.Phase), dash(awaiting), dash(r.Summary), dash(labelsText(r.Labels))}
		if wide {
			line = append(line, r.Status, dash(r.Provider), r.StartTime.Local().Format(time.DateTime))
		}
		table = append(table, line)
	}
	if !wide {
		fitColumns(table, listWidth, fitCol{3, 12}, fitCol{4, 16})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, line := range table {
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !wide && len(rows) > 0 {
		_, err := fmt.Fprintln(w, "\n-o wide: status, provider, start time and the whole summary and labels")
		return err
	}
	return nil
}

// labelsText is metadata.labels as "k=v,k=v": a ticket first (what people
// look for when the column is shortened), then by key.
func labelsText(l map[string]string) string {
	var parts []string
	if v, ok := l["ticket"]; ok {
		parts = append(parts, "ticket="+v)
	}
	for _, k := range slices.Sorted(maps.Keys(l)) {
		if k != "ticket" {
			parts = append(parts, k+"="+l[k])
		}
	}
	return strings.Join(parts, ",")
}

// fitCol is a column fitColumns may shorten, and to how few runes at least.
type fitCol struct{ col, floor int }

// fitColumns shortens the cells of the columns shrink (last first, each to
// no less than its floor) so that every line of table, its columns
// separated by two spaces, fits in width.
func fitColumns(table [][]string, width int, shrink ...fitCol) {
	colw := func(c int) int {
		n := 0
		for _, line := range table {
			n = max(n, utf8.RuneCountInString(line[c]))
		}
		return n
	}
	total := func() int {
		n := 0
		for c := range table[0] {
			n += colw(c) + 2
		}
		return n - 2
	}
	for i := len(shrink) - 1; i >= 0 && total() > width; i-- {
		c := shrink[i].col
		floor := max(utf8.RuneCountInString(table[0][c]), shrink[i].floor)
		target := max(floor, colw(c)-(total()-width))
		for _, line := range table[1:] {
			line[c] = shorten(line[c], target)
		}
	}
}

// shorten cuts s to n runes, ending with "…" when it cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// memoValue decodes one memo field into v (left unchanged when absent).
func memoValue(m *commonpb.Memo, key string, v any) {
	if p := m.GetFields()[key]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, v)
	}
}
