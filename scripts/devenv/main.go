// Command devenv prints, as shell `export` lines, the environment variables
// that give a worker the credentials of a cloudsim world's accounts
// (TOPOFLOW_<ACCOUNT>_<KEY>, see accounts.DefaultEnv). `make dev` and
// `make run` evaluate its output before starting the worker, with the same
// -world files cloudsim loads. The keys are simulator-only: never use it
// with real credentials.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/stack"
)

// defaultWorld is cmd/cloudsim's default world (every world the examples need).
const defaultWorld = "cloudsim/worlds/examples.yaml"

func main() {
	var files []string
	flag.Func("world", "cloudsim world file(s), comma-separated or repeated, as given to cloudsim (default "+defaultWorld+")", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				files = append(files, f)
			}
		}
		return nil
	})
	flag.Parse()
	if len(files) == 0 {
		files = []string{defaultWorld}
	}
	w, err := world.ReadFiles(files...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
		os.Exit(1)
	}
	for _, kv := range stack.SortedEnv(stack.CredentialEnv(w)) {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
}
