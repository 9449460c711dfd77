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
