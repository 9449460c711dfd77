package netmodel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// SASL-terminating listeners. Some managed listeners authenticate clients
// themselves with a mechanism the broker behind them does not know: MSK's
// IAM listeners (SASL/OAUTHBEARER carrying a SigV4-presigned URL, or the
// Java library's AWS_MSK_IAM; https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html)
// sit in front of brokers whose own listener the twin serves in plaintext
// (kfake knows only PLAIN and SCRAM). An endpoint whose Attrs[AttrKafkaAuth]
// names a mechanism registered with [Network.RegisterSASL] gets a forwarder
// that runs the SASL exchange itself, as a Kafka broker does
// (https://kafka.apache.org/protocol#sasl_handshake): before authentication
// only ApiVersions (forwarded), SaslHandshake and SaslAuthenticate
// (answered by the forwarder) are accepted; any other request, a TLS
// ClientHello (the twin's listener has no TLS) or a refused authentication
// closes the connection. After it, requests are forwarded; when the session
// lifetime the authenticator granted has passed, a request other than a
// re-authentication (KIP-368) closes the connection, as brokers with
// connections.max.reauth.ms do.

// AttrKafkaAuth is the endpoint attribute naming the SASL mechanism its
// listener requires (registered with [Network.RegisterSASL]).
const AttrKafkaAuth = "kafkaAuth"

// SASLAuthenticator checks one client's SASL authentication bytes on the
// listener of endpoint ep. It returns the session lifetime granted (0: no
// limit) or an error whose message the client receives.
type SASLAuthenticator func(ep *inventory.Endpoint, auth []byte) (time.Duration, error)

type saslServer struct {
	mechanism string
	check     func(auth []byte) (time.Duration, error)
}

// RegisterSASL registers the authenticator of a SASL mechanism (e.g.
// "OAUTHBEARER") under name, the value endpoints put in Attrs[AttrKafkaAuth].
// Endpoints reconciled from then on use it.
func (n *Network) RegisterSASL(name, mechanism string, a SASLAuthenticator) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sasl == nil {
		n.sasl = map[string]saslMech{}
	}
	n.sasl[name] = saslMech{mechanism: mechanism, fn: a}
}

type saslMech struct {
	mechanism string
	fn        SASLAuthenticator
}

// saslFor returns the SASL server of an endpoint's listener, nil when it
// requires none. An endpoint naming an unregistered mechanism gets a server
// that refuses every client (never an open listener).
func (n *Network) saslFor(ep *inventory.Endpoint) *saslServer {
	name := ep.Attrs[AttrKafkaAuth]
	if name == "" {
		return nil
	}
	n.mu.Lock()
	m, ok := n.sasl[name]
	n.mu.Unlock()
	if !ok {
		return &saslServer{mechanism: name, check: func([]byte) (time.Duration, error) {
			return 0, fmt.Errorf("cloudsim: no authenticator registered for %s", name)
		}}
	}
	epc := *ep
	return &saslServer{mechanism: m.mechanism, check: func(auth []byte) (time.Duration, error) { return m.fn(&epc, auth) }}
}

// lockedWriter serialises whole-frame writes to the client from the
// forwarder's two directions.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// saslState is the authentication state of one connection.
type saslState struct {
	srv      *saslServer
	client   io.Writer // the locked writer to the client
	shook    bool      // a SaslHandshake v1 for srv.mechanism was answered
	authed   bool
	deadline time.Time // session end (zero: none)
}

var errSASLClose = errors.New("sasl: close the connection")

// header decodes a request frame's header: API key, version, correlation ID
// and the offset of the body.
func header(f []byte) (key, ver int16, corr int32, body int, err error) {
	if len(f) < 14 {
		return 0, 0, 0, 0, errors.New("short request header")
	}
	key = int16(binary.BigEndian.Uint16(f[4:]))
	ver = int16(binary.BigEndian.Uint16(f[6:]))
	corr = int32(binary.BigEndian.Uint32(f[8:]))
	off := 12
	if n := int(int16(binary.BigEndian.Uint16(f[off:]))); n > 0 { // client ID (nullable string)
		off += n
	}
	off += 2
	if off > len(f) {
		return 0, 0, 0, 0, errors.New("client ID past the end")
	}
	req := kmsg.RequestForKey(key)
	if req != nil {
		req.SetVersion(ver)
		if req.IsFlexible() {
			n, err := skipTags(f[off:])
			if err != nil {
				return 0, 0, 0, 0, err
			}
			off += n
		}
	}
	return key, ver, corr, off, nil
}

// respond writes one response frame with correlation ID corr.
func (s *saslState) respond(corr int32, resp kmsg.Response) error {
	out := make([]byte, 8, 64)
	binary.BigEndian.PutUint32(out[4:], uint32(corr))
	if resp.IsFlexible() {
		out = append(out, 0) // empty response header tags
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[:4], uint32(len(out)-4))
	_, err := s.client.Write(out)
	return err
}

// handle runs the SASL state machine on one request frame. It returns true
// when the frame must be forwarded to the broker, errSASLClose (or a write
// error) when the connection must be closed.
func (s *saslState) handle(r *bufio.Reader, f []byte) (bool, error) {
	key, ver, corr, off, err := header(f)
	if err != nil {
		return false, errSASLClose
	}
	switch key {
	case int16(kmsg.ApiVersions):
		return true, nil
	case int16(kmsg.SASLHandshake):
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.SetVersion(ver)
		if err := req.ReadFrom(f[off:]); err != nil {
			return false, errSASLClose
		}
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{s.srv.mechanism}
		if req.Mechanism != s.srv.mechanism {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
			_ = s.respond(corr, resp)
			return false, errSASLClose
		}
		if err := s.respond(corr, resp); err != nil {
			return false, err
		}
		if ver == 0 {
			// v0: the next frame is the raw SASL token, answered by a raw frame.
			raw, err := readFrame(r)
			if err != nil {
				return false, errSASLClose
			}
			if err := s.authenticate(raw[4:]); err != nil {
				return false, errSASLClose
			}
			_, err = s.client.Write([]byte{0, 0, 0, 0})
			return false, err
		}
		s.shook = true
		return false, nil
	case int16(kmsg.SASLAuthenticate):
		if !s.shook {
			return false, errSASLClose // IllegalSaslState: no handshake first
		}
		s.shook = false
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.SetVersion(ver)
		if err := req.ReadFrom(f[off:]); err != nil {
			return false, errSASLClose
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		if err := s.authenticate(req.SASLAuthBytes); err != nil {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			msg := err.Error()
			resp.ErrorMessage = &msg
			_ = s.respond(corr, resp)
			return false, errSASLClose
		}
		if !s.deadline.IsZero() {
			resp.SessionLifetimeMillis = time.Until(s.deadline).Milliseconds()
		}
		return false, s.respond(corr, resp)
	}
	if !s.authed {
		return false, errSASLClose // a request before authentication
	}
	if !s.deadline.IsZero() && time.Now().After(s.deadline) {
		return false, errSASLClose // the session expired without re-authentication
	}
	return true, nil
}

func (s *saslState) authenticate(auth []byte) error {
	life, err := s.srv.check(auth)
	if err != nil {
		return err
	}
	s.authed = true
	s.deadline = time.Time{}
	if life > 0 {
		s.deadline = time.Now().Add(life)
	}
	return nil
}
