package huawei

import (
	"context"
	"fmt"
	"strings"

	vpcep "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC endpoint resource (VPCEP v1, in the client's VPC): create, read,
// delete and the look-up of an earlier attempt's endpoint.

func init() {
	typed[catalog.HuaweiVPCEPCreateEndpoint] = func(a *Actions) activities.Func { return activities.Typed(a.CreateEndpoint) }
	typed[catalog.HuaweiVPCEPGetEndpoint] = func(a *Actions) activities.Func { return activities.Typed(a.GetEndpoint) }
	typed[catalog.HuaweiVPCEPDeleteEndpoint] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteEndpoint) }
}

// findEndpointByMarker lists the endpoints of vpcID (of the service named
// serviceName, when given) for one whose description carries the
// idempotency marker (nil when there is none).
func findEndpointByMarker(c *vpcep.VpcepClient, vpcID, serviceName, m string) (*vm.EndpointResponseBody, error) {
	for offset := int32(0); ; offset += pageSize {
		// Only the endpoints of this service, when its name is known
		// (endpoint_service_name, model_list_endpoints_request.go): one call,
		// not one page per thousand endpoints in the VPC.
		req := &vm.ListEndpointsRequest{VpcId: ptr(vpcID), Limit: ptr(int32(pageSize)), Offset: ptr(offset)}
		if serviceName != "" {
			req.EndpointServiceName = ptr(serviceName)
		}
		resp, err := c.ListEndpoints(req)
		if err != nil {
			return nil, err
		}
		list := deref(resp.Endpoints)
		for i := range list {
			if strings.Contains(deref(list[i].Description), m) {
				return &list[i], nil
			}
		}
		if len(list) < pageSize {
			return nil, nil
		}
	}
}

// CreateEndpoint creates an interface endpoint in the client VPC, or returns
// the one an earlier attempt created.
func (a *Actions) CreateEndpoint(ctx context.Context, call plan.Call, in catalog.HuaweiCreateEndpointIn) (catalog.HuaweiCreateEndpointOut, error) {
	var none catalog.HuaweiCreateEndpointOut
	if call.IdempotencyKey == "" {
		return none, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("create endpoint to service %s in VPC %s", in.ServiceID, in.VpcID)
	e, err := findEndpointByMarker(c, in.VpcID, in.ServiceName, marker(call.IdempotencyKey))
	if err != nil {
		return none, s.classify("look up "+what, err)
	}
	if e != nil {
		return catalog.HuaweiCreateEndpointOut{EndpointID: deref(e.Id), IP: deref(e.Ip), Status: deref(e.Status), ServiceID: deref(e.EndpointServiceId), Existing: true}, nil
	}
	resp, err := c.CreateEndpoint(&vm.CreateEndpointRequest{Body: &vm.CreateEndpointRequestBody{
		EndpointServiceId: in.ServiceID,
		VpcId:             in.VpcID,
		SubnetId:          ptr(in.SubnetID),
		EnableDns:         ptr(false),
		Description:       ptr(describe(in.Description, call.IdempotencyKey)),
	}})
	if err != nil {
		return none, s.classify(what, err)
	}
	if in.ServiceName != "" && resp.EndpointServiceName != nil && *resp.EndpointServiceName != in.ServiceName {
		return none, activities.Invalid("%s: endpoint %s connects to service %q, expected %q", call.Action, deref(resp.Id), *resp.EndpointServiceName, in.ServiceName)
	}
	return catalog.HuaweiCreateEndpointOut{EndpointID: deref(resp.Id), IP: deref(resp.Ip), Status: deref(resp.Status), ServiceID: deref(resp.EndpointServiceId)}, nil
}

// GetEndpoint reads an endpoint's status and IP.
func (a *Actions) GetEndpoint(ctx context.Context, call plan.Call, in catalog.HuaweiEndpointIn) (catalog.HuaweiGetEndpointOut, error) {
	var none catalog.HuaweiGetEndpointOut
	id := in.EndpointID
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	resp, err := c.ListEndpointInfoDetails(&vm.ListEndpointInfoDetailsRequest{VpcEndpointId: id})
	if err != nil {
		return none, s.classify("get endpoint "+id, err)
	}
	out := catalog.HuaweiGetEndpointOut{EndpointID: deref(resp.Id), IP: deref(resp.Ip), Status: deref(resp.Status),
		ServiceID: deref(resp.EndpointServiceId), ServiceName: deref(resp.EndpointServiceName)}
	if errs := deref(resp.Error); len(errs) > 0 {
		out.Error = ptr(deref(errs[0].ErrorMessage))
	}
	return out, nil
}

// DeleteEndpoint deletes an endpoint; "not found" is done.
func (a *Actions) DeleteEndpoint(ctx context.Context, call plan.Call, in catalog.HuaweiEndpointIn) (catalog.HuaweiDeleteEndpointOut, error) {
	var none catalog.HuaweiDeleteEndpointOut
	id := in.EndpointID
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	_, err = c.DeleteEndpoint(&vm.DeleteEndpointRequest{VpcEndpointId: id})
	if err != nil && !isNotFound(err) {
		return none, s.classify("delete endpoint "+id, err)
	}
	return catalog.HuaweiDeleteEndpointOut{EndpointID: id, Deleted: true, AlreadyGone: err != nil}, nil
}
