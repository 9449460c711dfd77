package cloudsim_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	_ "github.com/topoflow/topoflow/cloudsim/all"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// TestStateRoundTripsEveryProvider: a twin of every provider with a state
// directory, the world seeded, a fault rule hit, a reserved address, a
// pending transition; killed and restored from the directory: the same
// inventory (secrets included), the same rules and hits, the same reserved
// address, and a state that encodes to the very bytes it was restored from
// (so every provider's own records round-trip). Without a state directory
// nothing is written.
func TestStateRoundTripsEveryProvider(t *testing.T) {
	dir := t.TempDir()
	a, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	marks := make(chan string, 4)
	mark := func(s *cloudsim.Sim) func(time.Duration, string) {
		return cloudsim.Transition(s, "test.mark", func(v string) { marks <- v })
	}
	later := mark(a)
	if _, err := a.UseStateDir(dir); err != nil {
		t.Fatal(err)
	}
	w, _ := simtest.Shifted(t, simtest.DefaultWorldPath())
	if err := a.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	id := a.Faults.MustAdd(faults.Rule{Op: "x.*", Kind: faults.Error, Times: 3})
	if f := a.Faults.Check(t.Context(), "x.y"); f == nil {
		t.Fatal("the rule did not hit")
	}
	vpcs := inventory.List[*inventory.VPC](a.Inventory, inventory.Filter{})
	ip, err := a.Inventory.AllocateIP(vpcs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	later(time.Hour, "far")
	later(300*time.Millisecond, "soon")
	if err := a.Persist(); err != nil {
		t.Fatal(err)
	}
	dumpA, _ := a.Inventory.Dump()
	rulesA := a.Faults.Rules()
	a.Kill()
	select {
	case v := <-marks:
		t.Fatalf("transition %q ran on the killed twin", v)
	case <-time.After(500 * time.Millisecond):
	}

	b, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mark(b)
	ok, err := b.UseStateDir(dir)
	if err != nil || !ok {
		t.Fatalf("restore: %v %v", ok, err)
	}
	dumpB, _ := b.Inventory.Dump()
	if !reflect.DeepEqual(dumpA, dumpB) {
		t.Fatal("the restored inventory (with secrets and addresses) differs from the killed twin's")
	}
	if acct := inventory.List[*inventory.Account](b.Inventory, inventory.Filter{}); len(acct) == 0 || acct[0].Credentials[0].Secret == "" {
		t.Fatal("the restored accounts lost their secrets")
	}
	if got := b.Faults.Rules(); !reflect.DeepEqual(got, rulesA) || got[0].ID != id || got[0].Hits != 1 {
		t.Fatalf("restored rules %+v, want %+v", got, rulesA)
	}
	if owner := b.Inventory.Owner(ip); owner != "reserved" {
		t.Fatalf("address %s is %q after the restore, want reserved", ip, owner)
	}
	// The soon transition's deadline passed while the twin was down: it runs at once; the far one waits.
	select {
	case v := <-marks:
		if v != "soon" {
			t.Fatalf("transition %q ran, want soon", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the overdue transition did not run after the restore")
	}
	// Every part encodes to the very bytes it was restored from.
	if err := b.Persist(); err != nil {
		t.Fatal(err)
	}
	b.Kill()
	saved, err := os.ReadFile(filepath.Join(dir, cloudsim.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mark(c)
	if _, err := c.UseStateDir(dir); err != nil {
		t.Fatal(err)
	}
	again, err := c.EncodeState()
	c.Kill()
	if err != nil || string(again) != string(saved) {
		t.Fatalf("a restored twin encodes another state than it was restored from (%v):\nsaved %s\nagain %s", err, saved, again)
	}

	// No state directory: nothing is written anywhere.
	d, _ := cloudsim.New(cloudsim.Options{})
	defer d.Close()
	if d.StateDir() != "" || d.Persist() != nil {
		t.Fatal("a twin without a state directory has one")
	}
}

// TestUnheldHandlerCallsTheTwinWhileASaveWaits: with a state directory, a
// handler that is a client of the twin (the EMQX console stand-in) and,
// while it runs, a save that wants the hold: wrapped in Unheld, its call
// into the twin and the save both finish; held, the three would wait for
// each other for ever (what hung make chaos's twin).
func TestUnheldHandlerCallsTheTwinWhileASaveWaits(t *testing.T) {
	s, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseStateDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var url string
	s.Mount("POST /unheld-test", s.Unheld(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saved := make(chan error, 1)
		go func() { saved <- s.Persist() }() // another request's save, waiting for the hold
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Post(url+"/_cloudsim/inventory", "application/json", nil) // a call into the twin
		if err == nil {
			resp.Body.Close()
		}
		if err == nil {
			err = <-saved
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})))
	if url, err = s.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(url+"/unheld-test", "application/json", nil)
		if err == nil {
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close() // not on a hang: Close would wait for the hung request
	case <-time.After(20 * time.Second):
		t.Fatal("the twin hung: a handler calling the twin while a save waited")
	}
}
