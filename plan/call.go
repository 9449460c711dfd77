package plan

// Call is the argument of every action activity. The activity is registered
// under the action's name; it resolves the account's credentials itself from
// the worker's account registry, so no secret ever enters workflow history.
type Call struct {
	// Action is the registered action name (also the activity type).
	Action string `json:"action"`
	// Account is the account-registry name to act as.
	Account string `json:"account,omitempty"`
	// Inputs are the step's resolved inputs.
	Inputs map[string]any `json:"inputs"`
	// IdempotencyKey is stable across retries, worker crashes and replays:
	// "<workflowID>/<stepID>" or "<workflowID>/<stepID>/<itemKey>". Actions that
	// create resources carry it (client token, name, tag or description) and
	// look it up before creating, so a retried create never duplicates.
	IdempotencyKey string `json:"idempotencyKey"`
}

// WaitCall is the argument of the generic wait activity ([ActionWait]): poll
// Call until the contract's target state.
type WaitCall struct {
	Call     Call `json:"call"`
	Contract Wait `json:"contract"`
	// Poll makes each activity attempt poll once: a status that is not yet
	// the target fails the attempt with the retryable ErrWaitPending, and
	// the activity's retry policy waits the poll interval before the next
	// one (Temporal's pattern for infrequent polling: no worker slot is
	// held between polls, and the history still has one activity).
	Poll bool `json:"poll,omitempty"`
}

// Outputs are an action's results, readable by later steps as steps.<id>.<key>.
type Outputs = map[string]any

// Error types that actions return as Temporal application error types, so the
// interpreter and retry policies can tell them apart.
const (
	// ErrNotFound: the resource does not exist (a wait with Gone treats it as done).
	ErrNotFound = "NotFound"
	// ErrInvalid: the request is wrong; retrying will not help.
	ErrInvalid = "InvalidInput"
	// ErrUnauthorized: credentials are missing or refused; retrying will not help.
	ErrUnauthorized = "Unauthorized"
	// ErrConflict: the resource is in a state that forbids the operation (may clear).
	ErrConflict = "Conflict"
	// ErrThrottled: the cloud asked us to slow down (retried after its Retry-After).
	ErrThrottled = "Throttled"
	// ErrUnavailable: a transient cloud or network failure (retried).
	ErrUnavailable = "Unavailable"
	// ErrWaitFailed: a wait reached one of its failure states.
	ErrWaitFailed = "WaitFailed"
	// ErrWaitTimeout: a wait did not reach its target before its timeout.
	ErrWaitTimeout = "WaitTimeout"
	// ErrWaitPending: one poll of a polling wait (WaitCall.Poll) did not
	// see the target yet; retried after the poll interval.
	ErrWaitPending = "WaitPending"
	// ErrVerifyFailed: produce/consume verification failed.
	ErrVerifyFailed = "VerifyFailed"
)

// NonRetryableErrors are the error types no retry policy retries.
var NonRetryableErrors = []string{ErrInvalid, ErrUnauthorized, ErrWaitFailed, ErrWaitTimeout}
