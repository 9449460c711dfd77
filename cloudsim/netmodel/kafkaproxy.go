package netmodel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka-aware forwarding. A forwarder with advertised addresses reads the
// Kafka framing of the connection it carries: requests pass through
// unchanged, and the responses that carry broker addresses (Metadata,
// FindCoordinator, DescribeCluster) are decoded with kmsg, their brokers'
// host:port replaced by the addresses advertised for the forwarder's network
// (by broker ID), and re-encoded. This is what a broker listener dedicated
// to that network answers, and only where the real service serves one (MSK
// multi-VPC connectivity's per-VPC-connection listeners). A load balancer
// or PrivateLink endpoint never does: its forwarder has no advertised
// addresses and copies bytes unchanged. Other responses pass through byte
// for byte.
//
// A TLS connection (its first byte is a TLS handshake record) cannot be
// read and is forwarded unchanged, as is everything after a SaslHandshake
// v0 (raw SASL frames without Kafka headers).

// maxFrame bounds a Kafka frame the proxy reads (kfake's default is 100 MiB).
const maxFrame = 256 << 20

// rewritten are the API keys whose responses carry broker addresses.
var rewritten = map[int16]bool{
	int16(kmsg.Metadata):        true,
	int16(kmsg.FindCoordinator): true,
	int16(kmsg.DescribeCluster): true,
}

// kafkaConn is the state of one proxied connection: the requests in flight
// whose responses must be rewritten, by correlation ID.
type kafkaConn struct {
	adv map[int32]hostPort
	// sasl, if set, makes the forwarder authenticate clients itself (kafkasasl.go).
	sasl *saslState
	// close cuts both sides of the connection.
	close func()

	mu      sync.Mutex
	pending map[int32][2]int16 // correlation ID → API key, version
	raw     bool               // pass everything through from now on
}

type hostPort struct {
	host string
	port int32
}

// parseAdvertised turns broker ID → host:port into the rewrite table; bad
// entries are reported and skipped.
func parseAdvertised(m map[int32]string) (map[int32]hostPort, error) {
	out := make(map[int32]hostPort, len(m))
	var errs []error
	for id, a := range m {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker %d: advertised %q: %w", id, a, err))
			continue
		}
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker %d: advertised %q: port: %w", id, a, err))
			continue
		}
		out[id] = hostPort{h, int32(port)}
	}
	return out, errors.Join(errs...)
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || n > maxFrame {
		return nil, fmt.Errorf("kafka frame of %d bytes", n)
	}
	b := make([]byte, 4+int(n))
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return nil, err
	}
	return b, nil
}

func (k *kafkaConn) isRaw() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.raw
}

// requests copies client → broker, noting the requests whose responses are rewritten.
func (k *kafkaConn) requests(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(src)
	if first, err := r.Peek(1); err == nil && first[0] == 0x16 { // TLS ClientHello
		if k.sasl != nil {
			k.close() // a SASL listener of the twin has no TLS: the handshake fails
			return
		}
		k.mu.Lock()
		k.raw = true
		k.mu.Unlock()
	}
	for !k.isRaw() {
		f, err := readFrame(r)
		if err != nil {
			return
		}
		if k.sasl != nil {
			fwd, err := k.sasl.handle(r, f)
			if err != nil {
				k.close()
				return
			}
			if !fwd {
				continue
			}
		}
		if len(f) >= 12 {
			key := int16(binary.BigEndian.Uint16(f[4:]))
			ver := int16(binary.BigEndian.Uint16(f[6:]))
			corr := int32(binary.BigEndian.Uint32(f[8:]))
			k.mu.Lock()
			if rewritten[key] {
				k.pending[corr] = [2]int16{key, ver}
			}
			if key == int16(kmsg.SASLHandshake) && ver == 0 {
				k.raw = true
			}
			k.mu.Unlock()
		}
		if _, err := dst.Write(f); err != nil {
			return
		}
	}
	_, _ = io.Copy(dst, r)
}

// responses copies broker → client, rewriting broker addresses.
func (k *kafkaConn) responses(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(src)
	if first, err := r.Peek(1); err == nil && first[0] == 0x16 { // TLS ServerHello
		k.mu.Lock()
		k.raw = true
		k.mu.Unlock()
	}
	for !k.isRaw() {
		f, err := readFrame(r)
		if err != nil {
			return
		}
		if len(f) >= 8 {
			corr := int32(binary.BigEndian.Uint32(f[4:]))
			k.mu.Lock()
			req, ok := k.pending[corr]
			delete(k.pending, corr)
			k.mu.Unlock()
			if ok {
				if nf, err := k.rewrite(f, req[0], req[1]); err == nil {
					f = nf
				}
			}
		}
		if _, err := dst.Write(f); err != nil {
			return
		}
	}
	_, _ = io.Copy(dst, r)
}

// rewrite decodes one response frame, replaces broker addresses and
// re-encodes it.
func (k *kafkaConn) rewrite(f []byte, key, ver int16) ([]byte, error) {
	resp := kmsg.ResponseForKey(key)
	if resp == nil {
		return nil, fmt.Errorf("unknown key %d", key)
	}
	resp.SetVersion(ver)
	body := f[8:] // after size and correlation ID
	var hdrTags []byte
	if resp.IsFlexible() {
		n, err := skipTags(body)
		if err != nil {
			return nil, err
		}
		hdrTags, body = body[:n], body[n:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	set := func(id int32, host *string, port *int32) {
		if a, ok := k.adv[id]; ok {
			*host, *port = a.host, a.port
		}
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			set(r.Brokers[i].NodeID, &r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	case *kmsg.FindCoordinatorResponse:
		if r.ErrorCode == 0 && r.Host != "" {
			set(r.NodeID, &r.Host, &r.Port)
		}
		for i := range r.Coordinators {
			if c := &r.Coordinators[i]; c.ErrorCode == 0 {
				set(c.NodeID, &c.Host, &c.Port)
			}
		}
	case *kmsg.DescribeClusterResponse:
		for i := range r.Brokers {
			set(r.Brokers[i].NodeID, &r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	}
	out := make([]byte, 8, len(f)+64)
	copy(out[4:8], f[4:8])
	out = append(out, hdrTags...)
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[:4], uint32(len(out)-4))
	return out, nil
}

// skipTags returns the length of the tagged-fields section at the start of b.
func skipTags(b []byte) (int, error) {
	off := 0
	next := func() (uint64, error) {
		v, l := binary.Uvarint(b[off:])
		if l <= 0 {
			return 0, errors.New("malformed tagged fields")
		}
		off += l
		return v, nil
	}
	n, err := next()
	if err != nil {
		return 0, err
	}
	for range n {
		if _, err := next(); err != nil { // tag
			return 0, err
		}
		size, err := next()
		if err != nil {
			return 0, err
		}
		if size > uint64(len(b)-off) {
			return 0, errors.New("tagged field past the end")
		}
		off += int(size)
	}
	return off, nil
}
