package alibaba

import (
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/catalog"
	alisim "github.com/topoflow/topoflow/cloudsim/alibaba"
	"github.com/topoflow/topoflow/plan"
)

// TestDeletePeeringHeldByTheAcceptersRoute: while the accepter's route entry
// points to the peering (EMQX's return route), our delete is retried
// (Conflict) and says who must act; once the accepter removes its route
// (the EMQX console's 删除对等连接), the delete goes through.
func TestDeletePeeringHeldByTheAcceptersRoute(t *testing.T) {
	e := newEnv(t, alisim.Timing{Create: 50 * time.Millisecond, Accept: 50 * time.Millisecond, Delete: 50 * time.Millisecond, MaxClockSkew: 15 * time.Minute})
	p := e.must(t, catalog.AlibabaVpcPeerCreatePeering, "ali-ours", "wf/peer", map[string]any{
		"vpcId": "vpc-bp1ours00000000000001", "acceptingAccountId": "5678901234567890", "acceptingVpcId": "vpc-bp1emqx00000000000001"})
	id := p["peeringId"].(string)
	e.waitStatus(t, id, alisim.StatusAccepting)
	e.must(t, catalog.AlibabaVpcPeerAcceptPeering, "emqx-alibaba", "emqx/accept", map[string]any{"peeringId": id})
	e.waitStatus(t, id, alisim.StatusActivated)
	back := map[string]any{"routeTableId": "vtb-bp1emqx00000000000001", "destination": "172.16.0.0/17", "peeringId": id}
	e.must(t, catalog.AlibabaVpcCreateRouteEntry, "emqx-alibaba", "emqx/route", back)

	_, err := e.call(catalog.AlibabaVpcPeerDeletePeering, "ali-ours", "wf/peer-undo", map[string]any{"peeringId": id})
	if errType(err) != plan.ErrConflict || !strings.Contains(err.Error(), "OperationDenied.RouteEntryExist") || !strings.Contains(err.Error(), "EMQX console") {
		t.Fatalf("delete while the accepter's route points to it: %v, want a Conflict naming the route and the EMQX console", err)
	}
	t.Logf("refused as it must: %v", err)
	back["created"] = true
	e.must(t, catalog.AlibabaVpcDeleteRouteEntry, "emqx-alibaba", "emqx/route-undo", back)
	e.must(t, catalog.AlibabaVpcPeerDeletePeering, "ali-ours", "wf/peer-undo", map[string]any{"peeringId": id})
	e.waitStatus(t, id, "gone")
}
