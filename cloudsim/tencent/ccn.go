package tencent

import (
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// CCN attachment states (vpc/v20170312 models.go CcnAttachedInstance.State:
// PENDING 申请中, ACTIVE 已连接, EXPIRED 已过期, REJECTED 已拒绝, DELETED,
// FAILED, ATTACHING 关联中, DETACHING 解关联中, DETACHFAILED).
const (
	StatePending   = "PENDING"
	StateActive    = "ACTIVE"
	StateExpired   = "EXPIRED"
	StateRejected  = "REJECTED"
	StateAttaching = "ATTACHING"
	StateDetaching = "DETACHING"
)

// Inventory representation: a CCN is a Peering with Attrs[attrType]=ccn and
// no VPCs; an attachment is a Peering from the attached VPC (VPCID) to the
// CCN (PeerVPCID), owned by the VPC's account, PeerAccount the CCN owner's.
const (
	attrType      = "tencentType"
	typeCCN       = "ccn"
	typeAttach    = "ccn-attachment"
	attrDesc      = "description"
	attrRegion    = "instanceRegion"
	attrAttached  = "attachedTime"
	stateAvailble = "AVAILABLE" // CCN.State (models.go CCN: ISOLATED 已隔离, AVAILABLE 运行中)
)

func (a *api) ccnRoutes() {
	a.ops[VersionVpc+"/CreateCcn"] = a.createCcn
	a.ops[VersionVpc+"/DeleteCcn"] = a.deleteCcn
	a.ops[VersionVpc+"/DescribeCcns"] = a.describeCcns
	a.ops[VersionVpc+"/AttachCcnInstances"] = a.attach
	a.ops[VersionVpc+"/AcceptAttachCcnInstances"] = a.accept
	a.ops[VersionVpc+"/RejectAttachCcnInstances"] = a.reject
	a.ops[VersionVpc+"/DetachCcnInstances"] = a.detach
	a.ops[VersionVpc+"/DescribeCcnAttachedInstances"] = a.describeAttached
}

type ccnInstance struct {
	InstanceId     string `json:"InstanceId"`
	InstanceRegion string `json:"InstanceRegion"`
	InstanceType   string `json:"InstanceType"`
	Description    string `json:"Description"`
}

func attachmentID(ccn, vpc string) string { return ccn + "/" + vpc }

func (a *api) ccn(id string) (*inventory.Peering, bool) {
	p, err := inventory.Get[*inventory.Peering](a.inv, id)
	return p, err == nil && p.Attrs[attrType] == typeCCN
}

func (a *api) ccnJSON(p *inventory.Peering) map[string]any {
	n := 0
	for _, x := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if x.Attrs[attrType] == typeAttach && x.PeerVPCID == p.ID {
			n++
		}
	}
	return map[string]any{"CcnId": p.ID, "CcnName": p.Name, "CcnDescription": p.Attrs[attrDesc], "State": p.Status,
		"InstanceCount": n, "CreateTime": ts(p.CreatedAt), "QosLevel": "AU", "InstanceChargeType": "POSTPAID", "BandwidthLimitType": "OUTER_REGION_LIMIT"}
}

// createCcn: CreateCcn (CcnName required, at most 60 characters; CcnDescription
// at most 100: models.go CreateCcnRequestParams).
func (a *api) createCcn(c *caller) (any, *apiError) {
	var in struct{ CcnName, CcnDescription string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.CcnName == "" {
		return nil, missing("CcnName")
	}
	if len([]rune(in.CcnName)) > 60 || len([]rune(in.CcnDescription)) > 100 {
		return nil, errf("InvalidParameterValue.TooLong", "参数值过长。")
	}
	p := &inventory.Peering{Meta: inventory.Meta{ID: newID("ccn-"), Account: c.acct.ID, Region: c.region, Name: in.CcnName, Status: stateAvailble},
		Attrs: map[string]string{attrType: typeCCN, attrDesc: in.CcnDescription}}
	if _, err := inventory.Create(a.inv, p); err != nil {
		return nil, errf("InternalError", "内部错误。")
	}
	return map[string]any{"Ccn": a.ccnJSON(p)}, nil
}

// deleteCcn: DeleteCcn, refused with ResourceInUse while instances are
// attached (DeleteCcn error codes, vpc/v20170312 client.go).
func (a *api) deleteCcn(c *caller) (any, *apiError) {
	var in struct{ CcnId string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	p, ok := a.ccn(in.CcnId)
	if !ok || p.Account != c.acct.ID {
		return nil, errf("ResourceNotFound", "资源不存在。 The CCN %s does not exist.", in.CcnId)
	}
	for _, x := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if x.Attrs[attrType] == typeAttach && x.PeerVPCID == p.ID {
			return nil, errf("ResourceInUse", "资源被占用。 Instances are attached to %s.", p.ID)
		}
	}
	_ = a.inv.Delete(inventory.KindPeering, p.ID)
	return nil, nil
}

// describeCcns: DescribeCcns of the caller's CCNs (CcnIds filter).
func (a *api) describeCcns(c *caller) (any, *apiError) {
	var in struct{ CcnIds []string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	set := []map[string]any{}
	for _, p := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if p.Attrs[attrType] != typeCCN || p.Account != c.acct.ID {
			continue
		}
		if len(in.CcnIds) > 0 && !contains(in.CcnIds, p.ID) {
			continue
		}
		set = append(set, a.ccnJSON(p))
	}
	return map[string]any{"TotalCount": len(set), "CcnSet": set}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// attach: AttachCcnInstances of the caller's VPCs to a CCN, its own or
// another account's (CcnUin). "一个 VPC 只能关联一个云联网" (runbook 003):
// UnsupportedOperation.CcnAttached. ATTACHING, then ACTIVE in the owner's
// own CCN, PENDING in another account's until accepted; PENDING turns
// EXPIRED after Timing.AttachExpiry.
func (a *api) attach(c *caller) (any, *apiError) {
	var in struct {
		CcnId, CcnUin string
		Instances     []ccnInstance
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.CcnId == "" {
		return nil, missing("CcnId")
	}
	if len(in.Instances) == 0 {
		return nil, missing("Instances")
	}
	owner := c.acct
	if in.CcnUin != "" && in.CcnUin != c.acct.AccountID {
		o, err := a.inv.AccountBy(in.CcnUin)
		if err != nil || o.Provider != "tencent" {
			return nil, errf("UnsupportedOperation.UinNotFound", "账号不存在。 The UIN %s does not exist.", in.CcnUin)
		}
		owner = o
	}
	p, ok := a.ccn(in.CcnId)
	if !ok || p.Account != owner.ID {
		return nil, errf("ResourceNotFound", "资源不存在。 The CCN %s does not exist.", in.CcnId)
	}
	for _, inst := range in.Instances {
		if inst.InstanceType != "" && inst.InstanceType != "VPC" {
			return nil, errf("InvalidParameterValue", "the twin attaches VPC instances only, not %s", inst.InstanceType)
		}
		v, err := inventory.Get[*inventory.VPC](a.inv, inst.InstanceId)
		if err != nil || v.Account != c.acct.ID {
			return nil, errf("ResourceNotFound", "资源不存在。 The VPC %s does not exist.", inst.InstanceId)
		}
		for _, x := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
			if x.Attrs[attrType] == typeAttach && x.VPCID == v.ID {
				return nil, errf("UnsupportedOperation.CcnAttached", "实例已关联CCN。 %s is attached to %s.", v.ID, x.PeerVPCID)
			}
		}
	}
	for _, inst := range in.Instances {
		next := StateActive
		if owner.ID != c.acct.ID {
			next = StatePending
		}
		id := attachmentID(p.ID, inst.InstanceId)
		att := &inventory.Peering{Meta: inventory.Meta{ID: id, Account: c.acct.ID, Region: inst.InstanceRegion, Status: StateAttaching},
			VPCID: inst.InstanceId, PeerVPCID: p.ID, PeerAccount: owner.ID,
			Attrs: map[string]string{attrType: typeAttach, attrDesc: inst.Description, attrRegion: inst.InstanceRegion}}
		if _, err := inventory.Create(a.inv, att); err != nil {
			return nil, errf("InternalError", "内部错误。")
		}
		a.attached(a.timing.Attach, attachStep{ID: id, Next: next})
	}
	return nil, nil
}

// decide: AcceptAttachCcnInstances / RejectAttachCcnInstances by the CCN
// owner, of PENDING requests only (UnsupportedOperation.NotPendingCcnInstance
// "当前云联网实例未处于申请中状态，无法进行操作", vpc/v20170312 errors.go).
func (a *api) decide(c *caller, accept bool) (any, *apiError) {
	var in struct {
		CcnId     string
		Instances []ccnInstance
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	p, ok := a.ccn(in.CcnId)
	if !ok || p.Account != c.acct.ID {
		return nil, errf("ResourceNotFound", "资源不存在。 The CCN %s does not exist.", in.CcnId)
	}
	if len(in.Instances) == 0 {
		return nil, missing("Instances")
	}
	var ids []string
	for _, inst := range in.Instances {
		att, err := inventory.Get[*inventory.Peering](a.inv, attachmentID(p.ID, inst.InstanceId))
		if err != nil {
			return nil, errf("UnsupportedOperation.CcnNotAttached", "实例未关联CCN。 %s", inst.InstanceId)
		}
		if att.Status != StatePending {
			return nil, errf("UnsupportedOperation.NotPendingCcnInstance", "当前云联网实例未处于申请中状态，无法进行操作。 %s is %s.", inst.InstanceId, att.Status)
		}
		ids = append(ids, att.ID)
	}
	next := StateRejected
	if accept {
		next = StateActive
	}
	for _, id := range ids {
		_, _ = inventory.Update(a.inv, id, func(p *inventory.Peering) error { p.Status = next; return nil })
	}
	return nil, nil
}

func (a *api) accept(c *caller) (any, *apiError) { return a.decide(c, true) }
func (a *api) reject(c *caller) (any, *apiError) { return a.decide(c, false) }

// detach: DetachCcnInstances, by the instance's owner or the CCN's owner;
// UnsupportedOperation.CcnNotAttached when it is not attached, and
// UnsupportedOperation.MutexOperationTaskRunning while ATTACHING or
// DETACHING (DetachCcnInstances error codes). DETACHING → gone.
func (a *api) detach(c *caller) (any, *apiError) {
	var in struct {
		CcnId     string
		Instances []ccnInstance
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.CcnId == "" {
		return nil, missing("CcnId")
	}
	var ids []string
	for _, inst := range in.Instances {
		att, err := inventory.Get[*inventory.Peering](a.inv, attachmentID(in.CcnId, inst.InstanceId))
		if err != nil || (att.Account != c.acct.ID && att.PeerAccount != c.acct.ID) {
			return nil, errf("UnsupportedOperation.CcnNotAttached", "实例未关联CCN。 %s", inst.InstanceId)
		}
		if att.Status == StateAttaching || att.Status == StateDetaching {
			return nil, errf("UnsupportedOperation.MutexOperationTaskRunning", "当前有互斥任务正在执行。 %s is %s.", inst.InstanceId, att.Status)
		}
		ids = append(ids, att.ID)
	}
	for _, id := range ids {
		_, _ = inventory.Update(a.inv, id, func(p *inventory.Peering) error { p.Status = StateDetaching; return nil })
		a.deleteLater(a.timing.Detach, id)
	}
	return nil, nil
}

// describeAttached: DescribeCcnAttachedInstances of a CCN the caller owns
// or has an instance attached to (fields of models.go CcnAttachedInstance).
func (a *api) describeAttached(c *caller) (any, *apiError) {
	var in struct{ CcnId string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	set := []map[string]any{}
	for _, x := range inventory.List[*inventory.Peering](a.inv, inventory.Filter{}) {
		if x.Attrs[attrType] != typeAttach || (in.CcnId != "" && x.PeerVPCID != in.CcnId) || (x.Account != c.acct.ID && x.PeerAccount != c.acct.ID) {
			continue
		}
		var uin, ccnUin string
		if o, err := inventory.Get[*inventory.Account](a.inv, x.Account); err == nil {
			uin = o.AccountID
		}
		if o, err := inventory.Get[*inventory.Account](a.inv, x.PeerAccount); err == nil {
			ccnUin = o.AccountID
		}
		var cidrs []string
		if v, err := inventory.Get[*inventory.VPC](a.inv, x.VPCID); err == nil && v.CIDR != "" {
			cidrs = []string{v.CIDR}
		}
		set = append(set, map[string]any{"CcnId": x.PeerVPCID, "InstanceType": "VPC", "InstanceId": x.VPCID, "InstanceRegion": x.Attrs[attrRegion],
			"InstanceUin": uin, "CcnUin": ccnUin, "CidrBlock": cidrs, "State": x.Status, "AttachedTime": x.Attrs[attrAttached], "Description": x.Attrs[attrDesc]})
	}
	return map[string]any{"TotalCount": len(set), "InstanceSet": set}, nil
}
