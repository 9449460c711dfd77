package faults

import (
	"context"
	"testing"
	"time"

	"github.com/topoflow/topoflow/plan"
)

func TestAddValidates(t *testing.T) {
	in := New()
	for _, r := range []Rule{{Kind: Error}, {Op: "[", Kind: Error}, {Op: "x", Kind: "boom"}, {Op: "x", Kind: Error, Rate: 2}} {
		if _, err := in.Add(r); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}

func TestCheckKinds(t *testing.T) {
	var slept time.Duration
	in := New()
	in.sleep = func(ctx context.Context, d time.Duration) error { slept += d; return ctx.Err() }
	ctx := context.Background()
	for _, tc := range []struct {
		rule       Rule
		op         string
		wantKind   Kind
		wantStatus int
		wantSleep  time.Duration
	}{
		{Rule{Op: "huawei.*", Kind: Error}, "huawei.vpcep.CreateEndpoint", Error, 500, 0},
		{Rule{Op: "huawei.*", Kind: Error}, "aws.ec2.X", "", 0, 0},
		{Rule{Op: "aws.*", Kind: Throttle, Code: "Throttling", RetryAfter: plan.D(2 * time.Second)}, "aws.ec2.X", Throttle, 429, 0},
		{Rule{Op: "x", Kind: Latency, Latency: plan.D(time.Second)}, "x", "", 0, time.Second},
		{Rule{Op: "x", Kind: Timeout}, "x", Timeout, 504, time.Minute},
		{Rule{Op: "x", Kind: Stuck}, "x", "", 0, 0}, // state faults never fail a call
	} {
		in.Reset()
		slept = 0
		in.MustAdd(tc.rule)
		f := in.Check(ctx, tc.op)
		var kind Kind
		var status int
		if f != nil {
			kind, status = f.Kind, f.Status
		}
		if kind != tc.wantKind || status != tc.wantStatus || slept != tc.wantSleep {
			t.Errorf("%+v on %s: got %s %d slept %s, want %s %d %s", tc.rule, tc.op, kind, status, slept, tc.wantKind, tc.wantStatus, tc.wantSleep)
		}
		if f != nil && f.Kind == Throttle && f.RetryAfterHeader() != "2" {
			t.Errorf("retry-after %s", f.RetryAfterHeader())
		}
	}
}

func TestRateTimesOutcomeVisibility(t *testing.T) {
	in := New()
	vals := []float64{0.1, 0.9, 0.3}
	in.rnd = func() float64 { v := vals[0]; vals = vals[1:]; return v }
	id := in.MustAdd(Rule{Op: "op", Kind: Error, Rate: 0.5})
	got := []bool{in.Check(context.Background(), "op") != nil, in.Check(context.Background(), "op") != nil, in.Check(context.Background(), "op") != nil}
	if got[0] != true || got[1] != false || got[2] != true {
		t.Errorf("rate hits %v", got)
	}
	if r := in.Rules()[0]; r.Hits != 2 {
		t.Errorf("hits %d", r.Hits)
	}
	in.Remove(id)

	in.MustAdd(Rule{Op: "accept", Kind: Stuck, Times: 1})
	in.MustAdd(Rule{Op: "accept", Kind: Reject, State: "failed"})
	if k, _ := in.Outcome("accept"); k != Stuck {
		t.Errorf("first outcome %s", k)
	}
	if k, st := in.Outcome("accept"); k != Reject || st != "failed" {
		t.Errorf("second outcome %s %s", k, st)
	}
	if k, _ := in.Outcome("other"); k != "" {
		t.Errorf("other outcome %s", k)
	}
	in.MustAdd(Rule{Op: "visible.endpoint", Kind: Eventual, VisibleAfter: plan.D(3 * time.Second)})
	if d := in.VisibilityDelay("visible.endpoint"); d != 3*time.Second {
		t.Errorf("delay %s", d)
	}
	if d := in.VisibilityDelay("visible.vpc"); d != 0 {
		t.Errorf("vpc delay %s", d)
	}
}

// TestRemoveReleases checks that removing a rule (Remove, Reset, Restore)
// lets the calls it delays go on at once and the calls it blocks fail at
// once, while a cancelled call still reports its cancellation.
func TestRemoveReleases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     Kind
		remove   func(in *Injector, id string)
		cancel   bool
		wantKind Kind
	}{
		{"latency/Remove", Latency, func(in *Injector, id string) { in.Remove(id) }, false, ""},
		{"latency/Reset", Latency, func(in *Injector, _ string) { in.Reset() }, false, ""},
		{"latency/Restore", Latency, func(in *Injector, _ string) { in.Restore(State{}) }, false, ""},
		{"latency/cancelled", Latency, func(*Injector, string) {}, true, Timeout},
		{"timeout/Remove", Timeout, func(in *Injector, id string) { in.Remove(id) }, false, Timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := New()
			id := in.MustAdd(Rule{Op: "net.connect.vpc-1", Kind: tc.kind, Latency: plan.D(time.Hour)})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan *Fault, 1)
			go func() { got <- in.Check(ctx, "net.connect.vpc-1") }()
			for in.Rules()[0].Hits == 0 {
				time.Sleep(time.Millisecond)
			}
			if tc.cancel {
				cancel()
			} else {
				tc.remove(in, id)
			}
			select {
			case f := <-got:
				var kind Kind
				if f != nil {
					kind = f.Kind
				}
				if kind != tc.wantKind {
					t.Errorf("released call: fault %v, want kind %q", f, tc.wantKind)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the call is still held after its rule was removed")
			}
			if tc.cancel {
				return
			}
			if f := in.Check(context.Background(), "net.connect.vpc-1"); f != nil {
				t.Errorf("a call after the removal: %v", f)
			}
		})
	}
}
