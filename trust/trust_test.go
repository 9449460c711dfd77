package trust_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/topoflow/topoflow/trust"
	"github.com/topoflow/topoflow/trust/trusttest"
)

func statement(t *testing.T, who string, now time.Time) trust.Statement {
	t.Helper()
	st, err := trust.NewStatement(trust.Statement{Kind: trust.KindApprove, WorkflowID: "topoflow/KafkaAccess/x", RunID: "run-1",
		PlanSHA256: strings.Repeat("a", 64), Step: "approve", Identity: who, Comment: "NET-1 ok"}, now)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// world is a trust snapshot with an SSH identity, an OIDC identity and the issuer.
type world struct {
	iss   *trusttest.Issuer
	alice trusttest.Key // ssh identity alice
	snap  trust.Snapshot
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{iss: trusttest.NewIssuer(t), alice: trusttest.NewKey(t, "ed25519")}
	rsaKey := trusttest.NewKey(t, "rsa")
	c := &trust.Config{Mode: trust.ModeStrict,
		Identities: map[string]trust.Identity{
			"alice": {SSH: []string{w.alice.Authorized}},
			"rita":  {SSH: []string{rsaKey.Authorized}},
			"olga":  {OIDC: []trust.Subject{{Issuer: w.iss.Provider().Issuer, Subject: "sub-olga"}}},
		},
		Groups: map[string][]string{"kafka-owners": {"alice", "olga"}},
		OIDC:   []trust.Provider{w.iss.Provider()},
	}
	b := mustYAML(t, c)
	cfg, err := trust.ParseConfig("trust.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	if w.snap, err = cfg.Snapshot(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSSHSignVerify(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	for _, kind := range []string{"ed25519", "rsa"} {
		k := trusttest.NewKey(t, kind)
		st := statement(t, "x", now)
		sig := k.SignSSH(t, st)
		pub, err := trust.VerifySSH(sig.SSH, trust.Namespace, st.Bytes())
		if err != nil || string(pub.Marshal()) != string(k.Signer.PublicKey().Marshal()) {
			t.Fatalf("%s: verify own signature: %v", kind, err)
		}
		if _, err := trust.VerifySSH(sig.SSH, "git", st.Bytes()); err == nil {
			t.Errorf("%s: signature accepted in another namespace", kind)
		}
	}
	p, err := w.snap.Verify(w.alice.SignSSH(t, statement(t, "alice", now)), now)
	if err != nil || p.Name != "alice" || p.Method != trust.MethodSSH || p.Detail != w.alice.Fingerprint() {
		t.Fatalf("alice: %+v, %v", p, err)
	}
}

// TestSSHKeygenInterop checks the SSHSIG format against OpenSSH's ssh-keygen -Y.
func TestSSHKeygenInterop(t *testing.T) {
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (deps/apt.txt: openssh-client)")
	}
	dir := t.TempDir()
	k := trusttest.NewKey(t, "ed25519")
	keyFile := filepath.Join(dir, "id")
	must(t, os.WriteFile(keyFile, k.Private, 0o600))
	must(t, os.WriteFile(keyFile+".pub", []byte(k.Authorized+"\n"), 0o644))
	st := statement(t, "alice", time.Now())
	msg := filepath.Join(dir, "msg")
	must(t, os.WriteFile(msg, st.Bytes(), 0o644))
	// ssh-keygen signs, we verify.
	out, err := exec.Command(bin, "-Y", "sign", "-f", keyFile, "-n", trust.Namespace, msg).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v: %s", err, out)
	}
	armored, err := os.ReadFile(msg + ".sig")
	must(t, err)
	if _, err := trust.VerifySSH(string(armored), trust.Namespace, st.Bytes()); err != nil {
		t.Fatalf("verify ssh-keygen's signature: %v", err)
	}
	// We sign, ssh-keygen verifies.
	sig := k.SignSSH(t, st)
	must(t, os.WriteFile(msg+".sig", []byte(sig.SSH), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "allowed"), []byte("alice "+k.Authorized+"\n"), 0o644))
	cmd := exec.Command(bin, "-Y", "verify", "-f", filepath.Join(dir, "allowed"), "-I", "alice", "-n", trust.Namespace, "-s", msg+".sig")
	cmd.Stdin = strings.NewReader(string(st.Bytes()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify of our signature: %v: %s", err, out)
	}
}

func TestOIDCVerify(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	st := statement(t, "olga", now)
	p, err := w.snap.Verify(w.iss.SignOIDC(t, "sub-olga", st), now)
	if err != nil || p.Name != "olga" || p.Method != trust.MethodOIDC || !strings.HasSuffix(p.Detail, " sub-olga") {
		t.Fatalf("olga: %+v, %v", p, err)
	}
}

// TestForgedSignatures: every forgery is refused with an error that says why.
func TestForgedSignatures(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	mallory := trusttest.NewKey(t, "ed25519")
	other := trusttest.NewIssuer(t)
	cases := []struct {
		name string
		sig  func() *trust.Signature
		at   time.Time
		want string
	}{
		{"unknown ssh key", func() *trust.Signature { return mallory.SignSSH(t, statement(t, "alice", now)) }, now, "belongs to no identity"},
		{"key of another identity", func() *trust.Signature { return w.alice.SignSSH(t, statement(t, "olga", now)) }, now, "is alice's"},
		{"tampered comment", func() *trust.Signature {
			s := w.alice.SignSSH(t, statement(t, "alice", now))
			s.Statement.Comment = "changed"
			return s
		}, now, "does not verify"},
		{"statement too old", func() *trust.Signature { return w.alice.SignSSH(t, statement(t, "alice", now.Add(-time.Hour))) }, now, "ago"},
		{"statement in the future", func() *trust.Signature { return w.alice.SignSSH(t, statement(t, "alice", now.Add(time.Hour))) }, now, "in the future"},
		{"oidc nonce of another statement", func() *trust.Signature {
			s := w.iss.SignOIDC(t, "sub-olga", statement(t, "olga", now))
			s.Statement = statement(t, "olga", now)
			return s
		}, now, "nonce"},
		{"oidc unknown subject", func() *trust.Signature { return w.iss.SignOIDC(t, "sub-nobody", statement(t, "olga", now)) }, now, "no identity"},
		{"oidc untrusted issuer", func() *trust.Signature { return other.SignOIDC(t, "sub-olga", statement(t, "olga", now)) }, now, "not a trusted provider"},
		{"oidc expired token", func() *trust.Signature {
			return w.iss.SignOIDC(t, "sub-olga", statement(t, "olga", now.Add(12*time.Minute)))
		}, now.Add(12 * time.Minute), "expired"},
		{"oidc token not valid yet", func() *trust.Signature {
			w.iss.M.FastForward(30 * time.Minute)
			defer w.iss.M.FastForward(-30 * time.Minute)
			return w.iss.SignOIDC(t, "sub-olga", statement(t, "olga", now))
		}, now, "not before"},
		{"oidc wrong audience", func() *trust.Signature { return w.iss.SignOIDC(t, "sub-olga", statement(t, "olga", now)) }, now, "audience"},
		{"both methods", func() *trust.Signature {
			s := w.alice.SignSSH(t, statement(t, "alice", now))
			s.OIDC = "a.b.c"
			return s
		}, now, "not both"},
		{"oversized comment", func() *trust.Signature {
			st := statement(t, "alice", now)
			st.Comment = strings.Repeat("x", trust.MaxComment+1)
			return w.alice.SignSSH(t, st)
		}, now, "longer than"},
	}
	accepted := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sig := c.sig()
			snap := w.snap
			if c.name == "oidc wrong audience" {
				snap.Providers = append([]trust.ProviderKeys(nil), snap.Providers...)
				snap.Providers[0].Audience = "another-client"
			}
			p, err := snap.Verify(sig, c.at)
			if err == nil {
				accepted++
				t.Fatalf("accepted as %+v", p)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
	t.Logf("forged signatures accepted: %d of %d", accepted, len(cases))
}

func TestUnknownKeyID(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	snap := w.snap
	snap.Providers = append([]trust.ProviderKeys(nil), snap.Providers...)
	snap.Providers[0].JWKS = []byte(`{"keys":[]}`)
	_, err := snap.Verify(w.iss.SignOIDC(t, "sub-olga", statement(t, "olga", now)), now)
	if !errors.Is(err, trust.ErrUnknownKey) || !strings.Contains(err.Error(), "retry in a few seconds") {
		t.Fatalf("unknown kid: %v, want ErrUnknownKey with a retry hint", err)
	}
}

func TestStatementMatch(t *testing.T) {
	st := statement(t, "alice", time.Now())
	for _, f := range []struct {
		field string
		edit  func(*trust.Statement)
	}{
		{"run", func(s *trust.Statement) { s.RunID = "run-2" }},
		{"step", func(s *trust.Statement) { s.Step = "other" }},
		{"plan sha256", func(s *trust.Statement) { s.PlanSHA256 = strings.Repeat("b", 64) }},
		{"workflow", func(s *trust.Statement) { s.WorkflowID = "topoflow/KafkaAccess/y" }},
		{"kind", func(s *trust.Statement) { s.Kind = trust.KindReject }},
	} {
		want := st
		f.edit(&want)
		if err := st.Match(want); err == nil || !strings.Contains(err.Error(), f.field) {
			t.Errorf("%s changed: %v", f.field, err)
		}
	}
	if err := st.Match(st); err != nil {
		t.Errorf("same statement: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"mode: lax\n", "want strict or dev"},
		{"identities:\n  a: {ssh: [\"not a key\"]}\n", "authorized_keys"},
		{"groups:\n  g: [nobody]\n", "not an identity"},
		{"oidc:\n  - {issuer: https://i, audience: a, jwksUrl: http://example.com/k}\n", "https"},
		{"planSigners: [group:none]\n", "no group"},
		{"bogus: 1\n", "not found"},
	} {
		if _, err := trust.ParseConfig("trust.yaml", []byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestAllowedExpand(t *testing.T) {
	s := trust.Snapshot{Groups: map[string][]string{"owners": {"a", "b"}}}
	if by, ok := s.Allowed("b", []string{"x", "group:owners"}); !ok || by != "group:owners" {
		t.Errorf("b: %q %v", by, ok)
	}
	if _, ok := s.Allowed("c", []string{"x", "group:owners"}); ok {
		t.Error("c allowed")
	}
	if got := strings.Join(s.Expand([]string{"x", "group:owners", "a"}), ","); got != "a,b,x" {
		t.Errorf("expand: %s", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSSHAgentSigner signs through an ssh-agent (x/crypto's agent protocol
// served on a unix socket, as $SSH_AUTH_SOCK): the agent's first key, and
// the key named by its public key file.
func TestSSHAgentSigner(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	must(t, err)
	defer ln.Close()
	keyring := agent.NewKeyring()
	priv, err := ssh.ParseRawPrivateKey(w.alice.Private)
	must(t, err)
	must(t, keyring.Add(agent.AddedKey{PrivateKey: priv}))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv(trust.EnvAuthSock, sock)
	pubFile := filepath.Join(dir, "id.pub")
	must(t, os.WriteFile(pubFile, []byte(w.alice.Authorized+"\n"), 0o644))
	for _, spec := range []string{"agent", pubFile} {
		s, err := trust.SSHSigner(spec)
		must(t, err)
		now := time.Now()
		sig, err := trust.SignWithSSH(s, statement(t, "alice", now))
		must(t, err)
		if p, err := w.snap.Verify(sig, now); err != nil || p.Name != "alice" {
			t.Errorf("%s: %+v %v", spec, p, err)
		}
	}
	other := trusttest.NewKey(t, "ed25519")
	must(t, os.WriteFile(pubFile, []byte(other.Authorized+"\n"), 0o644))
	if _, err := trust.SSHSigner(pubFile); err == nil || !strings.Contains(err.Error(), "does not hold key") {
		t.Errorf("a key the agent does not hold: %v", err)
	}
}
