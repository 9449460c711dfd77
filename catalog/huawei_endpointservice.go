package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Huawei VPC endpoint services: the contracts and descriptors of
// huawei.vpcep.{create,get,delete}EndpointService, the service's whitelist
// (huawei.vpcep.{add,remove}Whitelist) and the owner's decision on an
// endpoint's connection (huawei.vpcep.{accept,reject}Connection).

// HuaweiCreateEndpointServiceIn are the inputs of huawei.vpcep.createEndpointService.
type HuaweiCreateEndpointServiceIn struct {
	VpcID           string `json:"vpcId" required:"true" doc:"VPC of the Kafka instance"`
	PortID          string `json:"portId" required:"true" doc:"broker port ID (cross_vpc_info[listenerIp].port_id)"`
	ServerPort      *int   `json:"serverPort" doc:"backend port (default 9011)"`
	ClientPort      *int   `json:"clientPort" doc:"port the endpoint exposes (default 9011)"`
	ApprovalEnabled bool   `json:"approvalEnabled" doc:"endpoints need the owner's acceptance (default false)"`
	Description     string `json:"description" doc:"free text, prefixed to the idempotency tag"`
}

// HuaweiCreateEndpointServiceOut is the result of huawei.vpcep.createEndpointService.
type HuaweiCreateEndpointServiceOut struct {
	ServiceID   string `json:"serviceId" doc:"endpoint service ID"`
	ServiceName string `json:"serviceName" doc:"endpoint service name (what endpoints connect to)"`
	Status      string `json:"status" doc:"creating, available, failed, deleting"`
	PortID      string `json:"portId" doc:"backend port ID"`
	Existing    bool   `json:"existing" doc:"true when an earlier attempt of this step had created it"`
}

// HuaweiEndpointServiceIn names an endpoint service.
type HuaweiEndpointServiceIn struct {
	ServiceID string `json:"serviceId" required:"true" doc:"endpoint service ID"`
}

// HuaweiGetEndpointServiceOut is the result of huawei.vpcep.getEndpointService.
type HuaweiGetEndpointServiceOut struct {
	ServiceID       string  `json:"serviceId" doc:"endpoint service ID"`
	ServiceName     string  `json:"serviceName" doc:"endpoint service name"`
	Status          string  `json:"status" doc:"creating, available, failed, deleting"`
	PortID          string  `json:"portId" doc:"backend port ID"`
	VpcID           string  `json:"vpcId" doc:"VPC of the backend"`
	ApprovalEnabled bool    `json:"approvalEnabled" doc:"endpoints need the owner's acceptance"`
	Error           *string `json:"error,omitempty" doc:"the cloud's first error message, when it reports one"`
}

// HuaweiDeleteEndpointServiceOut is the result of huawei.vpcep.deleteEndpointService.
type HuaweiDeleteEndpointServiceOut struct {
	ServiceID   string `json:"serviceId" doc:"endpoint service ID"`
	Deleted     bool   `json:"deleted" doc:"true once it is gone or going"`
	AlreadyGone bool   `json:"alreadyGone" doc:"true when it was already gone"`
}

// HuaweiWhitelistIn are the inputs of huawei.vpcep.{add,remove}Whitelist.
type HuaweiWhitelistIn struct {
	ServiceID     string `json:"serviceId" required:"true" doc:"endpoint service ID"`
	ClientAccount string `json:"clientAccount" required:"true" doc:"account-registry name of the client (its huawei.domainId is whitelisted)"`
}

// HuaweiWhitelistOut is the result of huawei.vpcep.{add,remove}Whitelist.
type HuaweiWhitelistOut struct {
	ServiceID  string `json:"serviceId" doc:"endpoint service ID"`
	Permission string `json:"permission" doc:"the permission, iam:domain::<domain_id>"`
}

// HuaweiConnectionIn names an endpoint's connection to a service.
type HuaweiConnectionIn struct {
	ServiceID  string `json:"serviceId" required:"true" doc:"endpoint service ID"`
	EndpointID string `json:"endpointId" required:"true" doc:"endpoint ID (the connection ID)"`
}

// HuaweiConnectionOut is the result of huawei.vpcep.{accept,reject}Connection.
type HuaweiConnectionOut struct {
	ServiceID  string `json:"serviceId" doc:"endpoint service ID"`
	EndpointID string `json:"endpointId" doc:"endpoint ID"`
	Status     string `json:"status" doc:"the connection's status (accepted, rejected; gone when it no longer exists)"`
}

func init() {
	Register(Typed[HuaweiCreateEndpointServiceIn, HuaweiCreateEndpointServiceOut](Action{
		Name: HuaweiVPCEPCreateEndpointService, Provider: "huawei",
		Title: "Create VPC endpoint service for a broker port",
		Doc: "Creates an interface endpoint service (server_type VM) in front of one broker's port, TCP clientPort→serverPort " +
			"(9011→9011 for Kafka cross-VPC access). Idempotent: the description carries the idempotency key and an existing service with it is returned.",
		Inverse: &Inverse{
			Action: HuaweiVPCEPDeleteEndpointService, Title: "Delete VPC endpoint service",
			Inputs:     map[string]plan.Value{"serviceId": plan.Expr("output.serviceId")},
			WaitAction: HuaweiVPCEPGetEndpointService, Wait: hwGoneWait(10 * time.Minute),
		},
	}))
	Register(Typed[HuaweiEndpointServiceIn, HuaweiGetEndpointServiceOut](Action{
		Name: HuaweiVPCEPGetEndpointService, Provider: "huawei", Read: true,
		Title: "Get VPC endpoint service",
		// ServiceList status: creating, available, failed, deleting (huaweicloud-sdk-go-v3 services/vpcep/v1/model/model_service_list.go).
		Wait: &plan.Wait{Pending: []string{"creating"}, Target: []string{"available"}, Failure: []string{"failed", "deleting"}, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(10 * time.Minute)},
	}))
	Register(Typed[HuaweiEndpointServiceIn, HuaweiDeleteEndpointServiceOut](Action{
		Name: HuaweiVPCEPDeleteEndpointService, Provider: "huawei",
		Title: "Delete VPC endpoint service",
		Doc:   "Deletes an endpoint service; an already deleted one counts as done.",
	}))
	Register(Typed[HuaweiWhitelistIn, HuaweiWhitelistOut](Action{
		Name: HuaweiVPCEPAddWhitelist, Provider: "huawei",
		Title: "Whitelist a client account on an endpoint service",
		Doc: "Adds iam:domain::<domain_id> of clientAccount (resolved from the worker's account registry) to the service's " +
			"permissions. Adding an existing permission is a no-op.",
		Inverse: &Inverse{
			Action: HuaweiVPCEPRemoveWhitelist, Title: "Remove client account from the whitelist",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "clientAccount": plan.Expr("input.clientAccount")},
		},
		Grants: []Grant{{Input: "clientAccount", Kind: GrantPrincipal}},
	}))
	Register(Typed[HuaweiWhitelistIn, HuaweiWhitelistOut](Action{
		Name: HuaweiVPCEPRemoveWhitelist, Provider: "huawei",
		Title: "Remove a client account from an endpoint service's whitelist",
	}))
	Register(Typed[HuaweiConnectionIn, HuaweiConnectionOut](Action{
		Name: HuaweiVPCEPAcceptConnection, Provider: "huawei",
		Title: "Accept an endpoint connection (service owner)",
		Doc:   "As the service owner, accepts (action receive) the endpoint's connection. Accepting an accepted connection is a no-op.",
		Inverse: &Inverse{
			Action: HuaweiVPCEPRejectConnection, Title: "Reject the endpoint connection",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "endpointId": plan.Expr("input.endpointId")},
		},
	}))
	Register(Typed[HuaweiConnectionIn, HuaweiConnectionOut](Action{
		Name: HuaweiVPCEPRejectConnection, Provider: "huawei",
		Title: "Reject an endpoint connection (service owner)",
		Doc:   "Rejects the endpoint's connection; a connection that no longer exists counts as done.",
	}))
}
