package e2e

import "github.com/topoflow/topoflow/cloudsim/inventory"

// cloudPeerings lists the peerings of the clouds' accounts. The seed world
// also holds peerings between networks of no cloud account (emqx.yaml's
// Alibaba Cloud/EMQX peering, which no API lists and no request creates).
func cloudPeerings(inv *inventory.Store) []*inventory.Peering {
	var out []*inventory.Peering
	for _, p := range inventory.List[*inventory.Peering](inv, inventory.Filter{}) {
		if _, err := inventory.Get[*inventory.Account](inv, p.Account); err == nil {
			out = append(out, p)
		}
	}
	return out
}
