package netmodel

import (
	"maps"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Listener is an extra broker listener a provider serves on a broker's own
// address besides the broker's port: a managed service's listener for
// another authentication scheme, such as MSK's IAM listener on port 9098
// (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html).
// It forwards to the broker's port, answers metadata with Advertised (the
// brokers' addresses on that listener's port) and, with
// Attrs[AttrKafkaAuth], authenticates clients itself (kafkasasl.go). Its
// address is the broker's, so the policy admits connections to it as to
// the broker (the broker's security groups, on the listener's port).
type Listener struct {
	Listen, Target string
	Advertised     map[int32]string
	// Attrs are handed to the SASL authenticator as its endpoint's Attrs;
	// AttrTLS and AttrTLSNames make the listener TLS-only (tls.go).
	Attrs map[string]string
}

// listenerKey keeps provider listeners apart from inventory endpoints' forwarders.
func listenerKey(key string) string { return "listener:" + key }

// SetListener starts (or updates) the listener named key; an unchanged
// listen/target pair keeps its connections. A failure is also recorded in
// [Network.Errors].
func (n *Network) SetListener(key string, l Listener) error {
	ep := &inventory.Endpoint{Meta: inventory.Meta{ID: key}, Attrs: maps.Clone(l.Attrs), Advertised: l.Advertised}
	n.mu.Lock()
	old := n.forwarders[listenerKey(key)]
	n.mu.Unlock()
	if len(old) == 1 && old[0].Listen == l.Listen && old[0].Target == l.Target {
		n.setAdvertised(key, old[0], l.Advertised)
		old[0].setSASL(n.saslFor(ep))
		old[0].setTLS(n.tlsFor(ep))
		return nil
	}
	n.RemoveListener(key)
	f, err := Forward(l.Listen, l.Target)
	if err != nil {
		n.fail("listener %s: %v", key, err)
		return err
	}
	n.setAdvertised(key, f, l.Advertised)
	f.setSASL(n.saslFor(ep))
	f.setTLS(n.tlsFor(ep))
	n.mu.Lock()
	n.forwarders[listenerKey(key)] = []*Forwarder{f}
	n.mu.Unlock()
	return nil
}

// RemoveListener stops the listener named key, if any, and cuts its connections.
func (n *Network) RemoveListener(key string) {
	n.mu.Lock()
	old := n.forwarders[listenerKey(key)]
	delete(n.forwarders, listenerKey(key))
	n.mu.Unlock()
	for _, f := range old {
		f.Close()
	}
}
