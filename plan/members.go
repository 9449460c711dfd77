package plan

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Members parses an expression and returns every chain of constant member
// accesses on a root identifier it contains, outermost last: for
// `steps.verify.brokers["0"]` that is [steps verify], [steps verify brokers]
// and [steps verify brokers 0]; `steps.x[index].id` gives [steps x [] id]. The contract test reads which step outputs
// and inputs expressions use from them.
func Members(code string) ([][]string, error) {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %v", code, err)
	}
	v := &memberVisitor{}
	ast.Walk(&tree.Node, v)
	return v.chains, nil
}

type memberVisitor struct{ chains [][]string }

func (v *memberVisitor) Visit(node *ast.Node) {
	if m, ok := (*node).(*ast.MemberNode); ok {
		if c := chain(m); c != nil {
			v.chains = append(v.chains, c)
		}
	}
}

// chain returns root.p1.p2… for a member node on an identifier, else nil.
// A property that is not a constant string (an index) is IndexMember.
func chain(n ast.Node) []string {
	switch m := n.(type) {
	case *ast.IdentifierNode:
		return []string{m.Value}
	case *ast.MemberNode:
		c := chain(m.Node)
		if c == nil {
			return nil
		}
		if p, ok := m.Property.(*ast.StringNode); ok {
			return append(c, p.Value)
		}
		return append(c, IndexMember)
	}
	return nil
}

// IndexMember stands for an index (a property that is not a constant
// string, e.g. [index] or [0]) in the chains of [Members].
const IndexMember = "[]"
