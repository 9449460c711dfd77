package tencent_test

import (
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/simtest"
	"github.com/topoflow/topoflow/cloudsim/tencent"
)

// Keys and IDs of cloudsim/worlds/tencent.yaml.
const (
	ourID, ourKey   = "AKIDtcours000000000000000000000001", "tc-ours-secret-8d2f4a6c1e3b5d7f9a0c"
	emqxID, emqxKey = "AKIDtcemqx000000000000000000000001", "emqx-tencent-secret-3c5e7a9b1d2f4e6a8c0b"
	ourVPC, emqxVPC = "vpc-tcours001", "vpc-tcemqx01"
	ourSG           = "sg-tcours01"
)

// startSim starts the Tencent provider on tencent.yaml with timing t.
func startSim(t *testing.T, timing tencent.Timing) (*cloudsim.Sim, int) {
	t.Helper()
	old := tencent.DefaultTiming
	tencent.DefaultTiming = timing
	defer func() { tencent.DefaultTiming = old }()
	for attempt := 0; ; attempt++ {
		s, err := cloudsim.New(cloudsim.Options{Providers: []string{"tencent"}})
		if err != nil {
			t.Fatal(err)
		}
		w, delta := simtest.Shifted(t, filepath.Join("..", "worlds", "tencent.yaml"))
		if err := s.LoadWorld(w); err != nil {
			t.Fatal(err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			_ = s.Close()
			if attempt < 4 && strings.Contains(strings.Join(errs, " "), "address already in use") {
				continue
			}
			t.Fatal(errs)
		}
		if _, err := s.Start("127.0.0.1:0", ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, delta
	}
}

func client(t *testing.T, s *cloudsim.Sim, id, key string) *vpc.Client {
	t.Helper()
	u, _ := url.Parse(s.URL())
	cp := profile.NewClientProfile()
	cp.HttpProfile.Endpoint, cp.HttpProfile.Scheme = u.Host, "HTTP"
	c, err := vpc.NewClient(common.NewCredential(id, key), "ap-guangzhou", cp)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) string {
	var se *tcerr.TencentCloudSDKError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func fast() tencent.Timing {
	return tencent.Timing{Attach: 50 * time.Millisecond, AttachExpiry: 10 * time.Minute, Detach: 50 * time.Millisecond, MaxClockSkew: 5 * time.Minute}
}

func TestSignatureRefusals(t *testing.T) {
	s, _ := startSim(t, fast())
	for _, tc := range []struct{ name, id, key, code string }{
		{"wrong secret", ourID, "not-the-key", "AuthFailure.SignatureFailure"},
		{"unknown id", "AKIDnobody0000000000000000000000001", ourKey, "AuthFailure.SecretIdNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(t, s, tc.id, tc.key).DescribeCcns(vpc.NewDescribeCcnsRequest())
			if code(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := client(t, s, ourID, ourKey).DescribeCcns(vpc.NewDescribeCcnsRequest()); err != nil {
		t.Fatalf("the right key: %v", err)
	}
}

func inst(id string) []*vpc.CcnInstance {
	return []*vpc.CcnInstance{{InstanceId: common.StringPtr(id), InstanceRegion: common.StringPtr("ap-guangzhou"), InstanceType: common.StringPtr("VPC")}}
}

func state(t *testing.T, c *vpc.Client, ccn, vpcID string) string {
	t.Helper()
	req := vpc.NewDescribeCcnAttachedInstancesRequest()
	req.CcnId = common.StringPtr(ccn)
	r, err := c.DescribeCcnAttachedInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r.Response.InstanceSet {
		if *x.InstanceId == vpcID {
			return *x.State
		}
	}
	return "NONE"
}

func waitState(t *testing.T, c *vpc.Client, ccn, vpcID, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for got := state(t, c, ccn, vpcID); got != want; got = state(t, c, ccn, vpcID) {
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s: %s, want %s", vpcID, ccn, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func attach(c *vpc.Client, ccn, uin, vpcID string) error {
	req := vpc.NewAttachCcnInstancesRequest()
	req.CcnId, req.Instances = common.StringPtr(ccn), inst(vpcID)
	if uin != "" {
		req.CcnUin = common.StringPtr(uin)
	}
	_, err := c.AttachCcnInstances(req)
	return err
}

func accept(c *vpc.Client, ccn, vpcID string) error {
	req := vpc.NewAcceptAttachCcnInstancesRequest()
	req.CcnId, req.Instances = common.StringPtr(ccn), inst(vpcID)
	_, err := c.AcceptAttachCcnInstances(req)
	return err
}

// TestAttachRequestExpires: a cross-account request nobody accepts turns
// EXPIRED after the window; accepting it then is refused.
func TestAttachRequestExpires(t *testing.T) {
	tm := fast()
	tm.AttachExpiry = 300 * time.Millisecond
	s, _ := startSim(t, tm)
	ours, emqx := client(t, s, ourID, ourKey), client(t, s, emqxID, emqxKey)
	cr := vpc.NewCreateCcnRequest()
	cr.CcnName = common.StringPtr("emqx-ccn")
	r, err := ours.CreateCcn(cr)
	if err != nil {
		t.Fatal(err)
	}
	ccn := *r.Response.Ccn.CcnId
	if err := attach(emqx, ccn, "100000000001", emqxVPC); err != nil {
		t.Fatal(err)
	}
	waitState(t, ours, ccn, emqxVPC, tencent.StatePending)
	waitState(t, ours, ccn, emqxVPC, tencent.StateExpired)
	if err := accept(ours, ccn, emqxVPC); code(err) != "UnsupportedOperation.NotPendingCcnInstance" {
		t.Fatalf("accepting an expired request: %v", err)
	}
}

func TestCCNJoinsVPCs(t *testing.T) {
	s, delta := startSim(t, fast())
	ours, emqx := client(t, s, ourID, ourKey), client(t, s, emqxID, emqxKey)
	broker := "127." + strconv.Itoa(23+delta) + ".1.11"
	cr := vpc.NewCreateCcnRequest()
	if _, err := ours.CreateCcn(cr); code(err) != "MissingParameter" {
		t.Fatalf("CreateCcn without a name: %v", err)
	}
	cr.CcnName = common.StringPtr("emqx-ccn")
	r, err := ours.CreateCcn(cr)
	if err != nil {
		t.Fatal(err)
	}
	ccn := *r.Response.Ccn.CcnId
	if err := attach(ours, ccn, "", ourVPC); err != nil {
		t.Fatal(err)
	}
	waitState(t, ours, ccn, ourVPC, tencent.StateActive)
	if err := attach(ours, ccn, "", ourVPC); code(err) != "UnsupportedOperation.CcnAttached" {
		t.Fatalf("a second attach of one VPC: %v", err)
	}
	if err := attach(emqx, ccn, "100000000001", emqxVPC); err != nil {
		t.Fatal(err)
	}
	waitState(t, ours, ccn, emqxVPC, tencent.StatePending)
	if v := s.Net.Check(emqxVPC, broker, 9092); v.Allowed || v.Hop != "route" {
		t.Fatalf("with the request pending: %+v, want refused at the route", v)
	}
	if err := accept(emqx, ccn, emqxVPC); code(err) != "ResourceNotFound" {
		t.Fatalf("the requester accepting: %v", err)
	}
	if err := accept(ours, ccn, emqxVPC); err != nil {
		t.Fatal(err)
	}
	waitState(t, ours, ccn, emqxVPC, tencent.StateActive)
	if v := s.Net.Check(emqxVPC, broker, 9092); v.Allowed || v.Hop != "security group" {
		t.Fatalf("joined, without the policy: %+v, want refused by the security group", v)
	}
	pr := vpc.NewCreateSecurityGroupPoliciesRequest()
	pr.SecurityGroupId = common.StringPtr(ourSG)
	pr.SecurityGroupPolicySet = &vpc.SecurityGroupPolicySet{Ingress: []*vpc.SecurityGroupPolicy{{Protocol: common.StringPtr("TCP"),
		Port: common.StringPtr("9092"), CidrBlock: common.StringPtr("10.64.140.0/24"), Action: common.StringPtr("ACCEPT")}}}
	if _, err := ours.CreateSecurityGroupPolicies(pr); err != nil {
		t.Fatal(err)
	}
	if _, err := ours.CreateSecurityGroupPolicies(pr); code(err) != "UnsupportedOperation.DuplicatePolicy" {
		t.Fatalf("a duplicate policy: %v", err)
	}
	if v := s.Net.Check(emqxVPC, broker, 9092); !v.Allowed {
		t.Fatalf("joined with the policy: %+v", v)
	}
	dr := vpc.NewDeleteCcnRequest()
	dr.CcnId = common.StringPtr(ccn)
	if _, err := ours.DeleteCcn(dr); code(err) != "ResourceInUse" {
		t.Fatalf("deleting a CCN with instances: %v", err)
	}
	for _, v := range []string{emqxVPC, ourVPC} {
		req := vpc.NewDetachCcnInstancesRequest()
		req.CcnId, req.Instances = common.StringPtr(ccn), inst(v)
		if _, err := ours.DetachCcnInstances(req); err != nil {
			t.Fatalf("detach %s: %v", v, err)
		}
		waitState(t, ours, ccn, v, "NONE")
	}
	if _, err := ours.DeleteCcn(dr); err != nil {
		t.Fatal(err)
	}
}
