// Package worldshift hands out the shifts by which tests move a cloudsim
// world within 127.0.0.0/8 (world.World.Shift adds the shift to the second
// octet), so that stacks running at the same time, in one test process
// (t.Parallel) or in several (`go test ./...` runs packages in parallel),
// never bind the same broker or endpoint addresses. make dev keeps its world
// unshifted.
package worldshift

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Span is how many second octets the worlds use (127.16–127.31): two shifts
// closer than that overlap. Shifts are handed out in slots of Span, from
// Span (127.32–127.47) to Max.
const (
	Span = 16
	Min  = Span
	Max  = 13 * Span // 127.224–127.239, the last slot below 127.255
)

// Wait bounds how long Take waits for a free slot when every one is held.
var Wait = 10 * time.Minute

// Take returns a shift no other running holder on this machine has, and the
// function that gives it back. Holders are told apart by an advisory lock
// (flock) on a file per slot in the temporary directory: the kernel drops
// it when the process dies, so a killed test never keeps a slot. When every
// slot is held it waits for one (up to Wait), then falls back to a random
// one, and callers' "address already in use" retries apply.
func Take() (int, func()) {
	deadline := time.Now().Add(Wait)
	for {
		for _, k := range rand.Perm(Max / Span) {
			n := (k + 1) * Span
			if ok, release := lockShift(n); ok {
				return n, release
			}
		}
		if time.Now().After(deadline) {
			return Span * (1 + rand.IntN(Max/Span)), func() {}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockShift takes shift n's lock without waiting.
func lockShift(n int) (bool, func()) {
	dir := filepath.Join(os.TempDir(), "topoflow-world-slots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return false, nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return false, nil
	}
	return true, func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}
