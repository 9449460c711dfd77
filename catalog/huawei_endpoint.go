package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Huawei VPC endpoints: the contracts and descriptors of
// huawei.vpcep.{create,get,delete}Endpoint.

// HuaweiCreateEndpointIn are the inputs of huawei.vpcep.createEndpoint.
type HuaweiCreateEndpointIn struct {
	ServiceID   string `json:"serviceId" required:"true" doc:"endpoint service ID"`
	ServiceName string `json:"serviceName" doc:"endpoint service name (checked against the service when given)"`
	VpcID       string `json:"vpcId" required:"true" doc:"client VPC"`
	SubnetID    string `json:"subnetId" required:"true" doc:"client subnet"`
	Description string `json:"description" doc:"free text, prefixed to the idempotency tag"`
}

// HuaweiCreateEndpointOut is the result of huawei.vpcep.createEndpoint.
type HuaweiCreateEndpointOut struct {
	EndpointID string `json:"endpointId" doc:"endpoint ID"`
	IP         string `json:"ip" doc:"the endpoint's IP in the client subnet"`
	Status     string `json:"status" doc:"pendingAcceptance, creating, accepted, rejected, failed, deleting"`
	ServiceID  string `json:"serviceId" doc:"endpoint service ID"`
	Existing   bool   `json:"existing" doc:"true when an earlier attempt of this step had created it"`
}

// HuaweiEndpointIn names an endpoint.
type HuaweiEndpointIn struct {
	EndpointID string `json:"endpointId" required:"true" doc:"endpoint ID"`
}

// HuaweiGetEndpointOut is the result of huawei.vpcep.getEndpoint.
type HuaweiGetEndpointOut struct {
	EndpointID  string  `json:"endpointId" doc:"endpoint ID"`
	IP          string  `json:"ip" doc:"the endpoint's IP"`
	Status      string  `json:"status" doc:"pendingAcceptance, creating, accepted, rejected, failed, deleting"`
	ServiceID   string  `json:"serviceId" doc:"endpoint service ID"`
	ServiceName string  `json:"serviceName" doc:"endpoint service name"`
	Error       *string `json:"error,omitempty" doc:"the cloud's first error message, when it reports one"`
}

// HuaweiDeleteEndpointOut is the result of huawei.vpcep.deleteEndpoint.
type HuaweiDeleteEndpointOut struct {
	EndpointID  string `json:"endpointId" doc:"endpoint ID"`
	Deleted     bool   `json:"deleted" doc:"true once it is gone or going"`
	AlreadyGone bool   `json:"alreadyGone" doc:"true when it was already gone"`
}

func init() {
	Register(Typed[HuaweiCreateEndpointIn, HuaweiCreateEndpointOut](Action{
		Name: HuaweiVPCEPCreateEndpoint, Provider: "huawei",
		Title: "Create VPC endpoint in the client VPC",
		Doc: "Creates an interface endpoint (as the client account) to an endpoint service in the client's VPC/subnet. " +
			"Idempotent through the description carrying the idempotency key.",
		Inverse: &Inverse{
			Action: HuaweiVPCEPDeleteEndpoint, Title: "Delete VPC endpoint",
			Inputs:     map[string]plan.Value{"endpointId": plan.Expr("output.endpointId")},
			WaitAction: HuaweiVPCEPGetEndpoint, Wait: hwGoneWait(10 * time.Minute),
		},
	}))
	Register(Typed[HuaweiEndpointIn, HuaweiGetEndpointOut](Action{
		Name: HuaweiVPCEPGetEndpoint, Provider: "huawei", Read: true,
		Title: "Get VPC endpoint",
		// Endpoint status: pendingAcceptance, creating, accepted, rejected, failed, deleting (services/vpcep/v1/model/model_endpoint_response_body.go).
		Wait: &plan.Wait{Pending: []string{"creating", "pendingAcceptance"}, Target: []string{"accepted"}, Failure: []string{"rejected", "failed", "deleting"}, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(7 * 24 * time.Hour)},
	}))
	Register(Typed[HuaweiEndpointIn, HuaweiDeleteEndpointOut](Action{
		Name: HuaweiVPCEPDeleteEndpoint, Provider: "huawei",
		Title: "Delete VPC endpoint",
		Doc:   "Deletes an endpoint; an already deleted one counts as done.",
	}))
}
