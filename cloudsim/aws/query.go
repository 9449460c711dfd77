package aws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// ec2NS is the EC2 API namespace AWS puts on every response.
const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// node is an XML element: text or children.
type node struct {
	name string
	text string
	kids []node
	leaf bool
}

// el is an element with children; nil-named children are skipped.
func el(name string, kids ...node) node {
	out := node{name: name}
	for _, k := range kids {
		if k.name != "" {
			out.kids = append(out.kids, k)
		}
	}
	return out
}

// tx is a text element.
func tx(name, text string) node { return node{name: name, text: text, leaf: true} }

// opt is a text element omitted when text is empty.
func opt(name, text string) node {
	if text == "" {
		return node{}
	}
	return tx(name, text)
}

// boolx renders a boolean element.
func boolx(name string, b bool) node { return tx(name, strconv.FormatBool(b)) }

// set renders an xxxSet of <item>s.
func set(name string, items ...node) node {
	out := node{name: name}
	for _, it := range items {
		it.name = "item"
		out.kids = append(out.kids, it)
	}
	return out
}

// strSet renders an xxxSet of text items.
func strSet(name string, vals []string) node {
	var items []node
	for _, v := range vals {
		items = append(items, tx("item", v))
	}
	return set(name, items...)
}

// tagSet renders tags as tagSet/item{key,value}, sorted by key.
func tagSet(tags map[string]string) node {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []node
	for _, k := range keys {
		items = append(items, el("item", tx("key", k), tx("value", tags[k])))
	}
	return set("tagSet", items...)
}

func (n node) write(b *bytes.Buffer) {
	b.WriteString("<" + n.name + ">")
	if n.leaf {
		_ = xml.EscapeText(b, []byte(n.text))
	}
	for _, k := range n.kids {
		k.write(b)
	}
	b.WriteString("</" + n.name + ">")
}

// writeXML writes root with an xmlns attribute.
func writeXML(w http.ResponseWriter, status int, root node, ns string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString("<" + root.name)
	if ns != "" {
		b.WriteString(` xmlns="` + ns + `"`)
	}
	b.WriteString(">")
	for _, k := range root.kids {
		k.write(&b)
	}
	b.WriteString("</" + root.name + ">")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// ec2Response writes a successful EC2 response <ActionResponse>.
func ec2Response(w http.ResponseWriter, action string, kids ...node) {
	rid := requestID()
	w.Header().Set("X-Amzn-Requestid", rid)
	writeXML(w, http.StatusOK, el(action+"Response", append([]node{tx("requestId", rid)}, kids...)...), ec2NS)
}

// ec2Error is an EC2 API error.
type ec2Error struct {
	status  int
	code    string
	message string
}

func (e *ec2Error) Error() string { return e.code + ": " + e.message }

// errf returns a 400 EC2 error.
func errf(code, format string, a ...any) *ec2Error {
	return &ec2Error{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, a...)}
}

// writeEC2Error writes the EC2 error envelope.
func writeEC2Error(w http.ResponseWriter, e *ec2Error) {
	rid := requestID()
	w.Header().Set("X-Amzn-Requestid", rid)
	writeXML(w, e.status, el("Response", el("Errors", el("Error", tx("Code", e.code), tx("Message", e.message))), tx("RequestID", rid)), "")
}

// form is a parsed EC2/STS query request.
type form struct{ url.Values }

// str returns a value.
func (f form) str(key string) string { return strings.TrimSpace(f.Get(key)) }

// list returns the flattened 1-based list key.1, key.2, ...
func (f form) list(key string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f.Values[key+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// count returns how many indexed entries key.N.* exist (1-based, contiguous).
func (f form) count(key string) int {
	n := 0
	for i := 1; ; i++ {
		p := key + "." + strconv.Itoa(i) + "."
		found := false
		for k := range f.Values {
			if strings.HasPrefix(k, p) {
				found = true
				break
			}
		}
		if !found {
			return n
		}
		n = i
	}
}

// boolean parses a boolean key (def when absent).
func (f form) boolean(key string, def bool) bool {
	v := f.str(key)
	if v == "" {
		return def
	}
	return strings.EqualFold(v, "true")
}

// filters returns Filter.N.Name → values.
func (f form) filters() map[string][]string {
	out := map[string][]string{}
	for i := 1; i <= f.count("Filter"); i++ {
		p := "Filter." + strconv.Itoa(i)
		out[f.str(p+".Name")] = append(out[f.str(p+".Name")], f.list(p+".Value")...)
	}
	return out
}

// tagSpecs returns the tags of TagSpecification.N for resourceType.
func (f form) tagSpecs(resourceType string) map[string]string {
	return f.tagSpecsKey("TagSpecification", resourceType)
}

// tagSpecsKey is tagSpecs under another list key (TagSpecifications for transit gateways).
func (f form) tagSpecsKey(key, resourceType string) map[string]string {
	tags := map[string]string{}
	for i := 1; i <= f.count(key); i++ {
		p := key + "." + strconv.Itoa(i)
		if rt := f.str(p + ".ResourceType"); rt != "" && rt != resourceType {
			continue
		}
		for j := 1; j <= f.count(p+".Tag"); j++ {
			q := p + ".Tag." + strconv.Itoa(j)
			tags[f.Get(q+".Key")] = f.Get(q + ".Value")
		}
	}
	return tags
}

// matchFilters reports whether a resource with the given filter values
// matches every filter (tag:K and tag-key use tags).
func matchFilters(fs map[string][]string, vals map[string]string, tags map[string]string) bool {
	for name, want := range fs {
		if len(want) == 0 {
			continue
		}
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			if v, ok := tags[strings.TrimPrefix(name, "tag:")]; ok {
				have = []string{v}
			}
		case name == "tag-key":
			for k := range tags {
				have = append(have, k)
			}
		default:
			v, ok := vals[name]
			if !ok {
				continue // unknown filters are ignored here, as they match nothing we model
			}
			have = []string{v}
		}
		if !anyMatch(want, have) {
			return false
		}
	}
	return true
}

func anyMatch(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h || wildcard(w, h) {
				return true
			}
		}
	}
	return false
}

// wildcard matches EC2 filter wildcards (* and ?).
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return false
	}
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(pattern[1:], s[i:]) || pattern[1:] == s[i:] {
				return true
			}
		}
		return false
	case '?':
		return s != "" && (pattern[1:] == s[1:] || wildcard(pattern[1:], s[1:]))
	default:
		return s != "" && s[0] == pattern[0] && (pattern[1:] == s[1:] || wildcard(pattern[1:], s[1:]))
	}
}
