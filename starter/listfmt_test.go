package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPrintList(t *testing.T) {
	rows := []listRow{
		{WorkflowID: "topoflow/KafkaAccess/hw-orders-to-client-b", Status: "Running", Phase: "WaitingApproval",
			Awaiting: []string{"kafka-owner@example.com", "platform-oncall@example.com"}, Provider: "huawei",
			Summary: "Kafka access: hw-client-b → Huawei DMS kafka-prod (VPC endpoints, cross-account), approval by kafka-owner",
			Labels:  map[string]string{"ticket": "NET-1042", "team": "analytics"}, StartTime: time.Unix(0, 0)},
		{WorkflowID: "topoflow/Workflow/old", Status: "Completed", Phase: "Done", StartTime: time.Unix(0, 0)},
	}
	tests := []struct {
		name        string
		wide        bool
		want, avoid []string
		maxWidth    int
	}{
		{name: "120 columns", maxWidth: listWidth,
			want:  []string{"REQUEST", "SUMMARY", "LABELS", "topoflow/KafkaAccess/hw-orders-to-client-b", "Kafka access…", "ticket=NET-1042…", "kafka-owner@example.com +1", "-o wide"},
			avoid: []string{"PROVIDER", "STARTED"}},
		{name: "wide", wide: true,
			want:  []string{"STATUS", "PROVIDER", "STARTED", rows[0].Summary, "ticket=NET-1042,team=analytics", "huawei", "Completed", "kafka-owner@example.com,platform-oncall@example.com"},
			avoid: []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printList(&b, rows, tt.wide); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.avoid {
				if strings.Contains(out, w) {
					t.Errorf("has %q:\n%s", w, out)
				}
			}
			if tt.maxWidth > 0 {
				for _, l := range strings.Split(out, "\n") {
					if n := utf8.RuneCountInString(l); n > tt.maxWidth {
						t.Errorf("line of %d columns > %d: %q", n, tt.maxWidth, l)
					}
				}
			}
		})
	}
}

func TestFitColumns(t *testing.T) {
	table := [][]string{{"A", "SUMMARY", "LABELS"}, {"x", strings.Repeat("s", 50), strings.Repeat("l", 50)}}
	fitColumns(table, 60, fitCol{1, 12}, fitCol{2, 12})
	// Labels shrink first (to at most what fits), then the summary.
	if got := utf8.RuneCountInString(table[1][1]) + utf8.RuneCountInString(table[1][2]) + 1 + 4; got > 60 {
		t.Errorf("row of %d columns: %q", got, table[1])
	}
	if !strings.HasSuffix(table[1][2], "…") || utf8.RuneCountInString(table[1][2]) != 12 {
		t.Errorf("labels %q, want 12 runes ending in …", table[1][2])
	}
	if table[1][1] != strings.Repeat("s", 50) && !strings.HasSuffix(table[1][1], "…") {
		t.Errorf("summary %q", table[1][1])
	}
}
