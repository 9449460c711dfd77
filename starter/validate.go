package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/spf13/cobra"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/compiler"
	"github.com/topoflow/topoflow/spec"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate spec files and report every problem as FILE:LINE:COL: message",
		Long: `Validate decodes every document of every file, checks it (unknown keys, types,
required fields, names, ports, CIDRs, durations, accounts, provider/method
combinations, step references and cycles, secrets) and compiles it.

Exit status 0 when every file is valid, 1 otherwise. With --output json the
problems are printed on stdout as a JSON array of {file,line,column,message}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if globals.Output == "mermaid" {
				return usageError{"validate: --output mermaid is only for plan"}
			}
			opts, err := specOptions()
			if err != nil {
				return err
			}
			return runValidate(args, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	})
}

// specOptions builds the validator's options from the account registry
// named by --accounts (no registry: account names are checked for syntax only).
// Other subcommands (apply) use it too.
func specOptions() (spec.Options, error) {
	if globals.Accounts == "" {
		return spec.Options{}, nil
	}
	reg, err := accounts.Load(globals.Accounts)
	if err != nil {
		return spec.Options{}, fmt.Errorf("--accounts %s: %w", globals.Accounts, err)
	}
	return accountOptions(reg), nil
}

// accountOptions adapts an account registry to the validator.
func accountOptions(reg *accounts.Registry) spec.Options {
	return spec.Options{
		Accounts: func(name string) (string, bool) {
			a, ok := reg.Get(name)
			if !ok {
				return "", false
			}
			return a.Provider, true
		},
		AccountNames: reg.Names,
		Probes: func(name string) ([]string, bool) {
			a, ok := reg.Get(name)
			if !ok {
				return nil, false
			}
			var nets []string
			for _, p := range a.Probes {
				nets = append(nets, p.Network)
			}
			return nets, true
		},
		AzureTenant: func(name string) string {
			if a, ok := reg.Get(name); ok && a.Azure != nil {
				return a.Azure.TenantID
			}
			return ""
		},
		AWSAccountID: func(name string) string {
			if a, ok := reg.Get(name); ok && a.AWS != nil {
				return a.AWS.AccountID
			}
			return ""
		},
	}
}

// runValidate validates and compiles every file and prints the result.
func runValidate(files []string, opts spec.Options, stdout, stderr io.Writer) error {
	type okDoc struct{ file, kind, name string }
	var oks []okDoc
	var errs spec.ErrorList
	for _, f := range files {
		if isRegistry, regErrs := checkRegistryFile(f); isRegistry {
			errs = append(errs, regErrs...)
			if len(regErrs) == 0 {
				oks = append(oks, okDoc{f, "account registry", "accounts"})
			}
			continue
		}
		docs, err := spec.ParseFile(f, opts)
		errs = append(errs, spec.Errors(err)...)
		if err != nil {
			continue
		}
		for _, d := range docs {
			if _, err := compiler.Compile(d); err != nil {
				if l, ok := err.(spec.ErrorList); ok {
					errs = append(errs, l...) // positioned user errors
				} else {
					errs = append(errs, spec.Error{File: f, Line: d.Line, Column: d.Column, Message: err.Error()})
				}
				continue
			}
			oks = append(oks, okDoc{f, d.Kind, d.Metadata.Name})
		}
	}
	errs.Sort()
	if globals.Output == "json" {
		if errs == nil {
			errs = spec.ErrorList{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(errs); err != nil {
			return err
		}
	} else {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		if len(errs) == 0 {
			for _, o := range oks {
				fmt.Fprintf(stdout, "%s: %s %s is valid\n", o.file, o.kind, o.name)
			}
		}
	}
	if len(errs) > 0 {
		return exitCode(1)
	}
	return nil
}

// checkRegistryFile reports whether file is an account registry (a mapping
// with a top-level accounts key and no kind), so `validate specs/*.yaml`
// checks it with the registry's own parser instead of as a spec.
func checkRegistryFile(file string) (bool, spec.ErrorList) {
	data, err := os.ReadFile(file)
	if err != nil {
		return false, nil
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false, nil
	}
	_, hasAccounts := top["accounts"]
	_, hasKind := top["kind"]
	if !hasAccounts || hasKind {
		return false, nil
	}
	_, perr := accounts.Parse(file, data)
	if perr == nil {
		return true, nil
	}
	var out spec.ErrorList
	for _, line := range strings.Split(perr.Error(), "\n") {
		if m := positioned.FindStringSubmatch(line); m != nil {
			l, _ := strconv.Atoi(m[2])
			c, _ := strconv.Atoi(m[3])
			out = append(out, spec.Error{File: m[1], Line: l, Column: c, Message: m[4]})
		} else if line != "" {
			out = append(out, spec.Error{File: file, Message: line})
		}
	}
	return true, out
}

var positioned = regexp.MustCompile(`^(.*?):(\d+):(\d+): (.*)$`)
