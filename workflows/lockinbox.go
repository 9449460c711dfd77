package workflows

import (
	"fmt"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// The lock protocol's replies to a request (SignalLockGranted,
// SignalLockQueued) are internal: nobody should send them from the Web UI.
// The UI's "Send a Signal" lists what the workflow's metadata query
// (__temporal_workflow_metadata) reports, and the Go SDK reports every
// signal channel the workflow asked for (GetSignalChannel records it as a
// definition: internal/workflow.go, GetSignalChannelWithOptions). So on a
// worker with LockSignalsInterceptor the request receives these two signals
// through channels of its own, filled by the interceptor, and never asks the
// SDK for them: they are not definitions and the UI does not offer them.
// The history is the same either way (a signal is recorded when it arrives,
// whoever reads it), so running and recorded requests replay with or
// without the interceptor (TestReplay replays both ways); a worker without
// it falls back to the SDK's channels (then listed, with "Internal" in
// their description).

// lockReplies are the signals the interceptor keeps from the SDK.
var lockReplies = []string{SignalLockGranted, SignalLockQueued}

// LockSignalsInterceptor is the worker interceptor that delivers the lock
// protocol's replies to request workflows without declaring them as signal
// definitions (see above). Register it on every worker that runs requests.
func LockSignalsInterceptor() interceptor.WorkerInterceptor { return &lockSignals{} }

type lockSignals struct {
	interceptor.WorkerInterceptorBase
}

func (*lockSignals) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &lockInbox{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

// lockInbox is one request's channels for the lock replies (nil for other
// workflow types).
type lockInbox struct {
	interceptor.WorkflowInboundInterceptorBase
	ready bool
	chans map[string]workflow.Channel
}

type lockInboxKey struct{}

// open creates the channels of a request (once).
func (i *lockInbox) open(ctx workflow.Context) {
	if i.ready {
		return
	}
	i.ready = true
	if workflow.GetInfo(ctx).WorkflowType.Name != WorkflowType {
		return
	}
	i.chans = map[string]workflow.Channel{}
	for _, name := range lockReplies {
		// The SDK's signal channels hold as many (internal defaultSignalChannelSize).
		i.chans[name] = workflow.NewNamedBufferedChannel(ctx, name, 100000)
	}
}

// ExecuteWorkflow hands the channels to the request through its context.
func (i *lockInbox) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	i.open(ctx)
	if i.chans != nil {
		ctx = workflow.WithValue(ctx, lockInboxKey{}, i)
	}
	return i.Next.ExecuteWorkflow(ctx, in)
}

// HandleSignal puts a lock reply in its channel, as the SDK would in its own.
func (i *lockInbox) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	i.open(ctx)
	if ch := i.chans[in.SignalName]; ch != nil {
		if !ch.SendAsync(in.Arg) {
			return fmt.Errorf("exceeded channel buffer size for signal: %v", in.SignalName)
		}
		return nil
	}
	return i.Next.HandleSignal(ctx, in)
}

// lockReply is the channel a request receives a lock reply on: the
// interceptor's, or without it the SDK's signal channel.
func lockReply(ctx workflow.Context, name string) workflow.ReceiveChannel {
	if i, ok := ctx.Value(lockInboxKey{}).(*lockInbox); ok {
		return i.chans[name]
	}
	return signalChannel(ctx, name)
}
