package alibaba

import (
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The Alibaba twin's peering state machine as durable transitions
// (cloudsim.Transition): a twin restarted with its state directory completes
// them at their deadlines.

// transitions are the schedulers of the Alibaba state machines.
type transitions struct {
	peeringSet  func(time.Duration, peeringStep)
	deleteLater func(time.Duration, string)
}

// peeringStep moves peering ID from status From to To.
type peeringStep struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
}

func (a *api) registerTransitions(s *cloudsim.Sim) {
	a.peeringSet = cloudsim.Transition(s, "alibaba.vpcpeer.status", func(st peeringStep) {
		_, _ = inventory.Update(a.inv, st.ID, func(p *inventory.Peering) error {
			if p.Status == st.From {
				p.Status = st.To
			}
			return nil
		})
	})
	a.deleteLater = cloudsim.Transition(s, "alibaba.vpcpeer.delete", func(id string) { _ = a.inv.Delete(inventory.KindPeering, id) })
}
