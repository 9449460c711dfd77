package huawei

import (
	"context"

	vpc2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"
	vpc3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v3"

	"github.com/topoflow/topoflow/plan"
)

// The VPC v2 and v3 clients the VPC resources (peering.go, route.go,
// sgrule.go, networkacl.go) share.

func (a *Actions) vpc2For(ctx context.Context, call plan.Call) (*session, *vpc2.VpcClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	hc, err := s.hcClient("vpc")
	if err != nil {
		return nil, nil, err
	}
	return s, vpc2.NewVpcClient(hc), nil
}

func (a *Actions) vpc3For(ctx context.Context, call plan.Call) (*session, *vpc3.VpcClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	hc, err := s.hcClient("vpc")
	if err != nil {
		return nil, nil, err
	}
	return s, vpc3.NewVpcClient(hc), nil
}

// attemptMemo marks that an earlier attempt of this activity may have
// created the resource (for resources without a description to search).
type attemptMemo struct {
	Creating bool `json:"creating"`
}
