// Package portlease hands out TCP ports on 127.0.0.1 for servers that tests
// start as separate processes and may restart (the Temporal dev server, the
// twin, dev.sh's stack). A port taken from the kernel with ":0" comes from
// the ephemeral range, where every outgoing connection also takes its local
// port: once a server is killed, a client connection elsewhere can take its
// port before it restarts ("bind: address already in use"). Leased ports
// come from below the ephemeral range instead, and each is held by an
// advisory lock (flock) for the life of the process, so no other test
// process on the machine leases it too.
package portlease

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	held = map[int]*os.File{} // leased ports and their lock files, kept open until exit
)

// Take leases a port no other leaseholder on this machine holds and nothing
// listens on now. It stays leased until the process exits (the kernel drops
// the lock then), so a server can be stopped and started again on it.
func Take() (int, error) {
	lo, hi := leaseRange()
	dir := filepath.Join(os.TempDir(), "topoflow-port-leases")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("lease a port: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for try := 0; try < 200; try++ {
		p := lo + rand.IntN(hi-lo)
		if held[p] != nil {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, fmt.Errorf("lease a port: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil { // someone outside the lease (a user's server) has it
			_ = f.Close()
			continue
		}
		_ = ln.Close()
		held[p] = f
		return p, nil
	}
	return 0, fmt.Errorf("lease a port: no free port in %d-%d after 200 tries", lo, hi)
}

// leaseRange is the range ports are leased from: the 12,000 ports below the
// kernel's ephemeral range (net.ipv4.ip_local_port_range; 32768 by default),
// but not below 10000, where well-known services (and make dev's 7233/8233)
// live. If the ephemeral range starts too low, the ports above it are used.
func leaseRange() (lo, hi int) {
	eLo, eHi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if a, err := strconv.Atoi(f[0]); err == nil {
				eLo = a
			}
			if z, err := strconv.Atoi(f[1]); err == nil {
				eHi = z
			}
		}
	}
	if eLo-12000 >= 10000 {
		return eLo - 12000, eLo
	}
	if eHi+1000 < 65535 {
		return eHi + 1, 65535
	}
	return 10000, 20000 // the ephemeral range covers nearly everything: best effort
}
