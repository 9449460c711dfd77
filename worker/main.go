// Command topoflow-worker runs a Topoflow worker: it polls a Temporal task
// queue for the interpreter workflow and every cloud action. With the
// subcommand probe (topoflow-worker probe --task-queue Q --network N) it runs
// a probe instead: only kafka.verify and mqtt.verify, on its own task queue, dialing from the
// client network it is deployed in (or through --socks5); `topoflow-worker
// probes --accounts FILE` lists the probes a registry names (task queue,
// network, accounts; tab-separated), the ones to deploy. Configure it with
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
	"strings"
	"syscall"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/worker/app"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "probes" {
		return listProbes(args[1:])
	}
	parse := app.ParseConfig
	if len(args) > 0 && args[0] == "probe" {
		parse, args = app.ParseProbeConfig, args[1:]
	}
	cfg, err := parse(args, os.Getenv, os.Stderr)
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

// listProbes prints the probes the account registry names, one per line:
// task queue, network and the accounts served, tab-separated.
func listProbes(args []string) int {
	fs := flag.NewFlagSet("topoflow-worker probes", flag.ContinueOnError)
	file := fs.String("accounts", os.Getenv(app.EnvAccounts), "account registry file (YAML) [$"+app.EnvAccounts+"]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: topoflow-worker probes --accounts FILE")
		return 2
	}
	reg, err := accounts.Load(*file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "topoflow-worker: %v\n", err)
		return 1
	}
	probes, err := reg.Probes()
	if err != nil {
		fmt.Fprintf(os.Stderr, "topoflow-worker: %v\n", err)
		return 1
	}
	for _, p := range probes {
		fmt.Printf("%s\t%s\t%s\n", p.TaskQueue, p.Network, strings.Join(p.Accounts, ","))
	}
	return 0
}
