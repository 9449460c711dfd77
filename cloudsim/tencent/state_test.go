package tencent_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/tencent"
)

// TestAttachSurvivesAKill: a twin with a state directory is killed while a
// cross-account CCN attach is ATTACHING; the twin restarted with the
// directory completes the attach (PENDING) and then its expiry (EXPIRED):
// both steps are durable transitions, not timers lost with the process.
func TestAttachSurvivesAKill(t *testing.T) {
	tm := fast()
	tm.Attach, tm.AttachExpiry = 1500*time.Millisecond, 500*time.Millisecond
	old := tencent.DefaultTiming
	tencent.DefaultTiming = tm
	t.Cleanup(func() { tencent.DefaultTiming = old })
	dir := t.TempDir()
	a, err := cloudsim.New(cloudsim.Options{Providers: []string{"tencent"}})
	if err != nil {
		t.Fatal(err)
	}
	if restored, err := a.UseStateDir(dir); err != nil || restored {
		t.Fatalf("UseStateDir on an empty directory: restored %v, %v", restored, err)
	}
	w, _ := simtest.Shifted(t, filepath.Join("..", "worlds", "tencent.yaml"))
	if err := a.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	if err := a.Persist(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	ours, emqx := client(t, a, ourID, ourKey), client(t, a, emqxID, emqxKey)
	cr := vpc.NewCreateCcnRequest()
	cr.CcnName = common.StringPtr("emqx-ccn")
	r, err := ours.CreateCcn(cr)
	if err != nil {
		t.Fatal(err)
	}
	ccn := *r.Response.Ccn.CcnId
	if err := attach(emqx, ccn, "100000000001", emqxVPC); err != nil {
		t.Fatal(err)
	}
	if s := state(t, ours, ccn, emqxVPC); s != tencent.StateAttaching {
		t.Fatalf("right after the attach: %s, want %s", s, tencent.StateAttaching)
	}
	a.Kill()

	b, err := cloudsim.New(cloudsim.Options{Providers: []string{"tencent"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if ok, err := b.UseStateDir(dir); err != nil || !ok {
		t.Fatalf("UseStateDir after the kill: restored %v, %v", ok, err)
	}
	if _, err := b.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	ours = client(t, b, ourID, ourKey)
	waitState(t, ours, ccn, emqxVPC, tencent.StatePending)
	waitState(t, ours, ccn, emqxVPC, tencent.StateExpired)
}
