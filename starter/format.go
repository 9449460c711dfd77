package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/workflows"
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

// labelItems names fan-out items by the broker they stand for: an item key
// that is a field of a broker listed in some step's outputs (Huawei's port
// IDs, from discover) reads "broker <id> (<address>)" in what the steps
// observe and in their errors.
func labelItems(p *workflows.Progress) {
	labels := map[string]string{}
	for _, s := range p.Steps {
		for _, v := range s.Outputs {
			list, ok := v.([]any)
			if !ok {
				continue
			}
			for _, e := range list {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				id, hasID := m["id"]
				if !hasID {
					id, hasID = m["brokerId"]
				}
				if !hasID {
					continue
				}
				label := "broker " + formatValue(id)
				for _, f := range []string{"listenerIp", "ip", "host"} {
					if a, ok := m[f].(string); ok && a != "" {
						label += " (" + a + ")"
						break
					}
				}
				for _, f := range []string{"portId"} {
					if k, ok := m[f].(string); ok && k != "" {
						labels[k] = label
					}
				}
			}
		}
	}
	if len(labels) == 0 {
		return
	}
	relabel := func(s string) string {
		for k, l := range labels {
			s = strings.ReplaceAll(s, k+": ", l+": ")
		}
		return s
	}
	for i := range p.Steps {
		p.Steps[i].Observed = relabel(p.Steps[i].Observed)
		p.Steps[i].LastError = relabel(p.Steps[i].LastError)
	}
	for i := range p.Leaked {
		if l, ok := labels[p.Leaked[i].Item]; ok {
			p.Leaked[i].Item = l
		}
	}
}
