package aws

import (
	"sort"
	"strings"
	"sync"
)

// Client tokens. EC2's idempotent creates remember their ClientToken well
// beyond the resource's life: "If you retry an API request with the same
// client token and the same parameters after it has completed successfully,
// the result of the original request is returned", "a client token is valid
// for at least 24 hours after the termination" of what it created, and the
// same token with other parameters is IdempotentParameterMismatch
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html).
// The twin keeps every token for its whole life (at least as long as EC2),
// so a request that reuses a deleted resource's token is handed that
// resource's ID, as on AWS, and has to cope with it.

// tokenEntry is the original result of one create.
type tokenEntry struct {
	params string
	nodes  []node
}

// tokens holds the tokens of an api's creates, by account, action and token.
type tokens struct {
	mu sync.Mutex
	m  map[string]tokenEntry
}

func tokenKey(c *caller, action, token string) string {
	return c.acct.ID + "\x00" + action + "\x00" + token
}

// tokenParams is the request's parameters but the token, for the mismatch check.
func tokenParams(f form) string {
	var kv []string
	for k, vs := range f.Values {
		if k == "ClientToken" {
			continue
		}
		kv = append(kv, k+"="+strings.Join(vs, ","))
	}
	sort.Strings(kv)
	return strings.Join(kv, "&")
}

// replay returns the original result of a create with the request's
// ClientToken, or IdempotentParameterMismatch; ok is false when the token is
// new (or absent).
func (t *tokens) replay(c *caller, action string, f form) ([]node, *ec2Error, bool) {
	token := f.str("ClientToken")
	if token == "" {
		return nil, nil, false
	}
	t.mu.Lock()
	e, ok := t.m[tokenKey(c, action, token)]
	t.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	if e.params != tokenParams(f) {
		return nil, errf("IdempotentParameterMismatch", "The client token %s was already used with other parameters", token), true
	}
	return e.nodes, nil, true
}

// record remembers a create's result under its ClientToken.
func (t *tokens) record(c *caller, action string, f form, nodes []node) {
	token := f.str("ClientToken")
	if token == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]tokenEntry{}
	}
	t.m[tokenKey(c, action, token)] = tokenEntry{params: tokenParams(f), nodes: nodes}
}

// savedNode and savedToken are the durable forms of a node and a token entry
// (the ledger is part of the AWS state: a restarted twin must still answer a
// reused token with its original result, as EC2 does).
type savedNode struct {
	Name string      `json:"name"`
	Text string      `json:"text,omitempty"`
	Kids []savedNode `json:"kids,omitempty"`
	Leaf bool        `json:"leaf,omitempty"`
}

type savedToken struct {
	Key    string      `json:"key"`
	Params string      `json:"params"`
	Nodes  []savedNode `json:"nodes"`
}

func saveNodes(ns []node) []savedNode {
	if ns == nil {
		return nil
	}
	out := make([]savedNode, len(ns))
	for i, n := range ns {
		out[i] = savedNode{Name: n.name, Text: n.text, Kids: saveNodes(n.kids), Leaf: n.leaf}
	}
	return out
}

func restoreNodes(ns []savedNode) []node {
	if ns == nil {
		return nil
	}
	out := make([]node, len(ns))
	for i, n := range ns {
		out[i] = node{name: n.Name, text: n.Text, kids: restoreNodes(n.Kids), leaf: n.Leaf}
	}
	return out
}

// save returns the ledger's durable form, sorted by key.
func (t *tokens) save() []savedToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]savedToken, 0, len(t.m))
	for k, e := range t.m {
		out = append(out, savedToken{Key: k, Params: e.params, Nodes: saveNodes(e.nodes)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// restore adds saved entries to the ledger.
func (t *tokens) restore(st []savedToken) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]tokenEntry{}
	}
	for _, e := range st {
		t.m[e.Key] = tokenEntry{params: e.Params, nodes: restoreNodes(e.Nodes)}
	}
}
