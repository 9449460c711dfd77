package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/topoflow/topoflow/workflows"
)

// globalFlags are the persistent flags shared by every subcommand, following
// the Temporal CLI's conventions (flag names, environment variables, defaults).
type globalFlags struct {
	// Address is the Temporal frontend host:port (TEMPORAL_ADDRESS).
	Address string
	// Namespace is the Temporal namespace (TEMPORAL_NAMESPACE).
	Namespace string
	// Output is the output format: text or json (plan also accepts mermaid).
	Output string
	// Accounts is the account-registry file (TOPOFLOW_ACCOUNTS); "" when none.
	Accounts string
	// TaskQueue is the task queue of the Topoflow workers (TOPOFLOW_TASK_QUEUE).
	TaskQueue string
}

// Defaults of the global flags.
const (
	defaultAddress      = "127.0.0.1:7233"
	defaultNamespace    = "default"
	defaultAccountsFile = "specs/accounts.yaml"
)

// globals holds the parsed global flags; subcommands read it in RunE.
var globals globalFlags

// rootCmd is the topoflow command. Subcommands in other files of this
// package register themselves with rootCmd.AddCommand in their init().
var rootCmd = &cobra.Command{
	Use:   "topoflow",
	Short: "Declarative cross-VPC / cross-account Kafka access on Temporal",
	Long: `topoflow turns reviewed YAML specs (KafkaAccess, Workflow) into immutable plans
and runs them as durable Temporal workflows.

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TOPOFLOW_ACCOUNTS, TOPOFLOW_TASK_QUEUE.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
		switch globals.Output {
		case "text", "json", "mermaid", "wide":
		default:
			return usageError{fmt.Sprintf("--output %q: want text or json", globals.Output)}
		}
		return nil
	},
}

func init() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	resetFlags()
}

// resetFlags (re)defines the persistent flags with defaults from the
// environment, so that run() can be called more than once (tests).
func resetFlags() {
	// Clear values left by an earlier run first: inherited copies of the
	// persistent flags hold stale defaults.
	resetSubcommandFlags(rootCmd)
	globals = globalFlags{}
	fs := pflag.NewFlagSet("topoflow", pflag.ContinueOnError)
	fs.StringVar(&globals.Address, "address", envOr("TEMPORAL_ADDRESS", defaultAddress), "Temporal frontend address host:port (env TEMPORAL_ADDRESS)")
	fs.StringVarP(&globals.Namespace, "namespace", "n", envOr("TEMPORAL_NAMESPACE", defaultNamespace), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVarP(&globals.Output, "output", "o", "text", "output format: text, json (plan: also wide, mermaid; status: also mermaid)")
	fs.StringVar(&globals.Accounts, "accounts", envOr("TOPOFLOW_ACCOUNTS", defaultAccounts()), "account registry file (env TOPOFLOW_ACCOUNTS; default specs/accounts.yaml if it exists)")
	fs.StringVar(&globals.TaskQueue, "task-queue", envOr("TOPOFLOW_TASK_QUEUE", workflows.DefaultTaskQueue), "task queue of the Topoflow workers (env TOPOFLOW_TASK_QUEUE)")
	pf := rootCmd.PersistentFlags()
	// Replace any previous definitions: cobra keeps flags across Execute calls.
	*pf = *pflag.NewFlagSet("topoflow", pflag.ContinueOnError)
	pf.AddFlagSet(fs)
}

// resetSubcommandFlags resets the local flags of every subcommand to their
// defaults, so repeated run() calls in tests do not see earlier values.
func resetSubcommandFlags(c *cobra.Command) {
	for _, sub := range c.Commands() {
		sub.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Changed {
				return
			}
			if sv, ok := f.Value.(pflag.SliceValue); ok && f.DefValue == "[]" {
				_ = sv.Replace(nil)
			} else {
				_ = f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
		resetSubcommandFlags(sub)
	}
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func defaultAccounts() string {
	if _, err := os.Stat(defaultAccountsFile); err == nil {
		return defaultAccountsFile
	}
	return ""
}
