package tencent

import (
	"context"
	"net/netip"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	vpc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func init() {
	typed[catalog.TencentVpcCreateSGPolicy] = func(a *Actions) activities.Func { return activities.Typed(a.CreateSecurityGroupPolicy) }
	typed[catalog.TencentVpcDeleteSGPolicy] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteSecurityGroupPolicy) }
}

func proto(p string) string {
	if p == "" {
		return "TCP"
	}
	return strings.ToUpper(p)
}

// findPolicy returns the group's ingress ACCEPT policy matching in.
func findPolicy(ctx context.Context, s *session, in catalog.TencentSGPolicyIn, cidr string) (*vpc.SecurityGroupPolicy, error) {
	req := vpc.NewDescribeSecurityGroupPoliciesRequest()
	req.SecurityGroupId = common.StringPtr(in.SecurityGroupID)
	resp, err := s.vpc.DescribeSecurityGroupPoliciesWithContext(ctx, req)
	if err != nil {
		return nil, s.classify("read security group "+in.SecurityGroupID, err)
	}
	if resp.Response.SecurityGroupPolicySet == nil {
		return nil, nil
	}
	for _, p := range resp.Response.SecurityGroupPolicySet.Ingress {
		if strings.EqualFold(str(p.Protocol), proto(in.Protocol)) && strings.EqualFold(str(p.Port), in.Port) && str(p.CidrBlock) == cidr &&
			strings.EqualFold(str(p.Action), "ACCEPT") {
			return p, nil
		}
	}
	return nil, nil
}

func policySet(in catalog.TencentSGPolicyIn, cidr, desc string) *vpc.SecurityGroupPolicySet {
	p := &vpc.SecurityGroupPolicy{Protocol: common.StringPtr(proto(in.Protocol)), Port: common.StringPtr(in.Port),
		CidrBlock: common.StringPtr(cidr), Action: common.StringPtr("ACCEPT")}
	if desc != "" {
		p.PolicyDescription = common.StringPtr(desc)
	}
	return &vpc.SecurityGroupPolicySet{Ingress: []*vpc.SecurityGroupPolicy{p}}
}

// CreateSecurityGroupPolicy allows sourceCidr in on port.
func (a *Actions) CreateSecurityGroupPolicy(ctx context.Context, call plan.Call, in catalog.TencentSGPolicyIn) (catalog.TencentSGPolicyOut, error) {
	var none catalog.TencentSGPolicyOut
	pfx, err := netip.ParsePrefix(in.SourceCidr)
	if err != nil {
		return none, activities.Invalid("%s: sourceCidr %q is not a CIDR", call.Action, in.SourceCidr)
	}
	cidr := pfx.Masked().String()
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	out := catalog.TencentSGPolicyOut{SecurityGroupID: in.SecurityGroupID}
	desc := ""
	if call.IdempotencyKey != "" {
		desc = tag(call.IdempotencyKey)
	}
	if p, err := findPolicy(ctx, s, in, cidr); err != nil {
		return none, err
	} else if p != nil {
		out.Created = desc != "" && str(p.PolicyDescription) == desc
		return out, nil
	}
	req := vpc.NewCreateSecurityGroupPoliciesRequest()
	req.SecurityGroupId, req.SecurityGroupPolicySet = common.StringPtr(in.SecurityGroupID), policySet(in, cidr, desc)
	if _, err := s.vpc.CreateSecurityGroupPoliciesWithContext(ctx, req); err != nil {
		return none, s.classify("allow "+cidr+" into "+in.SecurityGroupID, err)
	}
	out.Created = true
	return out, nil
}

// DeleteSecurityGroupPolicy deletes the policy when the group lists it.
func (a *Actions) DeleteSecurityGroupPolicy(ctx context.Context, call plan.Call, in catalog.TencentSGPolicyIn) (catalog.TencentSGPolicyOut, error) {
	var none catalog.TencentSGPolicyOut
	out := catalog.TencentSGPolicyOut{SecurityGroupID: in.SecurityGroupID}
	if in.Created != nil && !*in.Created {
		return out, nil
	}
	pfx, err := netip.ParsePrefix(in.SourceCidr)
	if err != nil {
		return none, activities.Invalid("%s: sourceCidr %q is not a CIDR", call.Action, in.SourceCidr)
	}
	cidr := pfx.Masked().String()
	s, err := a.session(ctx, call)
	if err != nil {
		return none, err
	}
	p, err := findPolicy(ctx, s, in, cidr)
	if err != nil || p == nil {
		if isNotFound(err) {
			return out, nil
		}
		return none, err
	}
	req := vpc.NewDeleteSecurityGroupPoliciesRequest()
	req.SecurityGroupId, req.SecurityGroupPolicySet = common.StringPtr(in.SecurityGroupID), policySet(in, cidr, "")
	if _, err := s.vpc.DeleteSecurityGroupPoliciesWithContext(ctx, req); err != nil {
		if e := s.classify("delete the policy for "+cidr+" of "+in.SecurityGroupID, err); !isNotFound(e) {
			return none, e
		}
	}
	out.Created = true
	return out, nil
}
