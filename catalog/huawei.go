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

func hwStr(name, doc string) Param {
	return Param{Name: name, Type: "string", Required: true, Doc: doc}
}
func hwOptStr(name, doc string) Param { return Param{Name: name, Type: "string", Doc: doc} }

// goneWait polls a read action until the resource is gone (404).
func hwGoneWait(timeout time.Duration) *plan.Wait {
	// VPCEP states: huaweicloud-sdk-go-v3 services/vpcep/v1/model (model_service_list.go, model_endpoint_response_body.go);
	// peering states: services/vpc/v2/model VpcPeeringStatusEnum (DELETED is gone).
	return &plan.Wait{Target: []string{"deleted", "DELETED"}, Pending: []string{"deleting", "available", "accepted", "pendingAcceptance", "rejected", "failed", "creating", "ACTIVE", "PENDING_ACCEPTANCE", "REJECTED", "EXPIRED"}, Gone: true, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(timeout)}
}

func init() {
	Register(Action{
		Name: HuaweiDMSShowInstance, Provider: "huawei", Read: true,
		Title: "Show DMS Kafka instance",
		Doc: "Reads a DMS for Kafka instance: its VPC, subnet, security group and, from cross_vpc_info, every broker's " +
			"listener IP, port ID and advertised IP. brokers is sorted by listener IP; id is the broker's index. port is the " +
			"instance's connection port (the private listener on connectAddress: 9092 plaintext, 9093 SASL).",
		Inputs:  []Param{hwStr("instanceId", "DMS Kafka instance ID")},
		Outputs: []string{"instanceId", "name", "status", "vpcId", "subnetId", "securityGroupId", "userId", "brokers", "advertised", "connectAddress", "port"},
		// Instance statuses: https://support.huaweicloud.com/intl/en-us/api-kafka/kafka-api-180514012.html
		Wait: &plan.Wait{Pending: []string{"CREATING", "RESTARTING", "STARTING", "EXTENDING", "UPGRADING", "ROLLINGBACK"}, Target: []string{"RUNNING"}, Failure: []string{"ERROR", "CREATEFAILED", "EXTENDEDFAILED", "FROZEN", "FREEZING", "DELETING"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	})
	Register(Action{
		Name: HuaweiVPCEPCreateEndpointService, Provider: "huawei",
		Title: "Create VPC endpoint service for a broker port",
		Doc: "Creates an interface endpoint service (server_type VM) in front of one broker's port, TCP clientPort→serverPort " +
			"(9011→9011 for Kafka cross-VPC access). Idempotent: the description carries the idempotency key and an existing service with it is returned.",
		Inputs: []Param{
			hwStr("vpcId", "VPC of the Kafka instance"),
			hwStr("portId", "broker port ID (cross_vpc_info[listenerIp].port_id)"),
			{Name: "serverPort", Type: "integer", Doc: "backend port (default 9011)"},
			{Name: "clientPort", Type: "integer", Doc: "port the endpoint exposes (default 9011)"},
			{Name: "approvalEnabled", Type: "boolean", Doc: "endpoints need the owner's acceptance (default false)"},
			hwOptStr("description", "free text, prefixed to the idempotency tag"),
		},
		Outputs: []string{"serviceId", "serviceName", "status", "portId", "existing"},
		Inverse: &Inverse{
			Action: HuaweiVPCEPDeleteEndpointService, Title: "Delete VPC endpoint service",
			Inputs:     map[string]plan.Value{"serviceId": plan.Expr("output.serviceId")},
			WaitAction: HuaweiVPCEPGetEndpointService, Wait: hwGoneWait(10 * time.Minute),
		},
	})
	Register(Action{
		Name: HuaweiVPCEPGetEndpointService, Provider: "huawei", Read: true,
		Title:   "Get VPC endpoint service",
		Inputs:  []Param{hwStr("serviceId", "endpoint service ID")},
		Outputs: []string{"serviceId", "serviceName", "status", "portId", "vpcId", "approvalEnabled", "error"},
		// ServiceList status: creating, available, failed, deleting (huaweicloud-sdk-go-v3 services/vpcep/v1/model/model_service_list.go).
		Wait: &plan.Wait{Pending: []string{"creating"}, Target: []string{"available"}, Failure: []string{"failed", "deleting"}, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(10 * time.Minute)},
	})
	Register(Action{
		Name: HuaweiVPCEPDeleteEndpointService, Provider: "huawei",
		Title:   "Delete VPC endpoint service",
		Doc:     "Deletes an endpoint service; an already deleted one counts as done.",
		Inputs:  []Param{hwStr("serviceId", "endpoint service ID")},
		Outputs: []string{"serviceId", "deleted", "alreadyGone"},
	})
	Register(Action{
		Name: HuaweiVPCEPAddWhitelist, Provider: "huawei",
		Title: "Whitelist a client account on an endpoint service",
		Doc: "Adds iam:domain::<domain_id> of clientAccount (resolved from the worker's account registry) to the service's " +
			"permissions. Adding an existing permission is a no-op.",
		Inputs: []Param{
			hwStr("serviceId", "endpoint service ID"),
			hwStr("clientAccount", "account-registry name of the client (its huawei.domainId is whitelisted)"),
		},
		Outputs: []string{"serviceId", "permission"},
		Inverse: &Inverse{
			Action: HuaweiVPCEPRemoveWhitelist, Title: "Remove client account from the whitelist",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "clientAccount": plan.Expr("input.clientAccount")},
		},
		Grants: []Grant{{Input: "clientAccount", Kind: GrantPrincipal}},
	})
	Register(Action{
		Name: HuaweiVPCEPRemoveWhitelist, Provider: "huawei",
		Title: "Remove a client account from an endpoint service's whitelist",
		Inputs: []Param{
			hwStr("serviceId", "endpoint service ID"),
			hwStr("clientAccount", "account-registry name of the client"),
		},
		Outputs: []string{"serviceId", "permission"},
	})
	Register(Action{
		Name: HuaweiVPCEPCreateEndpoint, Provider: "huawei",
		Title: "Create VPC endpoint in the client VPC",
		Doc: "Creates an interface endpoint (as the client account) to an endpoint service in the client's VPC/subnet. " +
			"Idempotent through the description carrying the idempotency key.",
		Inputs: []Param{
			hwStr("serviceId", "endpoint service ID"),
			hwOptStr("serviceName", "endpoint service name (checked against the service when given)"),
			hwStr("vpcId", "client VPC"),
			hwStr("subnetId", "client subnet"),
			hwOptStr("description", "free text, prefixed to the idempotency tag"),
		},
		Outputs: []string{"endpointId", "ip", "status", "serviceId", "existing"},
		Inverse: &Inverse{
			Action: HuaweiVPCEPDeleteEndpoint, Title: "Delete VPC endpoint",
			Inputs:     map[string]plan.Value{"endpointId": plan.Expr("output.endpointId")},
			WaitAction: HuaweiVPCEPGetEndpoint, Wait: hwGoneWait(10 * time.Minute),
		},
	})
	Register(Action{
		Name: HuaweiVPCEPGetEndpoint, Provider: "huawei", Read: true,
		Title:   "Get VPC endpoint",
		Inputs:  []Param{hwStr("endpointId", "endpoint ID")},
		Outputs: []string{"endpointId", "ip", "status", "serviceId", "serviceName", "error"},
		// Endpoint status: pendingAcceptance, creating, accepted, rejected, failed, deleting (services/vpcep/v1/model/model_endpoint_response_body.go).
		Wait: &plan.Wait{Pending: []string{"creating", "pendingAcceptance"}, Target: []string{"accepted"}, Failure: []string{"rejected", "failed", "deleting"}, PollInterval: plan.D(2 * time.Second), Timeout: plan.D(7 * 24 * time.Hour)},
	})
	Register(Action{
		Name: HuaweiVPCEPDeleteEndpoint, Provider: "huawei",
		Title:   "Delete VPC endpoint",
		Doc:     "Deletes an endpoint; an already deleted one counts as done.",
		Inputs:  []Param{hwStr("endpointId", "endpoint ID")},
		Outputs: []string{"endpointId", "deleted", "alreadyGone"},
	})
	Register(Action{
		Name: HuaweiVPCEPAcceptConnection, Provider: "huawei",
		Title: "Accept an endpoint connection (service owner)",
		Doc:   "As the service owner, accepts (action receive) the endpoint's connection. Accepting an accepted connection is a no-op.",
		Inputs: []Param{
			hwStr("serviceId", "endpoint service ID"),
			hwStr("endpointId", "endpoint ID (the connection ID)"),
		},
		Outputs: []string{"serviceId", "endpointId", "status"},
		Inverse: &Inverse{
			Action: HuaweiVPCEPRejectConnection, Title: "Reject the endpoint connection",
			Inputs: map[string]plan.Value{"serviceId": plan.Expr("input.serviceId"), "endpointId": plan.Expr("input.endpointId")},
		},
	})
	Register(Action{
		Name: HuaweiVPCEPRejectConnection, Provider: "huawei",
		Title: "Reject an endpoint connection (service owner)",
		Doc:   "Rejects the endpoint's connection; a connection that no longer exists counts as done.",
		Inputs: []Param{
			hwStr("serviceId", "endpoint service ID"),
			hwStr("endpointId", "endpoint ID"),
		},
		Outputs: []string{"serviceId", "endpointId", "status"},
	})
	Register(Action{
		Name: HuaweiDMSUpdateCrossVpcIps, Provider: "huawei",
		Title: "Set the Kafka instance's advertised listener IPs",
		Doc: "Posts the COMPLETE map listener IP → advertised IP (crossvpc/modify). Listeners missing from the map keep their " +
			"current value. Returns the previous map so a rollback restores it.",
		Inputs: []Param{
			hwStr("instanceId", "DMS Kafka instance ID"),
			{Name: "advertised", Type: "object", Required: true, Doc: "map listenerIp → advertised IP (endpoint IP matched by port ID)"},
		},
		Outputs: []string{"instanceId", "previous", "current"},
		Inverse: &Inverse{
			Action: HuaweiDMSUpdateCrossVpcIps, Title: "Restore the previous advertised listener IPs",
			Inputs: map[string]plan.Value{"instanceId": plan.Expr("input.instanceId"), "advertised": plan.Expr("output.previous")},
		},
		Locks: []string{`"kafka:huawei:" + input.instanceId`},
	})
	Register(Action{
		Name: HuaweiVPCAddSecurityGroupRule, Provider: "huawei",
		Title: "Add a security group rule",
		Doc:   "Adds an allow rule (e.g. ingress TCP 9011 from 198.19.128.0/17, the VPCEP range). An identical rule is reused.",
		Inputs: []Param{
			hwStr("securityGroupId", "security group ID"),
			{Name: "direction", Type: "string", Doc: "ingress (default) or egress"},
			{Name: "protocol", Type: "string", Doc: "tcp (default), udp, icmp"},
			{Name: "port", Type: "integer", Required: true, Doc: "port"},
			hwStr("cidr", "remote IP prefix"),
			hwOptStr("description", "free text"),
		},
		Outputs: []string{"ruleId", "created"},
		Inverse: &Inverse{
			Action: HuaweiVPCDeleteSecurityGroupRule, Title: "Delete the security group rule",
			Inputs: map[string]plan.Value{"ruleId": plan.Expr("output.ruleId"), "created": plan.Expr("output.created")},
		},
		Grants: []Grant{{Input: "cidr", Kind: GrantCIDR, UnlessInput: "direction", UnlessValue: "egress"}},
	})
	Register(Action{
		Name: HuaweiVPCDeleteSecurityGroupRule, Provider: "huawei",
		Title: "Delete a security group rule",
		Doc:   "Deletes a rule; a missing rule counts as done. created=false (the rule pre-existed) makes it a no-op.",
		Inputs: []Param{
			hwStr("ruleId", "rule ID"),
			{Name: "created", Type: "boolean", Doc: "false skips the delete (the rule was not created by Topoflow)"},
		},
		Outputs: []string{"ruleId", "deleted"},
	})
	Register(Action{
		Name: HuaweiVPCAllowNetworkACL, Provider: "huawei",
		Title: "Allow a port in the subnet's network ACL",
		Doc: "If the subnet has a network ACL (VPC v3 firewall), inserts TCP allow rules for the CIDRs at the front of its inbound rules " +
			"(runbook 001: allow 198.19.128.0/17 there too); CIDRs an allow rule already covers are skipped; no ACL: nothing to do.",
		Inputs: []Param{
			hwStr("subnetId", "subnet whose network ACL gets the rules"),
			{Name: "cidrs", Type: "array", Required: true, Doc: "source CIDRs to allow"},
			{Name: "port", Type: "integer", Required: true, Doc: "destination TCP port"},
			hwOptStr("description", "free text"),
		},
		Outputs: []string{"aclId", "ruleIds", "created"},
		Inverse: &Inverse{
			Action: HuaweiVPCRemoveNetworkACLRules, Title: "Remove the network ACL rules",
			Inputs: map[string]plan.Value{"aclId": plan.Expr("output.aclId"), "ruleIds": plan.Expr("output.ruleIds")},
		},
	})
	Register(Action{
		Name: HuaweiVPCRemoveNetworkACLRules, Provider: "huawei",
		Title: "Remove network ACL rules",
		Doc:   "Removes the inbound rules Topoflow inserted; rules or an ACL already gone count as done; aclId \"\" is a no-op.",
		Inputs: []Param{
			hwOptStr("aclId", "network ACL (firewall) ID; empty: nothing to do"),
			{Name: "ruleIds", Type: "array", Doc: "rule IDs to remove"},
		},
		Outputs: []string{"aclId", "removed"},
	})
	Register(Action{
		Name: HuaweiVPCAddRoute, Provider: "huawei",
		Title: "Add a route through a peering",
		Doc:   "Adds destination → nexthop (a peering ID, type peering) to vpcId's route table. An identical route is reused.",
		Inputs: []Param{
			hwStr("vpcId", "VPC whose route table gets the route"),
			hwStr("destination", "destination CIDR"),
			hwStr("nexthop", "peering ID"),
		},
		Outputs: []string{"routeId", "created"},
		Inverse: &Inverse{
			Action: HuaweiVPCDeleteRoute, Title: "Delete the route",
			Inputs: map[string]plan.Value{"routeId": plan.Expr("output.routeId"), "created": plan.Expr("output.created")},
		},
	})
	Register(Action{
		Name: HuaweiVPCDeleteRoute, Provider: "huawei",
		Title: "Delete a route",
		Inputs: []Param{
			hwStr("routeId", "route ID"),
			{Name: "created", Type: "boolean", Doc: "false skips the delete (the route was not created by Topoflow)"},
		},
		Outputs: []string{"routeId", "deleted"},
	})
}
