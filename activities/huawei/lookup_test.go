package huawei

import (
	"context"
	"strings"
	"testing"

	vm "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/plan"
)

// TestServiceFoundByItsName: a created endpoint service is named after its
// idempotency key, so the retry finds it with one list filtered by
// endpoint_service_name (model_list_endpoint_service_request.go) instead of
// listing every service; the twin's filter returns only it, and the twin
// refuses a service_name the cloud refuses (over 16 characters, or other
// than letters, digits, "_" and "-": model_create_endpoint_service_request_body.go).
func TestServiceFoundByItsName(t *testing.T) {
	e := setup(t)
	in := map[string]any{"vpcId": ownerVPC, "portId": "7a5e4c1b-0000-4000-8000-00000000a061", "approvalEnabled": false}
	const key = "wf-name/svc/0"
	a := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, key, in)
	name := serviceNameOf(key)
	if got := a["serviceName"].(string); !strings.Contains(got, "."+name+".") {
		t.Fatalf("service name %q does not carry %q", got, name)
	}
	b := e.must(t, catalog.HuaweiVPCEPCreateEndpointService, owner, key, in)
	if b["serviceId"] != a["serviceId"] || b["existing"] != true {
		t.Fatalf("the retry created another service: %v / %v", a, b)
	}
	_, c, err := e.acts.vpcepFor(context.Background(), plan.Call{Action: catalog.HuaweiVPCEPCreateEndpointService, Account: owner})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.ListEndpointService(&vm.ListEndpointServiceRequest{EndpointServiceName: &name})
	if err != nil {
		t.Fatal(err)
	}
	if list := deref(resp.EndpointServices); len(list) != 1 || deref(list[0].Id) != a["serviceId"] || deref(resp.TotalCount) != 1 {
		t.Fatalf("filtered list %+v, want the one service", resp)
	}
	for _, bad := range []string{"a-name-of-17-char", "has.dot", "has space"} {
		_, err := c.CreateEndpointService(&vm.CreateEndpointServiceRequest{Body: &vm.CreateEndpointServiceRequestBody{
			PortId: "7a5e4c1b-0000-4000-8000-00000000a072", VpcId: ownerVPC, ServiceName: &bad,
			ServerType: vm.GetCreateEndpointServiceRequestBodyServerTypeEnum().VM,
			Ports:      []vm.PortList{{ClientPort: ptr(int32(9011)), ServerPort: ptr(int32(9011)), Protocol: ptr(vm.GetPortListProtocolEnum().TCP)}},
		}})
		if err == nil || !strings.Contains(err.Error(), "service_name") {
			t.Errorf("service_name %q: %v, want refused", bad, err)
		}
	}
	if n := len(e.sim.Inventory.List(inventory.KindEndpointService, inventory.Filter{})); n != 1 {
		t.Fatalf("%d services, want 1", n)
	}
}
