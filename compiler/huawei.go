package compiler

import (
	"fmt"
	"strconv"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// brokers fans a step out over the brokers discovered from the instance,
// keyed by the broker's port ID (the identity the runbook matches on).
func brokers() *plan.ForEach {
	return &plan.ForEach{Items: "steps.discover.brokers", As: itemBroker, Key: itemBroker + ".portId"}
}

// portToService maps a broker port ID to its endpoint service ID; endpointIP
// maps an endpoint service ID to the IP of the endpoint reading it from the
// given fan-out step. Matching by IDs (never by list position) keeps the
// advertised IPs one-to-one with the port IDs.
const (
	letServices = `let svc = fromPairs(map(steps["create-endpoint-service"], [#.portId, #.serviceId]));`
)

func letEndpointIPs(step string) string {
	return fmt.Sprintf(`let ep = fromPairs(map(steps[%q], [#.serviceId, #.ip]));`, step)
}

// huaweiVPCEndpoint compiles the runbook "access Kafka across VPCs through VPC
// endpoints": one endpoint service per broker port (TCP 9011), optional
// whitelist of the client account, one endpoint per service in the client
// VPC, the owner's acceptance, advertised IPs one-to-one with the port IDs,
// the VPCEP range opened in the instance's security group, and a verification.
func (b *builder) huaweiVPCEndpoint(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	port := defaultVPCEPPort
	sourceCIDR := defaultVPCEPCIDR
	// acceptance whitelist is runbook 000/001 step 8: approval_enabled false,
	// the client account whitelisted (after Topoflow's gate across accounts);
	// provider: approval_enabled true and the owner accepts each endpoint.
	acceptance := s.VPCEndpointAcceptance()
	approval := acceptance == spec.AcceptanceProvider
	// A given approval always yields a gate, in the Kafka's account too.
	gated := approval || s.Approval != nil
	if o := s.VPCEndpoint; o != nil {
		if o.Port != 0 {
			port = o.Port
		}
		if o.SourceCIDR != "" {
			sourceCIDR = o.SourceCIDR
		}
	}
	if gated && s.Approval == nil {
		return fmt.Errorf("endpoint approval is enabled but the spec names no approvers")
	}
	if cross || approval {
		// Which procedure runs, for `topoflow plan` (whitelist: runbook 000's approval_enabled false;
		// provider: approval_enabled true and the owner's accept).
		b.p.Summary += " — acceptance: " + acceptance
	}
	timeout := stepTimeout(s)
	desc := b.description(s)

	b.add(plan.Step{
		ID: "discover", Title: "Discover the Kafka instance (VPC, security group, brokers and their port IDs)",
		Action: catalog.HuaweiDMSShowInstance, Account: owner,
		Inputs:  map[string]plan.Value{"instanceId": plan.Lit(s.Kafka.InstanceID)},
		Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "create-endpoint-service", Title: fmt.Sprintf("Create a VPC endpoint service per broker port (TCP %d)", port),
		Action: catalog.HuaweiVPCEPCreateEndpointService, Account: owner, ForEach: brokers(),
		Inputs: map[string]plan.Value{
			"vpcId":           plan.Expr("steps.discover.vpcId"),
			"portId":          plan.Expr(itemBroker + ".portId"),
			"serverPort":      plan.Lit(port),
			"clientPort":      plan.Lit(port),
			"approvalEnabled": plan.Lit(approval),
			"description":     plan.Lit(desc),
		},
		DependsOn: []string{"discover"}, Timeout: timeout,
	})
	serviceOfBroker := letServices + ` svc[` + itemBroker + `.portId]`
	b.add(plan.Step{
		ID: "wait-endpoint-service", Title: "Wait until each endpoint service is available",
		Action: catalog.HuaweiVPCEPGetEndpointService, Account: owner, ForEach: brokers(),
		Inputs:    map[string]plan.Value{"serviceId": plan.Expr(serviceOfBroker)},
		Wait:      b.waitContract(s, catalog.HuaweiVPCEPGetEndpointService, nil),
		DependsOn: []string{"create-endpoint-service", "discover"},
	})
	last := "wait-endpoint-service"
	if gated && !approval {
		// Topoflow's own approval gate comes before the whitelist: whitelisting
		// the client domain is what lets its endpoints connect. In the Kafka's
		// account it comes before the endpoints are created.
		instructions := fmt.Sprintf(
			"Approve whitelisting account `%s` on the endpoint services of every broker of Kafka instance `%s` (account `%s`). "+
				"Its endpoints in VPC `%s` (subnet `%s`) then connect without further acceptance (approval_enabled false, runbook 000).",
			client, s.Kafka.InstanceID, owner, s.Client.VPCID, s.Client.SubnetID)
		title := "Kafka owner approves connecting the client account (whitelist)"
		if !cross {
			instructions = fmt.Sprintf("Approve creating VPC endpoints in VPC `%s` (subnet `%s`) to every broker of Kafka instance `%s` (account `%s`).",
				s.Client.VPCID, s.Client.SubnetID, s.Kafka.InstanceID, owner)
			title = "Kafka owner approves the endpoints"
		}
		b.add(plan.Step{
			ID: "approve-connection", Title: title,
			Action: plan.ActionApproval, Gate: gate(s.Approval, instructions),
			DependsOn: []string{last},
		})
		last = "approve-connection"
	}
	if cross {
		b.add(plan.Step{
			ID: "whitelist-client", Title: fmt.Sprintf("Whitelist the client account %s on each endpoint service", client),
			Action: catalog.HuaweiVPCEPAddWhitelist, Account: owner, ForEach: brokers(),
			Inputs: map[string]plan.Value{
				"serviceId":     plan.Expr(serviceOfBroker),
				"clientAccount": plan.Lit(client),
			},
			DependsOn: []string{last, "wait-endpoint-service", "create-endpoint-service", "discover"}, Timeout: timeout,
		})
		last = "whitelist-client"
	}
	b.add(plan.Step{
		ID: "create-endpoint", Title: fmt.Sprintf("Create a VPC endpoint per service in the client VPC %s", s.Client.VPCID),
		Action: catalog.HuaweiVPCEPCreateEndpoint, Account: client, ForEach: brokers(),
		Inputs: map[string]plan.Value{
			"serviceId":   plan.Expr(serviceOfBroker),
			"serviceName": plan.Expr(letServices + ` let names = fromPairs(map(steps["wait-endpoint-service"], [#.serviceId, #.serviceName])); names[svc[` + itemBroker + `.portId]]`),
			"vpcId":       plan.Lit(s.Client.VPCID),
			"subnetId":    plan.Lit(s.Client.SubnetID),
			"description": plan.Lit(desc),
		},
		DependsOn: []string{last, "wait-endpoint-service", "create-endpoint-service", "discover"}, Timeout: timeout,
	})
	endpointOfBroker := letServices + ` let eps = fromPairs(map(steps["create-endpoint"], [#.serviceId, #.endpointId])); eps[svc[` + itemBroker + `.portId]]`
	if approval {
		b.add(plan.Step{
			ID: "wait-endpoint-pending", Title: "Wait until each endpoint connection awaits acceptance",
			Action: catalog.HuaweiVPCEPGetEndpoint, Account: client, ForEach: brokers(),
			Inputs: map[string]plan.Value{"endpointId": plan.Expr(endpointOfBroker)},
			Wait: b.waitContract(s, catalog.HuaweiVPCEPGetEndpoint, func(w *plan.Wait) {
				w.Pending = []string{"creating"}
				w.Target = []string{"pendingAcceptance", "accepted"}
				w.Failure = []string{"rejected", "failed"}
				if s.Timeouts == nil || s.Timeouts.Wait == "" {
					w.Timeout = plan.D(defaultWaitTimeout)
				}
			}),
			DependsOn: []string{"create-endpoint", "create-endpoint-service", "discover"},
		})
		b.add(plan.Step{
			ID: "approve-connection", Title: "Kafka owner approves the endpoint connections",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf(
				"Approve the VPC endpoint connections from account `%s` (VPC `%s`, subnet `%s`) to every broker of Kafka instance `%s` (account `%s`). "+
					"Approving lets Topoflow accept the connections and advertise the endpoint IPs to clients.",
				client, s.Client.VPCID, s.Client.SubnetID, s.Kafka.InstanceID, owner)),
			DependsOn: []string{"wait-endpoint-pending"},
		})
		b.add(plan.Step{
			ID: "accept-connection", Title: "Accept each endpoint connection (service owner)",
			Action: catalog.HuaweiVPCEPAcceptConnection, Account: owner, ForEach: brokers(),
			Inputs: map[string]plan.Value{
				"serviceId":  plan.Expr(serviceOfBroker),
				"endpointId": plan.Expr(endpointOfBroker),
			},
			DependsOn: []string{"approve-connection", "create-endpoint", "create-endpoint-service", "discover"}, Timeout: timeout,
		})
		last = "accept-connection"
	} else {
		last = "create-endpoint"
	}
	b.add(plan.Step{
		ID: "wait-endpoint-accepted", Title: "Wait until each endpoint is accepted",
		Action: catalog.HuaweiVPCEPGetEndpoint, Account: client, ForEach: brokers(),
		Inputs: map[string]plan.Value{"endpointId": plan.Expr(endpointOfBroker)},
		Wait: b.waitContract(s, catalog.HuaweiVPCEPGetEndpoint, func(w *plan.Wait) {
			if s.Timeouts == nil || s.Timeouts.Wait == "" {
				w.Timeout = plan.D(defaultWaitTimeout)
			}
		}),
		DependsOn: []string{last, "create-endpoint", "create-endpoint-service", "discover"},
	})
	// DMS refuses crossvpc/modify with 400 DMS.00400026 unless the instance is
	// RUNNING; Terraform waits for RUNNING around it
	// (terraform-provider-huaweicloud resource_huaweicloud_dms_kafka_instance.go:798-806).
	b.add(plan.Step{
		ID: "wait-instance-running", Title: "Wait until the Kafka instance is RUNNING (not restarting or applying a change)",
		Action: catalog.HuaweiDMSShowInstance, Account: owner,
		Inputs:    map[string]plan.Value{"instanceId": plan.Lit(s.Kafka.InstanceID)},
		Wait:      b.waitContract(s, catalog.HuaweiDMSShowInstance, nil),
		DependsOn: []string{"wait-endpoint-accepted"},
	})
	advertised := letServices + " " + letEndpointIPs("wait-endpoint-accepted") +
		` fromPairs(map(steps.discover.brokers, [#.listenerIp, ep[svc[#.portId]]]))`
	b.add(plan.Step{
		ID: "set-advertised-ips", Title: "Advertise each broker's endpoint IP (complete map, one-to-one by port ID)",
		Action: catalog.HuaweiDMSUpdateCrossVpcIps, Account: owner,
		Inputs: map[string]plan.Value{
			"instanceId": plan.Lit(s.Kafka.InstanceID),
			"advertised": plan.Expr(advertised),
		},
		DependsOn: []string{"wait-instance-running", "wait-endpoint-accepted", "create-endpoint-service", "discover"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %d from the VPC endpoint range %s in the instance's security group", port, sourceCIDR),
		Action: catalog.HuaweiVPCAddSecurityGroupRule, Account: owner,
		Inputs: map[string]plan.Value{
			"securityGroupId": plan.Expr("steps.discover.securityGroupId"),
			"direction":       plan.Lit("ingress"),
			"protocol":        plan.Lit("tcp"),
			"port":            plan.Lit(port),
			"cidr":            plan.Lit(sourceCIDR),
			"description":     plan.Lit(desc),
		},
		DependsOn: []string{"set-advertised-ips", "discover"}, Timeout: timeout,
	})
	b.openNetworkACL(s, sourceCIDR, strconv.Itoa(port), plan.Lit(port), "set-advertised-ips", "discover")
	p := strconv.Itoa(port)
	b.verifyStep(s,
		`map(steps["wait-endpoint-accepted"], #.ip + ":`+p+`")`,
		`let adv = steps["set-advertised-ips"].current; map(steps.discover.brokers, adv[#.listenerIp] + ":`+p+`")`,
		"open-security-group", "open-network-acl", "set-advertised-ips", "wait-endpoint-accepted", "discover")
	return nil
}

// huaweiPeering compiles Huawei VPC peering between the instance's VPC and the
// client VPC: create, (cross-account) approve and accept, wait active, routes
// both ways, the client CIDR opened on the broker port, and a verification.
func (b *builder) huaweiPeering(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	timeout := stepTimeout(s)
	// Over a peering, clients reach the brokers' private listeners: the
	// instance's connection port (ShowInstance `port`, 9092 plaintext or 9093
	// SASL; huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go
	// "实例连接端口"), read from the instance unless the spec names one. 9011 is
	// the cross-VPC (VPC endpoint) listener, not reachable this way.
	portLit, portValue, portStr := "(instance port)", plan.Expr("steps.discover.port"), `string(steps.discover.port)`
	if s.Kafka.Port != 0 {
		portLit, portValue, portStr = strconv.Itoa(s.Kafka.Port), plan.Lit(s.Kafka.Port), strconv.Quote(strconv.Itoa(s.Kafka.Port))
	}
	b.add(plan.Step{
		ID: "discover", Title: "Discover the Kafka instance (VPC, security group, brokers)",
		Action: catalog.HuaweiDMSShowInstance, Account: owner,
		Inputs:  map[string]plan.Value{"instanceId": plan.Lit(s.Kafka.InstanceID)},
		Timeout: timeout,
	})
	in := map[string]plan.Value{
		"vpcId":     plan.Expr("steps.discover.vpcId"),
		"peerVpcId": plan.Lit(s.Client.VPCID),
		"name":      plan.Lit(b.peeringName(s)),
	}
	if cross {
		in["peerAccount"] = plan.Lit(client)
	}
	b.add(plan.Step{
		ID: "create-peering", Title: fmt.Sprintf("Request a VPC peering from the Kafka VPC to %s", s.Client.VPCID),
		Action: catalog.HuaweiVPCCreatePeering, Account: owner, Inputs: in,
		DependsOn: []string{"discover"}, Timeout: timeout,
	})
	last := "create-peering"
	if cross || s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-peering", Title: "Client VPC owner approves the peering",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve the VPC peering between Kafka instance `%s` (account `%s`) and VPC `%s` (account `%s`, %s).",
				s.Kafka.InstanceID, owner, s.Client.VPCID, client, s.Client.CIDR)),
			DependsOn: []string{"create-peering"},
		})
		last = "approve-peering"
	}
	if cross {
		b.add(plan.Step{
			ID: "accept-peering", Title: "Accept the peering in the client account",
			Action: catalog.HuaweiVPCAcceptPeering, Account: client,
			Inputs:    map[string]plan.Value{"peeringId": plan.Expr(`steps["create-peering"].peeringId`)},
			DependsOn: []string{"approve-peering", "create-peering"}, Timeout: timeout,
		})
		last = "accept-peering"
	}
	b.add(plan.Step{
		ID: "wait-peering-active", Title: "Wait until the peering is active",
		Action: catalog.HuaweiVPCGetPeering, Account: owner,
		Inputs:    map[string]plan.Value{"peeringId": plan.Expr(`steps["create-peering"].peeringId`)},
		Wait:      b.waitContract(s, catalog.HuaweiVPCGetPeering, func(w *plan.Wait) { w.Timeout = plan.D(defaultWaitTimeout) }),
		DependsOn: []string{last, "create-peering"},
	})
	b.add(plan.Step{
		ID: "route-to-client", Title: fmt.Sprintf("Route %s from the Kafka VPC through the peering", s.Client.CIDR),
		Action: catalog.HuaweiVPCAddRoute, Account: owner,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Expr("steps.discover.vpcId"), "destination": plan.Lit(s.Client.CIDR),
			"nexthop": plan.Expr(`steps["create-peering"].peeringId`),
		},
		DependsOn: []string{"wait-peering-active", "create-peering", "discover"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "route-to-kafka", Title: fmt.Sprintf("Route %s from the client VPC through the peering", s.Kafka.CIDR),
		Action: catalog.HuaweiVPCAddRoute, Account: client,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Lit(s.Client.VPCID), "destination": plan.Lit(s.Kafka.CIDR),
			"nexthop": plan.Expr(`steps["create-peering"].peeringId`),
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %s from %s in the instance's security group", portLit, s.Client.CIDR),
		Action: catalog.HuaweiVPCAddSecurityGroupRule, Account: owner,
		Inputs: map[string]plan.Value{
			"securityGroupId": plan.Expr("steps.discover.securityGroupId"),
			"direction":       plan.Lit("ingress"), "protocol": plan.Lit("tcp"),
			"port": portValue, "cidr": plan.Lit(s.Client.CIDR),
			"description": plan.Lit(b.description(s)),
		},
		DependsOn: []string{"discover"}, Timeout: timeout,
	})
	b.openNetworkACL(s, s.Client.CIDR, portLit, portValue, "discover")
	b.verifyStep(s, `map(steps.discover.brokers, #.listenerIp + ":" + `+portStr+`)`, "",
		"open-security-group", "open-network-acl", "route-to-client", "route-to-kafka", "discover")
	return nil
}

// openNetworkACL adds the step allowing cidr on port in the network ACL of
// the instance's subnet, where the subnet has one (runbook 001: "If a
// network access control list (ACL) has been configured for the subnet of
// this instance, configure inbound rules for the network ACL to allow
// access from 198.19.128.0/17"; the same holds for a peered client CIDR).
func (b *builder) openNetworkACL(s *spec.KafkaAccess, cidr, portTitle string, port plan.Value, deps ...string) {
	b.add(plan.Step{
		ID: "open-network-acl", Title: fmt.Sprintf("Allow TCP %s from %s in the network ACL of the instance's subnet (if it has one)", portTitle, cidr),
		Action: catalog.HuaweiVPCAllowNetworkACL, Account: s.Kafka.Account,
		Inputs: map[string]plan.Value{
			"subnetId":    plan.Expr("steps.discover.subnetId"),
			"cidrs":       plan.Lit([]any{cidr}),
			"port":        port,
			"description": plan.Lit(b.description(s)),
		},
		DependsOn: deps, Timeout: stepTimeout(s),
	})
}
