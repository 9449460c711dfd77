// Package plan defines Topoflow's compiled intermediate representation: the
// immutable DAG of steps that the interpreter workflow runs.
//
// A plan is produced by the compiler from a spec and is the only thing a
// workflow receives: it never re-reads a mutable spec, so a running workflow
// replays the same way after the compiler changes. Plans are plain data with a
// canonical JSON encoding; the same spec always gives byte-identical JSON and
// therefore the same sha256 (see [Plan.Hash]).
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// APIVersion is the version of the plan format written by this package.
const APIVersion = "topoflow.io/plan/v1"

// Built-in actions that the interpreter handles itself, without an activity.
const (
	// ActionApproval is a gate that waits for a listed approver to approve or
	// reject. Its outputs are {approvedBy, comment, at}.
	ActionApproval = "approval"
	// ActionManual is a task a person performs outside Topoflow and confirms
	// with `complete`. Its outputs are {completedBy, comment, at, data}.
	ActionManual = "manual"
	// ActionWait is the activity name of the generic wait: it polls the step's
	// read action until the wait contract's target state.
	ActionWait = "topoflow.wait"
	// ActionProbeRoute is the activity, run by the main worker, that maps a
	// step's [Probe] (client account and network) to the task queue of the
	// probe worker registered for it in the worker's account registry.
	// Its outputs are {taskQueue, probe, network, startTimeout}; an empty
	// taskQueue means no probe is registered.
	ActionProbeRoute = "topoflow.probeRoute"
)

// FailurePolicy says what happens when a step fails for good.
type FailurePolicy string

// Failure policies.
const (
	// FailRollback compensates every completed step in reverse completion order.
	FailRollback FailurePolicy = "rollback"
	// FailPark parks the step and waits for an operator decision
	// (retry, skip, rollback, abort).
	FailPark FailurePolicy = "park"
)

// ExpiryPolicy says what happens when a gate's deadline passes.
type ExpiryPolicy string

// Expiry policies.
const (
	// ExpireReject treats an expired gate as rejected (the default).
	ExpireReject ExpiryPolicy = "reject"
	// ExpireApprove treats an expired gate as approved.
	ExpireApprove ExpiryPolicy = "approve"
)

// Plan is a compiled spec: the program the interpreter workflow runs.
type Plan struct {
	// APIVersion is always [APIVersion].
	APIVersion string `json:"apiVersion"`
	// Source identifies the spec the plan was compiled from.
	Source Source `json:"source"`
	// Summary is one line for people and for the Web UI's list view
	// (at most 200 bytes), e.g. "Kafka dms-orders ← vpc-analytics (acct-b) via Huawei VPC endpoint".
	Summary string `json:"summary"`
	// Details is Markdown shown in the Web UI's details panel.
	Details string `json:"details,omitempty"`
	// Provider is the main cloud the plan acts on: huawei, aws, azure or "" for generic workflows.
	Provider string `json:"provider,omitempty"`
	// Accounts lists every account name the plan's steps act as, sorted.
	Accounts []string `json:"accounts,omitempty"`
	// OnFailure is the default failure policy of every step.
	OnFailure FailurePolicy `json:"onFailure"`
	// MaxParallel bounds how many steps (and fan-out items) run at once; 0
	// means DefaultMaxParallel (MaxConcurrency at most).
	MaxParallel int `json:"maxParallel,omitempty"`
	// Steps in a topological order: every step comes after the steps it depends on.
	Steps []Step `json:"steps"`
	// Outputs are the request's results, evaluated when every step is done
	// (e.g. the verified bootstrap addresses).
	Outputs map[string]Value `json:"outputs,omitempty"`
	// Operators lists who may retry, skip, roll back or abort (identities or group:<name>); empty means every gate's approvers plus group:platform-oncall.
	Operators []string `json:"operators,omitempty"`
	// Policy records the spec's explicit opt-ins past Topoflow's gate policy
	// (see package policy); nil means none.
	Policy *Policy `json:"policy,omitempty"`
	// Drift is the drift watch of the granted access (nil: the defaults).
	Drift *Drift `json:"drift,omitempty"`
}

// Drift is how a granted access is watched once its request is Done.
type Drift struct {
	// Every is the check interval (0: the default, one hour).
	Every Duration `json:"every,omitempty"`
	// AutoRepair repairs a drift without waiting for the approval gates again.
	AutoRepair bool `json:"autoRepair,omitempty"`
}

// Policy records a spec's explicit opt-ins past the gate policy, so that the
// runtime and the audit can see them.
type Policy struct {
	// AllowBroadAccess lets mutating steps open access broadly: an ingress
	// range wider than the policy's limit (e.g. 0.0.0.0/0), a wildcard
	// principal, or a grant computed only at run time.
	AllowBroadAccess bool `json:"allowBroadAccess,omitempty"`
	// AllowUngated lets a Workflow plan run mutating steps that no approval
	// gate precedes.
	AllowUngated bool `json:"allowUngated,omitempty"`
	// Reason says why the opt-in is needed.
	Reason string `json:"reason,omitempty"`
}

// Source identifies the spec a plan came from.
type Source struct {
	// Kind is the spec kind, e.g. KafkaAccess or Workflow.
	Kind string `json:"kind"`
	// Name is metadata.name of the spec.
	Name string `json:"name"`
	// Labels are metadata.labels of the spec.
	Labels map[string]string `json:"labels,omitempty"`
	// SpecSHA256 is the sha256 of the spec document's canonical form.
	SpecSHA256 string `json:"specSha256"`
}

// Step is one node of the plan's DAG.
type Step struct {
	// ID is stable across compilations of the same spec: [a-z0-9-], at most 63 characters.
	ID string `json:"id"`
	// Title is a short human description, used as the activity summary in the Web UI.
	Title string `json:"title"`
	// Action names a registered action (see package catalog), or one of the
	// built-ins [ActionApproval] and [ActionManual].
	Action string `json:"action"`
	// Account is the account-registry name whose credentials the action uses.
	Account string `json:"account,omitempty"`
	// Inputs are the action's arguments.
	Inputs map[string]Value `json:"inputs,omitempty"`
	// DependsOn lists the IDs of steps that must be done first.
	DependsOn []string `json:"dependsOn,omitempty"`
	// When, if set, is a boolean expression; a false result skips the step.
	When string `json:"when,omitempty"`
	// ForEach fans the step out over a list known only at run time.
	ForEach *ForEach `json:"forEach,omitempty"`
	// Wait makes the step a poll of its (read) action until a target state.
	Wait *Wait `json:"wait,omitempty"`
	// Gate configures an approval or manual step.
	Gate *Gate `json:"gate,omitempty"`
	// Retry is the activity retry policy.
	Retry *Retry `json:"retry,omitempty"`
	// Timeout bounds the step including retries (schedule-to-close); 0 means the default.
	Timeout Duration `json:"timeout,omitempty"`
	// AttemptTimeout bounds one attempt (start-to-close); 0 means the default.
	AttemptTimeout Duration `json:"attemptTimeout,omitempty"`
	// Compensation undoes the step during a rollback; nil means nothing to undo.
	Compensation *Compensation `json:"compensation,omitempty"`
	// OnFailure overrides the plan's failure policy for this step.
	OnFailure FailurePolicy `json:"onFailure,omitempty"`
	// Locks are expressions giving resource keys (e.g. "kafka:huawei:<instance>")
	// that no two workflows may hold at once while the step runs.
	Locks []string `json:"locks,omitempty"`
	// Probe, if set, runs the step's action on the probe worker registered
	// for this client network (a worker inside the client's network, polling
	// its own task queue), when the account registry names one.
	Probe *Probe `json:"probe,omitempty"`
}

// Probe names the client network whose probe worker should run a step.
type Probe struct {
	// Account is the client's account-registry name.
	Account string `json:"account"`
	// Network is the client's VPC/VNet (empty: the account's default probe).
	Network string `json:"network,omitempty"`
}

// ForEach fans a step out: the step runs once per item of a list.
type ForEach struct {
	// Items is an expression that evaluates to a list.
	Items string `json:"items"`
	// As names the current item in expressions (default "item"); the index is "index".
	As string `json:"as,omitempty"`
	// Key, if set, is an expression giving a stable identity for an item (used
	// in idempotency keys and progress); the default is the index.
	Key string `json:"key,omitempty"`
	// Concurrency bounds the items run at once; 0 means
	// DefaultFanoutConcurrency (MaxConcurrency at most).
	Concurrency int `json:"concurrency,omitempty"`
}

// Concurrency bounds. Temporal refuses to schedule more than 2,000 pending
// activities in one workflow execution (the server's
// limit.numPendingActivities.error, default 2000: temporalio/temporal
// common/dynamicconfig/constants.go NumPendingActivitiesLimitError); every
// running step or item has at most one pending activity, so bounding what
// runs at once below that keeps any fan-out from failing with
// PendingActivitiesLimitExceeded.
const (
	// MaxConcurrency is the largest maxParallel and forEach.concurrency.
	MaxConcurrency = 1000
	// DefaultMaxParallel bounds the steps and items running at once when the
	// plan says 0.
	DefaultMaxParallel = MaxConcurrency
	// DefaultFanoutConcurrency bounds a fan-out's items running at once when
	// its step says 0.
	DefaultFanoutConcurrency = 100
)

// Wait is a wait contract: poll a read action until its status reaches a target.
type Wait struct {
	// StatusPath is the dotted path of the status in the action's outputs (default "status").
	StatusPath string `json:"statusPath,omitempty"`
	// Pending states keep the poll going.
	Pending []string `json:"pending,omitempty"`
	// Target states end the wait successfully.
	Target []string `json:"target"`
	// Failure states end the wait with a non-retryable failure.
	Failure []string `json:"failure,omitempty"`
	// Gone, if true, treats "resource not found" as reaching the target (delete waits).
	Gone bool `json:"gone,omitempty"`
	// Occurrences is how many consecutive polls must see a target state (default 1).
	Occurrences int `json:"occurrences,omitempty"`
	// PollInterval is the time between polls.
	PollInterval Duration `json:"pollInterval"`
	// Timeout bounds the whole wait.
	Timeout Duration `json:"timeout"`
}

// Gate configures a step that waits for people: an approval or a manual task.
type Gate struct {
	// Who lists the identities allowed to act (approve/reject, or complete).
	Who []string `json:"who"`
	// Instructions tell the person what to check or do (Markdown).
	Instructions string `json:"instructions,omitempty"`
	// Deadline bounds the wait; 0 means no deadline.
	Deadline Duration `json:"deadline,omitempty"`
	// OnExpiry says what an expired deadline means (default reject).
	OnExpiry ExpiryPolicy `json:"onExpiry,omitempty"`
	// Required is how many distinct verified principals must approve (0 or 1: one).
	Required int `json:"required,omitempty"`
	// AllowSelfApproval lets the requester approve their own request.
	AllowSelfApproval bool `json:"allowSelfApproval,omitempty"`
}

// Compensation is the inverse of a step, run during rollback.
type Compensation struct {
	// Title describes the undo, e.g. "Delete endpoint service".
	Title string `json:"title"`
	// Action names a registered action.
	Action string `json:"action"`
	// Account overrides the step's account.
	Account string `json:"account,omitempty"`
	// Inputs may refer to the step's own resolved inputs as `input` and its
	// outputs as `output` (per item for fan-out steps).
	Inputs map[string]Value `json:"inputs,omitempty"`
	// Wait, if set, polls the compensation's follow-up read (e.g. until gone).
	Wait *Wait `json:"wait,omitempty"`
	// WaitAction is the read action polled by Wait (e.g. get endpoint until gone).
	WaitAction string `json:"waitAction,omitempty"`
	// Retry is the retry policy; compensations default to retrying for a long time.
	Retry *Retry `json:"retry,omitempty"`
}

// Retry is an activity retry policy.
type Retry struct {
	InitialInterval    Duration `json:"initialInterval,omitempty"`
	BackoffCoefficient float64  `json:"backoffCoefficient,omitempty"`
	MaximumInterval    Duration `json:"maximumInterval,omitempty"`
	// MaximumAttempts, 0 means unlimited (bounded by the step's Timeout).
	MaximumAttempts int `json:"maximumAttempts,omitempty"`
	// NonRetryable lists error types that are not retried.
	NonRetryable []string `json:"nonRetryable,omitempty"`
}

// Value is an input: exactly one of a literal or an expression.
//
// Expressions are evaluated by github.com/expr-lang/expr against an
// environment with `spec` (the spec's `spec` section), `steps` (each done
// step's outputs by ID; a list for fan-out steps), the fan-out item under its
// name and `index`, and, in compensations, `input` and `output`.
type Value struct {
	// Literal is a JSON value, used when Expr is empty.
	Literal any `json:"value,omitempty"`
	// Expr is an expression evaluated at run time.
	Expr string `json:"expr,omitempty"`
}

// Lit returns a literal value.
func Lit(v any) Value { return Value{Literal: v} }

// Expr returns an expression value.
func Expr(e string) Value { return Value{Expr: e} }

// IsExpr reports whether v is an expression.
func (v Value) IsExpr() bool { return v.Expr != "" }

// Duration is a time.Duration that encodes as a Go duration string ("30s").
type Duration time.Duration

// D is shorthand for converting a time.Duration.
func D(d time.Duration) Duration { return Duration(d) }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration, but without zero units
// ("1h" rather than "1h0m0s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON encodes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON decodes a duration string (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("plan: invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("plan: invalid duration %s", b)
	}
	*d = Duration(n)
	return nil
}

// JSON returns the plan's canonical JSON encoding: indented, map keys sorted,
// ending in a newline. Equal plans give identical bytes.
func (p *Plan) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return buf.Bytes(), nil
}

// Hash returns the hex sha256 of the plan's canonical JSON (hash.go).
func (p *Plan) Hash() (string, error) {
	return hashCanonical(p)
}

// Step returns the step with the given ID, or nil.
func (p *Plan) Step(id string) *Step {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	return nil
}

// Parse decodes a plan from JSON and checks it with [Plan.Check].
func Parse(b []byte) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &p, nil
}
