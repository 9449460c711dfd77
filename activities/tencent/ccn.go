package tencent

import (
	"context"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func init() {
	typed[catalog.TencentVpcCreateCcn] = func(a *Actions) activities.Func { return activities.Typed(a.CreateCcn) }
	typed[catalog.TencentVpcDeleteCcn] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteCcn) }
	typed[catalog.TencentVpcAttachCcnInstance] = func(a *Actions) activities.Func { return activities.Typed(a.AttachCcnInstance) }
	typed[catalog.TencentVpcDetachCcnInstance] = func(a *Actions) activities.Func { return activities.Typed(a.DetachCcnInstance) }
	typed[catalog.TencentVpcAcceptAttachCcn] = func(a *Actions) activities.Func { return activities.Typed(a.AcceptAttachCcnInstance) }
	typed[catalog.TencentVpcDescribeCcnAttachment] = func(a *Actions) activities.Func { return activities.Typed(a.DescribeCcnAttachment) }
}

// CreateCcn creates a CCN whose description carries the idempotency tag,
// after looking for the one an earlier attempt created.
func (a *Actions) CreateCcn(ctx context.Context, call plan.Call, in catalog.TencentCreateCcnIn) (catalog.TencentCcnOut, error) {
	var none catalog.TencentCcnOut
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	desc := strings.TrimSpace(in.Description)
	if call.IdempotencyKey != "" {
		desc = strings.TrimSpace(desc + " " + tag(call.IdempotencyKey))
		list, err := s.vpc.DescribeCcnsWithContext(ctx, vpc.NewDescribeCcnsRequest())
		if err != nil {
			return none, s.classify("list the CCNs", err)
		}
		for _, c := range list.Response.CcnSet {
			if strings.Contains(str(c.CcnDescription), tag(call.IdempotencyKey)) {
				return catalog.TencentCcnOut{CcnID: str(c.CcnId)}, nil
			}
		}
	}
	req := vpc.NewCreateCcnRequest()
	req.CcnName, req.CcnDescription = common.StringPtr(in.Name), common.StringPtr(desc)
	resp, err := s.vpc.CreateCcnWithContext(ctx, req)
	if err != nil {
		return none, s.classify("create CCN "+in.Name, err)
	}
	if resp.Response.Ccn == nil || str(resp.Response.Ccn.CcnId) == "" {
		return none, activities.Fail(plan.ErrUnavailable, "%s: CreateCcn returned no CcnId", call.Action)
	}
	return catalog.TencentCcnOut{CcnID: str(resp.Response.Ccn.CcnId)}, nil
}

// DeleteCcn deletes a CCN; instances still attached make it retry (ResourceInUse).
func (a *Actions) DeleteCcn(ctx context.Context, call plan.Call, in catalog.TencentCcnIn) (catalog.TencentCcnOut, error) {
	var none catalog.TencentCcnOut
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	req := vpc.NewDeleteCcnRequest()
	req.CcnId = common.StringPtr(in.CcnID)
	if _, err := s.vpc.DeleteCcnWithContext(ctx, req); err != nil {
		if code(err) == "ResourceInUse" {
			// Still attached instances (DeleteCcn error codes): requests of other
			// accounts that were never accepted (EXPIRED, REJECTED: they never
			// carried traffic, e.g. an EMQX request that missed the 10-minute
			// window) are detached by us, the CCN's owner; anything else is the
			// business of its own compensation. Retried either way.
			s.detachLeftovers(ctx, in.CcnID)
		}
		if e := s.classify("delete CCN "+in.CcnID, err); !isNotFound(e) {
			return none, e
		}
	}
	return catalog.TencentCcnOut{CcnID: in.CcnID, Deleted: true}, nil
}

// detachLeftovers detaches the CCN's EXPIRED and REJECTED attachments
// (best effort: the caller retries the delete).
func (s *session) detachLeftovers(ctx context.Context, ccn string) {
	req := vpc.NewDescribeCcnAttachedInstancesRequest()
	req.CcnId = common.StringPtr(ccn)
	resp, err := s.vpc.DescribeCcnAttachedInstancesWithContext(ctx, req)
	if err != nil {
		return
	}
	for _, x := range resp.Response.InstanceSet {
		if st := str(x.State); st != "EXPIRED" && st != "REJECTED" {
			continue
		}
		d := vpc.NewDetachCcnInstancesRequest()
		d.CcnId = common.StringPtr(ccn)
		d.Instances = []*vpc.CcnInstance{{InstanceId: x.InstanceId, InstanceRegion: x.InstanceRegion, InstanceType: common.StringPtr("VPC")}}
		_, _ = s.vpc.DetachCcnInstancesWithContext(ctx, d)
	}
}

func (s *session) region(in catalog.TencentCcnInstanceIn) string {
	if in.Region != "" {
		return in.Region
	}
	return s.acct.Region
}

func instance(s *session, in catalog.TencentCcnInstanceIn) []*vpc.CcnInstance {
	return []*vpc.CcnInstance{{InstanceId: common.StringPtr(in.VpcID), InstanceRegion: common.StringPtr(s.region(in)), InstanceType: common.StringPtr("VPC")}}
}

// attachment reads the VPC's entry of the CCN (State NONE when there is none).
func (s *session) attachment(ctx context.Context, in catalog.TencentCcnInstanceIn) (catalog.TencentCcnAttachmentOut, error) {
	out := catalog.TencentCcnAttachmentOut{CcnID: in.CcnID, VpcID: in.VpcID, State: "NONE", Cidrs: []string{}}
	req := vpc.NewDescribeCcnAttachedInstancesRequest()
	req.CcnId = common.StringPtr(in.CcnID)
	resp, err := s.vpc.DescribeCcnAttachedInstancesWithContext(ctx, req)
	if err != nil {
		return out, s.classify("list the instances of CCN "+in.CcnID, err)
	}
	for _, x := range resp.Response.InstanceSet {
		if str(x.InstanceId) != in.VpcID {
			continue
		}
		out.State, out.InstanceUin = str(x.State), str(x.InstanceUin)
		for _, c := range x.CidrBlock {
			out.Cidrs = append(out.Cidrs, str(c))
		}
	}
	return out, nil
}

// DescribeCcnAttachment reads a VPC's attachment to a CCN.
func (a *Actions) DescribeCcnAttachment(ctx context.Context, call plan.Call, in catalog.TencentCcnInstanceIn) (catalog.TencentCcnAttachmentOut, error) {
	s, err := a.session(ctx, call)
	if err != nil {
		return catalog.TencentCcnAttachmentOut{}, err
	}
	return s.attachment(ctx, in)
}

// AttachCcnInstance attaches a VPC of the step's account to the CCN; an
// existing attachment to it is kept (changed=false).
func (a *Actions) AttachCcnInstance(ctx context.Context, call plan.Call, in catalog.TencentCcnInstanceIn) (catalog.TencentCcnAttachmentOut, error) {
	var none catalog.TencentCcnAttachmentOut
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := s.attachment(ctx, in)
	if err != nil {
		return none, err
	}
	if cur.State != "NONE" {
		return cur, nil
	}
	req := vpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.Instances = common.StringPtr(in.CcnID), instance(s, in)
	if _, err := s.vpc.AttachCcnInstancesWithContext(ctx, req); err != nil {
		return none, s.classify("attach "+in.VpcID+" to "+in.CcnID, err)
	}
	out, err := s.attachment(ctx, in)
	out.Changed = true
	return out, err
}

// DetachCcnInstance detaches a VPC from the CCN; not attached is done.
func (a *Actions) DetachCcnInstance(ctx context.Context, call plan.Call, in catalog.TencentCcnInstanceIn) (catalog.TencentCcnAttachmentOut, error) {
	var none catalog.TencentCcnAttachmentOut
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := s.attachment(ctx, in)
	if err != nil || cur.State == "NONE" || cur.State == "DETACHING" {
		if isNotFound(err) {
			return catalog.TencentCcnAttachmentOut{CcnID: in.CcnID, VpcID: in.VpcID, State: "NONE", Cidrs: []string{}}, nil
		}
		return cur, err
	}
	req := vpc.NewDetachCcnInstancesRequest()
	req.CcnId, req.Instances = common.StringPtr(in.CcnID), instance(s, in)
	if _, err := s.vpc.DetachCcnInstancesWithContext(ctx, req); err != nil {
		if e := s.classify("detach "+in.VpcID+" from "+in.CcnID, err); !isNotFound(e) {
			return none, e
		}
	}
	out, err := s.attachment(ctx, in)
	out.Changed = true
	return out, err
}

// AcceptAttachCcnInstance approves another account's PENDING request to
// attach its VPC. EXPIRED and REJECTED fail at once (vpc/v20170312 models.go
// CcnAttachedInstance.State): runbook 003 gives 10 minutes to approve, then
// the other side must submit the request again.
func (a *Actions) AcceptAttachCcnInstance(ctx context.Context, call plan.Call, acc catalog.TencentAcceptAttachIn) (catalog.TencentCcnAttachmentOut, error) {
	var none catalog.TencentCcnAttachmentOut
	in := catalog.TencentCcnInstanceIn{CcnID: acc.CcnID, VpcID: acc.VpcID, Region: acc.Region}
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := s.attachment(ctx, in)
	if err != nil {
		return none, err
	}
	// The request must come from the account we mean to join (runbook 003 腾讯云 step 5: the
	// EMQX deployment's): the VPC's owner is InstanceUin (vpc/v20170312 models.go
	// CcnAttachedInstance.InstanceUin "关联实例所属UIN（根账号）"). Approving another
	// account's request would join its network to ours.
	if acc.RequesterUin != "" && cur.State != "NONE" && cur.InstanceUin != acc.RequesterUin {
		return none, activities.Invalid("%s: the request to attach %s to %s comes from account UIN %q, not %q (the account the step expects, "+
			"e.g. the EMQX deployment's deployment.accountId): it is not approved; check the UIN the EMQX console shows and that nobody else asked with this VPC ID",
			call.Action, in.VpcID, in.CcnID, cur.InstanceUin, acc.RequesterUin)
	}
	switch cur.State {
	case "ACTIVE":
		return cur, nil
	case "PENDING":
	case "EXPIRED", "REJECTED", "FAILED":
		return none, activities.Invalid("%s: the request to attach %s to %s is %s: it was not approved within the 10-minute window "+
			"(runbook 003); the other side must submit it again", call.Action, in.VpcID, in.CcnID, cur.State)
	case "NONE":
		return none, activities.NotFound("%s: no request to attach %s to %s", call.Action, in.VpcID, in.CcnID)
	default:
		return none, activities.Conflict("%s: the attachment of %s to %s is %s", call.Action, in.VpcID, in.CcnID, cur.State)
	}
	req := vpc.NewAcceptAttachCcnInstancesRequest()
	req.CcnId, req.Instances = common.StringPtr(in.CcnID), instance(s, in)
	if _, err := s.vpc.AcceptAttachCcnInstancesWithContext(ctx, req); err != nil {
		if code(err) == "UnsupportedOperation.NotPendingCcnInstance" {
			// Expired (or decided) between the read and the accept: read again to say which.
			if now, err2 := s.attachment(ctx, in); err2 == nil && now.State == "ACTIVE" {
				return now, nil
			}
			return none, activities.Invalid("%s: the request to attach %s to %s is no longer pending (expired after the 10-minute window?): %v", call.Action, in.VpcID, in.CcnID, err)
		}
		return none, s.classify("accept "+in.VpcID+" into "+in.CcnID, err)
	}
	out, err := s.attachment(ctx, in)
	out.Changed = true
	return out, err
}
