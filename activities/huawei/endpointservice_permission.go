package huawei

import (
	"context"
	"fmt"

	vpcep "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The endpoint service permission resource (an endpoint service's
// whitelist, VPCEP v1): add, remove and the look-up of a permission.

func init() {
	typed[catalog.HuaweiVPCEPAddWhitelist] = func(a *Actions) activities.Func { return activities.Typed(a.AddWhitelist) }
	typed[catalog.HuaweiVPCEPRemoveWhitelist] = func(a *Actions) activities.Func { return activities.Typed(a.RemoveWhitelist) }
}

// permissionFor returns iam:domain::<domain_id> of a client account.
func (a *Actions) permissionFor(call plan.Call, client string) (string, error) {
	acct, ok := a.accts.Get(client)
	if !ok {
		return "", activities.Invalid("%s: client account %q is not in the worker's account registry", call.Action, client)
	}
	if acct.Huawei == nil || acct.Huawei.DomainID == "" {
		return "", activities.Invalid("%s: client account %q has no huawei.domainId", call.Action, client)
	}
	return "iam:domain::" + acct.Huawei.DomainID, nil
}

// hasPermission reports whether the service's whitelist holds perm.
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
func (a *Actions) AddWhitelist(ctx context.Context, call plan.Call, in catalog.HuaweiWhitelistIn) (catalog.HuaweiWhitelistOut, error) {
	return a.whitelist(ctx, call, in, true)
}

// RemoveWhitelist removes the client account's domain from the service's
// whitelist; a missing permission or service is done.
func (a *Actions) RemoveWhitelist(ctx context.Context, call plan.Call, in catalog.HuaweiWhitelistIn) (catalog.HuaweiWhitelistOut, error) {
	return a.whitelist(ctx, call, in, false)
}

func (a *Actions) whitelist(ctx context.Context, call plan.Call, in catalog.HuaweiWhitelistIn, add bool) (catalog.HuaweiWhitelistOut, error) {
	var none catalog.HuaweiWhitelistOut
	id := in.ServiceID
	perm, err := a.permissionFor(call, in.ClientAccount)
	if err != nil {
		return none, err
	}
	s, c, err := a.vpcepFor(ctx, call)
	if err != nil {
		return none, err
	}
	out := catalog.HuaweiWhitelistOut{ServiceID: id, Permission: perm}
	has, err := hasPermission(c, id, perm)
	if err != nil {
		if !add && isNotFound(err) {
			return out, nil
		}
		return none, s.classify("list permissions of endpoint service "+id, err)
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
		return none, s.classify(fmt.Sprintf("%s whitelist %s on endpoint service %s", verb, perm, id), err)
	}
	return out, nil
}
