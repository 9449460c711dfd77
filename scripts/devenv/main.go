// Command devenv prints, as shell `export` lines, the environment variables
// that give a worker the credentials of a cloudsim world's accounts
// (TOPOFLOW_<ACCOUNT>_<KEY>, see accounts.DefaultEnv). `make dev` and
// `make run` evaluate its output before starting the worker. The keys are
// simulator-only: never use it with real credentials.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/world"
	"github.com/topoflow/topoflow/internal/stack"
)

func main() {
	worldFile := flag.String("world", stack.DefaultWorld, "cloudsim world file")
	flag.Parse()
	w, err := world.ReadFile(*worldFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
		os.Exit(1)
	}
	for _, kv := range stack.SortedEnv(stack.CredentialEnv(w)) {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
}
