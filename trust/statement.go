// Package trust authenticates the people behind Topoflow's decisions: the
// signed statement an approval or operator action carries, its SSH (SSHSIG,
// as git signs commits) and OIDC (ID token bound by its nonce) signatures, the
// worker's trust file (identities, groups, OIDC providers, mode, plan
// signers) and the snapshot of it that a workflow verifies against.
//
// Verification is pure: [Snapshot.Verify] does no I/O and reads no clock
// (the caller passes the time), so the interpreter workflow runs it inside
// Update validators. Key material is fetched by [Load] (an activity on the
// worker). A snapshot holds public keys and names only, never private material.
package trust

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// StatementVersion is the version of the statement format.
const StatementVersion = "topoflow-decision/v1"

// Namespace is the SSHSIG namespace of Topoflow signatures (as "git" is git's).
const Namespace = "topoflow-decision"

// Statement kinds: the decisions, and KindApply for the plan signature of a request.
const (
	KindApprove  = "approve"
	KindReject   = "reject"
	KindComplete = "complete"
	KindRetry    = "retry"
	KindSkip     = "skip"
	KindRollback = "rollback"
	KindAbort    = "abort"
	KindApply    = "apply"
)

// Size limits of a statement's parts and of a signature (bytes).
const (
	MaxIdentity  = 256
	MaxComment   = 4096
	MaxSSHSig    = 8192
	MaxOIDCToken = 16384
	MaxID        = 512
)

// Statement is what a person signs: one decision on one run of one plan.
// Its canonical form ([Statement.Bytes]) is its JSON encoding in field order.
type Statement struct {
	// Version is always [StatementVersion].
	Version string `json:"v"`
	// Kind is the decision (approve, reject, ..., or apply).
	Kind string `json:"kind"`
	// WorkflowID is the request's workflow ID.
	WorkflowID string `json:"workflowId"`
	// RunID is the workflow run decided on (empty for apply: the run does not exist yet).
	RunID string `json:"runId,omitempty"`
	// PlanSHA256 is the sha256 of the plan decided on.
	PlanSHA256 string `json:"planSha256"`
	// Step is the step decided on (empty for a whole-request rollback or abort, and apply).
	Step string `json:"step,omitempty"`
	// Identity is the principal the signer claims to be.
	Identity string `json:"identity"`
	// DataSHA256 is [DataDigest] of a complete's data or a retry's replaced inputs.
	DataSHA256 string `json:"dataSha256,omitempty"`
	// Comment is the comment or reason recorded in the audit.
	Comment string `json:"comment,omitempty"`
	// At is when it was signed (RFC 3339, UTC).
	At string `json:"at"`
	// Nonce is random, so that two statements never hash alike.
	Nonce string `json:"nonce"`
}

// Bytes is the statement's canonical encoding, the message that is signed.
func (s Statement) Bytes() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a struct of strings always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Hash is the hex sha256 of [Statement.Bytes]: the nonce an OIDC ID token
// must carry to sign the statement.
func (s Statement) Hash() string {
	sum := sha256.Sum256(s.Bytes())
	return hex.EncodeToString(sum[:])
}

// NewStatement fills Version, At (now, UTC) and a random Nonce.
func NewStatement(s Statement, now time.Time) (Statement, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return s, fmt.Errorf("statement nonce: %w", err)
	}
	s.Version = StatementVersion
	s.At = now.UTC().Format(time.RFC3339)
	s.Nonce = hex.EncodeToString(b[:])
	return s, nil
}

// DataDigest is the hex sha256 of the canonical JSON of m after a JSON round
// trip (so numbers have the shape the workflow decodes); "" for an empty map.
func DataDigest(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode data: %w", err)
	}
	var norm map[string]any
	if err := json.Unmarshal(b, &norm); err != nil {
		return "", fmt.Errorf("decode data: %w", err)
	}
	if b, err = json.Marshal(norm); err != nil {
		return "", fmt.Errorf("encode data: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Match checks that s says what want says: every field but At and Nonce
// (which [Snapshot.Verify] checks) must be equal. The error names the first
// field that differs, e.g. a signature replayed on another step.
func (s Statement) Match(want Statement) error {
	fields := []struct{ name, got, want string }{
		{"version", s.Version, StatementVersion},
		{"kind", s.Kind, want.Kind},
		{"workflow", s.WorkflowID, want.WorkflowID},
		{"run", s.RunID, want.RunID},
		{"plan sha256", s.PlanSHA256, want.PlanSHA256},
		{"step", s.Step, want.Step},
		{"identity", s.Identity, want.Identity},
		{"data/inputs digest", s.DataSHA256, want.DataSHA256},
		{"comment", s.Comment, want.Comment},
	}
	for _, f := range fields {
		if f.got != f.want {
			return fmt.Errorf("signed statement is for %s %s, not %s (a signature is valid for one decision only; sign this one)",
				f.name, short(f.got), short(f.want))
		}
	}
	return nil
}

// short quotes s, cut to 64 bytes, for error messages.
func short(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// Signature is a signed statement, as carried by a decision's payload: the
// statement and exactly one of an SSH signature or an OIDC ID token.
type Signature struct {
	// Statement is what was signed.
	Statement Statement `json:"statement"`
	// SSH is an armored SSHSIG ("-----BEGIN SSH SIGNATURE-----") of the
	// statement's bytes in namespace [Namespace].
	SSH string `json:"ssh,omitempty"`
	// OIDC is an ID token whose nonce claim is the statement's [Statement.Hash].
	OIDC string `json:"oidc,omitempty"`
}
