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
	routeSet    func(time.Duration, routeStep)
}

// routeStep moves the entry for Destination of route table Table from
// status From to To ("" removes it).
type routeStep struct {
	Table       string `json:"table"`
	Destination string `json:"destination"`
	From        string `json:"from"`
	To          string `json:"to"`
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
	a.routeSet = cloudsim.Transition(s, "alibaba.vpc.routeEntry", func(st routeStep) {
		_, _ = inventory.Update(a.inv, st.Table, func(rt *inventory.RouteTable) error {
			kept := rt.Routes[:0]
			for _, r := range rt.Routes {
				if r.Destination == st.Destination && r.Status == st.From {
					if st.To == "" {
						delete(rt.Tags, tagEntryName+r.Destination)
						continue
					}
					r.Status = st.To
				}
				kept = append(kept, r)
			}
			rt.Routes = kept
			if len(rt.Tags) == 0 {
				rt.Tags = nil
			}
			return nil
		})
	})
}
