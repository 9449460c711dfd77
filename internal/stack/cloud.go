package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/worldshift"
)

// DefaultWorld is cloudsim's seed world, relative to the repository root:
// the world make dev serves (every world file the examples need).
const DefaultWorld = "cloudsim/worlds/examples.yaml"

// cloud is an in-process cloudsim.
type cloud struct {
	sim   *cloudsim.Sim
	url   string
	env   map[string]string
	shift int
	// releaseShift gives the world's shift back (worldshift.Take).
	releaseShift func()
}

// startCloud starts cloudsim on a free port with make dev's world moved
// to a random part of 127.0.0.0/8 (so stacks in parallel test processes do
// not collide on broker addresses), and exports the credentials of its
// accounts (simulator-only keys) in the environment variables the account
// registry reads.
func startCloud() (*cloud, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	var sim *cloudsim.Sim
	var w *world.World
	shift := 0
	var release func()
	for attempt := 0; ; attempt++ {
		if w, err = world.ReadFile(filepath.Join(root, DefaultWorld)); err != nil {
			return nil, err
		}
		// The default world uses 127.16–127.31; make dev keeps it there.
		// Stacks running at once on this machine never share a shift (their
		// listeners would collide: worldshift); anything else holding an
		// address is told apart by the retry below.
		shift, release = worldshift.Take()
		if err := w.Shift(shift); err != nil {
			release()
			return nil, fmt.Errorf("shift cloudsim world: %w", err)
		}
		if sim, err = cloudsim.New(cloudsim.Options{}); err != nil {
			release()
			return nil, err
		}
		if err := sim.LoadWorld(w); err != nil {
			_ = sim.Close()
			release()
			return nil, fmt.Errorf("load cloudsim world: %w", err)
		}
		errs := sim.Net.Errors()
		if len(errs) == 0 {
			break
		}
		_ = sim.Close()
		release()
		if attempt == 4 || !strings.Contains(strings.Join(errs, " "), "address already in use") {
			return nil, fmt.Errorf("start cloudsim world: %s", strings.Join(errs, "; "))
		}
	}
	url, err := sim.Start("127.0.0.1:0", "")
	if err != nil {
		_ = sim.Close()
		release()
		return nil, err
	}
	env := CredentialEnv(w)
	if err := exportEnv(env); err != nil {
		_ = sim.Close()
		release()
		return nil, err
	}
	return &cloud{sim: sim, url: url, env: env, shift: shift, releaseShift: release}, nil
}

// exported counts, per environment variable, the running stacks of this
// process that exported it: tests run stacks in parallel (t.Parallel), and
// the first one to close must not unset what the others' workers still read.
var (
	exportMu sync.Mutex
	exported = map[string]int{}
)

// exportEnv sets env in the process environment, refusing a variable that a
// parallel stack exported with another value (the worlds' credentials are
// the same in every stack of a process).
func exportEnv(env map[string]string) error {
	exportMu.Lock()
	defer exportMu.Unlock()
	for k, v := range env {
		if exported[k] > 0 && os.Getenv(k) != v {
			return fmt.Errorf("export %s: a parallel stack exported another value", k)
		}
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("export %s: %w", k, err)
		}
		exported[k]++
	}
	return nil
}

// unexportEnv undoes exportEnv, unsetting a variable when its last stack closes.
func unexportEnv(env map[string]string) {
	exportMu.Lock()
	defer exportMu.Unlock()
	for k := range env {
		if exported[k]--; exported[k] <= 0 {
			delete(exported, k)
			_ = os.Unsetenv(k)
		}
	}
}

func (c *cloud) close() error {
	unexportEnv(c.env)
	err := c.sim.Close()
	c.releaseShift()
	// A request held open on purpose (fault injection of timeouts and lost
	// responses) outlives cloudsim's 2s graceful shutdown; that is expected.
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Sim returns the in-process cloudsim (nil without Options.Cloudsim).
func (s *Stack) Sim() *cloudsim.Sim {
	if s.cloud == nil {
		return nil
	}
	return s.cloud.sim
}

// WorldShift is how far the in-process cloudsim's world was moved in the
// second octet of 127.x addresses (see world.World.Shift); 0 without cloudsim.
func (s *Stack) WorldShift() int {
	if s.cloud == nil {
		return 0
	}
	return s.cloud.shift
}

// CredentialEnv maps a cloudsim world's account credentials to the
// environment variables the worker's account registry reads by default
// (accounts.DefaultEnv: TOPOFLOW_<ACCOUNT>_<KEY>), so a worker can act as
// the world's accounts. The keys are simulator-only.
func CredentialEnv(w *world.World) map[string]string {
	env := map[string]string{}
	for _, a := range w.Accounts {
		for _, c := range a.Credentials {
			var idKey, secretKey string
			switch {
			case a.Provider == accounts.ProviderHuawei && c.Type == "aksk":
				idKey, secretKey = "ak", "sk"
			case a.Provider == accounts.ProviderAWS && c.Type == "aksk":
				idKey, secretKey = "accessKeyId", "secretAccessKey"
			case a.Provider == accounts.ProviderAzure && c.Type == "clientSecret":
				secretKey = "clientSecret"
			case a.Provider == accounts.ProviderAmbari && c.Type == "basic":
				idKey, secretKey = "username", "password"
			case a.Provider == accounts.ProviderAlibaba && c.Type == "aksk":
				idKey, secretKey = "accessKeyId", "accessKeySecret"
			case a.Provider == accounts.ProviderTencent && c.Type == "aksk":
				idKey, secretKey = "secretId", "secretKey"
			case a.Provider == accounts.ProviderEMQX && c.Type == "appkey":
				idKey, secretKey = "appId", "appSecret"
			default:
				continue
			}
			if idKey != "" {
				env[accounts.DefaultEnv(a.ID, idKey)] = c.KeyID
			}
			env[accounts.DefaultEnv(a.ID, secretKey)] = c.Secret
		}
	}
	return env
}

// SortedEnv returns env as sorted KEY=VALUE lines.
func SortedEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
