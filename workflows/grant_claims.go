package workflows

import "go.temporal.io/sdk/workflow"

// grantClaimsChange guards the grant's MemoClaims: after a partial revoke or
// a change, the grant writes the claims it still holds (those of its
// completed units) to its memo, and the conflict checks read them instead
// of the request's (conflicts_client.go): what was undone is released.
const grantClaimsChange = "topoflow-grant-claims"

// MemoHeldClaims is the memo key of a grant's HeldClaims.
const MemoHeldClaims = "heldClaims"

// HeldClaims are the claims a grant still holds.
type HeldClaims struct {
	Claims []Claim `json:"claims"`
}

// heldClaims are the claims of the completed units a grant holds.
func (r *interp) heldClaims() []Claim {
	out := []Claim{}
	for _, c := range r.done {
		cl, ok := StepClaim(c.step.s, c.inputs, c.keys)
		if !ok {
			continue
		}
		dup := false
		for _, have := range out {
			dup = dup || have == cl
		}
		if !dup {
			out = append(out, cl)
		}
	}
	return out
}

// upsertGrantClaims writes the claims the grant still holds to its memo.
func (r *interp) upsertGrantClaims() {
	if changeVersion(r.root, grantClaimsChange, 1) < 1 {
		return
	}
	// An object, never an empty value: the server drops a memo field whose
	// value is an empty list (seen on the dev server 1.29: the key was gone).
	if err := workflow.UpsertMemo(r.root, map[string]any{MemoHeldClaims: HeldClaims{Claims: r.heldClaims()}}); err != nil {
		workflow.GetLogger(r.root).Warn("upsert the grant's claims failed", "error", err)
	}
}
