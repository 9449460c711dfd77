package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Alibaba Cloud VPC peering (VpcPeer 2022-01-01): the contracts and
// descriptors of alibaba.vpcpeer.{create,accept,get,delete}Peering,
// implemented in activities/alibaba with github.com/alibabacloud-go/vpcpeer-20220101.
const (
	AlibabaVpcPeerCreatePeering = "alibaba.vpcpeer.createPeering"
	AlibabaVpcPeerAcceptPeering = "alibaba.vpcpeer.acceptPeering"
	AlibabaVpcPeerGetPeering    = "alibaba.vpcpeer.getPeering"
	AlibabaVpcPeerDeletePeering = "alibaba.vpcpeer.deletePeering"
)

// AlibabaCreatePeeringIn are the inputs of alibaba.vpcpeer.createPeering.
type AlibabaCreatePeeringIn struct {
	VpcID              string `json:"vpcId" required:"true" doc:"our (initiator) VPC"`
	AcceptingAccountID string `json:"acceptingAccountId" required:"true" doc:"UID of the receiver's Alibaba Cloud account (the EMQX console's 接收端账号 ID)"`
	AcceptingVpcID     string `json:"acceptingVpcId" required:"true" doc:"the receiver's VPC (the EMQX console's 接收端实例)"`
	AcceptingRegion    string `json:"acceptingRegion" doc:"the receiver VPC's region (default: the account's region)"`
	Name               string `json:"name" doc:"peering name (2-128 characters, starting with a letter)"`
	Description        string `json:"description" doc:"peering description"`
}

// AlibabaPeeringIn names a peering.
type AlibabaPeeringIn struct {
	PeeringID string `json:"peeringId" required:"true" doc:"VPC peering connection ID (pcc-...)"`
}

// AlibabaPeeringOut is a peering's ID and status.
type AlibabaPeeringOut struct {
	PeeringID string `json:"peeringId" doc:"VPC peering connection ID"`
	Status    string `json:"status" doc:"Creating, Accepting, Updating, Activated, Rejected, Expired, Deleting or Deleted"`
}

// AlibabaGetPeeringOut is the result of alibaba.vpcpeer.getPeering.
type AlibabaGetPeeringOut struct {
	PeeringID          string   `json:"peeringId" doc:"VPC peering connection ID"`
	Status             string   `json:"status" doc:"Creating, Accepting, Updating, Activated, Rejected, Expired, Deleting or Deleted"`
	VpcID              string   `json:"vpcId" doc:"initiator VPC"`
	AcceptingVpcID     string   `json:"acceptingVpcId" doc:"receiver VPC"`
	AcceptingAccountID string   `json:"acceptingAccountId" doc:"receiver account UID"`
	AcceptingCidrs     []string `json:"acceptingCidrs" doc:"the receiver VPC's IPv4 CIDRs"`
}

// AlibabaDeletePeeringIn are the inputs of alibaba.vpcpeer.deletePeering.
type AlibabaDeletePeeringIn struct {
	PeeringID string `json:"peeringId" required:"true" doc:"VPC peering connection ID"`
	Force     bool   `json:"force" doc:"also delete the route entries that point to the peering (default false: refused while any exists)"`
}

// AlibabaDeletePeeringOut is the result of alibaba.vpcpeer.deletePeering.
type AlibabaDeletePeeringOut struct {
	PeeringID string `json:"peeringId" doc:"VPC peering connection ID"`
	Deleted   bool   `json:"deleted" doc:"true once it is deleting or gone"`
}

// alibabaPeeringGone waits for a deleted peering: Deleting, then Deleted or
// not found (vpcpeer-20220101 client.go DeleteVpcPeerConnection doc).
func alibabaPeeringGone() *plan.Wait {
	return &plan.Wait{Target: []string{"Deleted"}, Pending: []string{"Deleting", "Activated", "Accepting", "Rejected", "Expired", "Creating", "Updating"},
		Gone: true, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(10 * time.Minute)}
}

func init() {
	Register(Typed[AlibabaCreatePeeringIn, AlibabaPeeringOut](Action{
		Name: AlibabaVpcPeerCreatePeering, Provider: "alibaba",
		Title: "Request a VPC peering connection (initiator)",
		Doc: "CreateVpcPeerConnection from vpcId to acceptingVpcId of account acceptingAccountId (AcceptingAliUid). " +
			"A cross-account peering waits in Accepting until the receiver accepts it. The idempotency key is the ClientToken, " +
			"so a retried call returns the first attempt's peering.",
		Inverse: &Inverse{
			Action: AlibabaVpcPeerDeletePeering, Title: "Delete the VPC peering connection",
			Inputs:     map[string]plan.Value{"peeringId": plan.Expr("output.peeringId")},
			WaitAction: AlibabaVpcPeerGetPeering, Wait: alibabaPeeringGone(),
		},
		Grants: []Grant{{Input: "acceptingAccountId", Kind: GrantPrincipal}},
	}))
	Register(Typed[AlibabaPeeringIn, AlibabaPeeringOut](Action{
		Name: AlibabaVpcPeerAcceptPeering, Provider: "alibaba",
		Title: "Accept a VPC peering connection (receiver account)",
		Doc:   "AcceptVpcPeerConnection as the receiver; an Activated (or Updating) peering counts as accepted.",
	}))
	Register(Typed[AlibabaPeeringIn, AlibabaGetPeeringOut](Action{
		Name: AlibabaVpcPeerGetPeering, Provider: "alibaba", Read: true,
		Title: "Get a VPC peering connection",
		Doc:   "GetVpcPeerConnectionAttribute; a peering that is gone answers NotFound.",
		// Status values: vpcpeer-20220101 client.go GetVpcPeerConnectionAttributeResponseBody.Status.
		// Accepting waits for a person on the receiver's side (the EMQX console): a day.
		Wait: &plan.Wait{Pending: []string{"Creating", "Accepting", "Updating"}, Target: []string{"Activated"},
			Failure: []string{"Rejected", "Expired", "Deleting", "Deleted"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(24 * time.Hour)},
	}))
	Register(Typed[AlibabaDeletePeeringIn, AlibabaDeletePeeringOut](Action{
		Name: AlibabaVpcPeerDeletePeering, Provider: "alibaba",
		Title: "Delete a VPC peering connection",
		Doc: "DeleteVpcPeerConnection once the peering is in a deletable state: while it is Creating or Updating the call " +
			"is retried (Conflict), as is IncorrectStatus.VpcPeer and OperationDenied.RouteEntryExist (routes still point to it). " +
			"Deleting, Deleted or gone count as done.",
	}))
}
