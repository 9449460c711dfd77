package catalog

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown returns the action reference (docs/actions.md): every action by
// provider with its inputs, outputs, default wait and inverse. The
// committed file is kept in sync by a test (make docs regenerates it).
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Actions\n\n")
	b.WriteString("Generated from package catalog (`make docs`); do not edit. Every action a plan step or a Workflow step\n")
	b.WriteString("may name, by provider. Inputs may be literals or `${{ expressions }}`; outputs are what later steps read\n")
	b.WriteString("as `steps.<id>.<output>`.\n\n")
	byProvider := map[string][]*Action{}
	var providers []string
	for _, n := range Names() {
		a, _ := Lookup(n)
		if len(byProvider[a.Provider]) == 0 {
			providers = append(providers, a.Provider)
		}
		byProvider[a.Provider] = append(byProvider[a.Provider], a)
	}
	for _, p := range providers {
		fmt.Fprintf(&b, "- [%s](#%s): %d actions\n", p, p, len(byProvider[p]))
	}
	for _, p := range providers {
		fmt.Fprintf(&b, "\n## %s\n", p)
		for _, a := range byProvider[p] {
			writeAction(&b, a)
		}
	}
	return b.Bytes()
}

func writeAction(b *bytes.Buffer, a *Action) {
	kind := "mutating (needs an approval before it in a Workflow)"
	if a.Read {
		kind = "read (no side effects; may be polled by a wait)"
	}
	fmt.Fprintf(b, "\n### `%s`\n\n%s. *%s.*\n", a.Name, strings.TrimSuffix(a.Title, "."), kind)
	if a.Doc != "" {
		fmt.Fprintf(b, "\n%s\n", a.Doc)
	}
	if len(a.Inputs) > 0 {
		b.WriteString("\n| Input | Type | Required | Description |\n|---|---|---|---|\n")
		for _, p := range a.Inputs {
			typ := p.Type
			if p.Format != "" {
				typ += " (" + p.Format + ")"
			}
			req := ""
			if p.Required {
				req = "yes"
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", p.Name, typ, req, cell(p.Doc))
		}
	}
	if len(a.Outputs) > 0 {
		docs := map[string]string{}
		if a.Contract != nil {
			for _, f := range fieldsOf(a.Contract.Out) {
				docs[f.Name] = f.Tag.Get("doc")
			}
		}
		b.WriteString("\nOutputs:")
		for _, o := range a.Outputs {
			if d := docs[o]; d != "" {
				fmt.Fprintf(b, "\n- `%s`: %s", o, d)
			} else {
				fmt.Fprintf(b, "\n- `%s`", o)
			}
		}
		b.WriteString("\n")
	}
	if w := a.Wait; w != nil {
		path := w.StatusPath
		if path == "" {
			path = "status"
		}
		fmt.Fprintf(b, "\nDefault wait: `%s` until %s", path, orList(w.Target))
		if len(w.Failure) > 0 {
			fmt.Fprintf(b, ", failing at %s", orList(w.Failure))
		}
		fmt.Fprintf(b, " (every %s, at most %s).\n", w.PollInterval, w.Timeout)
	}
	if inv := a.Inverse; inv != nil {
		fmt.Fprintf(b, "\nUndone by `%s` (%s)", inv.Action, strings.TrimSuffix(inv.Title, "."))
		if inv.WaitAction != "" {
			fmt.Fprintf(b, ", then `%s` is polled until it is done", inv.WaitAction)
		}
		b.WriteString(".\n")
	}
	if len(a.Grants) > 0 {
		var gs []string
		for _, g := range a.Grants {
			gs = append(gs, fmt.Sprintf("`%s` (%s)", g.Input, g.Kind))
		}
		fmt.Fprintf(b, "\nGrants access through %s: broad values need `policy.allowBroadAccess`.\n", strings.Join(gs, ", "))
	}
}

func orList(states []string) string {
	q := make([]string, len(states))
	for i, s := range states {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, " or ")
}

// cell makes text safe for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
