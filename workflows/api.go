// Package workflows holds Topoflow's interpreter workflow: one workflow type
// that runs any compiled plan. This file is its public API: the names and
// payloads that the starter CLI, the worker and the Web UI use.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/trust"
)

// WorkflowType is the registered name of the interpreter workflow.
const WorkflowType = "topoflow.Interpreter"

// DefaultTaskQueue is the task queue workers poll unless configured otherwise.
const DefaultTaskQueue = "topoflow"

// WorkflowID returns the workflow ID of a spec: it derives from the spec's
// identity only, so applying the same spec again attaches to the running request.
func WorkflowID(src plan.Source) string { return "topoflow/" + src.Kind + "/" + src.Name }

// Request is the interpreter's input.
type Request struct {
	// Plan is the compiled plan to run.
	Plan plan.Plan `json:"plan"`
	// PlanSHA256 is the plan's hash, checked by the workflow and stored in memo.
	PlanSHA256 string `json:"planSha256"`
	// RequestedBy is the identity that applied the spec. It may not approve
	// its own request unless a gate allows self-approval.
	RequestedBy string `json:"requestedBy,omitempty"`
	// Signature signs the plan (statement kind "apply": workflow ID, plan
	// sha256, RequestedBy); required when the worker's trust is strict, where
	// the signer must be one of the trust file's planSigners.
	Signature *trust.Signature `json:"signature,omitempty"`
	// Spec is the spec the plan was compiled from (topoflow apply sends it):
	// the worker compiles it again (CompileActivity) and runs the plan only
	// when it hashes the same; required when the trust file says requireSpec.
	Spec *SpecSource `json:"spec,omitempty"`
	// ApplyID identifies the apply that started the request (Apply sets
	// it): the attach Update says "started" to that apply only.
	ApplyID string `json:"applyId,omitempty"`
	// DriftEvery is how often the grant of the Done request re-checks what
	// it created (0: DefaultDriftEvery; negative: never).
	DriftEvery plan.Duration `json:"driftEvery,omitempty"`
	// Resume is the state carried from the request's previous run when it
	// continued as new (nil for a first run).
	Resume *Resume `json:"resume,omitempty"`
}

// SpecSource is a spec document as applied.
type SpecSource struct {
	// File names the spec file (for messages).
	File string `json:"file"`
	// YAML is the document's text.
	YAML string `json:"yaml"`
}

// MaxSpecSource bounds SpecSource.YAML (bytes).
const MaxSpecSource = 256 << 10

// CompileActivity compiles a SpecSource on the worker and returns the plan's
// sha256 (a string).
const CompileActivity = "topoflow.compile"

// TrustActivity is the activity that loads the worker's trust snapshot
// (trust.Snapshot: identities, groups, OIDC providers' current JWKS, mode).
const TrustActivity = "topoflow.trust"

// SignalRefreshTrust asks a request to load the worker's trust again (after a
// decision was refused for an unknown key: a new SSH key or a rotated OIDC
// key). It takes no payload and is rate-limited.
const SignalRefreshTrust = "refresh-trust"

// ErrUntrustedPlan is the application error type of a request refused
// before any step because its plan is not signed as the worker requires.
const ErrUntrustedPlan = "UntrustedPlan"

// Update, signal and query names. Operator actions exist both as Updates (with
// validators, used by the CLI) and as Signals of the same name and payload (for
// the Web UI's "Send Signal").
const (
	UpdateApprove  = "approve"
	UpdateReject   = "reject"
	UpdateComplete = "complete"
	UpdateRetry    = "retry"
	UpdateSkip     = "skip"
	UpdateRollback = "rollback"
	UpdateAbort    = "abort"
	QueryProgress  = "progress"
)

// Decision is the payload of approve, reject and complete.
type Decision struct {
	// Step is the gate step's ID.
	Step string `json:"step"`
	// Identity is who decides; it must be listed in the gate's Who.
	Identity string `json:"identity"`
	// Comment is recorded for audit.
	Comment string `json:"comment,omitempty"`
	// Data is optional structured output of a manual step (readable as steps.<id>.data).
	Data map[string]any `json:"data,omitempty"`
	// Signature is the signed statement of this decision (required in strict mode).
	Signature *trust.Signature `json:"signature,omitempty"`
}

// OperatorAction is the payload of retry, skip, rollback and abort.
type OperatorAction struct {
	// Step is the parked step's ID (empty for rollback/abort of the whole request).
	Step string `json:"step,omitempty"`
	// Identity is who acts.
	Identity string `json:"identity"`
	// Reason is recorded for audit (required for skip).
	Reason string `json:"reason,omitempty"`
	// Inputs, for retry, replace some of the step's inputs (literal values).
	Inputs map[string]any `json:"inputs,omitempty"`
	// Only, for a revoke, limits it to these steps and every step depending
	// on them (a partial revoke: the grant keeps the rest).
	Only []string `json:"only,omitempty"`
	// Signature is the signed statement of this action (required in strict mode).
	Signature *trust.Signature `json:"signature,omitempty"`
}

// Phases of a request, as in the TopoflowPhase search attribute.
const (
	PhaseRunning         = "Running"
	PhaseWaitingApproval = "WaitingApproval"
	PhaseWaitingManual   = "WaitingManual"
	PhaseParked          = "Parked"
	PhaseRollingBack     = "RollingBack"
	PhaseDone            = "Done"
	PhaseRolledBack      = "RolledBack"
	PhaseFailed          = "Failed"
)

// Step states in Progress.
const (
	StepPending     = "pending"
	StepRunning     = "running"
	StepWaiting     = "waiting" // gate waiting for people
	StepDone        = "done"
	StepSkipped     = "skipped"
	StepFailed      = "failed"
	StepParked      = "parked"
	StepCompensated = "compensated"
	StepCompFailed  = "compensationFailed"
)

// Progress is the result of the progress query.
type Progress struct {
	Phase      string         `json:"phase"`
	Summary    string         `json:"summary"`
	PlanSHA256 string         `json:"planSha256"`
	Awaiting   []string       `json:"awaiting,omitempty"` // identities who must act next
	Steps      []StepProgress `json:"steps"`
	Audit      []AuditEntry   `json:"audit,omitempty"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	// Leaked lists resources whose compensation kept failing.
	Leaked []Leak `json:"leaked,omitempty"`
	// Trust says how the request's plan was admitted (empty for requests
	// started before decisions were authenticated).
	Trust *PlanTrust `json:"trust,omitempty"`
	// Grant is the workflow ID of the grant holding what a Done request
	// created (topoflow revoke undoes it); GrantError says why a Done
	// request has none although it created something.
	Grant      string `json:"grant,omitempty"`
	GrantError string `json:"grantError,omitempty"`
	// Drift is a grant's last drift check (drift.go).
	Drift *Drift `json:"drift,omitempty"`
	// Change is a grant's last change by delta (change.go).
	Change *ChangeResult `json:"change,omitempty"`
}

// PlanTrust is how a request's plan was admitted.
type PlanTrust struct {
	// Mode is the worker's trust mode (strict or dev) when the request started.
	Mode string `json:"mode"`
	// RequestedBy is the requester.
	RequestedBy string `json:"requestedBy,omitempty"`
	// Method is how the requester was verified: ssh, oidc or unverified.
	Method string `json:"method"`
	// Detail is the SSH key fingerprint or the OIDC issuer and subject.
	Detail string `json:"detail,omitempty"`
	// Policy is the planSigners entry that admitted the signer.
	Policy string `json:"policy,omitempty"`
	// Source says whether the worker compiled the plan again from its spec:
	// "recompiled from <file>" or "plan only".
	Source string `json:"source,omitempty"`
}

// StepProgress is one step's state.
type StepProgress struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Action    string   `json:"action"`
	State     string   `json:"state"`
	Attempts  int      `json:"attempts,omitempty"`
	LastError string   `json:"lastError,omitempty"`
	Observed  string   `json:"observed,omitempty"` // last observed cloud status (waits)
	Awaiting  []string `json:"awaiting,omitempty"`
	// Approvals are the principals who approved so far, and Required how
	// many distinct ones the gate needs (M-of-N gates).
	Approvals []string       `json:"approvals,omitempty"`
	Required  int            `json:"required,omitempty"`
	Items     int            `json:"items,omitempty"` // fan-out size
	ItemsDone int            `json:"itemsDone,omitempty"`
	Outputs   map[string]any `json:"outputs,omitempty"`
	StartedAt time.Time      `json:"startedAt,omitempty"`
	EndedAt   time.Time      `json:"endedAt,omitempty"`
	// ItemsPaged: the fan-out has more than MaxProgressItems items, whose
	// outputs are not here but in the QueryItems query, a page at a time.
	ItemsPaged bool `json:"itemsPaged,omitempty"`
}

// AuditEntry records a human decision, or one that was refused.
type AuditEntry struct {
	At       time.Time `json:"at"`
	Action   string    `json:"action"`
	Step     string    `json:"step,omitempty"`
	Identity string    `json:"identity"`
	Comment  string    `json:"comment,omitempty"`
	// Method is how the identity was established: ssh (key fingerprint in
	// Detail), oidc (issuer and subject in Detail) or unverified.
	Method string `json:"method,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Policy is what admitted the decision, e.g. "gate approve: who group:kafka-owners (1 of 2)".
	Policy string `json:"policy,omitempty"`
}

// AuditSummary is the action of the entry that summarizes folded older entries.
const AuditSummary = "summary"

// Leak is a resource left behind by a compensation that kept failing.
type Leak struct {
	Step     string `json:"step"`
	Item     string `json:"item,omitempty"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Error    string `json:"error"`
}

// Result is the workflow's result when the request succeeded: the plan's
// outputs and a summary. The steps' details stay in the progress query
// (QueryProgress), which works on a finished workflow too; requests started
// before schedulerChange returned every step's progress in Steps instead.
type Result struct {
	Outputs map[string]any `json:"outputs,omitempty"`
	// Steps is every step's progress (requests started before the summary result only).
	Steps []StepProgress `json:"steps,omitempty"`
	// Summary counts the steps and items (requests since the summary result).
	Summary *ResultSummary `json:"summary,omitempty"`
	// Outcome is OutcomeRolledBack for a request that was rolled back and
	// left nothing behind (outcome.go), empty when it is Done; Message then
	// says why it was rolled back.
	Outcome string `json:"outcome,omitempty"`
	Message string `json:"message,omitempty"`
}

// ResultSummary is what a finished request did, in counts, and where to
// look for the rest.
type ResultSummary struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	PlanSHA256 string `json:"planSha256"`
	// States counts the steps by final state (done, skipped).
	States map[string]int `json:"states"`
	// Items and ItemsDone count the fan-out items.
	Items     int `json:"items,omitempty"`
	ItemsDone int `json:"itemsDone,omitempty"`
	// Runs is how many workflow runs the request took (continue-as-new).
	Runs int `json:"runs,omitempty"`
	// Where says how to see every step: the progress query.
	Where string `json:"where"`
}

// ErrRolledBack is the application error type of a request that was rolled
// back (its details hold the final Progress); ErrCompensationFailed when a
// rollback left resources behind.
const (
	ErrRolledBack         = "RolledBack"
	ErrCompensationFailed = "CompensationFailed"
)

// Typed search attributes set by the interpreter (registered by the local stack).
var (
	SASpec     = temporal.NewSearchAttributeKeyKeyword("TopoflowSpec")
	SAKind     = temporal.NewSearchAttributeKeyKeyword("TopoflowKind")
	SAProvider = temporal.NewSearchAttributeKeyKeyword("TopoflowProvider")
	SAPhase    = temporal.NewSearchAttributeKeyKeyword("TopoflowPhase")
	SAAwaiting = temporal.NewSearchAttributeKeyKeywordList("TopoflowAwaiting")
)

// MemoPlanSHA256 is the memo key holding the plan's sha256.
const MemoPlanSHA256 = "planSha256"
