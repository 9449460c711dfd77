package huawei

import (
	"context"
	"fmt"

	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The endpoint connection resource (the service owner's decision on an
// endpoint, VPCEP v1): accept and reject.

func init() {
	typed[catalog.HuaweiVPCEPAcceptConnection] = func(a *Actions) activities.Func { return activities.Typed(a.AcceptConnection) }
	typed[catalog.HuaweiVPCEPRejectConnection] = func(a *Actions) activities.Func { return activities.Typed(a.RejectConnection) }
}

// AcceptConnection accepts (receive) an endpoint's connection as the service owner.
func (a *Actions) AcceptConnection(ctx context.Context, call plan.Call, in catalog.HuaweiConnectionIn) (catalog.HuaweiConnectionOut, error) {
	return a.decideConnection(ctx, call, in, true)
}

// RejectConnection rejects an endpoint's connection; a vanished connection is done.
func (a *Actions) RejectConnection(ctx context.Context, call plan.Call, in catalog.HuaweiConnectionIn) (catalog.HuaweiConnectionOut, error) {
	return a.decideConnection(ctx, call, in, false)
}

func (a *Actions) decideConnection(ctx context.Context, call plan.Call, in catalog.HuaweiConnectionIn, accept bool) (catalog.HuaweiConnectionOut, error) {
	var none catalog.HuaweiConnectionOut
	serviceID, endpointID := in.ServiceID, in.EndpointID
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	out := catalog.HuaweiConnectionOut{ServiceID: serviceID, EndpointID: endpointID}
	want, verb := "accepted", "accept"
	action := vm.GetAcceptOrRejectEndpointRequestBodyActionEnum().RECEIVE
	if !accept {
		want, verb = "rejected", "reject"
		action = vm.GetAcceptOrRejectEndpointRequestBodyActionEnum().REJECT
	}
	conns, err := c.ListServiceConnections(&vm.ListServiceConnectionsRequest{VpcEndpointServiceId: serviceID, Id: ptr(endpointID)})
	if err != nil {
		if !accept && isNotFound(err) {
			out.Status = "gone"
			return out, nil
		}
		return none, s.classify("list connections of endpoint service "+serviceID, err)
	}
	var status string
	for _, cn := range deref(conns.Connections) {
		if deref(cn.Id) == endpointID {
			status = deref(cn.Status)
		}
	}
	switch {
	case status == "" && !accept:
		out.Status = "gone"
		return out, nil
	case status == "":
		return none, temporalNotFound(fmt.Sprintf("%s connection: endpoint %s has no connection to service %s as %s", verb, endpointID, serviceID, s.acct.Name))
	case status == want:
		out.Status = status
		return out, nil
	}
	resp, err := c.AcceptOrRejectEndpoint(&vm.AcceptOrRejectEndpointRequest{
		VpcEndpointServiceId: serviceID,
		Body:                 &vm.AcceptOrRejectEndpointRequestBody{Action: action, Endpoints: []string{endpointID}},
	})
	if err != nil {
		if !accept && isNotFound(err) {
			out.Status = "gone"
			return out, nil
		}
		return none, s.classify(fmt.Sprintf("%s connection of endpoint %s on service %s", verb, endpointID, serviceID), err)
	}
	out.Status = want
	for _, cn := range deref(resp.Connections) {
		if deref(cn.Id) == endpointID && deref(cn.Status) != "" {
			out.Status = deref(cn.Status)
		}
	}
	return out, nil
}
