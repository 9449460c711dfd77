package compiler

import (
	"fmt"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// mskAuth returns the MSK authentication implied by the verification
// settings (plaintext, tls, scram, iam) and the broker port of it.
func mskAuth(s *spec.KafkaAccess) (string, int) {
	auth, port := "plaintext", 9092
	if v := s.Verify; v != nil {
		switch {
		case v.SASL != nil && v.SASL.Mechanism == "AWS_MSK_IAM":
			auth, port = "iam", 9098
		case v.SASL != nil:
			auth, port = "scram", 9096
		case v.TLS != nil && *v.TLS:
			auth, port = "tls", 9094
		}
	}
	if s.Kafka.Port != 0 {
		port = s.Kafka.Port
	}
	return auth, port
}

// describeCluster adds the step reading the MSK cluster.
func (b *builder) describeCluster(s *spec.KafkaAccess, waitActive bool) {
	st := plan.Step{
		ID: "describe-cluster", Title: "Describe the MSK cluster (state, subnets, security groups)",
		Action: catalog.AWSMSKDescribeCluster, Account: s.Kafka.Account,
		Inputs: map[string]plan.Value{"clusterArn": plan.Lit(s.Kafka.ClusterARN)}, Timeout: stepTimeout(s),
	}
	if waitActive {
		st.Title = "Wait until the MSK cluster is ACTIVE"
		st.Wait = b.waitContract(s, catalog.AWSMSKDescribeCluster, nil)
	}
	b.add(st)
}

// brokerSecurityGroup is the security group of the brokers: the spec's, or the cluster's first.
func brokerSecurityGroup(s *spec.KafkaAccess) plan.Value {
	if s.Kafka.SecurityGroupID != "" {
		return plan.Lit(s.Kafka.SecurityGroupID)
	}
	return plan.Expr(`steps["describe-cluster"].securityGroupId`)
}

// openBrokers adds the ingress rule letting cidr reach the broker port.
func (b *builder) openBrokers(s *spec.KafkaAccess, cidr string, port int, deps ...string) {
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %d from %s in the brokers' security group", port, cidr),
		Action: catalog.AWSEC2AuthorizeIngress, Account: s.Kafka.Account,
		Inputs: map[string]plan.Value{
			"groupId": brokerSecurityGroup(s), "protocol": plan.Lit("tcp"), "port": plan.Lit(port),
			"cidr": plan.Lit(cidr), "description": plan.Lit(b.description(s)),
		},
		DependsOn: append([]string{"describe-cluster"}, deps...), Timeout: stepTimeout(s),
	})
}

// clientSource names what the brokers' security group admits for the
// client: its security group (client.securityGroupId) or its CIDR.
func clientSource(s *spec.KafkaAccess) string {
	if g := s.Client.SecurityGroupID; g != "" {
		return "the client's security group " + g
	}
	return s.Client.CIDR
}

// openClient adds the ingress rule letting the client reach the broker port:
// from the client's security group when the spec names one (sg-x in the
// same account, <account ID>/sg-x across accounts: runbook 002 §4.2 and
// §4.4; EC2 UserIdGroupPair{UserId, GroupId}, aws-sdk-go-v2
// service/ec2/types/types.go), else from the client CIDR.
func (b *builder) openClient(s *spec.KafkaAccess, port int, deps ...string) {
	g := s.Client.SecurityGroupID
	if g == "" {
		b.openBrokers(s, s.Client.CIDR, port, deps...)
		return
	}
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %d from the client's security group %s in the brokers' security group", port, g),
		Action: catalog.AWSEC2AuthorizeIngress, Account: s.Kafka.Account,
		Inputs: map[string]plan.Value{
			"groupId": brokerSecurityGroup(s), "protocol": plan.Lit("tcp"), "port": plan.Lit(port),
			"sourceGroup": plan.Lit(g), "description": plan.Lit(b.description(s)),
		},
		DependsOn: append([]string{"describe-cluster"}, deps...), Timeout: stepTimeout(s),
	})
}

// bootstrap adds the step reading the bootstrap brokers, as account, for connectivity.
func (b *builder) bootstrap(s *spec.KafkaAccess, account, connectivity string, deps ...string) {
	auth, _ := mskAuth(s)
	b.add(plan.Step{
		ID: "get-bootstrap", Title: "Get the bootstrap brokers",
		Action: catalog.AWSMSKGetBootstrapBrokers, Account: account,
		Inputs: map[string]plan.Value{
			"clusterArn": plan.Lit(s.Kafka.ClusterARN), "authentication": plan.Lit(auth), "connectivity": plan.Lit(connectivity),
		},
		DependsOn: deps, Timeout: stepTimeout(s),
	})
}

// awsSameVPC: the client is in the cluster's VPC; open the brokers' security group to it.
func (b *builder) awsSameVPC(s *spec.KafkaAccess) error {
	b.summary(s)
	_, port := mskAuth(s)
	b.describeCluster(s, false)
	var deps []string
	if s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-access", Title: "Kafka owner approves opening the brokers' security group",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve opening TCP %d of MSK cluster `%s` (account `%s`) to %s.",
				port, s.Kafka.ClusterARN, s.Kafka.Account, clientSource(s))),
			DependsOn: []string{"describe-cluster"},
		})
		deps = append(deps, "approve-access")
	}
	b.openClient(s, port, deps...)
	b.bootstrap(s, s.Kafka.Account, "private", "describe-cluster")
	b.verifyStep(s, `steps["get-bootstrap"].bootstrap`, "", "get-bootstrap", "open-security-group")
	return nil
}

// literalList renders a list of strings as a fan-out items expression.
func literalList(items []string) string { return literal(items) }

// awsPeering: VPC peering between the MSK VPC and the client VPC, in one
// account or across accounts and regions: request, (cross-account) approval,
// accept in the accepter account and region, wait active, routes both ways,
// the client CIDR opened on the broker port, verification.
func (b *builder) awsPeering(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	crossRegion := s.Client.Region != "" && s.Kafka.Region != "" && s.Client.Region != s.Kafka.Region
	_, port := mskAuth(s)
	timeout := stepTimeout(s)
	b.describeCluster(s, false)
	in := map[string]plan.Value{
		"vpcId": plan.Lit(s.Kafka.VPCID), "peerVpcId": plan.Lit(s.Client.VPCID), "name": plan.Lit(b.peeringName(s)),
	}
	if cross {
		in["peerAccount"] = plan.Lit(client)
	}
	if crossRegion {
		in["peerRegion"] = plan.Lit(s.Client.Region)
	}
	b.add(plan.Step{
		ID: "create-peering", Title: fmt.Sprintf("Request a VPC peering from %s to %s", s.Kafka.VPCID, s.Client.VPCID),
		Action: catalog.AWSEC2CreateVpcPeering, Account: owner, Inputs: in,
		DependsOn: []string{"describe-cluster"}, Timeout: timeout,
	})
	peering := plan.Expr(`steps["create-peering"].peeringId`)
	b.add(plan.Step{
		ID: "wait-peering-pending", Title: "Wait until the peering awaits acceptance",
		Action: catalog.AWSEC2DescribeVpcPeering, Account: owner,
		Inputs: map[string]plan.Value{"peeringId": peering},
		Wait: b.waitContract(s, catalog.AWSEC2DescribeVpcPeering, func(w *plan.Wait) {
			w.Pending = []string{"initiating-request"}
			w.Target = []string{"pending-acceptance", "provisioning", "active"}
		}),
		DependsOn: []string{"create-peering"},
	})
	last := "wait-peering-pending"
	if cross || s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-peering", Title: "Client account owner approves the peering",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve the VPC peering between MSK VPC `%s` (account `%s`) and VPC `%s` (account `%s`, %s).",
				s.Kafka.VPCID, owner, s.Client.VPCID, client, s.Client.CIDR)),
			DependsOn: []string{last},
		})
		last = "approve-peering"
	}
	accept := map[string]plan.Value{"peeringId": peering}
	if crossRegion {
		accept["region"] = plan.Lit(s.Client.Region)
	}
	b.add(plan.Step{
		ID: "accept-peering", Title: "Accept the peering in the accepter account and region",
		Action: catalog.AWSEC2AcceptVpcPeering, Account: client, Inputs: accept,
		DependsOn: []string{last, "create-peering"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-peering-active", Title: "Wait until the peering is active",
		Action: catalog.AWSEC2DescribeVpcPeering, Account: owner,
		Inputs:    map[string]plan.Value{"peeringId": peering},
		Wait:      b.waitContract(s, catalog.AWSEC2DescribeVpcPeering, nil),
		DependsOn: []string{"accept-peering", "create-peering"},
	})
	b.add(plan.Step{
		ID: "route-to-client", Title: fmt.Sprintf("Route %s from the MSK VPC's route tables through the peering", s.Client.CIDR),
		Action: catalog.AWSEC2CreateRoute, Account: owner,
		ForEach: &plan.ForEach{Items: literalList(s.Kafka.RouteTableIDs), As: "routeTable", Key: "routeTable"},
		Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit(s.Client.CIDR), "peeringId": peering,
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "route-to-kafka", Title: fmt.Sprintf("Route %s from the client VPC's route tables through the peering", s.Kafka.CIDR),
		Action: catalog.AWSEC2CreateRoute, Account: client,
		ForEach: &plan.ForEach{Items: literalList(s.Client.RouteTableIDs), As: "routeTable", Key: "routeTable"},
		Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit(s.Kafka.CIDR), "peeringId": peering,
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.openClient(s, port, "wait-peering-active")
	b.bootstrap(s, owner, "private", "describe-cluster")
	b.verifyStep(s, `steps["get-bootstrap"].bootstrap`, "", "get-bootstrap", "open-security-group", "route-to-client", "route-to-kafka")
	return nil
}

// awsPrivateLink: AWS's documented MSK PrivateLink pattern with one
// interface endpoint per broker (AWS Big Data Blog, "How Goldman Sachs builds
// cross-account connectivity to their Amazon MSK clusters with AWS
// PrivateLink", https://aws.amazon.com/blogs/big-data/how-goldman-sachs-builds-cross-account-connectivity-to-their-amazon-msk-clusters-with-aws-privatelink/,
// and "Secure connectivity patterns to access Amazon MSK across AWS Regions",
// https://aws.amazon.com/blogs/big-data/secure-connectivity-patterns-to-access-amazon-msk-across-aws-regions/).
//
// Kafka clients connect to every broker by the address the broker advertises
// (b-N.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com:<port>), and a
// network load balancer forwards bytes without touching Kafka metadata. So,
// per broker: an internal NLB in the brokers' subnets with a TCP listener on
// the broker port forwarding to a target group holding the broker's IP, an
// endpoint service in front of it, and an interface endpoint in the client
// VPC; then a Route 53 private hosted zone for the brokers' domain,
// associated with the client VPC, maps each broker name to its endpoint
// (CNAME), the port unchanged. The brokers' configuration is never touched.
// The alternative, one NLB with a port per broker, needs the brokers to
// advertise those ports: through MSK's custom.advertised.listeners (a
// configuration revision and a rolling restart:
// https://docs.aws.amazon.com/msk/latest/developerguide/custom-domain-names.html)
// or a dynamic per-broker advertised.listeners (Kafka AlterConfigs) that must
// repeat every listener MSK itself uses, replication included, where one
// mistake cuts the cluster's own clients. Here nothing can take the cluster's
// clients down, and every step has an inverse.
func (b *builder) awsPrivateLink(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	o := s.PrivateLink
	if o == nil {
		o = &spec.PrivateLinkOptions{}
	}
	acceptance := o.AcceptanceRequired == nil || *o.AcceptanceRequired
	timeout := stepTimeout(s)
	_, port := mskAuth(s)
	region := s.Client.Region
	if region == "" {
		region = s.Kafka.Region
	}
	perBroker := func() *plan.ForEach {
		return &plan.ForEach{Items: `steps["list-brokers"].brokers`, As: "broker", Key: `"b-" + string(broker.brokerId)`}
	}
	at := func(step, field string) plan.Value { return plan.Expr(fmt.Sprintf(`steps[%q][index].%s`, step, field)) }
	b.describeCluster(s, false)
	b.add(plan.Step{
		ID: "list-brokers", Title: "List the brokers (name, private IP, subnet) with ListNodes",
		Action: catalog.AWSMSKListBrokers, Account: owner,
		Inputs:    map[string]plan.Value{"clusterArn": plan.Lit(s.Kafka.ClusterARN), "port": plan.Lit(port)},
		DependsOn: []string{"describe-cluster"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "create-nlb", Title: "Create an internal network load balancer per broker, in the brokers' subnets",
		Action: catalog.AWSELBCreateLoadBalancer, Account: owner, ForEach: perBroker(),
		Inputs:    map[string]plan.Value{"subnetIds": plan.Expr(`steps["list-brokers"].subnets`)},
		DependsOn: []string{"list-brokers"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "create-target-group", Title: fmt.Sprintf("Create a TCP %d target group per broker holding the broker's IP", port),
		Action: catalog.AWSELBCreateTargetGroup, Account: owner, ForEach: perBroker(),
		Inputs: map[string]plan.Value{
			"vpcId": plan.Expr(`steps["list-brokers"].vpcId`), "port": plan.Expr("broker.port"), "targets": plan.Expr("[broker.ip]"),
		},
		DependsOn: []string{"list-brokers"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "create-listener", Title: fmt.Sprintf("Add a TCP %d listener per load balancer forwarding to its broker", port),
		Action: catalog.AWSELBCreateListener, Account: owner, ForEach: perBroker(),
		Inputs: map[string]plan.Value{
			"loadBalancerArn": at("create-nlb", "loadBalancerArn"), "port": plan.Expr("broker.port"),
			"targetGroupArn": at("create-target-group", "targetGroupArn"),
		},
		DependsOn: []string{"create-nlb", "create-target-group"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-nlb", Title: "Wait until every load balancer is active",
		Action: catalog.AWSELBDescribeLoadBalancer, Account: owner, ForEach: perBroker(),
		Inputs:    map[string]plan.Value{"loadBalancerArn": at("create-nlb", "loadBalancerArn")},
		Wait:      b.waitContract(s, catalog.AWSELBDescribeLoadBalancer, nil),
		DependsOn: []string{"create-nlb"},
	})
	// NLB → IP targets: the load balancer's nodes connect from their private
	// addresses in the brokers' VPC, so the brokers' group admits that VPC's
	// CIDR on the broker port (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-register-targets.html#target-security-groups).
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %d from the brokers' VPC %s (the load balancers) in the brokers' security group", port, s.Kafka.CIDR),
		Action: catalog.AWSEC2AuthorizeIngress, Account: owner,
		Inputs: map[string]plan.Value{
			"groupId": brokerSecurityGroup(s), "protocol": plan.Lit("tcp"), "port": plan.Lit(port),
			"cidr": plan.Lit(s.Kafka.CIDR), "description": plan.Lit(b.description(s)),
		},
		DependsOn: []string{"describe-cluster"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "create-endpoint-service", Title: "Create a VPC endpoint service in front of each broker's load balancer",
		Action: catalog.AWSEC2CreateEndpointService, Account: owner, ForEach: perBroker(),
		Inputs: map[string]plan.Value{
			"loadBalancerArns": plan.Expr(`[steps["create-nlb"][index].loadBalancerArn]`), "acceptanceRequired": plan.Lit(acceptance),
		},
		DependsOn: []string{"wait-nlb", "create-listener", "create-nlb"}, Timeout: timeout,
	})
	service := at("create-endpoint-service", "serviceId")
	b.add(plan.Step{
		ID: "wait-endpoint-service", Title: "Wait until the endpoint services are available",
		Action: catalog.AWSEC2DescribeEndpointService, Account: owner, ForEach: perBroker(),
		Inputs: map[string]plan.Value{"serviceId": service}, Wait: b.waitContract(s, catalog.AWSEC2DescribeEndpointService, nil),
		DependsOn: []string{"create-endpoint-service"},
	})
	last := "wait-endpoint-service"
	if cross {
		b.add(plan.Step{
			ID: "allow-client", Title: fmt.Sprintf("Allow the client account %s on the endpoint services", client),
			Action: catalog.AWSEC2AddServicePermission, Account: owner, ForEach: perBroker(),
			Inputs:    map[string]plan.Value{"serviceId": service, "principalAccount": plan.Lit(client)},
			DependsOn: []string{last, "create-endpoint-service"}, Timeout: timeout,
		})
		last = "allow-client"
	}
	in := map[string]plan.Value{
		"serviceName": at("wait-endpoint-service", "serviceName"),
		"vpcId":       plan.Lit(s.Client.VPCID), "subnetIds": plan.Lit(anyStrings(s.Client.SubnetIDs)),
		"privateDns": plan.Lit(o.PrivateDNS),
	}
	verifyDeps := []string{"wait-broker-names", "open-security-group"}
	if g := s.Client.SecurityGroupID; g != "" {
		in["securityGroupIds"] = plan.Lit([]any{g})
		// The endpoints' security group must admit the clients on the broker port
		// (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html):
		// the client CIDR when given, else the group's own members.
		rule := map[string]plan.Value{"groupId": plan.Lit(g), "protocol": plan.Lit("tcp"), "port": plan.Lit(port), "description": plan.Lit(b.description(s))}
		from := "the group's members"
		if s.Client.CIDR != "" {
			rule["cidr"], from = plan.Lit(s.Client.CIDR), s.Client.CIDR
		} else {
			rule["sourceGroup"] = plan.Lit(g)
		}
		b.add(plan.Step{
			ID: "open-endpoint-security-group", Title: fmt.Sprintf("Allow TCP %d from %s in the endpoints' security group %s", port, from, g),
			Action: catalog.AWSEC2AuthorizeIngress, Account: client, Inputs: rule, Timeout: timeout,
		})
		verifyDeps = append(verifyDeps, "open-endpoint-security-group")
	}
	if !acceptance && s.Approval != nil {
		// No connection to accept: the given approval gates the endpoints themselves.
		b.add(plan.Step{
			ID: "approve-connection", Title: "Kafka owner approves the endpoint connections",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve interface endpoints (one per broker) from account `%s` (VPC `%s`) to MSK cluster `%s` (account `%s`); they connect without acceptance (privateLink.acceptanceRequired: false).",
				client, s.Client.VPCID, s.Kafka.ClusterARN, owner)),
			DependsOn: []string{last},
		})
		last = "approve-connection"
	}
	b.add(plan.Step{
		ID: "create-endpoint", Title: fmt.Sprintf("Create an interface endpoint per broker in the client VPC %s", s.Client.VPCID),
		Action: catalog.AWSEC2CreateVpcEndpoint, Account: client, ForEach: perBroker(), Inputs: in,
		DependsOn: []string{last, "wait-endpoint-service"}, Timeout: timeout,
	})
	endpoint := at("create-endpoint", "endpointId")
	last = "create-endpoint"
	if acceptance {
		b.add(plan.Step{
			ID: "wait-endpoint-pending", Title: "Wait until the endpoint connections await acceptance",
			Action: catalog.AWSEC2DescribeVpcEndpoint, Account: client, ForEach: perBroker(),
			Inputs: map[string]plan.Value{"endpointId": endpoint},
			Wait: b.waitContract(s, catalog.AWSEC2DescribeVpcEndpoint, func(w *plan.Wait) {
				w.Pending = nil
				w.Target = []string{"pendingAcceptance", "pending", "available"}
			}),
			DependsOn: []string{"create-endpoint"},
		})
		b.add(plan.Step{
			ID: "approve-connection", Title: "Kafka owner approves the endpoint connections",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve the PrivateLink connections (one per broker) from account `%s` (VPC `%s`) to MSK cluster `%s` (account `%s`).",
				client, s.Client.VPCID, s.Kafka.ClusterARN, owner)),
			DependsOn: []string{"wait-endpoint-pending"},
		})
		b.add(plan.Step{
			ID: "accept-connection", Title: "Accept the endpoint connections (service owner)",
			Action: catalog.AWSEC2AcceptEndpointConnection, Account: owner, ForEach: perBroker(),
			Inputs:    map[string]plan.Value{"serviceId": service, "endpointId": endpoint},
			DependsOn: []string{"approve-connection", "create-endpoint", "create-endpoint-service"}, Timeout: timeout,
		})
		last = "accept-connection"
	}
	b.add(plan.Step{
		ID: "wait-endpoint-available", Title: "Wait until the endpoints are available",
		Action: catalog.AWSEC2DescribeVpcEndpoint, Account: client, ForEach: perBroker(),
		Inputs: map[string]plan.Value{"endpointId": endpoint}, Wait: b.waitContract(s, catalog.AWSEC2DescribeVpcEndpoint, nil),
		DependsOn: []string{last, "create-endpoint"},
	})
	b.add(plan.Step{
		ID: "create-hosted-zone", Title: fmt.Sprintf("Create a Route 53 private hosted zone for the brokers' domain in the client VPC %s", s.Client.VPCID),
		Action: catalog.AWSR53CreateHostedZone, Account: client,
		Inputs: map[string]plan.Value{
			"name": plan.Expr(`steps["list-brokers"].domain`), "vpcId": plan.Lit(s.Client.VPCID), "vpcRegion": plan.Lit(region),
		},
		DependsOn: []string{"list-brokers"}, Timeout: timeout,
	})
	zone := plan.Expr(`steps["create-hosted-zone"].hostedZoneId`)
	b.add(plan.Step{
		ID: "map-broker-names", Title: "Map each broker name to its interface endpoint (CNAME, port unchanged)",
		Action: catalog.AWSR53UpsertRecord, Account: client, ForEach: perBroker(),
		Inputs: map[string]plan.Value{
			"hostedZoneId": zone, "name": plan.Expr("broker.host"), "type": plan.Lit("CNAME"),
			"value": plan.Expr(`steps["wait-endpoint-available"][index].dnsNames[0]`), "ttl": plan.Lit(60),
		},
		DependsOn: []string{"create-hosted-zone", "wait-endpoint-available"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-broker-names", Title: "Wait until the records are in sync",
		Action: catalog.AWSR53GetChange, Account: client, ForEach: perBroker(),
		Inputs:    map[string]plan.Value{"changeId": at("map-broker-names", "changeId")},
		Wait:      b.waitContract(s, catalog.AWSR53GetChange, nil),
		DependsOn: []string{"map-broker-names"},
	})
	b.verifyStep(s, `map(steps["list-brokers"].brokers, #.host + ":" + string(#.port))`, "", verifyDeps...)
	return nil
}

// awsMultiVPC: MSK multi-VPC private connectivity: (cross-account) approval,
// turn on VPC connectivity (rolling restart), cluster policy for the client
// account, VPC connection from the client VPC, bootstrap through it.
func (b *builder) awsMultiVPC(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	timeout := stepTimeout(s)
	scheme := "iam"
	if s.MSKMultiVPC != nil && s.MSKMultiVPC.Authentication != "" {
		scheme = s.MSKMultiVPC.Authentication
	}
	b.describeCluster(s, true)
	last := "describe-cluster"
	if cross || s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-access", Title: "Kafka owner approves multi-VPC access for the client account",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve multi-VPC private connectivity (%s) from account `%s` (VPC `%s`) to MSK cluster `%s`. "+
				"Turning it on restarts the brokers one by one (30 minutes or more).", scheme, client, s.Client.VPCID, s.Kafka.ClusterARN)),
			DependsOn: []string{last},
		})
		last = "approve-access"
	}
	b.add(plan.Step{
		ID: "enable-multi-vpc", Title: fmt.Sprintf("Turn on multi-VPC connectivity (%s) on the cluster (rolling restart)", scheme),
		Action: catalog.AWSMSKUpdateConnectivity, Account: owner,
		Inputs: map[string]plan.Value{
			"clusterArn":      plan.Lit(s.Kafka.ClusterARN),
			"vpcConnectivity": plan.Lit(map[string]any{"iam": scheme == "iam", "scram": scheme == "scram", "tls": scheme == "tls"}),
		},
		DependsOn: []string{last}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-multi-vpc", Title: "Wait until the connectivity update completes",
		Action: catalog.AWSMSKDescribeClusterOperation, Account: owner,
		Inputs: map[string]plan.Value{"clusterOperationArn": plan.Expr(`steps["enable-multi-vpc"].clusterOperationArn`)},
		Wait: b.waitContract(s, catalog.AWSMSKDescribeClusterOperation, func(w *plan.Wait) {
			if d, ok := catalog.Lookup(catalog.AWSMSKDescribeClusterOperation); ok && d.Wait != nil && w.Timeout < d.Wait.Timeout {
				w.Timeout = d.Wait.Timeout // a rolling restart takes longer than ordinary waits
			}
		}),
		DependsOn: []string{"enable-multi-vpc"},
	})
	last = "wait-multi-vpc"
	if cross {
		b.add(plan.Step{
			ID: "allow-client", Title: fmt.Sprintf("Allow the client account %s in the cluster policy", client),
			Action: catalog.AWSMSKPutClusterPolicy, Account: owner,
			Inputs: map[string]plan.Value{
				"clusterArn": plan.Lit(s.Kafka.ClusterARN), "clientAccounts": plan.Lit([]any{client}),
			},
			DependsOn: []string{last}, Timeout: timeout,
		})
		last = "allow-client"
	}
	auth := map[string]string{"iam": "SASL_IAM", "scram": "SASL_SCRAM", "tls": "TLS"}[scheme]
	b.add(plan.Step{
		ID: "create-vpc-connection", Title: fmt.Sprintf("Create the VPC connection from the client VPC %s", s.Client.VPCID),
		Action: catalog.AWSMSKCreateVpcConnection, Account: client,
		Inputs: map[string]plan.Value{
			"clusterArn": plan.Lit(s.Kafka.ClusterARN), "authentication": plan.Lit(auth),
			"vpcId": plan.Lit(s.Client.VPCID), "subnetIds": plan.Lit(anyStrings(s.Client.SubnetIDs)),
			"securityGroupIds": plan.Lit([]any{s.Client.SecurityGroupID}),
		},
		DependsOn: []string{last}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-vpc-connection", Title: "Wait until the VPC connection is AVAILABLE (twice in a row)",
		Action: catalog.AWSMSKDescribeVpcConnection, Account: client,
		Inputs:    map[string]plan.Value{"vpcConnectionArn": plan.Expr(`steps["create-vpc-connection"].vpcConnectionArn`)},
		Wait:      b.waitContract(s, catalog.AWSMSKDescribeVpcConnection, nil),
		DependsOn: []string{"create-vpc-connection"},
	})
	b.add(plan.Step{
		ID: "get-bootstrap", Title: "Get the multi-VPC bootstrap brokers (as the client account)",
		Action: catalog.AWSMSKGetBootstrapBrokers, Account: client,
		Inputs: map[string]plan.Value{
			"clusterArn": plan.Lit(s.Kafka.ClusterARN), "authentication": plan.Lit(scheme), "connectivity": plan.Lit("vpc"),
		},
		DependsOn: []string{"wait-vpc-connection"}, Timeout: timeout,
	})
	b.verifyStep(s, `steps["get-bootstrap"].bootstrap`, "", "get-bootstrap")
	return nil
}

// awsTransitGateway: on-premises clients through a transit gateway: attach
// the MSK VPC, (other account) approve and accept the attachment, routes to
// the on-premises range, the range opened on the broker port, verification.
func (b *builder) awsTransitGateway(s *spec.KafkaAccess) error {
	b.summary(s)
	owner := s.Kafka.Account
	t := s.TransitGateway
	if t == nil {
		return fmt.Errorf("transitGateway settings are missing")
	}
	tgwAccount := s.Client.Account
	if t.Account != "" {
		tgwAccount = t.Account
	}
	cross := tgwAccount != owner
	timeout := stepTimeout(s)
	_, port := mskAuth(s)
	b.describeCluster(s, false)
	b.add(plan.Step{
		ID: "attach-vpc", Title: fmt.Sprintf("Attach the MSK VPC %s to transit gateway %s", s.Kafka.VPCID, t.TransitGatewayID),
		Action: catalog.AWSEC2CreateTGWAttachment, Account: owner,
		Inputs: map[string]plan.Value{
			"transitGatewayId": plan.Lit(t.TransitGatewayID), "vpcId": plan.Lit(s.Kafka.VPCID),
			"subnetIds": plan.Expr(`steps["describe-cluster"].clientSubnets`),
		},
		DependsOn: []string{"describe-cluster"}, Timeout: timeout,
	})
	attachment := plan.Expr(`steps["attach-vpc"].attachmentId`)
	last := "attach-vpc"
	if cross || s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-attachment", Title: "Transit gateway owner approves the attachment",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve attaching MSK VPC `%s` (account `%s`) to transit gateway `%s` (account `%s`) for on-premises range %s.",
				s.Kafka.VPCID, owner, t.TransitGatewayID, tgwAccount, s.Client.OnPremCIDR)),
			DependsOn: []string{last},
		})
		last = "approve-attachment"
	}
	if cross {
		b.add(plan.Step{
			ID: "accept-attachment", Title: "Accept the attachment in the transit gateway account",
			Action: catalog.AWSEC2AcceptTGWAttachment, Account: tgwAccount,
			Inputs:    map[string]plan.Value{"attachmentId": attachment},
			DependsOn: []string{last, "attach-vpc"}, Timeout: timeout,
		})
		last = "accept-attachment"
	}
	b.add(plan.Step{
		ID: "wait-attachment", Title: "Wait until the attachment is available",
		Action: catalog.AWSEC2DescribeTGWAttachment, Account: owner,
		Inputs: map[string]plan.Value{"attachmentId": attachment}, Wait: b.waitContract(s, catalog.AWSEC2DescribeTGWAttachment, nil),
		DependsOn: []string{last, "attach-vpc"},
	})
	if t.RouteTableID != "" && s.Kafka.CIDR != "" {
		b.add(plan.Step{
			ID: "tgw-route-to-kafka", Title: fmt.Sprintf("Route %s in the transit gateway route table to the MSK VPC", s.Kafka.CIDR),
			Action: catalog.AWSEC2CreateTGWRoute, Account: tgwAccount,
			Inputs: map[string]plan.Value{
				"routeTableId": plan.Lit(t.RouteTableID), "destination": plan.Lit(s.Kafka.CIDR), "attachmentId": attachment,
			},
			DependsOn: []string{"wait-attachment", "attach-vpc"}, Timeout: timeout,
		})
	}
	b.add(plan.Step{
		ID: "route-to-onprem", Title: fmt.Sprintf("Route %s from the MSK VPC's route tables to the transit gateway", s.Client.OnPremCIDR),
		Action: catalog.AWSEC2CreateRoute, Account: owner,
		ForEach: &plan.ForEach{Items: literalList(s.Kafka.RouteTableIDs), As: "routeTable", Key: "routeTable"},
		Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit(s.Client.OnPremCIDR),
			"transitGatewayId": plan.Lit(t.TransitGatewayID),
		},
		DependsOn: []string{"wait-attachment"}, Timeout: timeout,
	})
	b.openBrokers(s, s.Client.OnPremCIDR, port, "wait-attachment")
	b.bootstrap(s, owner, "private", "describe-cluster")
	deps := []string{"get-bootstrap", "open-security-group", "route-to-onprem"}
	if b.p.Step("tgw-route-to-kafka") != nil {
		deps = append(deps, "tgw-route-to-kafka")
	}
	b.verifyStep(s, `steps["get-bootstrap"].bootstrap`, "", deps...)
	return nil
}

func anyStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
