// Command topoflow-worker runs a Topoflow worker: it polls a Temporal task
// queue for the interpreter workflow and every cloud action. Configure it with
// flags or the environment (run with --help); it logs JSON to stderr, serves
// /metrics and /healthz on --metrics-addr, and on SIGINT or SIGTERM stops
// polling and waits for running activities before exiting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/topoflow/topoflow/worker/app"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := app.ParseConfig(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "topoflow-worker: %v\n", err)
		return 2
	}
	logger, err := app.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "topoflow-worker: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, app.Options{Logger: logger}); err != nil {
		logger.Error("topoflow worker failed", "error", err.Error())
		return 1
	}
	return 0
}
