package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/world"
)

// DefaultWorld is cloudsim's seed world, relative to the repository root.
const DefaultWorld = "cloudsim/worlds/default.yaml"

// cloud is an in-process cloudsim.
type cloud struct {
	sim *cloudsim.Sim
	url string
	env map[string]string
}

// startCloud starts cloudsim on a free port with the default world and
// exports the credentials of its accounts (simulator-only keys) in the
// environment variables the account registry reads.
func startCloud() (*cloud, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	w, err := world.ReadFile(filepath.Join(root, DefaultWorld))
	if err != nil {
		return nil, err
	}
	sim, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		return nil, err
	}
	if err := sim.LoadWorld(w); err != nil {
		_ = sim.Close()
		return nil, fmt.Errorf("load cloudsim world: %w", err)
	}
	url, err := sim.Start("127.0.0.1:0", "")
	if err != nil {
		_ = sim.Close()
		return nil, err
	}
	env := CredentialEnv(w)
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			_ = sim.Close()
			return nil, fmt.Errorf("export %s: %w", k, err)
		}
	}
	return &cloud{sim: sim, url: url, env: env}, nil
}

func (c *cloud) close() error {
	for k := range c.env {
		_ = os.Unsetenv(k)
	}
	return c.sim.Close()
}

// Sim returns the in-process cloudsim (nil without Options.Cloudsim).
func (s *Stack) Sim() *cloudsim.Sim {
	if s.cloud == nil {
		return nil
	}
	return s.cloud.sim
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
