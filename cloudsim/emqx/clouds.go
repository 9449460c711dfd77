package emqx

// The console stand-in on Alibaba Cloud and Tencent Cloud: EMQX Platform
// acts on its side through the cloud's own API, with the deployment
// account's keys and the clouds' official SDKs against this twin, as the
// real EMQX Platform does against the real clouds.

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	alivpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	vpcpeer "github.com/alibabacloud-go/vpcpeer-20220101/v2/client"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	tcvpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// keys returns the deployment account's access key.
func (p *platform) keys(account string) (*inventory.Account, inventory.Credential, error) {
	acct, err := inventory.Get[*inventory.Account](p.inv, account)
	if err != nil {
		return nil, inventory.Credential{}, fmt.Errorf("deployment account %s: %w", account, err)
	}
	for _, c := range acct.Credentials {
		if c.Type == "aksk" {
			return acct, c, nil
		}
	}
	return nil, inventory.Credential{}, fmt.Errorf("deployment account %s has no access key", account)
}

func (p *platform) host() (string, error) {
	u, err := url.Parse(p.sim.URL())
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("the twin's URL %q: %v", p.sim.URL(), err)
	}
	return u.Host, nil
}

// confirmAlibaba is runbook 003 阿里云 step 4 on EMQX's side: the customer
// enters 发起端实例 (their VPC); EMQX finds the peering request from it to the
// deployment's VPC, accepts it (AcceptVpcPeerConnection), waits until it is
// Activated and adds its route entry to the customer's CIDR with the peering
// as next hop (完成并配置路由).
func (p *platform) confirmAlibaba(w http.ResponseWriter, port *inventory.Port, req confirmRequest) {
	var peer *inventory.Peering
	for _, x := range inventory.List[*inventory.Peering](p.inv, inventory.Filter{}) {
		if x.Attrs["alibabaType"] == "vpcpeer" && x.VPCID == req.VPCID && x.PeerVPCID == port.VPCID && x.PeerAccount == port.Account {
			peer = x
		}
	}
	if peer == nil {
		refuse(w, http.StatusBadRequest, "发起端实例 %q has no peering request to the deployment's VPC %s", req.VPCID, port.VPCID)
		return
	}
	ours, err := inventory.Get[*inventory.VPC](p.inv, peer.VPCID)
	if err != nil {
		refuse(w, http.StatusBadRequest, "requester VPC %s does not exist", peer.VPCID)
		return
	}
	acct, key, err := p.keys(port.Account)
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	host, err := p.host()
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	cfg := func() *openapi.Config {
		return &openapi.Config{AccessKeyId: tea.String(key.KeyID), AccessKeySecret: tea.String(key.Secret),
			RegionId: tea.String(acct.Region), Endpoint: tea.String(host), Protocol: tea.String("http")}
	}
	pc, err := vpcpeer.NewClient(cfg())
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	vc, err := alivpc.NewClient(cfg())
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if peer.Status == "Accepting" {
		if _, err := pc.AcceptVpcPeerConnection(&vpcpeer.AcceptVpcPeerConnectionRequest{InstanceId: tea.String(peer.ID)}); err != nil {
			refuse(w, http.StatusConflict, "accept %s: %v", peer.ID, err)
			return
		}
	}
	// Updating → Activated (cloudsim/alibaba decide); the route entry needs an Activated peering.
	deadline := time.Now().Add(30 * time.Second)
	for {
		x, err := inventory.Get[*inventory.Peering](p.inv, peer.ID)
		if err == nil && x.Status == inventory.PeeringActive {
			break
		}
		if err != nil || time.Now().After(deadline) || (x.Status != "Updating" && x.Status != "Accepting") {
			refuse(w, http.StatusConflict, "peering %s did not become Activated", peer.ID)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rtb string
	for _, rt := range inventory.List[*inventory.RouteTable](p.inv, inventory.Filter{}) {
		if rt.VPCID == port.VPCID {
			rtb = rt.ID
		}
	}
	if rtb == "" {
		refuse(w, http.StatusInternalServerError, "deployment VPC %s has no route table", port.VPCID)
		return
	}
	if _, err := vc.CreateRouteEntry(&alivpc.CreateRouteEntryRequest{RegionId: tea.String(acct.Region), RouteTableId: tea.String(rtb),
		DestinationCidrBlock: tea.String(ours.CIDR), NextHopType: tea.String("VpcPeer"), NextHopId: tea.String(peer.ID)}); err != nil {
		refuse(w, http.StatusConflict, "route to %s: %v", ours.CIDR, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"peeringId": peer.ID, "status": "running"})
}

// confirmTencent is runbook 003 腾讯云 step 4 on EMQX's side: the customer
// enters their CCN ID and account ID; EMQX asks to attach the deployment's
// VPC to that CCN (AttachCcnInstances with CcnUin), which the customer then
// approves within 10 minutes (step 5).
func (p *platform) confirmTencent(w http.ResponseWriter, port *inventory.Port, req confirmRequest) {
	ccn, err := inventory.Get[*inventory.Peering](p.inv, req.CcnID)
	if err != nil || ccn.Attrs["tencentType"] != "ccn" {
		refuse(w, http.StatusBadRequest, "对等连接ID %q is no CCN", req.CcnID)
		return
	}
	owner, err := inventory.Get[*inventory.Account](p.inv, ccn.Account)
	if err != nil || owner.AccountID != req.AccountID {
		refuse(w, http.StatusBadRequest, "账户ID %q is not the account of CCN %s", req.AccountID, ccn.ID)
		return
	}
	if req.VPCID != "" && req.VPCID != port.VPCID {
		refuse(w, http.StatusBadRequest, "VPC ID %q is not the deployment's VPC %s", req.VPCID, port.VPCID)
		return
	}
	dep, err := inventory.Get[*inventory.VPC](p.inv, port.VPCID)
	if err != nil {
		refuse(w, http.StatusInternalServerError, "deployment VPC %s: %v", port.VPCID, err)
		return
	}
	c, err := p.tencentClient(port)
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	ar := tcvpc.NewAttachCcnInstancesRequest()
	ar.CcnId, ar.CcnUin = common.StringPtr(ccn.ID), common.StringPtr(req.AccountID)
	ar.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(port.VPCID), InstanceRegion: common.StringPtr(dep.Region), InstanceType: common.StringPtr("VPC")}}
	if _, err := c.AttachCcnInstances(ar); err != nil {
		refuse(w, http.StatusConflict, "attach %s to %s: %v", port.VPCID, ccn.ID, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ccnId": ccn.ID, "status": "PENDING"})
}

// removeTencent is runbook 003 腾讯云 删除对等连接 on EMQX's side: only from
// running (the deployment's attachment to the CCN ACTIVE), EMQX detaches its
// VPC from the customer's CCN through the Tencent API with the deployment
// account's keys (DetachCcnInstances by the instance's owner, vpc/v20170312).
// The customer then deletes their CCN.
func (p *platform) removeTencent(w http.ResponseWriter, ccn *inventory.Peering) {
	var att *inventory.Peering
	var port *inventory.Port
	for _, x := range inventory.List[*inventory.Peering](p.inv, inventory.Filter{}) {
		if x.Attrs["tencentType"] != "ccn-attachment" || x.PeerVPCID != ccn.ID {
			continue
		}
		if dep, ok := p.deployment(x.VPCID); ok {
			att, port = x, dep
		}
	}
	if att == nil {
		refuse(w, http.StatusNotFound, "no deployment is attached to CCN %s", ccn.ID)
		return
	}
	if att.Status != "ACTIVE" {
		refuse(w, http.StatusConflict, "the deployment's attachment to CCN %s is %s: it can be deleted only when running (runbook 003)", ccn.ID, att.Status)
		return
	}
	c, err := p.tencentClient(port)
	if err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	dr := tcvpc.NewDetachCcnInstancesRequest()
	dr.CcnId = common.StringPtr(ccn.ID)
	dr.Instances = []*tcvpc.CcnInstance{{InstanceId: common.StringPtr(att.VPCID), InstanceRegion: common.StringPtr(att.Region), InstanceType: common.StringPtr("VPC")}}
	if _, err := c.DetachCcnInstances(dr); err != nil {
		refuse(w, http.StatusConflict, "detach %s from %s: %v", att.VPCID, ccn.ID, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tencentClient is the Tencent VPC API client of the deployment behind
// port, with its account's keys, on the twin itself.
func (p *platform) tencentClient(port *inventory.Port) (*tcvpc.Client, error) {
	acct, key, err := p.keys(port.Account)
	if err != nil {
		return nil, err
	}
	host, err := p.host()
	if err != nil {
		return nil, err
	}
	cp := profile.NewClientProfile()
	cp.HttpProfile.Endpoint, cp.HttpProfile.Scheme = host, "HTTP"
	return tcvpc.NewClient(common.NewCredential(key.KeyID, key.Secret), acct.Region, cp)
}
