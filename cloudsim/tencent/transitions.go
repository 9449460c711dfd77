package tencent

import (
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The Tencent twin's CCN attachment state machine as durable transitions
// (cloudsim.Transition): a twin restarted with its state directory completes
// them at their deadlines.

// transitions are the schedulers of the Tencent state machines.
type transitions struct {
	attached    func(time.Duration, attachStep)
	expired     func(time.Duration, string)
	deleteLater func(time.Duration, string)
}

// attachStep is attachment ID's attach ending in state Next.
type attachStep struct {
	ID   string `json:"id"`
	Next string `json:"next"`
}

func (a *api) registerTransitions(s *cloudsim.Sim) {
	a.attached = cloudsim.Transition(s, "tencent.ccn.attach", func(st attachStep) {
		_, _ = inventory.Update(a.inv, st.ID, func(p *inventory.Peering) error {
			if p.Status == StateAttaching {
				p.Status = st.Next
				p.Attrs[attrAttached] = ts(time.Now())
			}
			return nil
		})
		if st.Next == StatePending {
			a.expired(a.timing.AttachExpiry, st.ID)
		}
	})
	a.expired = cloudsim.Transition(s, "tencent.ccn.attach.expire", func(id string) {
		_, _ = inventory.Update(a.inv, id, func(p *inventory.Peering) error {
			if p.Status == StatePending {
				p.Status = StateExpired
			}
			return nil
		})
	})
	a.deleteLater = cloudsim.Transition(s, "tencent.ccn.detach", func(id string) { _ = a.inv.Delete(inventory.KindPeering, id) })
}
