package plan

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// RootFields reports which fields of the root identifier root (e.g.
// RootOutput) an expression reads: the constant names of root.<field> and
// root["<field>"], or all when it uses root otherwise (bare, or indexed by a
// value known only at run time).
func RootFields(code, root string) (fields []string, all bool, err error) {
	// Parsed once per process, as ParseRefs: a worker asks it of every
	// expression of each plan it runs or replays.
	key := rootFieldsKey{code: code, root: root}
	if c, ok := rootFieldsCache.Load(key); ok {
		e := c.(rootFieldsEntry)
		return slices.Clone(e.fields), e.all, e.err
	}
	fields, all, err = rootFields(code, root)
	if rootFieldsCacheSize.Add(1) <= maxRefsCache {
		rootFieldsCache.Store(key, rootFieldsEntry{fields: slices.Clone(fields), all: all, err: err})
	}
	return fields, all, err
}

// rootFieldsCache holds RootFields' answers (at most maxRefsCache).
var (
	rootFieldsCache     sync.Map
	rootFieldsCacheSize atomic.Int64
)

type rootFieldsKey struct{ code, root string }

type rootFieldsEntry struct {
	fields []string
	all    bool
	err    error
}

func rootFields(code, root string) (fields []string, all bool, err error) {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil, false, fmt.Errorf("invalid expression %q: %v", code, err)
	}
	v := &rootFieldVisitor{root: root, seen: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	return v.fields, v.idents > v.members, nil
}

type rootFieldVisitor struct {
	root            string
	idents, members int
	seen            map[string]bool
	fields          []string
}

func (v *rootFieldVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == v.root {
			v.idents++
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != v.root {
			return
		}
		p, ok := n.Property.(*ast.StringNode)
		if !ok {
			return // indexed by a value: counted as a bare use
		}
		v.members++
		if !v.seen[p.Value] {
			v.seen[p.Value] = true
			v.fields = append(v.fields, p.Value)
		}
	}
}
