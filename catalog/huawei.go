package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Huawei Cloud (and Open Telekom Cloud) actions: DMS for Kafka v2, VPC
// Endpoint v1 and VPC v2/v3, implemented in activities/huawei.
const (
	HuaweiDMSShowInstance            = "huawei.dms.showInstance"
	HuaweiDMSUpdateCrossVpcIps       = "huawei.dms.updateCrossVpcIps"
	HuaweiVPCEPCreateEndpointService = "huawei.vpcep.createEndpointService"
	HuaweiVPCEPGetEndpointService    = "huawei.vpcep.getEndpointService"
	HuaweiVPCEPDeleteEndpointService = "huawei.vpcep.deleteEndpointService"
	HuaweiVPCEPAddWhitelist          = "huawei.vpcep.addWhitelist"
	HuaweiVPCEPRemoveWhitelist       = "huawei.vpcep.removeWhitelist"
	HuaweiVPCEPCreateEndpoint        = "huawei.vpcep.createEndpoint"
	HuaweiVPCEPGetEndpoint           = "huawei.vpcep.getEndpoint"
	HuaweiVPCEPDeleteEndpoint        = "huawei.vpcep.deleteEndpoint"
	HuaweiVPCEPAcceptConnection      = "huawei.vpcep.acceptConnection"
	HuaweiVPCEPRejectConnection      = "huawei.vpcep.rejectConnection"
	HuaweiVPCAddSecurityGroupRule    = "huawei.vpc.addSecurityGroupRule"
	HuaweiVPCDeleteSecurityGroupRule = "huawei.vpc.deleteSecurityGroupRule"
	HuaweiVPCCreatePeering           = "huawei.vpc.createPeering"
	HuaweiVPCAcceptPeering           = "huawei.vpc.acceptPeering"
	HuaweiVPCGetPeering              = "huawei.vpc.getPeering"
	HuaweiVPCDeletePeering           = "huawei.vpc.deletePeering"
	HuaweiVPCAddRoute                = "huawei.vpc.addRoute"
	HuaweiVPCDeleteRoute             = "huawei.vpc.deleteRoute"
	HuaweiVPCAllowNetworkACL         = "huawei.vpc.allowNetworkACL"
	HuaweiVPCRemoveNetworkACLRules   = "huawei.vpc.removeNetworkACLRules"
)

// goneWait polls a read action until the resource is gone (404).
func hwGoneWait(timeout time.Duration) *plan.Wait {
	// VPCEP states: huaweicloud-sdk-go-v3 services/vpcep/v1/model (model_service_list.go, model_endpoint_response_body.go);
	// peering states: services/vpc/v2/model VpcPeeringStatusEnum (DELETED is gone).
	return &plan.Wait{Target: []string{"deleted", "DELETED"}, Pending: []string{"deleting", "available", "accepted", "pendingAcceptance", "rejected", "failed", "creating", "ACTIVE", "PENDING_ACCEPTANCE", "REJECTED", "EXPIRED"}, Gone: true, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(timeout)}
}
