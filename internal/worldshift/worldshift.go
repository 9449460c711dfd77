// Package worldshift hands out the shifts by which tests move a cloudsim
// world within 127.0.0.0/8 (world.World.Shift), so that stacks running at the
// same time, in one test process (t.Parallel) or in several (`go test ./...`
// runs packages in parallel), never bind the same broker or endpoint
// addresses. make dev keeps its world unshifted (127.16–127.31).
package worldshift

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// Min and Max bound the shifts handed out (the shifted second octet stays
// below 256 for the worlds' 127.16–127.33 addresses).
const (
	Min = 32
	Max = 221
)

// Take returns a shift no other running holder on this machine has, and the
// function that gives it back. Holders are told apart by an advisory lock
// (flock) on a file per shift in the temporary directory: the kernel drops
// it when the process dies, so a killed test never keeps a shift. When every
// shift is taken (or locking is impossible) it falls back to a random one, as
// before, and callers' "address already in use" retries apply.
func Take() (int, func()) {
	for try := 0; try < 3*(Max-Min+1); try++ {
		n := Min + rand.IntN(Max-Min+1)
		if ok, release := lockShift(n); ok {
			return n, release
		}
	}
	return Min + rand.IntN(Max-Min+1), func() {}
}

// lockShift takes shift n's lock without waiting.
func lockShift(n int) (bool, func()) {
	dir := filepath.Join(os.TempDir(), "topoflow-world-shifts")
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
