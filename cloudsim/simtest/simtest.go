// Package simtest starts cloudsim worlds for tests: a sim with the default
// seed world moved to a random part of 127.0.0.0/8, so test packages running
// in parallel do not collide on addresses.
package simtest

import (
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// DefaultWorldPath is the path of cloudsim/worlds/default.yaml.
func DefaultWorldPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "worlds", "default.yaml")
}

// Shifted reads a world file and shifts its addresses by a random delta in
// [0, 200) of the second octet (the default world uses 127.16–127.31).
// It also returns the delta, so tests can compute addresses.
func Shifted(t testing.TB, path string) (*world.World, int) {
	t.Helper()
	w, err := world.ReadFile(path)
	if err != nil {
		t.Fatalf("read world: %v", err)
	}
	delta := 32 + rand.IntN(190)
	if err := w.Shift(delta); err != nil {
		t.Fatalf("shift world: %v", err)
	}
	return w, delta
}

// Start starts a sim (providers as in opts) with the default world shifted
// to random addresses and serving on a random port; it is closed at the end
// of the test. Address collisions with other test processes are retried.
func Start(t testing.TB, opts cloudsim.Options) (*cloudsim.Sim, int) {
	t.Helper()
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := cloudsim.New(opts)
		if err != nil {
			t.Fatalf("new sim: %v", err)
		}
		w, delta := Shifted(t, DefaultWorldPath())
		if err := s.LoadWorld(w); err != nil {
			t.Fatalf("load world: %v", err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			last = &listenErr{errs}
			_ = s.Close()
			if strings.Contains(strings.Join(errs, " "), "address already in use") {
				continue
			}
			t.Fatalf("start world: %v", last)
		}
		if _, err := s.Start("127.0.0.1:0", ""); err != nil {
			t.Fatalf("start sim: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, delta
	}
	t.Fatalf("start world: %v", last)
	return nil, 0
}

type listenErr struct{ errs []string }

func (e *listenErr) Error() string { return strings.Join(e.errs, "; ") }
