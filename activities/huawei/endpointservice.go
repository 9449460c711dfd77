package huawei

import (
	"context"
	"fmt"
	"strings"

	vpcep "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC endpoint service resource (VPCEP v1): create, read, delete and
// the look-up of an earlier attempt's service.

func init() {
	typed[catalog.HuaweiVPCEPCreateEndpointService] = func(a *Actions) activities.Func { return activities.Typed(a.CreateEndpointService) }
	typed[catalog.HuaweiVPCEPGetEndpointService] = func(a *Actions) activities.Func { return activities.Typed(a.GetEndpointService) }
	typed[catalog.HuaweiVPCEPDeleteEndpointService] = func(a *Actions) activities.Func { return activities.Typed(a.DeleteEndpointService) }
}

func (s *session) vpcep() (*vpcep.VpcepClient, error) {
	hc, err := s.hcClient("vpcep")
	if err != nil {
		return nil, err
	}
	return vpcep.NewVpcepClient(hc), nil
}

// vpcepFor opens a session and a VPCEP client in one go.
func (a *Actions) vpcepFor(ctx context.Context, call plan.Call) (*session, *vpcep.VpcepClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	c, err := s.vpcep()
	if err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

const pageSize = 500

// findServiceByMarker lists the account's endpoint services for one whose
// description carries the idempotency marker (nil when there is none).
func findServiceByMarker(c *vpcep.VpcepClient, m string) (*vm.ServiceList, error) {
	return findService(c, m, nil)
}

// findService pages through the endpoint services (those whose name
// contains name, when name is set: ListEndpointServiceRequest's
// endpoint_service_name, "前后模糊匹配", huaweicloud-sdk-go-v3
// services/vpcep/v1/model/model_list_endpoint_service_request.go) for the
// one whose description holds the marker m.
func findService(c *vpcep.VpcepClient, m string, name *string) (*vm.ServiceList, error) {
	for offset := int32(0); ; offset += pageSize {
		resp, err := c.ListEndpointService(&vm.ListEndpointServiceRequest{EndpointServiceName: name, Limit: ptr(int32(pageSize)), Offset: ptr(offset)})
		if err != nil {
			return nil, err
		}
		list := deref(resp.EndpointServices)
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

// serviceNameOf is the service_name a create gives the service of an
// idempotency key (16 hex digits: at most 16 letters, digits, "_" or "-",
// model_create_endpoint_service_request_body.go ServiceName), so that a
// retry finds it with one filtered list call instead of listing every
// service of the account (N calls for N brokers against the API's rate limit).
func serviceNameOf(key string) string { return shortHash(key) }

// CreateEndpointService creates an interface endpoint service (server_type VM)
// in front of one broker port, or returns the one an earlier attempt created.
func (a *Actions) CreateEndpointService(ctx context.Context, call plan.Call, in catalog.HuaweiCreateEndpointServiceIn) (catalog.HuaweiCreateEndpointServiceOut, error) {
	var none catalog.HuaweiCreateEndpointServiceOut
	serverPort, clientPort := 9011, 9011
	if in.ServerPort != nil {
		serverPort = *in.ServerPort
	}
	if in.ClientPort != nil {
		clientPort = *in.ClientPort
	}
	if call.IdempotencyKey == "" {
		return none, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	what := fmt.Sprintf("create endpoint service for port %s", in.PortID)
	m := marker(call.IdempotencyKey)
	name := serviceNameOf(call.IdempotencyKey)
	found, err := findService(c, m, &name)
	if err == nil && found == nil && activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
		// An earlier attempt may have run on a worker that did not name the
		// service yet: look at every service once more.
		found, err = findServiceByMarker(c, m)
	}
	if err != nil {
		return none, s.classify("look up "+what, err)
	}
	if found != nil {
		return catalog.HuaweiCreateEndpointServiceOut{ServiceID: deref(found.Id), ServiceName: deref(found.ServiceName), Status: deref(found.Status), PortID: deref(found.PortId), Existing: true}, nil
	}
	body := &vm.CreateEndpointServiceRequestBody{
		PortId:          in.PortID,
		VpcId:           in.VpcID,
		ApprovalEnabled: ptr(in.ApprovalEnabled),
		ServiceType:     ptr(vm.GetCreateEndpointServiceRequestBodyServiceTypeEnum().INTERFACE),
		ServerType:      vm.GetCreateEndpointServiceRequestBodyServerTypeEnum().VM,
		Ports: []vm.PortList{{
			ClientPort: ptr(int32(clientPort)),
			ServerPort: ptr(int32(serverPort)),
			Protocol:   ptr(vm.GetPortListProtocolEnum().TCP),
		}},
		Description: ptr(describe(in.Description, call.IdempotencyKey)),
		ServiceName: ptr(name),
	}
	resp, err := c.CreateEndpointService(&vm.CreateEndpointServiceRequest{Body: body})
	if err != nil {
		return none, s.classify(what, err)
	}
	return catalog.HuaweiCreateEndpointServiceOut{ServiceID: deref(resp.Id), ServiceName: deref(resp.ServiceName), Status: deref(resp.Status), PortID: deref(resp.PortId)}, nil
}

// GetEndpointService reads an endpoint service's status.
func (a *Actions) GetEndpointService(ctx context.Context, call plan.Call, in catalog.HuaweiEndpointServiceIn) (catalog.HuaweiGetEndpointServiceOut, error) {
	var none catalog.HuaweiGetEndpointServiceOut
	id := in.ServiceID
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	resp, err := c.ListServiceDetails(&vm.ListServiceDetailsRequest{VpcEndpointServiceId: id})
	if err != nil {
		return none, s.classify("get endpoint service "+id, err)
	}
	out := catalog.HuaweiGetEndpointServiceOut{ServiceID: deref(resp.Id), ServiceName: deref(resp.ServiceName), Status: deref(resp.Status),
		PortID: deref(resp.PortId), VpcID: deref(resp.VpcId), ApprovalEnabled: deref(resp.ApprovalEnabled)}
	if errs := deref(resp.Error); len(errs) > 0 {
		out.Error = ptr(deref(errs[0].Message))
	}
	return out, nil
}

// DeleteEndpointService deletes an endpoint service; "not found" is done.
func (a *Actions) DeleteEndpointService(ctx context.Context, call plan.Call, in catalog.HuaweiEndpointServiceIn) (catalog.HuaweiDeleteEndpointServiceOut, error) {
	var none catalog.HuaweiDeleteEndpointServiceOut
	id := in.ServiceID
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	_, err = c.DeleteEndpointService(&vm.DeleteEndpointServiceRequest{VpcEndpointServiceId: id})
	if err != nil && !isNotFound(err) {
		return none, s.classify("delete endpoint service "+id, err)
	}
	return catalog.HuaweiDeleteEndpointServiceOut{ServiceID: id, Deleted: true, AlreadyGone: err != nil}, nil
}
