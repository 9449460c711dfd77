package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Huawei VPC peering: the contracts and descriptors of
// huawei.vpc.{create,accept,get,delete}Peering.

// HuaweiCreatePeeringIn are the inputs of huawei.vpc.createPeering.
type HuaweiCreatePeeringIn struct {
	VpcID       string `json:"vpcId" required:"true" doc:"requester VPC"`
	PeerVpcID   string `json:"peerVpcId" required:"true" doc:"accepter VPC"`
	PeerAccount string `json:"peerAccount" doc:"account-registry name of the accepter (default: same account)"`
	// A SaaS provider's project is in no registry of ours (runbook 003 华为云 step 3: 对端项目 ID).
	PeerProjectID string `json:"peerProjectId" doc:"accepter project ID outside the registry (e.g. the EMQX Platform account ID); instead of peerAccount"`
	Name          string `json:"name" doc:"peering name prefix"`
}

// HuaweiCreatePeeringOut is the result of huawei.vpc.createPeering.
type HuaweiCreatePeeringOut struct {
	PeeringID string `json:"peeringId" doc:"peering ID"`
	Status    string `json:"status" doc:"PENDING_ACCEPTANCE, ACTIVE, ..."`
	Existing  bool   `json:"existing" doc:"true when an earlier attempt of this step had created it"`
}

// HuaweiPeeringIn names a peering.
type HuaweiPeeringIn struct {
	PeeringID string `json:"peeringId" required:"true" doc:"peering ID"`
}

// HuaweiPeeringOut is a peering's status.
type HuaweiPeeringOut struct {
	PeeringID string `json:"peeringId" doc:"peering ID"`
	Status    string `json:"status" doc:"PENDING_ACCEPTANCE, REJECTED, EXPIRED, DELETED or ACTIVE"`
}

// HuaweiGetPeeringOut is the result of huawei.vpc.getPeering.
type HuaweiGetPeeringOut struct {
	PeeringID string  `json:"peeringId" doc:"peering ID"`
	Status    string  `json:"status" doc:"PENDING_ACCEPTANCE, REJECTED, EXPIRED, DELETED or ACTIVE"`
	VpcID     *string `json:"vpcId,omitempty" doc:"requester VPC"`
	PeerVpcID *string `json:"peerVpcId,omitempty" doc:"accepter VPC"`
}

// HuaweiDeletePeeringOut is the result of huawei.vpc.deletePeering.
type HuaweiDeletePeeringOut struct {
	PeeringID string `json:"peeringId" doc:"peering ID"`
	Deleted   bool   `json:"deleted" doc:"true once it is gone"`
}

func init() {
	Register(Typed[HuaweiCreatePeeringIn, HuaweiCreatePeeringOut](Action{
		Name: HuaweiVPCCreatePeering, Provider: "huawei",
		Title: "Create a VPC peering connection",
		Doc:   "Requests a peering from vpcId to peerVpcId (in peerAccount's project when given). The name carries the idempotency key.",
		Inverse: &Inverse{
			Action: HuaweiVPCDeletePeering, Title: "Delete the VPC peering",
			Inputs:     map[string]plan.Value{"peeringId": plan.Expr("output.peeringId")},
			WaitAction: HuaweiVPCGetPeering, Wait: hwGoneWait(10 * time.Minute),
		},
	}))
	Register(Typed[HuaweiPeeringIn, HuaweiPeeringOut](Action{
		Name: HuaweiVPCAcceptPeering, Provider: "huawei",
		Title: "Accept a VPC peering (accepter account)",
	}))
	Register(Typed[HuaweiPeeringIn, HuaweiGetPeeringOut](Action{
		Name: HuaweiVPCGetPeering, Provider: "huawei", Read: true,
		Title: "Get a VPC peering",
		// VpcPeeringStatusEnum: PENDING_ACCEPTANCE, REJECTED, EXPIRED, DELETED, ACTIVE (services/vpc/v2/model/model_vpc_peering.go).
		Wait: &plan.Wait{Pending: []string{"PENDING_ACCEPTANCE"}, Target: []string{"ACTIVE"}, Failure: []string{"REJECTED", "EXPIRED", "DELETED"}, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(7 * 24 * time.Hour)},
	}))
	Register(Typed[HuaweiPeeringIn, HuaweiDeletePeeringOut](Action{
		Name: HuaweiVPCDeletePeering, Provider: "huawei",
		Title: "Delete a VPC peering",
	}))
}
