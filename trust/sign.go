package trust

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// EnvAuthSock is the ssh-agent socket variable.
const EnvAuthSock = "SSH_AUTH_SOCK"

// SSHSigner returns the signer named by key: "agent" (the ssh-agent's first
// key), a public key file (that key, held by the ssh-agent at
// $SSH_AUTH_SOCK) or an unencrypted private key file. Passphrase-protected
// keys are used through the agent.
func SSHSigner(key string) (ssh.Signer, error) {
	if key == "agent" {
		return agentSigner(nil)
	}
	b, err := os.ReadFile(key)
	if err != nil {
		return nil, fmt.Errorf("ssh key: %w", err)
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
		return agentSigner(pub)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return agentSigner(missing.PublicKey)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh key %s: %w", key, err)
	}
	return s, nil
}

func agentSigner(want ssh.PublicKey) (ssh.Signer, error) {
	sock := os.Getenv(EnvAuthSock)
	if sock == "" {
		return nil, fmt.Errorf("no ssh-agent ($%s is not set): start one and ssh-add your key, or give an unencrypted key file", EnvAuthSock)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	// The connection stays open for the signer's lifetime (one CLI command).
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent keys: %w", err)
	}
	for _, s := range signers {
		if want == nil || bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
			return s, nil
		}
	}
	if want == nil {
		return nil, errors.New("the ssh-agent holds no key (ssh-add one)")
	}
	return nil, fmt.Errorf("the ssh-agent does not hold key %s (ssh-add it)", ssh.FingerprintSHA256(want))
}

// SignWithSSH signs st with signer.
func SignWithSSH(signer ssh.Signer, st Statement) (*Signature, error) {
	armored, err := SignSSH(signer, Namespace, st.Bytes())
	if err != nil {
		return nil, err
	}
	return &Signature{Statement: st, SSH: armored}, nil
}

// EnvOIDCNonce is the variable an OIDC token command reads the nonce from.
const EnvOIDCNonce = "TOPOFLOW_OIDC_NONCE"

// SignWithOIDCCommand runs command (through sh -c) with $TOPOFLOW_OIDC_NONCE
// set to st's hash; it must print an ID token carrying that nonce (e.g. a
// helper that runs the identity provider's login with nonce=$TOPOFLOW_OIDC_NONCE).
func SignWithOIDCCommand(command string, st Statement, timeout time.Duration) (*Signature, error) {
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), EnvOIDCNonce+"="+st.Hash())
	cmd.Stderr = os.Stderr
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		<-done
		return nil, fmt.Errorf("OIDC token command did not finish within %s", timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("OIDC token command: %w", err)
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" || strings.Count(tok, ".") != 2 {
		return nil, errors.New("OIDC token command printed no ID token (want a JWT on stdout)")
	}
	return &Signature{Statement: st, OIDC: tok}, nil
}
