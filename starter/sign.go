package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/workflows"
)

// Environment variables of signing.
const (
	envSSHKey       = "TOPOFLOW_SSH_KEY"
	envOIDCTokenCmd = "TOPOFLOW_OIDC_TOKEN_CMD"
)

// signFlags say how the CLI signs decisions and plans.
type signFlags struct {
	sshKey, oidcCmd string
	noSign          bool
}

func (f *signFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.sshKey, "ssh-key", os.Getenv(envSSHKey),
		"sign with this SSH key: a private key file, a public key file held by ssh-agent ($SSH_AUTH_SOCK), or \"agent\" (env "+envSSHKey+")")
	fl.StringVar(&f.oidcCmd, "oidc-token-cmd", os.Getenv(envOIDCTokenCmd),
		"sign with an OIDC ID token printed by this command, run with $"+trust.EnvOIDCNonce+" set to the statement hash (env "+envOIDCTokenCmd+")")
	fl.BoolVar(&f.noSign, "no-sign", false, "send the decision unsigned even when a key or token command is configured (dev mode only)")
}

// configured reports whether a signing method is set.
func (f *signFlags) configured() bool { return !f.noSign && (f.sshKey != "" || f.oidcCmd != "") }

// sign signs st with the configured method, or returns nil when none is.
func (f *signFlags) sign(st trust.Statement) (*trust.Signature, error) {
	if !f.configured() {
		return nil, nil
	}
	st, err := trust.NewStatement(st, time.Now())
	if err != nil {
		return nil, err
	}
	if f.sshKey != "" && f.oidcCmd != "" {
		return nil, usageError{"--ssh-key and --oidc-token-cmd: choose one way to sign"}
	}
	if f.sshKey != "" {
		s, err := trust.SSHSigner(f.sshKey)
		if err != nil {
			return nil, err
		}
		return trust.SignWithSSH(s, st)
	}
	return trust.SignWithOIDCCommand(f.oidcCmd, st, 2*time.Minute)
}

// runTarget is what a decision is signed for: a request's current run and plan.
func runTarget(ctx context.Context, c client.Client, id string) (runID, sha string, err error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", "", fmt.Errorf("describe request %s: %w", id, rootCause(err))
	}
	info := desc.GetWorkflowExecutionInfo()
	sha, err = workflows.PlanSHA256FromMemo(info.GetMemo())
	if err != nil {
		return "", "", fmt.Errorf("request %s: %w", id, err)
	}
	return info.GetExecution().GetRunId(), sha, nil
}

// retryAfterRefresh reports whether a refusal names a key the request does
// not know yet (a new SSH key or a rotated OIDC key).
func retryAfterRefresh(err error) bool {
	return err != nil && strings.Contains(err.Error(), "retry in a few seconds")
}

// refreshTrust asks the request to reload the worker's trust.
func refreshTrust(ctx context.Context, c client.Client, id string) error {
	if err := c.SignalWorkflow(ctx, id, "", workflows.SignalRefreshTrust, nil); err != nil {
		return errors.Join(fmt.Errorf("ask %s to refresh its trust", id), err)
	}
	return nil
}
