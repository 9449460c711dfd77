package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Tencent Cloud CCN (云联网, VPC API 2017-03-12): the contracts and
// descriptors of tencent.vpc.{create,delete}Ccn, {attach,detach}CcnInstance,
// acceptAttachCcnInstance and describeCcnAttachment, implemented in
// activities/tencent with github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc.
const (
	TencentVpcCreateCcn             = "tencent.vpc.createCcn"
	TencentVpcDeleteCcn             = "tencent.vpc.deleteCcn"
	TencentVpcAttachCcnInstance     = "tencent.vpc.attachCcnInstance"
	TencentVpcDetachCcnInstance     = "tencent.vpc.detachCcnInstance"
	TencentVpcAcceptAttachCcn       = "tencent.vpc.acceptAttachCcnInstance"
	TencentVpcDescribeCcnAttachment = "tencent.vpc.describeCcnAttachment"
)

// TencentCreateCcnIn are the inputs of tencent.vpc.createCcn.
type TencentCreateCcnIn struct {
	Name        string `json:"name" required:"true" doc:"CCN name (at most 60 characters)"`
	Description string `json:"description" doc:"CCN description (at most 100 characters with the idempotency tag)"`
}

// TencentCcnOut names a CCN.
type TencentCcnOut struct {
	CcnID   string `json:"ccnId" doc:"CCN ID (ccn-...)"`
	Deleted bool   `json:"deleted,omitempty" doc:"deleteCcn: true once it is gone"`
}

// TencentCcnIn names a CCN.
type TencentCcnIn struct {
	CcnID string `json:"ccnId" required:"true" doc:"CCN ID"`
}

// TencentCcnInstanceIn names a VPC attached (or asking to be) to a CCN.
type TencentCcnInstanceIn struct {
	CcnID  string `json:"ccnId" required:"true" doc:"CCN ID"`
	VpcID  string `json:"vpcId" required:"true" doc:"the VPC"`
	Region string `json:"region" doc:"the VPC's region (default: the account's)"`
}

// TencentAcceptAttachIn are the inputs of tencent.vpc.acceptAttachCcnInstance.
type TencentAcceptAttachIn struct {
	CcnID        string `json:"ccnId" required:"true" doc:"CCN ID"`
	VpcID        string `json:"vpcId" required:"true" doc:"the other account's VPC asking to attach"`
	Region       string `json:"region" doc:"the VPC's region (default: the account's)"`
	RequesterUin string `json:"requesterUin" doc:"UIN the request must come from (the VPC's owner, InstanceUin); another account's request is refused, never approved"`
}

// TencentCcnAttachmentOut is an attachment's state.
type TencentCcnAttachmentOut struct {
	CcnID       string   `json:"ccnId" doc:"CCN ID"`
	VpcID       string   `json:"vpcId" doc:"the VPC"`
	State       string   `json:"state" doc:"NONE (no request), PENDING, ATTACHING, ACTIVE, REJECTED, EXPIRED, FAILED, DETACHING"`
	InstanceUin string   `json:"instanceUin,omitempty" doc:"UIN of the VPC's account"`
	Cidrs       []string `json:"cidrs" doc:"the VPC's CIDRs"`
	Changed     bool     `json:"changed" doc:"attach/accept: this call attached or accepted it (false: it already was)"`
}

// tencentDetached waits until an attachment is gone (NONE).
func tencentDetached() *plan.Wait {
	return &plan.Wait{StatusPath: "state", Target: []string{"NONE"}, Pending: []string{"DETACHING", "ACTIVE", "ATTACHING", "PENDING", "REJECTED", "EXPIRED", "FAILED"},
		PollInterval: plan.D(2 * time.Second), Timeout: plan.D(10 * time.Minute)}
}

func init() {
	Register(Typed[TencentCreateCcnIn, TencentCcnOut](Action{
		Name: TencentVpcCreateCcn, Provider: "tencent",
		Title: "Create a CCN (云联网) instance",
		Doc: "CreateCcn (post-paid). The description carries the idempotency tag, so a retry finds the first attempt's " +
			"CCN (DescribeCcns) instead of creating a second.",
		Inverse: &Inverse{Action: TencentVpcDeleteCcn, Title: "Delete the CCN", Inputs: map[string]plan.Value{"ccnId": plan.Expr("output.ccnId")}},
	}))
	Register(Typed[TencentCcnIn, TencentCcnOut](Action{
		Name: TencentVpcDeleteCcn, Provider: "tencent",
		Title: "Delete a CCN instance",
		Doc: "DeleteCcn; retried (Conflict) while instances are still attached (ResourceInUse), after detaching the requests " +
			"of other accounts that were never accepted (EXPIRED, REJECTED); a missing CCN is done.",
	}))
	Register(Typed[TencentCcnInstanceIn, TencentCcnAttachmentOut](Action{
		Name: TencentVpcAttachCcnInstance, Provider: "tencent",
		Title: "Attach our VPC to a CCN",
		Doc:   "AttachCcnInstances of a VPC of the step's account. A VPC attaches to one CCN only (UnsupportedOperation.CcnAttached).",
		Inverse: &Inverse{
			Action: TencentVpcDetachCcnInstance, Title: "Detach the VPC from the CCN",
			Inputs:     map[string]plan.Value{"ccnId": plan.Expr("input.ccnId"), "vpcId": plan.Expr("input.vpcId"), "region": plan.Expr("input.region")},
			WaitAction: TencentVpcDescribeCcnAttachment, Wait: tencentDetached(),
		},
		Locks: []string{`"tencent:ccn:" + input.ccnId`},
	}))
	Register(Typed[TencentCcnInstanceIn, TencentCcnAttachmentOut](Action{
		Name: TencentVpcDetachCcnInstance, Provider: "tencent",
		Title: "Detach a VPC from a CCN",
		Doc:   "DetachCcnInstances (by the VPC's or the CCN's owner); retried while an attach or detach runs; not attached is done.",
	}))
	Register(Typed[TencentAcceptAttachIn, TencentCcnAttachmentOut](Action{
		Name: TencentVpcAcceptAttachCcn, Provider: "tencent",
		Title: "Approve another account's request to attach its VPC to our CCN",
		Doc: "AcceptAttachCcnInstances of a PENDING request (runbook 003: the EMQX deployment's VPC, approved within 10 " +
			"minutes). An EXPIRED or REJECTED request fails at once: the other side must submit it again. ACTIVE is done. " +
			"With requesterUin, a request whose VPC belongs to another account (DescribeCcnAttachedInstances InstanceUin) is refused.",
		Inverse: &Inverse{
			Action: TencentVpcDetachCcnInstance, Title: "Detach the other account's VPC from the CCN",
			Inputs:     map[string]plan.Value{"ccnId": plan.Expr("input.ccnId"), "vpcId": plan.Expr("input.vpcId"), "region": plan.Expr("input.region")},
			WaitAction: TencentVpcDescribeCcnAttachment, Wait: tencentDetached(),
		},
		Locks: []string{`"tencent:ccn:" + input.ccnId`},
	}))
	Register(Typed[TencentCcnInstanceIn, TencentCcnAttachmentOut](Action{
		Name: TencentVpcDescribeCcnAttachment, Provider: "tencent", Read: true,
		Title: "Read a VPC's attachment to a CCN",
		Doc:   "DescribeCcnAttachedInstances of the CCN, the VPC's entry; NONE when there is none (no request, or detached).",
		// The runbook's window: the request must be there and approved within 10 minutes of the
		// EMQX console step ("您需要在 10 分钟内完成…否则将视为失败"); states of
		// vpc/v20170312 models.go CcnAttachedInstance.State.
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"NONE", "ATTACHING"}, Target: []string{"PENDING", "ACTIVE"},
			Failure: []string{"EXPIRED", "REJECTED", "FAILED", "DETACHING"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(10 * time.Minute)},
	}))
}
