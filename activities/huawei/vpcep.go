package huawei

import (
	"context"
	"fmt"
	"strings"

	vpcep "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/plan"
)

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
// description carries the idempotency marker.
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
func (a *Actions) CreateEndpointService(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	vpcID, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	portID, err := activities.String(call, "portId", true)
	if err != nil {
		return nil, err
	}
	serverPort, err := activities.Int(call, "serverPort", 9011, false)
	if err != nil {
		return nil, err
	}
	clientPort, err := activities.Int(call, "clientPort", 9011, false)
	if err != nil {
		return nil, err
	}
	approval, err := activities.Bool(call, "approvalEnabled", false)
	if err != nil {
		return nil, err
	}
	desc, err := activities.String(call, "description", false)
	if err != nil {
		return nil, err
	}
	if call.IdempotencyKey == "" {
		return nil, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("create endpoint service for port %s", portID)
	m := marker(call.IdempotencyKey)
	name := serviceNameOf(call.IdempotencyKey)
	found, err := findService(c, m, &name)
	if err == nil && found == nil && activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
		// An earlier attempt may have run on a worker that did not name the
		// service yet: look at every service once more.
		found, err = findServiceByMarker(c, m)
	}
	if err != nil {
		return nil, s.classify("look up "+what, err)
	}
	if found != nil {
		return plan.Outputs{"serviceId": deref(found.Id), "serviceName": deref(found.ServiceName), "status": deref(found.Status), "portId": deref(found.PortId), "existing": true}, nil
	}
	body := &vm.CreateEndpointServiceRequestBody{
		PortId:          portID,
		VpcId:           vpcID,
		ApprovalEnabled: ptr(approval),
		ServiceType:     ptr(vm.GetCreateEndpointServiceRequestBodyServiceTypeEnum().INTERFACE),
		ServerType:      vm.GetCreateEndpointServiceRequestBodyServerTypeEnum().VM,
		Ports: []vm.PortList{{
			ClientPort: ptr(int32(clientPort)),
			ServerPort: ptr(int32(serverPort)),
			Protocol:   ptr(vm.GetPortListProtocolEnum().TCP),
		}},
		Description: ptr(describe(desc, call.IdempotencyKey)),
		ServiceName: ptr(name),
	}
	resp, err := c.CreateEndpointService(&vm.CreateEndpointServiceRequest{Body: body})
	if err != nil {
		return nil, s.classify(what, err)
	}
	return plan.Outputs{"serviceId": deref(resp.Id), "serviceName": deref(resp.ServiceName), "status": deref(resp.Status), "portId": deref(resp.PortId), "existing": false}, nil
}

// GetEndpointService reads an endpoint service's status.
func (a *Actions) GetEndpointService(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "serviceId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	resp, err := c.ListServiceDetails(&vm.ListServiceDetailsRequest{VpcEndpointServiceId: id})
	if err != nil {
		return nil, s.classify("get endpoint service "+id, err)
	}
	out := plan.Outputs{"serviceId": deref(resp.Id), "serviceName": deref(resp.ServiceName), "status": deref(resp.Status),
		"portId": deref(resp.PortId), "vpcId": deref(resp.VpcId), "approvalEnabled": deref(resp.ApprovalEnabled)}
	if errs := deref(resp.Error); len(errs) > 0 {
		out["error"] = deref(errs[0].Message)
	}
	return out, nil
}

// DeleteEndpointService deletes an endpoint service; "not found" is done.
func (a *Actions) DeleteEndpointService(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "serviceId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	_, err = c.DeleteEndpointService(&vm.DeleteEndpointServiceRequest{VpcEndpointServiceId: id})
	if err != nil && !isNotFound(err) {
		return nil, s.classify("delete endpoint service "+id, err)
	}
	return plan.Outputs{"serviceId": id, "deleted": true, "alreadyGone": err != nil}, nil
}

// permissionFor returns iam:domain::<domain_id> of a client account.
func (a *Actions) permissionFor(call plan.Call) (string, error) {
	client, err := activities.String(call, "clientAccount", true)
	if err != nil {
		return "", err
	}
	acct, ok := a.accts.Get(client)
	if !ok {
		return "", activities.Invalid("%s: client account %q is not in the worker's account registry", call.Action, client)
	}
	if acct.Huawei == nil || acct.Huawei.DomainID == "" {
		return "", activities.Invalid("%s: client account %q has no huawei.domainId", call.Action, client)
	}
	return "iam:domain::" + acct.Huawei.DomainID, nil
}

func hasPermission(c *vpcep.VpcepClient, serviceID, perm string) (bool, error) {
	for offset := int32(0); ; offset += pageSize {
		resp, err := c.ListServicePermissionsDetails(&vm.ListServicePermissionsDetailsRequest{VpcEndpointServiceId: serviceID, Limit: ptr(int32(pageSize)), Offset: ptr(offset)})
		if err != nil {
			return false, err
		}
		list := deref(resp.Permissions)
		for _, p := range list {
			if deref(p.Permission) == perm {
				return true, nil
			}
		}
		if len(list) < pageSize {
			return false, nil
		}
	}
}

// AddWhitelist whitelists the client account's domain on the service.
func (a *Actions) AddWhitelist(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	return a.whitelist(ctx, call, true)
}

// RemoveWhitelist removes the client account's domain from the service's
// whitelist; a missing permission or service is done.
func (a *Actions) RemoveWhitelist(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	return a.whitelist(ctx, call, false)
}

func (a *Actions) whitelist(ctx context.Context, call plan.Call, add bool) (plan.Outputs, error) {
	id, err := activities.String(call, "serviceId", true)
	if err != nil {
		return nil, err
	}
	perm, err := a.permissionFor(call)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	out := plan.Outputs{"serviceId": id, "permission": perm}
	has, err := hasPermission(c, id, perm)
	if err != nil {
		if !add && isNotFound(err) {
			return out, nil
		}
		return nil, s.classify("list permissions of endpoint service "+id, err)
	}
	if has == add {
		return out, nil
	}
	action := vm.GetAddOrRemoveServicePermissionsRequestBodyActionEnum().ADD
	verb := "add"
	if !add {
		action = vm.GetAddOrRemoveServicePermissionsRequestBodyActionEnum().REMOVE
		verb = "remove"
	}
	_, err = c.AddOrRemoveServicePermissions(&vm.AddOrRemoveServicePermissionsRequest{
		VpcEndpointServiceId: id,
		Body:                 &vm.AddOrRemoveServicePermissionsRequestBody{Permissions: []string{perm}, Action: action},
	})
	if err != nil {
		if !add && isNotFound(err) {
			return out, nil
		}
		return nil, s.classify(fmt.Sprintf("%s whitelist %s on endpoint service %s", verb, perm, id), err)
	}
	return out, nil
}

// CreateEndpoint creates an interface endpoint in the client VPC, or returns
// the one an earlier attempt created.
func (a *Actions) CreateEndpoint(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	serviceID, err := activities.String(call, "serviceId", true)
	if err != nil {
		return nil, err
	}
	serviceName, err := activities.String(call, "serviceName", false)
	if err != nil {
		return nil, err
	}
	vpcID, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	subnetID, err := activities.String(call, "subnetId", true)
	if err != nil {
		return nil, err
	}
	desc, err := activities.String(call, "description", false)
	if err != nil {
		return nil, err
	}
	if call.IdempotencyKey == "" {
		return nil, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("create endpoint to service %s in VPC %s", serviceID, vpcID)
	m := marker(call.IdempotencyKey)
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
			return nil, s.classify("look up "+what, err)
		}
		list := deref(resp.Endpoints)
		for _, e := range list {
			if strings.Contains(deref(e.Description), m) {
				return plan.Outputs{"endpointId": deref(e.Id), "ip": deref(e.Ip), "status": deref(e.Status), "serviceId": deref(e.EndpointServiceId), "existing": true}, nil
			}
		}
		if len(list) < pageSize {
			break
		}
	}
	resp, err := c.CreateEndpoint(&vm.CreateEndpointRequest{Body: &vm.CreateEndpointRequestBody{
		EndpointServiceId: serviceID,
		VpcId:             vpcID,
		SubnetId:          ptr(subnetID),
		EnableDns:         ptr(false),
		Description:       ptr(describe(desc, call.IdempotencyKey)),
	}})
	if err != nil {
		return nil, s.classify(what, err)
	}
	if serviceName != "" && resp.EndpointServiceName != nil && *resp.EndpointServiceName != serviceName {
		return nil, activities.Invalid("%s: endpoint %s connects to service %q, expected %q", call.Action, deref(resp.Id), *resp.EndpointServiceName, serviceName)
	}
	return plan.Outputs{"endpointId": deref(resp.Id), "ip": deref(resp.Ip), "status": deref(resp.Status), "serviceId": deref(resp.EndpointServiceId), "existing": false}, nil
}

// GetEndpoint reads an endpoint's status and IP.
func (a *Actions) GetEndpoint(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "endpointId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	resp, err := c.ListEndpointInfoDetails(&vm.ListEndpointInfoDetailsRequest{VpcEndpointId: id})
	if err != nil {
		return nil, s.classify("get endpoint "+id, err)
	}
	out := plan.Outputs{"endpointId": deref(resp.Id), "ip": deref(resp.Ip), "status": deref(resp.Status),
		"serviceId": deref(resp.EndpointServiceId), "serviceName": deref(resp.EndpointServiceName)}
	if errs := deref(resp.Error); len(errs) > 0 {
		out["error"] = deref(errs[0].ErrorMessage)
	}
	return out, nil
}

// DeleteEndpoint deletes an endpoint; "not found" is done.
func (a *Actions) DeleteEndpoint(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "endpointId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	_, err = c.DeleteEndpoint(&vm.DeleteEndpointRequest{VpcEndpointId: id})
	if err != nil && !isNotFound(err) {
		return nil, s.classify("delete endpoint "+id, err)
	}
	return plan.Outputs{"endpointId": id, "deleted": true, "alreadyGone": err != nil}, nil
}

// AcceptConnection accepts (receive) an endpoint's connection as the service owner.
func (a *Actions) AcceptConnection(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	return a.decideConnection(ctx, call, true)
}

// RejectConnection rejects an endpoint's connection; a vanished connection is done.
func (a *Actions) RejectConnection(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	return a.decideConnection(ctx, call, false)
}

func (a *Actions) decideConnection(ctx context.Context, call plan.Call, accept bool) (plan.Outputs, error) {
	serviceID, err := activities.String(call, "serviceId", true)
	if err != nil {
		return nil, err
	}
	endpointID, err := activities.String(call, "endpointId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return nil, err
	}
	out := plan.Outputs{"serviceId": serviceID, "endpointId": endpointID}
	want, verb := "accepted", "accept"
	action := vm.GetAcceptOrRejectEndpointRequestBodyActionEnum().RECEIVE
	if !accept {
		want, verb = "rejected", "reject"
		action = vm.GetAcceptOrRejectEndpointRequestBodyActionEnum().REJECT
	}
	conns, err := c.ListServiceConnections(&vm.ListServiceConnectionsRequest{VpcEndpointServiceId: serviceID, Id: ptr(endpointID)})
	if err != nil {
		if !accept && isNotFound(err) {
			out["status"] = "gone"
			return out, nil
		}
		return nil, s.classify("list connections of endpoint service "+serviceID, err)
	}
	var status string
	for _, cn := range deref(conns.Connections) {
		if deref(cn.Id) == endpointID {
			status = deref(cn.Status)
		}
	}
	switch {
	case status == "" && !accept:
		out["status"] = "gone"
		return out, nil
	case status == "":
		return nil, temporalNotFound(fmt.Sprintf("%s connection: endpoint %s has no connection to service %s as %s", verb, endpointID, serviceID, s.acct.Name))
	case status == want:
		out["status"] = status
		return out, nil
	}
	resp, err := c.AcceptOrRejectEndpoint(&vm.AcceptOrRejectEndpointRequest{
		VpcEndpointServiceId: serviceID,
		Body:                 &vm.AcceptOrRejectEndpointRequestBody{Action: action, Endpoints: []string{endpointID}},
	})
	if err != nil {
		if !accept && isNotFound(err) {
			out["status"] = "gone"
			return out, nil
		}
		return nil, s.classify(fmt.Sprintf("%s connection of endpoint %s on service %s", verb, endpointID, serviceID), err)
	}
	out["status"] = want
	for _, cn := range deref(resp.Connections) {
		if deref(cn.Id) == endpointID && deref(cn.Status) != "" {
			out["status"] = deref(cn.Status)
		}
	}
	return out, nil
}
