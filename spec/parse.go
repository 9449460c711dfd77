package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options configure parsing and validation.
type Options struct {
	// Accounts, if set, resolves an account-registry name to its provider
	// (huawei, aws, azure, ambari); unknown names are errors. When nil,
	// account names are only checked for syntax.
	Accounts func(name string) (provider string, ok bool)
	// AccountNames, if set, lists the registry's names (for "did you mean").
	AccountNames func() []string
	// AzureTenant, if set, returns an Azure account's tenant ID ("" if
	// unknown): VNet peering across tenants is refused.
	AzureTenant func(name string) string
	// AWSAccountID, if set, returns an AWS account's 12-digit ID ("" if
	// unknown): security-group references across accounts must name it.
	AWSAccountID func(name string) string
	// Probes, if set, returns the networks an account's probes serve ("" is
	// the account's default probe) and whether the account exists: a
	// step's from: must name a network one of them serves.
	Probes func(account string) (networks []string, ok bool)
}

// maxFileSize bounds a spec file.
const maxFileSize = 4 << 20

// ParseFile reads, decodes and validates every document of a spec file.
// The error, if any, is an [ErrorList] with every problem found.
func ParseFile(path string, opts Options) ([]*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ErrorList{{File: path, Message: fmt.Sprintf("cannot read spec: %v", unwrapPathError(err))}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, ErrorList{{File: path, Message: fmt.Sprintf("cannot read spec: %v", err)}}
	}
	if len(data) > maxFileSize {
		return nil, ErrorList{{File: path, Line: 1, Column: 1, Message: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}
	}
	return Parse(path, data, opts)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// Parse decodes and validates every document in data; file names the
// source in error positions. It never panics. The error, if any, is an
// [ErrorList] with every problem found, sorted by position.
func Parse(file string, data []byte, opts Options) (docs []*Document, err error) {
	var errs ErrorList
	defer func() {
		// The YAML library is third-party code: a panic on hostile input is
		// reported as an error, never propagated.
		if r := recover(); r != nil {
			docs = nil
			errs = append(errs, Error{File: file, Line: 1, Column: 1, Message: fmt.Sprintf("cannot parse YAML: %v", r)})
			errs.Sort()
			err = errs
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var root yaml.Node
		if derr := dec.Decode(&root); derr != nil {
			if derr == io.EOF {
				break
			}
			errs = append(errs, yamlError(file, data, derr))
			break
		}
		if len(root.Content) == 0 || (root.Content[0].Kind == yaml.ScalarNode && root.Content[0].ShortTag() == "!!null") {
			continue // empty document (e.g. a trailing ---)
		}
		doc := decodeDocument(file, i, root.Content[0], opts, &errs)
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 && len(errs) == 0 {
		errs = append(errs, Error{File: file, Line: 1, Column: 1, Message: "no spec document in file"})
	}
	errs.Sort()
	if len(errs) > 0 {
		return docs, errs
	}
	return docs, nil
}

// yamlError positions a YAML syntax error. yaml.v3 reports a parser error at
// the line where the enclosing block starts (its context mark: a mis-indented
// line 22 inside a mapping opened at line 10 is "line 10: did not find
// expected key"; go.yaml.in/yaml/v3 decode.go (*parser).fail prefers
// context_mark over problem_mark), so the problem line is found again: the
// first line whose inclusion makes the file fail with the same message.
func yamlError(file string, data []byte, err error) Error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	col := 1
	if p, c, ok := problemLine(data, line, msg); ok {
		if msg == "did not find expected key" {
			msg += ": the indentation of this line matches no mapping above it"
		}
		line, col = p, c
	}
	return Error{File: file, Line: line, Column: col, Message: "invalid YAML: " + msg}
}

// maxLocateBytes bounds the search for a YAML error's line: hostile input stays cheap.
const maxLocateBytes = 1 << 20

// problemLine returns the first line at or after from whose inclusion makes
// the text fail to parse with the message msg, and the column of its first
// non-blank character. Once the offending line is in, every longer prefix
// fails with the same message, so a binary search finds it in a few parses.
func problemLine(data []byte, from int, msg string) (line, col int, ok bool) {
	if len(data) > maxLocateBytes || from < 1 {
		return 0, 0, false
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool { return yamlFailure(bytes.Join(lines[:k], nil)) == msg }
	lo, hi := from, len(lines)
	if lo > hi || !fails(hi) {
		return 0, 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	text := lines[lo-1]
	return lo, len(text) - len(bytes.TrimLeft(text, " ")) + 1, true
}

// yamlFailure returns the message (without position) of the first syntax
// error of data, or "".
func yamlFailure(data []byte) (msg string) {
	defer func() {
		if recover() != nil {
			msg = ""
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return ""
		}
		if err != nil {
			s := err.Error()
			if m := yamlLine.FindStringSubmatch(s); m != nil {
				s = m[2]
			}
			return s
		}
	}
}

// decodeDocument decodes one document node; it returns nil when the document
// is too broken to use. Problems go to errs.
func decodeDocument(file string, index int, n *yaml.Node, opts Options, errs *ErrorList) *Document {
	d := &decoder{file: file, opts: opts, errs: errs, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	before := len(*errs)
	doc := &Document{File: file, Index: index, Line: n.Line, Column: n.Column}
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.hardf(n, "a spec document must be a mapping with apiVersion, kind, metadata and spec")
		return nil
	}
	// Split the envelope from the spec section: the section's type depends on kind.
	var specKey, specNode *yaml.Node
	envelope := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == "spec" {
			if specKey != nil {
				d.errorf(k, "duplicate key %q", "spec")
				continue
			}
			specKey, specNode = k, n.Content[i+1]
			continue
		}
		envelope.Content = append(envelope.Content, n.Content[i], n.Content[i+1])
	}
	d.decodeStruct(envelope, reflect.ValueOf(&doc.Header).Elem(), "", 0)
	if specNode == nil {
		d.errorf(n, "missing required key %q in document", "spec")
		return nil
	}
	d.keys["spec"] = specKey
	if r := resolve(specNode); r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" {
		d.hardf(specKey, "spec must not be empty")
		return nil
	}
	switch doc.Kind {
	case KindKafkaAccess:
		doc.KafkaAccess = &KafkaAccess{}
		d.decode(specNode, reflect.ValueOf(doc.KafkaAccess).Elem(), "spec", nil, 1)
	case KindWorkflow:
		doc.Workflow = &Workflow{}
		d.decode(specNode, reflect.ValueOf(doc.Workflow).Elem(), "spec", nil, 1)
	case KindSaaSPeering:
		doc.SaaSPeering = &SaaSPeering{}
		d.decode(specNode, reflect.ValueOf(doc.SaaSPeering).Elem(), "spec", nil, 1)
	default:
		// The kind error is already reported; still look for secrets.
		d.plain(specNode, "spec", 1)
		return nil
	}
	raw, _ := d.plain(specNode, "spec", 1).(map[string]any)
	doc.Raw = raw
	if d.hard > 0 {
		// Semantic checks on a structurally broken document would only add noise.
		return nil
	}
	v := &validator{d: d, doc: doc}
	v.validate()
	if len(*errs) > before {
		return nil
	}
	sum, err := canonicalSHA(doc)
	if err != nil {
		d.errorf(n, "cannot hash spec: %v", err)
		return nil
	}
	doc.SHA256 = sum
	doc.keys = make(map[string][2]int, len(d.keys))
	for p, k := range d.keys {
		doc.keys[p] = [2]int{k.Line, k.Column}
	}
	for p, n := range d.nodes {
		if _, ok := doc.keys[p]; !ok {
			doc.keys[p] = [2]int{n.Line, n.Column}
		}
	}
	return doc
}

// ErrorAt returns a positioned error at the key of path (e.g.
// spec.steps[2].wait), or at its nearest ancestor, or at the document.
func (doc *Document) ErrorAt(path, format string, a ...any) Error {
	e := Error{File: doc.File, Line: doc.Line, Column: doc.Column, Message: fmt.Sprintf(format, a...)}
	for p := path; p != ""; {
		if pos, ok := doc.keys[p]; ok {
			e.Line, e.Column = pos[0], pos[1]
			break
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return e
}

// canonicalSHA hashes the document's plain form (sorted keys).
func canonicalSHA(doc *Document) (string, error) {
	b, err := json.Marshal(map[string]any{
		"apiVersion": doc.APIVersion, "kind": doc.Kind, "metadata": doc.Metadata, "spec": doc.Raw,
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
