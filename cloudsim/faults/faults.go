// Package faults is cloudsim's fault injector. Rules match operation names
// (path.Match globs such as "huawei.vpcep.CreateEndpoint" or "huawei.*") and
// say what goes wrong. Provider handlers ask at the start of every operation:
//
//	if f := sim.Faults.Check(r.Context(), "huawei.vpcep.CreateEndpoint"); f != nil {
//		renderHuaweiError(w, f) // f.Kind, f.Status, f.Code, f.Message, f.RetryAfter
//		return
//	}
//
// Check sleeps for matching latency rules, blocks for timeout rules, and
// returns a *Fault for error, throttle and timeout rules (removing a rule
// releases the calls it is delaying or blocking); each provider
// renders the fault in its own error shape (a Huawei error_code body, an AWS
// XML/JSON error, an ARM error envelope). Throttle faults carry RetryAfter,
// which providers send as the Retry-After header.
//
// State machines ask [Injector.Outcome] when a resource would move on: a
// "stuck" rule keeps it in its pending state, a "reject" rule ends it in the
// rule's State (e.g. "rejected" or "failed"). [Injector.VisibilityDelay]
// drives eventual consistency: the inventory asks it with op
// "visible.<kind>" (e.g. "visible.endpoint") when an object is created.
package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Kind is a kind of fault.
type Kind string

// Fault kinds.
const (
	// Error fails the operation with Status/Code/Message (default 500 InternalError).
	Error Kind = "error"
	// Throttle fails it with Status 429 (default) and RetryAfter.
	Throttle Kind = "throttle"
	// Latency delays it by Latency, then lets it proceed.
	Latency Kind = "latency"
	// Timeout blocks it for Latency (default 60s) or until the request is
	// cancelled, then fails it with Status 504.
	Timeout Kind = "timeout"
	// Stuck keeps a resource in its pending state (see Injector.Outcome).
	Stuck Kind = "stuck"
	// Reject ends a resource in State (default "rejected") instead of its target.
	Reject Kind = "reject"
	// Eventual hides new resources for VisibleAfter (op "visible.<kind>").
	Eventual Kind = "eventual"
)

// Kinds lists every fault kind.
var Kinds = []Kind{Error, Throttle, Latency, Timeout, Stuck, Reject, Eventual}

// Rule is one fault-injection rule.
type Rule struct {
	// ID is assigned by Add.
	ID string `json:"id"`
	// Op is a path.Match glob on the operation name.
	Op string `json:"op"`
	// Kind of fault.
	Kind Kind `json:"kind"`
	// Rate is the probability (0..1] that a matching call is hit; 0 means 1.
	Rate float64 `json:"rate,omitempty"`
	// Times limits how many calls the rule hits; 0 means unlimited.
	Times int `json:"times,omitempty"`
	// Status, Code and Message shape error/throttle/timeout faults.
	Status  int    `json:"status,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// RetryAfter is sent with throttle faults.
	RetryAfter plan.Duration `json:"retryAfter,omitempty"`
	// Latency is the delay of latency rules and the block time of timeout rules.
	Latency plan.Duration `json:"latency,omitempty"`
	// State is the end state of reject rules.
	State string `json:"state,omitempty"`
	// VisibleAfter is the hiding time of eventual rules.
	VisibleAfter plan.Duration `json:"visibleAfter,omitempty"`
	// Hits counts the calls the rule hit.
	Hits int `json:"hits"`

	// released is closed when the rule is removed: the calls it delays or
	// blocks go on at once.
	released chan struct{}
}

// Fault is what a hit rule does to one call. It is an error.
type Fault struct {
	Kind       Kind
	Op         string
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

// Error implements error.
func (f *Fault) Error() string {
	s := fmt.Sprintf("injected %s fault on %s: %d %s: %s", f.Kind, f.Op, f.Status, f.Code, f.Message)
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", f.RetryAfter)
	}
	return s
}

// RetryAfterHeader returns the Retry-After header value (whole seconds, at least 1).
func (f *Fault) RetryAfterHeader() string {
	s := int((f.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// Injector holds the rules. The zero value is not usable; call New.
type Injector struct {
	mu    sync.Mutex
	rules []*Rule
	next  int
	rnd   func() float64
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns an injector without rules.
func New() *Injector {
	return &Injector{rnd: rand.Float64, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Add validates and adds a rule, returning its ID.
func (in *Injector) Add(r Rule) (string, error) {
	if r.Op == "" {
		return "", fmt.Errorf("fault rule: op is required")
	}
	if _, err := path.Match(r.Op, ""); err != nil {
		return "", fmt.Errorf("fault rule: bad op pattern %q: %w", r.Op, err)
	}
	known := false
	for _, k := range Kinds {
		known = known || k == r.Kind
	}
	if !known {
		return "", fmt.Errorf("fault rule: unknown kind %q (want one of %v)", r.Kind, Kinds)
	}
	if r.Rate < 0 || r.Rate > 1 {
		return "", fmt.Errorf("fault rule: rate %v out of [0,1]", r.Rate)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.next++
	r.ID = "f" + strconv.Itoa(in.next)
	r.Hits = 0
	r.released = make(chan struct{})
	in.rules = append(in.rules, &r)
	return r.ID, nil
}

// MustAdd is Add for tests and seed code; it panics on an invalid rule.
func (in *Injector) MustAdd(r Rule) string {
	id, err := in.Add(r)
	if err != nil {
		panic(err)
	}
	return id
}

// Remove deletes a rule; it reports whether it existed.
func (in *Injector) Remove(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, r := range in.rules {
		if r.ID == id {
			in.rules = append(in.rules[:i:i], in.rules[i+1:]...)
			release(r)
			return true
		}
	}
	return false
}

// Reset removes every rule.
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		release(r)
	}
	in.rules = nil
}

// release lets the calls a removed rule delays or blocks go on.
func release(r *Rule) {
	if r.released != nil {
		close(r.released)
	}
}

// Rules returns copies of the rules.
func (in *Injector) Rules() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, len(in.rules))
	for i, r := range in.rules {
		out[i] = *r
		out[i].released = nil // the live rule's, not the copy's
	}
	return out
}

// hit returns copies of the rules of the given kinds that hit op, counting them.
func (in *Injector) hit(op string, kinds ...Kind) []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Rule
	for _, r := range in.rules {
		match := false
		for _, k := range kinds {
			match = match || r.Kind == k
		}
		if !match {
			continue
		}
		if ok, _ := path.Match(r.Op, op); !ok {
			continue
		}
		if r.Times > 0 && r.Hits >= r.Times {
			continue
		}
		if r.Rate > 0 && r.Rate < 1 && in.rnd() >= r.Rate {
			continue
		}
		r.Hits++
		out = append(out, *r)
	}
	return out
}

// Check applies the rules that hit op: it sleeps for latency rules, blocks
// for timeout rules, and returns the first error, throttle or timeout fault
// (nil when the call proceeds normally). A cancelled ctx during a timeout
// block still returns the timeout fault.
func (in *Injector) Check(ctx context.Context, op string) (f *Fault) {
	if rec, ok := ctx.Value(callKey{}).(*Call); ok {
		defer rec.record(op, &f)
	}
	for _, r := range in.hit(op, Latency, Error, Throttle, Timeout) {
		switch r.Kind {
		case Latency:
			if err := in.wait(ctx, time.Duration(r.Latency), r.released); err != nil {
				return &Fault{Kind: Timeout, Op: op, Status: http.StatusGatewayTimeout, Code: "RequestTimeout", Message: "request cancelled during injected latency"}
			}
		case Timeout:
			d := time.Duration(r.Latency)
			if d <= 0 {
				d = time.Minute
			}
			_ = in.wait(ctx, d, r.released)
			return fault(op, r, http.StatusGatewayTimeout, "RequestTimeout", "the request timed out")
		case Error:
			return fault(op, r, http.StatusInternalServerError, "InternalError", "internal error")
		case Throttle:
			f := fault(op, r, http.StatusTooManyRequests, "Throttling", "rate exceeded")
			f.RetryAfter = time.Duration(r.RetryAfter)
			if f.RetryAfter <= 0 {
				f.RetryAfter = time.Second
			}
			return f
		}
	}
	return nil
}

// wait sleeps for d, until ctx is done (its error), or until the rule is
// removed (released: nil, as if d had passed).
func (in *Injector) wait(ctx context.Context, d time.Duration, released <-chan struct{}) error {
	in.mu.Lock()
	sleep := in.sleep
	in.mu.Unlock()
	if released == nil {
		return sleep(ctx, d)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-released:
			cancel()
		case <-done:
		}
	}()
	if err := sleep(wctx, d); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

func fault(op string, r Rule, status int, code, msg string) *Fault {
	f := &Fault{Kind: r.Kind, Op: op, Status: r.Status, Code: r.Code, Message: r.Message}
	if f.Status == 0 {
		f.Status = status
	}
	if f.Code == "" {
		f.Code = code
	}
	if f.Message == "" {
		f.Message = msg
	}
	return f
}

// Outcome tells a state machine about to move a resource past a pending
// state (op e.g. "huawei.vpcep.endpoint.accept") whether a stuck or reject
// rule hits: (Stuck, "") keeps it pending, (Reject, state) ends it in state;
// ("", "") lets it proceed.
func (in *Injector) Outcome(op string) (Kind, string) {
	hits := in.hit(op, Stuck, Reject)
	if len(hits) == 0 {
		return "", ""
	}
	r := hits[0]
	if r.Kind == Stuck {
		return Stuck, ""
	}
	if r.State != "" {
		return Reject, r.State
	}
	return Reject, "rejected"
}

// VisibilityDelay returns how long a new resource stays hidden (op "visible.<kind>").
func (in *Injector) VisibilityDelay(op string) time.Duration {
	var d time.Duration
	for _, r := range in.hit(op, Eventual) {
		if v := time.Duration(r.VisibleAfter); v > d {
			d = v
		}
	}
	return d
}

// State is the injector's rules (with their hits) and its rule counter, as
// data (cloudsim's state directory keeps them between runs).
type State struct {
	Rules []Rule `json:"rules"`
	Next  int    `json:"next"`
}

// State returns the rules and the rule counter.
func (in *Injector) State() State {
	return State{Rules: in.Rules(), Next: in.counter()}
}

func (in *Injector) counter() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.next
}

// Restore replaces the rules and the rule counter with a saved state.
func (in *Injector) Restore(st State) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		release(r)
	}
	in.rules = nil
	for _, r := range st.Rules {
		r := r
		r.released = make(chan struct{})
		in.rules = append(in.rules, &r)
	}
	in.next = st.Next
}

// SetSleep replaces how latency and timeout rules wait (cloudsim lets a
// request's hold on its state go while it sleeps).
func (in *Injector) SetSleep(sleep func(ctx context.Context, d time.Duration) error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.sleep = sleep
}

// Sleep waits for d or until ctx is done (the default of SetSleep).
func Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

// ResponseSuffix names the response phase of an operation for fault rules:
// a rule on "aws.ec2.CreateRoute/response" lets the call take effect, then
// delays (latency) or loses (error, throttle, timeout) its response. Globs
// such as "aws.*" do not match it ("*" stops at "/").
const ResponseSuffix = "/response"

// Call records the operations a request asked Check about (WithCall), so
// that the twin can run the request's response phase after its handler.
type Call struct {
	mu      sync.Mutex
	ops     []string
	faulted bool
}

type callKey struct{}

// WithCall returns a context whose Check calls are recorded in the returned Call.
func WithCall(ctx context.Context) (context.Context, *Call) {
	c := &Call{}
	return context.WithValue(ctx, callKey{}, c), c
}

func (c *Call) record(op string, f **Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
	c.faulted = c.faulted || *f != nil
}

// Effective returns the request's operation when it ran without a fault
// and has not had its response phase yet (its first operation, when no
// operation of the request was a response phase), else "".
func (c *Call) Effective() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faulted || len(c.ops) == 0 {
		return ""
	}
	for _, op := range c.ops {
		if strings.HasSuffix(op, ResponseSuffix) {
			return ""
		}
	}
	return c.ops[0]
}

// HasResponseRules reports whether a rule targets a response phase.
func (in *Injector) HasResponseRules() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if strings.HasSuffix(r.Op, ResponseSuffix) {
			return true
		}
	}
	return false
}
