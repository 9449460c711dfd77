package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Cross-workflow locks. Every lock key (e.g. "kafka:huawei:<instance>") has a
// lock workflow with ID LockWorkflowID(key) that grants the key to one holder
// at a time, in request order. A step asks for a key by starting the lock
// workflow as an abandoned child with its request (or, if it already runs, by
// signalling it), waits for the grant signal, and signals a release when the
// step's action has finished. The lock workflow ends when nobody holds or
// waits for the key, and continues as new when its history grows.

// LockWorkflowType is the registered name of the lock workflow.
const LockWorkflowType = "topoflow.Lock"

// Signal names of the lock protocol.
const (
	SignalLockAcquire = "topoflow.lock.acquire"
	SignalLockRelease = "topoflow.lock.release"
	SignalLockGranted = "topoflow.lock.granted"
	// SignalLockQueued tells a requester that asked with Notify that its
	// request is queued behind another holder (payload LockQueued).
	SignalLockQueued = "topoflow.lock.queued"
)

// QueryLockState is the lock workflow's query returning its LockState (who
// holds the key, who waits). If a holder was terminated while holding a key,
// an operator frees it by signalling SignalLockRelease with the holder's token.
const QueryLockState = "state"

// LockWorkflowID is the workflow ID of the lock workflow for key.
func LockWorkflowID(key string) string { return "topoflow-lock/" + key }

// LockRequest asks for a key on behalf of a workflow run.
type LockRequest struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	// Token identifies this request; the grant and the release carry it.
	Token string `json:"token"`
	// Notify asks the lock workflow to signal SignalLockQueued when the
	// request has to wait, naming the current holder (for progress).
	Notify bool `json:"notify,omitempty"`
}

// LockQueued tells a requester who holds the key it waits for.
type LockQueued struct {
	Key   string `json:"key"`
	Token string `json:"token"`
	// HolderWorkflowID is the workflow holding the key when the request queued.
	HolderWorkflowID string `json:"holderWorkflowId"`
}

// LockGrant tells a requester it holds a key.
type LockGrant struct {
	Key   string `json:"key"`
	Token string `json:"token"`
}

// LockState is the input of the lock workflow (and its continue-as-new state).
type LockState struct {
	Key    string        `json:"key"`
	Holder *LockRequest  `json:"holder,omitempty"`
	Queue  []LockRequest `json:"queue,omitempty"`
}

// lockEventsBeforeContinue bounds the lock workflow's history.
const lockEventsBeforeContinue = 500

// LockWorkflow serializes the holders of one key (registered as LockWorkflowType).
func LockWorkflow(ctx workflow.Context, st LockState) error {
	acq := signalChannel(ctx, SignalLockAcquire)
	rel := signalChannel(ctx, SignalLockRelease)
	logger := workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryLockState, func() (LockState, error) { return st, nil }); err != nil {
		return fmt.Errorf("set lock state query: %w", err)
	}
	markLockWorkflow(ctx)
	enqueue := func(req LockRequest) {
		if st.Holder != nil && st.Holder.Token == req.Token {
			return
		}
		for _, q := range st.Queue {
			if q.Token == req.Token {
				return
			}
		}
		st.Queue = append(st.Queue, req)
		if req.Notify && st.Holder != nil {
			// Fire and forget: the requester only shows it in its progress.
			// Requests without Notify (older interpreters, recorded
			// histories) issue no command here.
			workflow.SignalExternalWorkflow(ctx, req.WorkflowID, req.RunID, SignalLockQueued,
				LockQueued{Key: st.Key, Token: req.Token, HolderWorkflowID: st.Holder.WorkflowID})
		}
	}
	release := func(token string) {
		if st.Holder != nil && st.Holder.Token == token {
			st.Holder = nil
			return
		}
		for i, q := range st.Queue {
			if q.Token == token {
				st.Queue = append(st.Queue[:i], st.Queue[i+1:]...)
				return
			}
		}
	}
	drain := func() bool {
		got := false
		for {
			var req LockRequest
			if !acq.ReceiveAsync(&req) {
				break
			}
			got = true
			enqueue(req)
		}
		for {
			var token string
			if !rel.ReceiveAsync(&token) {
				break
			}
			got = true
			release(token)
		}
		return got
	}
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(acq, func(c workflow.ReceiveChannel, _ bool) {
		var req LockRequest
		c.Receive(ctx, &req)
		enqueue(req)
	})
	sel.AddReceive(rel, func(c workflow.ReceiveChannel, _ bool) {
		var token string
		c.Receive(ctx, &token)
		release(token)
	})
	handled := 0
	for {
		drain()
		if st.Holder == nil && len(st.Queue) > 0 {
			next := st.Queue[0]
			st.Queue = st.Queue[1:]
			err := workflow.SignalExternalWorkflow(ctx, next.WorkflowID, next.RunID, SignalLockGranted,
				LockGrant{Key: st.Key, Token: next.Token}).Get(ctx, nil)
			if err != nil {
				// The requester has ended: skip it.
				logger.Warn("lock requester gone", "key", st.Key, "workflowId", next.WorkflowID, "error", err)
				continue
			}
			st.Holder = &next
			handled++
			continue
		}
		if st.Holder == nil && len(st.Queue) == 0 {
			if drain() {
				continue
			}
			return nil
		}
		if handled >= lockEventsBeforeContinue || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			return workflow.NewContinueAsNewError(ctx, LockWorkflowType, st)
		}
		workflow.SetCurrentDetails(ctx, lockDetails(st))
		sel.Select(ctx)
		handled++
	}
}

// lockClient is the interpreter's side of the lock protocol.
type lockClient struct {
	r         *interp
	granted   map[string]bool
	abandoned map[string]string // token -> key, requests given up while waiting
	holders   map[string]string // token -> workflow ID holding the key it waits for
}

type heldLock struct{ key, token string }

func newLockClient(r *interp) *lockClient {
	return &lockClient{r: r, granted: map[string]bool{}, abandoned: map[string]string{}, holders: map[string]string{}}
}

// start receives grants.
func (lc *lockClient) start() {
	ch := lockReply(lc.r.root, SignalLockGranted) // lockinbox.go
	workflow.Go(lc.r.root, func(ctx workflow.Context) {
		for {
			var g LockGrant
			ch.Receive(ctx, &g)
			if key, ok := lc.abandoned[g.Token]; ok {
				delete(lc.abandoned, g.Token)
				work, _ := workflow.NewDisconnectedContext(ctx)
				lc.signalRelease(work, key, g.Token)
				continue
			}
			lc.granted[g.Token] = true
		}
	})
	qch := lockReply(lc.r.root, SignalLockQueued)
	workflow.Go(lc.r.root, func(ctx workflow.Context) {
		for {
			var q LockQueued
			qch.Receive(ctx, &q)
			if !lc.granted[q.Token] {
				lc.holders[q.Token] = q.HolderWorkflowID
			}
		}
	})
}

// acquireAll takes keys in order; it returns the locks held so far even on error.
func (lc *lockClient) acquireAll(c cx, keys []string, token string) ([]heldLock, error) {
	var held []heldLock
	for _, k := range keys {
		t := token + "@" + k
		if err := lc.acquire(c, k, t, false, nil); err != nil {
			return held, err
		}
		held = append(held, heldLock{key: k, token: t})
	}
	return held, nil
}

func (lc *lockClient) releaseAll(c cx, held []heldLock) {
	for i := len(held) - 1; i >= 0; i-- {
		lc.signalRelease(c.work, held[i].key, held[i].token)
	}
}

// acquire asks the lock workflow of key for the lock and waits for the grant;
// a rollback interrupts the wait (and withdraws the request). With notify,
// the lock workflow names the holder when the request queues, and onWait
// (if set) is told "waiting for lock <key>[ held by <workflow ID>]" while
// the request waits.
func (lc *lockClient) acquire(c cx, key, token string, notify bool, onWait func(string)) error {
	r := lc.r
	ctx := c.work // never cancelled: cancelling would also cancel the child lock workflow
	req := LockRequest{WorkflowID: r.wfID, RunID: r.runID, Token: token, Notify: notify}
	id := LockWorkflowID(key)
	for try := 0; ; try++ {
		if try > 0 {
			if err := workflow.Sleep(c.intr, time.Second); err != nil {
				return errStopped
			}
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			StaticSummary:         lockSummary(key),
		})
		f := workflow.ExecuteChildWorkflow(cctx, LockWorkflowType, LockState{Key: key, Queue: []LockRequest{req}})
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		if err == nil {
			break
		}
		if !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
		err = workflow.SignalExternalWorkflow(ctx, id, "", SignalLockAcquire, req).Get(ctx, nil)
		if err == nil {
			break
		}
		// The lock workflow ended between our start and our signal: start it again.
		workflow.GetLogger(ctx).Info("lock workflow gone, retrying", "key", key, "error", err)
	}
	defer delete(lc.holders, token)
	for !lc.granted[token] {
		seen := lc.holders[token]
		if onWait != nil {
			msg := "waiting for lock " + key
			if seen != "" {
				msg += " held by " + seen
			}
			onWait(msg)
		}
		err := workflow.Await(c.intr, func() bool { return lc.granted[token] || lc.holders[token] != seen || r.gatePaused() })
		if err != nil || (!lc.granted[token] && r.gatePaused()) {
			lc.abandoned[token] = key
			// Withdraw the request; if the grant races with this, start's loop releases it.
			lc.signalRelease(ctx, key, token)
			if err == nil {
				return errPaused // continue as new; the next run asks again (rollcan.go)
			}
			return errStopped
		}
	}
	delete(lc.granted, token)
	return nil
}

func (lc *lockClient) signalRelease(ctx workflow.Context, key, token string) {
	err := workflow.SignalExternalWorkflow(ctx, LockWorkflowID(key), "", SignalLockRelease, token).Get(ctx, nil)
	if err != nil && !errors.Is(err, workflow.ErrCanceled) {
		workflow.GetLogger(ctx).Warn("lock release failed", "key", key, "error", err)
	}
}
