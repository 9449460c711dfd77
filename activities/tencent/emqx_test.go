package tencent

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/catalog"
	tcsim "github.com/topoflow/topoflow/cloudsim/tencent"
	"github.com/topoflow/topoflow/plan"

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

// TestAcceptRefusesAnotherAccountsRequest: the request to attach is
// approved only when it comes from the UIN the step expects (EMQX's,
// deployment.accountId); a request whose VPC belongs to another account is
// refused for good, naming both UINs, and stays PENDING (nothing joined).
func TestAcceptRefusesAnotherAccountsRequest(t *testing.T) {
	e := newEnv(t, time.Minute)
	id := e.must(t, catalog.TencentVpcCreateCcn, "tc-ours", "wf/ccn", map[string]any{"name": "emqx-ccn"})["ccnId"].(string)
	if err := emqxAttach(e, id); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, id, "vpc-tcemqx01", tcsim.StatePending)
	for _, c := range []struct {
		uin     string
		refused bool
	}{
		{"300000000003", true},  // not the account that asked
		{"100000000001", true},  // our own UIN: the CCN's owner, not the requester
		{"200000000002", false}, // EMQX's account, which asked
	} {
		out, err := e.call(catalog.TencentVpcAcceptAttachCcn, "tc-ours", "wf/accept", map[string]any{"ccnId": id, "vpcId": "vpc-tcemqx01", "requesterUin": c.uin})
		if !c.refused {
			if err != nil || out["state"] != tcsim.StateActive || out["instanceUin"] != "200000000002" {
				t.Fatalf("accept as %s: %v %v", c.uin, out, err)
			}
			continue
		}
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != plan.ErrInvalid ||
			!strings.Contains(err.Error(), `comes from account UIN "200000000002", not "`+c.uin+`"`) {
			t.Fatalf("accept expecting %s: %v, want a non-retryable InvalidInput naming both UINs", c.uin, err)
		}
		if st := e.must(t, catalog.TencentVpcDescribeCcnAttachment, "tc-ours", "", map[string]any{"ccnId": id, "vpcId": "vpc-tcemqx01"})["state"]; st != tcsim.StatePending {
			t.Fatalf("after a refused accept the request is %v, want PENDING", st)
		}
	}
}
