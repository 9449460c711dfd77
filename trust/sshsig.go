package trust

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSHSIG (OpenSSH's PROTOCOL.sshsig, what `ssh-keygen -Y sign` and git's SSH
// commit signing write): a signature over a namespace and a hash of the message.
const (
	sshsigMagic   = "SSHSIG"
	sshsigVersion = 1
	armorBegin    = "-----BEGIN SSH SIGNATURE-----"
	armorEnd      = "-----END SSH SIGNATURE-----"
)

// sshsigBlob is the wire form of an SSHSIG after the magic preamble.
type sshsigBlob struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

// signedData is the data the key signs.
type signedData struct {
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

func messageHash(alg string, msg []byte) ([]byte, error) {
	var h hash.Hash
	switch alg {
	case "sha512":
		h = sha512.New()
	case "sha256":
		h = sha256.New()
	default:
		return nil, fmt.Errorf("SSH signature hash %q is not sha256 or sha512", alg)
	}
	h.Write(msg)
	return h.Sum(nil), nil
}

func toSign(namespace, alg string, msg []byte) ([]byte, error) {
	sum, err := messageHash(alg, msg)
	if err != nil {
		return nil, err
	}
	return append([]byte(sshsigMagic), ssh.Marshal(signedData{Namespace: namespace, HashAlg: alg, Hash: sum})...), nil
}

// SignSSH signs msg in namespace with signer (a key file's or an ssh-agent's
// key) and returns the armored SSHSIG. RSA keys sign with rsa-sha2-512.
func SignSSH(signer ssh.Signer, namespace string, msg []byte) (string, error) {
	data, err := toSign(namespace, "sha512", msg)
	if err != nil {
		return "", err
	}
	var sig *ssh.Signature
	if signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return "", errors.New("this RSA signer cannot sign with rsa-sha2-512")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return "", fmt.Errorf("ssh sign: %w", err)
	}
	blob := append([]byte(sshsigMagic), ssh.Marshal(sshsigBlob{
		Version: sshsigVersion, PublicKey: signer.PublicKey().Marshal(), Namespace: namespace,
		HashAlg: "sha512", Signature: ssh.Marshal(sig),
	})...)
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.String(), nil
}

// VerifySSH checks an armored SSHSIG of msg in namespace and returns the
// public key that made it (the caller decides whether it trusts that key).
func VerifySSH(armored, namespace string, msg []byte) (ssh.PublicKey, error) {
	if len(armored) > MaxSSHSig {
		return nil, fmt.Errorf("SSH signature of %d bytes is larger than %d", len(armored), MaxSSHSig)
	}
	s := strings.TrimSpace(armored)
	if !strings.HasPrefix(s, armorBegin) || !strings.HasSuffix(s, armorEnd) {
		return nil, errors.New("SSH signature is not armored (want -----BEGIN SSH SIGNATURE----- ... -----END SSH SIGNATURE-----)")
	}
	body := strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimPrefix(s, armorBegin), armorEnd)), "")
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("SSH signature: bad base64: %v", err)
	}
	if !bytes.HasPrefix(raw, []byte(sshsigMagic)) {
		return nil, errors.New("SSH signature: no SSHSIG preamble")
	}
	var blob sshsigBlob
	if err := ssh.Unmarshal(raw[len(sshsigMagic):], &blob); err != nil {
		return nil, fmt.Errorf("SSH signature: %v", err)
	}
	if blob.Version != sshsigVersion {
		return nil, fmt.Errorf("SSH signature version %d, want %d", blob.Version, sshsigVersion)
	}
	if blob.Namespace != namespace {
		return nil, fmt.Errorf("SSH signature is for namespace %q, want %q", blob.Namespace, namespace)
	}
	pub, err := ssh.ParsePublicKey(blob.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("SSH signature: public key: %v", err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(blob.Signature, &sig); err != nil {
		return nil, fmt.Errorf("SSH signature: %v", err)
	}
	if sig.Format == ssh.KeyAlgoRSA {
		return nil, errors.New("SSH signature uses ssh-rsa (SHA-1); sign with rsa-sha2-512")
	}
	data, err := toSign(namespace, blob.HashAlg, msg)
	if err != nil {
		return nil, err
	}
	if err := pub.Verify(data, &sig); err != nil {
		return nil, fmt.Errorf("SSH signature does not verify with key %s: the statement was changed or signed by another key", ssh.FingerprintSHA256(pub))
	}
	return pub, nil
}
