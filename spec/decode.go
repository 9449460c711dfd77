package spec

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that keep hostile input cheap.
const (
	maxDepth = 64
	maxNodes = 200000
)

// decoder walks yaml.v3 nodes into the Go types of types.go by reflection,
// recording every problem with its position and the node of every path.
type decoder struct {
	file  string
	opts  Options
	errs  *ErrorList
	nodes map[string]*yaml.Node // path -> value node
	keys  map[string]*yaml.Node // path -> key node
	count int
	// hard counts structural errors (wrong types, missing keys) after which
	// semantic checks would only add noise.
	hard int
}

// hardf reports a structural error.
func (d *decoder) hardf(n *yaml.Node, format string, a ...any) {
	d.hard++
	d.errorf(n, format, a...)
}

func (d *decoder) errorf(n *yaml.Node, format string, a ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	msg := fmt.Sprintf(format, a...)
	// One error per line: multi-line messages (expression carets) keep their first line.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	*d.errs = append(*d.errs, Error{File: d.file, Line: line, Column: col, Message: msg})
}

// resolve follows aliases, refusing alias chains that would not end.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a scalar"
	}
	return "nothing"
}

// fieldInfo is a struct field as seen by the decoder.
type fieldInfo struct {
	key      string
	index    []int
	required bool
	enum     []string
	format   string
	doc      string
	typ      reflect.Type
}

var fieldCache = map[reflect.Type][]fieldInfo{}

// fields lists the YAML keys of a struct type, in declaration order,
// flattening embedded structs.
func fields(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache[t]; ok {
		return f
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if sf.Anonymous && tag == "" {
			for _, inner := range fields(sf.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || name == "" || !sf.IsExported() {
			continue
		}
		fi := fieldInfo{key: name, index: []int{i}, required: sf.Tag.Get("required") == "true",
			format: sf.Tag.Get("format"), doc: sf.Tag.Get("doc"), typ: sf.Type}
		fi.enum = EnumValues(sf.Tag.Get("enum"))
		out = append(out, fi)
	}
	fieldCache[t] = out
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode decodes n into v (a settable value) at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, fi *fieldInfo, depth int) {
	d.count++
	if depth > maxDepth || d.count > maxNodes {
		if d.count == maxNodes+1 || depth == maxDepth+1 {
			d.hardf(n, "document is too large or too deeply nested")
		}
		return
	}
	orig := n
	n = resolve(n)
	if n == nil {
		d.hardf(orig, "alias does not resolve")
		return
	}
	d.nodes[path] = n
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && v.Kind() != reflect.Interface {
		// An explicit null is the same as leaving the key out.
		if fi != nil && fi.required {
			d.hardf(orig, "%s must not be empty", lastKey(path))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem(), path, fi, depth)
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			if n.Kind == yaml.ScalarNode {
				d.hardf(n, "%s must be a string, not %s (quote it: %q)", lastKey(path), kindName(n), n.Value)
			} else {
				d.hardf(n, "%s must be a string, not %s", lastKey(path), kindName(n))
			}
			return
		}
		v.SetString(n.Value)
		d.checkString(n, path, fi)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.hardf(n, "%s must be an integer, not %s", lastKey(path), kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			d.hardf(n, "%s: integer %s is out of range", lastKey(path), n.Value)
			return
		}
		v.SetInt(i)
		d.checkInt(n, path, fi, int(i))
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			d.hardf(n, "%s must be a number, not %s", lastKey(path), kindName(n))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.hardf(n, "%s: %q is not a finite number", lastKey(path), n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.hardf(n, "%s must be true or false, not %s", lastKey(path), kindName(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.hardf(n, "%s must be a list, not %s", lastKey(path), kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), fi, depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.hardf(n, "%s must be a mapping, not %s", lastKey(path), kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolve(n.Content[i]), n.Content[i+1]
			if k == nil || k.Kind != yaml.ScalarNode {
				d.hardf(n.Content[i], "keys of %s must be strings", lastKey(path))
				continue
			}
			if seen[k.Value] {
				d.errorf(k, "duplicate key %q", k.Value)
				continue
			}
			seen[k.Value] = true
			p := join(path, k.Value)
			d.keys[p] = k
			d.checkSecretKey(k)
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, p, nil, depth+1)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.Interface:
		out := d.plain(n, path, depth)
		if out != nil {
			v.Set(reflect.ValueOf(out))
		}
	default:
		d.hardf(n, "internal: cannot decode into %s", v.Type())
	}
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if path == "" {
		return "value"
	}
	return path
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		name := lastKey(path)
		if path == "" {
			name = "document"
		}
		d.hardf(n, "%s must be a mapping, not %s", name, kindName(n))
		return
	}
	fs := fields(v.Type())
	byKey := make(map[string]*fieldInfo, len(fs))
	for i := range fs {
		byKey[fs[i].key] = &fs[i]
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.hardf(n.Content[i], "keys must be strings")
			continue
		}
		if k.Value == "<<" {
			d.hardf(k, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		f, ok := byKey[k.Value]
		if !ok {
			d.checkSecretKey(k)
			d.errorf(k, "unknown key %q%s", k.Value, suggest(k.Value, fs, path))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		p := join(path, k.Value)
		d.keys[p] = k
		d.decode(val, v.FieldByIndex(f.index), p, f, depth+1)
	}
	for i := range fs {
		if fs[i].required && !seen[fs[i].key] {
			where := "in " + lastKey(path)
			if path == "" {
				where = "in document"
			}
			d.hardf(n, "missing required key %q %s", fs[i].key, where)
		}
	}
}

// suggest returns ` (did you mean "x"?)` for the nearest valid key, or "".
func suggest(got string, fs []fieldInfo, path string) string {
	if path == "" {
		fs = append(fs[:len(fs):len(fs)], fieldInfo{key: "spec"})
	}
	best, bestD := "", 1<<30
	for _, f := range fs {
		dist := levenshtein(strings.ToLower(got), strings.ToLower(f.key))
		if dist < bestD || (dist == bestD && f.key < best) {
			best, bestD = f.key, dist
		}
	}
	limit := len(got) / 3
	if limit < 2 {
		limit = 2
	}
	if best != "" && (bestD <= limit || strings.EqualFold(best, got)) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	sort.Strings(keys)
	where := lastKey(path)
	if path == "" {
		where = "document"
	}
	return fmt.Sprintf(" (valid keys in %s: %s)", where, strings.Join(keys, ", "))
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// plain converts a node to plain data (map[string]any, []any, string, int64,
// float64, bool, nil) for free-form inputs, checking strings for secrets.
func (d *decoder) plain(n *yaml.Node, path string, depth int) any {
	d.count++
	if depth > maxDepth || d.count > maxNodes {
		if d.count == maxNodes+1 || depth == maxDepth+1 {
			d.hardf(n, "document is too large or too deeply nested")
		}
		return nil
	}
	orig := n
	n = resolve(n)
	if n == nil {
		d.hardf(orig, "alias does not resolve")
		return nil
	}
	d.nodes[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				d.hardf(n.Content[i], "keys of %s must be strings", lastKey(path))
				continue
			}
			if k.Value == "<<" {
				d.hardf(k, "merge keys (<<) are not supported; write the keys out")
				continue
			}
			if _, dup := m[k.Value]; dup {
				d.errorf(k, "duplicate key %q", k.Value)
				continue
			}
			p := join(path, k.Value)
			d.keys[p] = k
			d.checkSecretKey(k)
			m[k.Value] = d.plain(n.Content[i+1], p, depth+1)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			s[i] = d.plain(item, fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		return s
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		case "!!int":
			i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			if err != nil || i > 1<<53 || i < -(1<<53) {
				d.hardf(n, "%s: integer %s is out of range", lastKey(path), n.Value)
				return nil
			}
			return i
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.hardf(n, "%s: %q is not a finite number", lastKey(path), n.Value)
				return nil
			}
			return f
		case "!!str":
			d.checkSecretValue(n)
			return n.Value
		default:
			d.hardf(n, "%s: unsupported value of type %s (quote it)", lastKey(path), n.ShortTag())
			return nil
		}
	}
	d.hardf(n, "%s: unsupported value", lastKey(path))
	return nil
}
