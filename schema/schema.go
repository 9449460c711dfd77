// Package schema generates the JSON Schema of Topoflow's spec documents from
// the Go types of package spec (their json, required, enum, format and doc
// tags), so editors offer completion and inline errors that agree with the
// validator. The generated schema is committed as topoflow.schema.json and a
// test keeps it in sync (go test ./schema -update regenerates it).
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/spec"
)

// ID is the schema's $id.
const ID = "https://topoflow.io/schemas/topoflow.schema.json"

// File is the committed schema's file name (in this directory).
const File = "topoflow.schema.json"

// formats maps spec format tags to schema keywords.
var formats = map[string]map[string]any{
	"name":     {"pattern": `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`},
	"stepId":   {"pattern": `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`},
	"account":  {"pattern": `^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`},
	"region":   {"pattern": `^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`},
	"cidr":     {"pattern": `^[0-9a-fA-F.:]+/[0-9]{1,3}$`},
	"duration": {"pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`},
	"port":     {"minimum": 1, "maximum": 65535},
	"count":    {"minimum": 1},
	"ident":    {"pattern": `^[A-Za-z_][A-Za-z0-9_]{0,62}$`},
	"action":   {"pattern": `^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*){0,4}$`},
	// An identity (user name or e-mail) or group:<name>, as package policy checks.
	"principal": {"pattern": `^(group:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[A-Za-z0-9][A-Za-z0-9._%+-]*(@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)?)$`, "maxLength": 254},
}

type generator struct {
	defs map[string]any
}

// Generate returns the schema as indented JSON ending in a newline.
func Generate() ([]byte, error) {
	g := &generator{defs: map[string]any{}}
	header := g.object(reflect.TypeOf(spec.Header{}))
	props := header["properties"].(map[string]any)
	props["spec"] = map[string]any{"description": "The request: a KafkaAccess, a Workflow or a SaaSPeering, depending on kind."}
	header["required"] = append(header["required"].([]string), "spec")
	root := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  ID,
		"title":                "Topoflow spec",
		"description":          "A Topoflow spec document (apiVersion " + spec.APIVersion + "). Generated from package spec; do not edit.",
		"type":                 "object",
		"properties":           props,
		"required":             header["required"],
		"additionalProperties": false,
		"allOf": []any{
			ifKind(spec.KindKafkaAccess, g.ref(reflect.TypeOf(spec.KafkaAccess{}))),
			ifKind(spec.KindWorkflow, g.ref(reflect.TypeOf(spec.Workflow{}))),
			ifKind(spec.KindSaaSPeering, g.ref(reflect.TypeOf(spec.SaaSPeering{}))),
		},
		"$defs": g.defs,
	}
	g.actionInputs()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

func ifKind(kind string, ref map[string]any) map[string]any {
	return map[string]any{
		"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": kind}}, "required": []string{"kind"}},
		"then": map[string]any{"properties": map[string]any{"spec": ref}},
	}
}

func (g *generator) ref(t reflect.Type) map[string]any {
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // reserve, for recursive types
		g.defs[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

// object describes a struct: its keys, required keys, no others.
func (g *generator) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func (g *generator) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			g.fields(f.Type, props, required)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		s := g.typ(f.Type, f.Tag.Get("format"), f.Tag.Get("enum"))
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		props[name] = s
		if f.Tag.Get("required") == "true" {
			*required = append(*required, name)
		}
	}
}

// typ describes a Go type; format and enum apply to scalars (and list items).
func (g *generator) typ(t reflect.Type, format, enum string) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		return g.typ(t.Elem(), format, enum)
	case reflect.Struct:
		return g.ref(t)
	case reflect.String:
		s := map[string]any{"type": "string"}
		if enum != "" {
			s["enum"] = spec.EnumValues(enum)
		}
		for k, v := range formats[format] {
			s[k] = v
		}
		if format == "expr" {
			s["description"] = "expression"
		}
		return s
	case reflect.Int:
		s := map[string]any{"type": "integer", "minimum": 0}
		for k, v := range formats[format] {
			s[k] = v
		}
		return s
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typ(t.Elem(), format, enum)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typ(t.Elem(), "", "")}
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}

// actionInputs constrains a Workflow step's inputs by its action's catalog
// descriptor: one if/then per action naming its inputs, their types and
// formats, and the required ones. A value may always be an expression.
func (g *generator) actionInputs() {
	step, ok := g.defs["WorkflowStep"].(map[string]any)
	if !ok {
		return
	}
	g.defs["Expression"] = map[string]any{"type": "string", "pattern": `\$\{\{`, "description": "a ${{ expression }}, evaluated at run time"}
	var conds []any
	for _, name := range catalog.Names() {
		a, _ := catalog.Lookup(name)
		if len(a.Inputs) == 0 {
			continue
		}
		props := map[string]any{}
		var required []string
		for _, p := range a.Inputs {
			props[p.Name] = ParamSchema(p)
			if p.Required {
				required = append(required, p.Name)
			}
		}
		inputs := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			inputs["required"] = required
		}
		then := map[string]any{"properties": map[string]any{"inputs": inputs}}
		if len(required) > 0 {
			then["required"] = []string{"inputs"}
		}
		conds = append(conds, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"action": map[string]any{"const": name}}, "required": []string{"action"}},
			"then": then,
		})
	}
	step["allOf"] = conds
}

// ParamSchema is the JSON Schema of one action input: its type (and
// format), or an expression.
func ParamSchema(p catalog.Param) map[string]any {
	t := map[string]any{}
	switch p.Type {
	case "", "any":
	default:
		t["type"] = p.Type
	}
	for k, v := range formats[p.Format] {
		t[k] = v
	}
	s := map[string]any{"anyOf": []any{t, map[string]any{"$ref": "#/$defs/Expression"}}}
	if len(t) == 0 {
		s = map[string]any{}
	}
	if p.Doc != "" {
		s["description"] = p.Doc
	}
	return s
}
