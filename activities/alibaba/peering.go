package alibaba

import (
	"context"
	"strconv"
	"strings"

	"github.com/alibabacloud-go/tea/tea"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func init() {
	typed[catalog.AlibabaVpcPeerCreatePeering] = func(a *Actions) activities.Func { return activities.Typed(a.CreatePeering) }
	typed[catalog.AlibabaVpcPeerAcceptPeering] = func(a *Actions) activities.Func { return activities.Typed(a.AcceptPeering) }
	typed[catalog.AlibabaVpcPeerGetPeering] = func(a *Actions) activities.Func { return activities.Typed(a.GetPeering) }
	typed[catalog.AlibabaVpcPeerDeletePeering] = func(a *Actions) activities.Func { return activities.Typed(a.DeletePeering) }
}

// CreatePeering requests a cross-account VPC peering; the ClientToken (the
// idempotency key) makes a retried call answer the first attempt's peering
// (vpcpeer-20220101 CreateVpcPeerConnectionRequest.ClientToken).
func (a *Actions) CreatePeering(ctx context.Context, call plan.Call, in catalog.AlibabaCreatePeeringIn) (catalog.AlibabaPeeringOut, error) {
	var none catalog.AlibabaPeeringOut
	uid, err := strconv.ParseInt(in.AcceptingAccountID, 10, 64)
	if err != nil || uid <= 0 {
		return none, activities.Invalid("%s: acceptingAccountId %q must be an Alibaba Cloud account UID (digits)", call.Action, in.AcceptingAccountID)
	}
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.peer()
	if err != nil {
		return none, err
	}
	region := in.AcceptingRegion
	if region == "" {
		region = s.acct.Region
	}
	req := &vpcpeer.CreateVpcPeerConnectionRequest{RegionId: tea.String(s.acct.Region), VpcId: tea.String(in.VpcID),
		AcceptingAliUid: tea.Int64(uid), AcceptingRegionId: tea.String(region), AcceptingVpcId: tea.String(in.AcceptingVpcID)}
	if call.IdempotencyKey != "" {
		req.ClientToken = tea.String(token(call.IdempotencyKey))
	}
	if in.Name != "" {
		req.Name = tea.String(in.Name)
	}
	if in.Description != "" {
		req.Description = tea.String(in.Description)
	}
	resp, err := c.CreateVpcPeerConnection(req)
	if err != nil {
		return none, s.classify("create the peering from "+in.VpcID+" to "+in.AcceptingVpcID, err)
	}
	id := tea.StringValue(resp.Body.InstanceId)
	if id == "" {
		return none, activities.Fail(plan.ErrUnavailable, "%s: CreateVpcPeerConnection returned no InstanceId", call.Action)
	}
	st, err := a.status(s, c, id)
	if err != nil {
		return none, err
	}
	return catalog.AlibabaPeeringOut{PeeringID: id, Status: st}, nil
}

// status reads a peering's status ("" when it is gone).
func (a *Actions) status(s *session, c *vpcpeer.Client, id string) (string, error) {
	r, err := c.GetVpcPeerConnectionAttribute(&vpcpeer.GetVpcPeerConnectionAttributeRequest{InstanceId: tea.String(id)})
	if err != nil {
		return "", s.classify("read peering "+id, err)
	}
	return tea.StringValue(r.Body.Status), nil
}

// AcceptPeering accepts a peering as the receiver account.
func (a *Actions) AcceptPeering(ctx context.Context, call plan.Call, in catalog.AlibabaPeeringIn) (catalog.AlibabaPeeringOut, error) {
	var none catalog.AlibabaPeeringOut
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.peer()
	if err != nil {
		return none, err
	}
	st, err := a.status(s, c, in.PeeringID)
	if err != nil {
		return none, err
	}
	switch st {
	case "Activated", "Updating":
		return catalog.AlibabaPeeringOut{PeeringID: in.PeeringID, Status: st}, nil
	case "Creating":
		// Not yet offered to the receiver: retried (vpcpeer-20220101 client.go CreateVpcPeerConnection doc).
		return none, activities.Conflict("%s: peering %s is still Creating", call.Action, in.PeeringID)
	}
	if _, err := c.AcceptVpcPeerConnection(&vpcpeer.AcceptVpcPeerConnectionRequest{InstanceId: tea.String(in.PeeringID), ClientToken: tokenPtr(call)}); err != nil {
		return none, s.classify("accept peering "+in.PeeringID, err)
	}
	if st, err = a.status(s, c, in.PeeringID); err != nil {
		return none, err
	}
	return catalog.AlibabaPeeringOut{PeeringID: in.PeeringID, Status: st}, nil
}

func tokenPtr(call plan.Call) *string {
	if call.IdempotencyKey == "" {
		return nil
	}
	return tea.String(token(call.IdempotencyKey))
}

// GetPeering reads a peering.
func (a *Actions) GetPeering(ctx context.Context, call plan.Call, in catalog.AlibabaPeeringIn) (catalog.AlibabaGetPeeringOut, error) {
	var none catalog.AlibabaGetPeeringOut
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.peer()
	if err != nil {
		return none, err
	}
	r, err := c.GetVpcPeerConnectionAttribute(&vpcpeer.GetVpcPeerConnectionAttributeRequest{InstanceId: tea.String(in.PeeringID)})
	if err != nil {
		return none, s.classify("read peering "+in.PeeringID, err)
	}
	b := r.Body
	out := catalog.AlibabaGetPeeringOut{PeeringID: in.PeeringID, Status: tea.StringValue(b.Status), AcceptingCidrs: []string{}}
	if b.Vpc != nil {
		out.VpcID = tea.StringValue(b.Vpc.VpcId)
	}
	if b.AcceptingVpc != nil {
		out.AcceptingVpcID = tea.StringValue(b.AcceptingVpc.VpcId)
		for _, c := range b.AcceptingVpc.Ipv4Cidrs {
			out.AcceptingCidrs = append(out.AcceptingCidrs, tea.StringValue(c))
		}
	}
	if b.AcceptingOwnerUid != nil {
		out.AcceptingAccountID = strconv.FormatInt(*b.AcceptingOwnerUid, 10)
	}
	return out, nil
}

// DeletePeering deletes a peering once it is in a deletable state; gone,
// Deleting and Deleted are done. Creating and Updating are retried: the API
// refuses a delete while another operation runs (IncorrectStatus.VpcPeer,
// https://help.aliyun.com/document_detail/426098.html).
func (a *Actions) DeletePeering(ctx context.Context, call plan.Call, in catalog.AlibabaDeletePeeringIn) (catalog.AlibabaDeletePeeringOut, error) {
	var none catalog.AlibabaDeletePeeringOut
	s, err := a.session(ctx, call, "")
	if err != nil {
		return none, err
	}
	c, err := s.peer()
	if err != nil {
		return none, err
	}
	done := catalog.AlibabaDeletePeeringOut{PeeringID: in.PeeringID, Deleted: true}
	st, err := a.status(s, c, in.PeeringID)
	if isNotFound(err) {
		return done, nil
	}
	if err != nil {
		return none, err
	}
	switch st {
	case "Deleting", "Deleted":
		return done, nil
	case "Creating", "Updating":
		return none, activities.Conflict("%s: peering %s is %s; it can be deleted once that operation ends", call.Action, in.PeeringID, st)
	}
	req := &vpcpeer.DeleteVpcPeerConnectionRequest{InstanceId: tea.String(in.PeeringID), ClientToken: tokenPtr(call)}
	if in.Force {
		req.Force = tea.Bool(true)
	}
	if _, err := c.DeleteVpcPeerConnection(req); err != nil {
		e := s.classify("delete peering "+in.PeeringID, err)
		if isNotFound(e) {
			return done, nil
		}
		// Route entries in either VPC hold the peering (OperationDenied.RouteEntryExist,
		// https://help.aliyun.com/document_detail/426098.html): the accepter removes its own.
		if ec, _ := code(err); ec == "OperationDenied.RouteEntryExist" {
			return none, activities.Conflict("%s: delete peering %s: %s (a route entry still points to the peering, ours or the accepting side's: "+
				"on an EMQX Platform peering, delete it in the EMQX console first, runbook 003 删除对等连接)", s.action, in.PeeringID, strings.TrimSpace(errText(err)))
		}
		return none, e
	}
	return done, nil
}
