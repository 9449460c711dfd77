// Package emqx implements the EMQX Platform actions: emqx.checkConsole
// checks the data a person hands back from the EMQX Platform console step
// of a VPC peering (runbook 003); emqx.probeConnector asks the deployment's
// REST API to probe a connector into our VPC (connector.go).
package emqx

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// Register adds the EMQX Platform actions to reg; emqx.probeConnector acts
// as accts' emqx accounts (the deployments' API keys).
func Register(reg *activities.Registry, accts *accounts.Registry) {
	reg.Add(catalog.EMQXCheckConsole, activities.Typed(CheckConsole))
	reg.Add(catalog.EMQXProbeConnector, activities.Typed(NewProber(accts).Probe))
}

// CheckConsole checks the console step's data against the expected values
// and patterns; the first problems found are all reported, each naming the
// key, what was given and what would be right.
func CheckConsole(_ context.Context, _ plan.Call, in catalog.EMQXCheckConsoleIn) (catalog.EMQXCheckConsoleOut, error) {
	out := catalog.EMQXCheckConsoleOut{Values: map[string]string{}}
	var problems []string
	keys := make([]string, 0, len(in.Expected)+len(in.Patterns))
	for k := range in.Expected {
		keys = append(keys, k)
	}
	for k := range in.Patterns {
		if _, ok := in.Expected[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw, ok := in.Data[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is missing (complete the step with data {%s: ...})", k, k))
			continue
		}
		got, isString := raw.(string)
		if !isString {
			problems = append(problems, fmt.Sprintf("%s is a %T, not a string", k, raw))
			continue
		}
		got = strings.TrimSpace(got)
		out.Values[k] = got
		if want, ok := in.Expected[k]; ok && got != want {
			problems = append(problems, fmt.Sprintf("%s %q was entered in the %s console, but ours is %q: correct it there and complete the step again", k, got, in.Cloud, want))
			continue
		}
		if pat, ok := in.Patterns[k]; ok {
			re, err := regexp.Compile(pat)
			if err != nil {
				return out, activities.Invalid("%s: pattern of %s: %v", catalog.EMQXCheckConsole, k, err)
			}
			if !re.MatchString(got) {
				problems = append(problems, fmt.Sprintf("%s %q does not look right (want %s)", k, got, pat))
			}
		}
		out.Checked = append(out.Checked, k)
	}
	if len(problems) > 0 {
		return catalog.EMQXCheckConsoleOut{}, activities.Invalid("%s: the EMQX Platform console data does not match our peering: %s", catalog.EMQXCheckConsole, strings.Join(problems, "; "))
	}
	return out, nil
}
