package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Rendering of request values for people: lists comma-joined, maps one
// entry a line (brokers by ID, in numeric order), never Go syntax.

// printOutputs writes a request's outputs under the heading "Outputs".
func printOutputs(w io.Writer, outputs map[string]any) {
	if len(outputs) == 0 {
		return
	}
	fmt.Fprintln(w, "Outputs")
	for _, k := range sortedKeysOf(outputs) {
		v := outputs[k]
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			fmt.Fprintf(w, "  %s:\n", k)
			label := ""
			if k == "brokers" {
				label = "broker "
			}
			keys := mapKeys(m)
			width := 0
			for _, mk := range keys {
				width = max(width, len(label+mk))
			}
			for _, mk := range keys {
				fmt.Fprintf(w, "    %-*s  %s\n", width, label+mk, formatValue(m[mk]))
			}
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", k, formatValue(v))
	}
}

// formatValue renders a JSON-like value on one line: strings as they are,
// lists comma-joined, maps as k=v pairs (keys in numeric, else text, order).
func formatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(t, ", ")
	case map[string]any:
		parts := make([]string, 0, len(t))
		for _, k := range mapKeys(t) {
			parts = append(parts, k+"="+formatValue(t[k]))
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
}

// mapKeys returns m's keys, numerically when they all are numbers.
func mapKeys(m map[string]any) []string {
	keys := sortedKeysOf(m)
	numeric := true
	for _, k := range keys {
		if _, err := strconv.Atoi(k); err != nil {
			numeric = false
			break
		}
	}
	if numeric {
		sort.Slice(keys, func(i, j int) bool {
			a, _ := strconv.Atoi(keys[i])
			b, _ := strconv.Atoi(keys[j])
			return a < b
		})
	}
	return keys
}
