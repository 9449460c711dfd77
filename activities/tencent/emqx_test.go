package tencent

import (
	"net/url"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"
)

// emqxAttach is EMQX's side: AttachCcnInstances of its VPC to our CCN
// (CcnUin: our account), with its own keys through the SDK.
func emqxAttach(e *env, ccn string) error {
	u, _ := url.Parse(e.sim.URL())
	cp := profile.NewClientProfile()
	cp.HttpProfile.Endpoint, cp.HttpProfile.Scheme = u.Host, "HTTP"
	c, err := vpc.NewClient(common.NewCredential("AKIDtcemqx000000000000000000000001", "emqx-tencent-secret-3c5e7a9b1d2f4e6a8c0b"), "ap-guangzhou", cp)
	if err != nil {
		return err
	}
	req := vpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.CcnUin = common.StringPtr(ccn), common.StringPtr("100000000001")
	req.Instances = []*vpc.CcnInstance{{InstanceId: common.StringPtr("vpc-tcemqx01"), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
	_, err = c.AttachCcnInstances(req)
	return err
}
