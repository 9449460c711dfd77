package huawei

import (
	"context"
	"fmt"
	"regexp"

	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC peering resource (VPC v2): create, accept, read, delete and the
// look-up of an earlier attempt's peering by its name.

func init() {
	typed[catalog.HuaweiVPCCreatePeering] = func(a *Actions) activities.Func { return activities.Typed(a.CreatePeering) }
	typed[catalog.HuaweiVPCAcceptPeering] = func(a *Actions) activities.Func { return activities.Typed(a.AcceptPeering) }
	typed[catalog.HuaweiVPCGetPeering] = func(a *Actions) activities.Func { return activities.Typed(a.GetPeering) }
	typed[catalog.HuaweiVPCDeletePeering] = func(a *Actions) activities.Func { return activities.Typed(a.DeletePeering) }
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// peeringName is a valid peering name (<= 64 chars, [A-Za-z0-9_.-]) that
// carries a digest of the idempotency key.
func peeringName(prefix, key string) string {
	p := nameUnsafe.ReplaceAllString(prefix, "-")
	if p == "" {
		p = "topoflow"
	}
	if len(p) > 40 {
		p = p[:40]
	}
	return p + "-tf" + shortHash(key)
}

// CreatePeering requests a VPC peering (looked up by its name first).
func (a *Actions) CreatePeering(ctx context.Context, call plan.Call, in catalog.HuaweiCreatePeeringIn) (catalog.HuaweiCreatePeeringOut, error) {
	var none catalog.HuaweiCreatePeeringOut
	vpcID, peerVPC, peerAcct, prefix := in.VpcID, in.PeerVpcID, in.PeerAccount, in.Name
	if call.IdempotencyKey == "" {
		return none, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	peerProject := s.acct.Huawei.ProjectID
	if peerAcct != "" && in.PeerProjectID != "" {
		return none, activities.Invalid("%s: give peerAccount or peerProjectId, not both", call.Action)
	}
	if in.PeerProjectID != "" {
		// AcceptVpcInfo.TenantId is the accepter's project ID (services/vpc/v2/model/model_vpc_info.go).
		peerProject = in.PeerProjectID
	}
	if peerAcct != "" {
		pa, ok := a.accts.Get(peerAcct)
		if !ok || pa.Huawei == nil {
			return none, activities.Invalid("%s: peer account %q is not a huawei account in the worker's registry", call.Action, peerAcct)
		}
		peerProject = pa.Huawei.ProjectID
	}
	name := peeringName(prefix, call.IdempotencyKey)
	what := fmt.Sprintf("create peering %s from VPC %s to VPC %s", name, vpcID, peerVPC)
	list, err := c.ListVpcPeerings(&v2m.ListVpcPeeringsRequest{Name: ptr(name)})
	if err != nil {
		return none, s.classify("look up before "+what, err)
	}
	for _, p := range deref(list.Peerings) {
		if p.Name == name && p.Status.Value() != "DELETED" {
			return catalog.HuaweiCreatePeeringOut{PeeringID: p.Id, Status: p.Status.Value(), Existing: true}, nil
		}
	}
	resp, err := c.CreateVpcPeering(&v2m.CreateVpcPeeringRequest{Body: &v2m.CreateVpcPeeringRequestBody{Peering: &v2m.CreateVpcPeeringOption{
		Name:           name,
		Description:    ptr(describe("", call.IdempotencyKey)),
		RequestVpcInfo: &v2m.VpcInfo{VpcId: vpcID, TenantId: ptr(s.acct.Huawei.ProjectID)},
		AcceptVpcInfo:  &v2m.VpcInfo{VpcId: peerVPC, TenantId: ptr(peerProject)},
	}}})
	if err != nil {
		return none, s.classify(what, err)
	}
	if resp.Peering == nil {
		return none, s.classify(what, fmt.Errorf("empty response"))
	}
	return catalog.HuaweiCreatePeeringOut{PeeringID: resp.Peering.Id, Status: resp.Peering.Status.Value()}, nil
}

// AcceptPeering accepts a peering as the accepter account.
func (a *Actions) AcceptPeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiPeeringOut, error) {
	var none catalog.HuaweiPeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := c.ShowVpcPeering(&v2m.ShowVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("get peering "+id, err)
	}
	if cur.Peering != nil && cur.Peering.Status.Value() == "ACTIVE" {
		return catalog.HuaweiPeeringOut{PeeringID: id, Status: "ACTIVE"}, nil
	}
	resp, err := c.AcceptVpcPeering(&v2m.AcceptVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("accept peering "+id, err)
	}
	st := "ACTIVE"
	if resp.Status != nil {
		st = resp.Status.Value()
	}
	return catalog.HuaweiPeeringOut{PeeringID: id, Status: st}, nil
}

// GetPeering reads a peering's status.
func (a *Actions) GetPeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiGetPeeringOut, error) {
	var none catalog.HuaweiGetPeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	resp, err := c.ShowVpcPeering(&v2m.ShowVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("get peering "+id, err)
	}
	p := resp.Peering
	if p == nil {
		return none, temporalNotFound("get peering " + id + ": empty response")
	}
	out := catalog.HuaweiGetPeeringOut{PeeringID: p.Id, Status: p.Status.Value()}
	if p.RequestVpcInfo != nil {
		out.VpcID = ptr(p.RequestVpcInfo.VpcId)
	}
	if p.AcceptVpcInfo != nil {
		out.PeerVpcID = ptr(p.AcceptVpcInfo.VpcId)
	}
	return out, nil
}

// DeletePeering deletes a peering; missing is done.
func (a *Actions) DeletePeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiDeletePeeringOut, error) {
	var none catalog.HuaweiDeletePeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	if _, err := c.DeleteVpcPeering(&v2m.DeleteVpcPeeringRequest{PeeringId: id}); err != nil && !isNotFound(err) {
		return none, s.classify("delete peering "+id, err)
	}
	return catalog.HuaweiDeletePeeringOut{PeeringID: id, Deleted: true}, nil
}
