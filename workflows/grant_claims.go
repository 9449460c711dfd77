package workflows

import "go.temporal.io/sdk/workflow"

// grantClaimsChange guards the grant's MemoClaims: after a partial revoke or
// a change, the grant writes the claims it still holds (those of its
// completed units) to its memo, and the conflict checks read them instead
// of the request's (conflicts_client.go): what was undone is released.
const grantClaimsChange = "topoflow-grant-claims"

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
	if workflow.GetVersion(r.root, grantClaimsChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	if err := workflow.UpsertMemo(r.root, map[string]any{MemoClaims: r.heldClaims()}); err != nil {
		workflow.GetLogger(r.root).Warn("upsert the grant's claims failed", "error", err)
	}
}
