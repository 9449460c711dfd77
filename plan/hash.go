package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
)

// hashCanonical writes the canonical JSON of v (what [Plan.JSON] returns:
// json.Encoder with SetEscapeHTML(false) and SetIndent("", "  ")) into a
// sha256 and returns its hex sum, without building the indented bytes:
// encoding/json indents with its scanner, byte by byte, which was most of
// the cost of a plan's hash (issue 14: the hash is taken at every workflow
// start and replay). The compact encoding is indented here with the same
// rules as encoding/json's appendIndent (go/src/encoding/json/indent.go):
// a newline and the indent after '{', '[' and ',', ": " after a key, empty
// objects and arrays kept as {} and []; bytes inside strings unchanged.
func hashCanonical(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode plan: %w", err)
	}
	h := sha256.New()
	indentInto(h, buf.Bytes())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// indentInto writes src (compact JSON from encoding/json, which has no
// space outside strings, followed by the Encoder's newline) indented by two
// spaces into h.
func indentInto(h hash.Hash, src []byte) {
	out := make([]byte, 0, 4096)
	flush := func() {
		h.Write(out)
		out = out[:0]
	}
	newline := func(depth int) {
		out = append(out, '\n')
		for range depth {
			out = append(out, ' ', ' ')
		}
	}
	depth := 0
	needIndent := false // an opening bracket whose newline waits for its first value
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '"' {
			// A string: copy it up to its closing quote (escapes included).
			if needIndent {
				needIndent = false
				depth++
				newline(depth)
			}
			j := i + 1
			for j < len(src) {
				if src[j] == '\\' {
					j += 2
					continue
				}
				if src[j] == '"' {
					break
				}
				j++
			}
			if j >= len(src) {
				j = len(src) - 1
			}
			out = append(out, src[i:j+1]...)
			i = j
			if len(out) > 3072 {
				flush()
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			if i == len(src)-1 && c == '\n' {
				out = append(out, '\n') // the Encoder's newline ends the value
			}
			continue
		}
		if needIndent && c != '}' && c != ']' {
			needIndent = false
			depth++
			newline(depth)
		}
		switch c {
		case '{', '[':
			needIndent = true
			out = append(out, c)
		case ',':
			out = append(out, c)
			newline(depth)
		case ':':
			out = append(out, c, ' ')
		case '}', ']':
			if needIndent {
				needIndent = false
			} else {
				depth--
				newline(depth)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
		if len(out) > 3072 {
			flush()
		}
	}
	flush()
}
