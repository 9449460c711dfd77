package compiler

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// saasBuilders compile each available provider/cloud pair of
// spec.SaaSCloudTable (TestEverySaaSCloudCompiles checks that none is
// missing and that no unavailable cloud has one).
var saasBuilders = map[string]func(*builder, *spec.SaaSPeering) error{
	spec.SaaSEMQX + "/" + spec.CloudHuawei:  (*builder).emqxHuawei,
	spec.SaaSEMQX + "/" + spec.CloudAWS:     (*builder).emqxAWS,
	spec.SaaSEMQX + "/" + spec.CloudAlibaba: (*builder).emqxAlibaba,
	spec.SaaSEMQX + "/" + spec.CloudTencent: (*builder).emqxTencent,
}

// Defaults of SaaSPeering specs.
const (
	defaultMQTTTopic = "topoflow/verify"
	// consoleSettle bounds the deletion guard: once the console step is
	// done the provider is configuring its side; the peering is deleted only
	// once it is running (runbook 003 删除对等连接: 状态为 running).
	consoleSettle = 30 * time.Minute
	// connectorVerifyBudget bounds the connector probe's attempts without a
	// step timeout: a probe that keeps failing (TEST_FAILED) is a missing
	// rule or route, not a hiccup; it leaves time for a new rule to take
	// effect, then fails so a person sees it (as workflows.VerifyBudget for kafka.verify).
	connectorVerifyBudget = 2 * time.Minute
)

// saasPeering compiles a SaaSPeering document.
func (b *builder) saasPeering(s *spec.SaaSPeering) error {
	b.p.Provider = s.Cloud
	if s.OnFailure != "" {
		b.p.OnFailure = plan.FailurePolicy(s.OnFailure)
	}
	b.operatorsAndPolicy(s.Operators, s.Policy)
	build, ok := saasBuilders[s.Provider+"/"+s.Cloud]
	if !ok {
		return fmt.Errorf("cloud %q is not available for provider %q", s.Cloud, s.Provider)
	}
	info, _ := spec.LookupSaaSCloud(s.Provider, s.Cloud)
	b.p.Summary = fmt.Sprintf("%s: our VPC %s (%s, %s) ↔ deployment VPC %s (%s, account %s)",
		info.Title, s.Ours.VPCID, s.Ours.Account, s.Ours.CIDR, s.Provided.VPCID, s.Provided.CIDR, s.Provided.AccountID)
	if err := build(b, s); err != nil {
		return err
	}
	b.saasDetails(s, info)
	return nil
}

// saasWait is a read action's wait contract under the spec's timeouts, adjusted.
func saasWait(s *spec.SaaSPeering, action string, adjust func(w *plan.Wait)) *plan.Wait {
	w := plan.Wait{PollInterval: plan.D(defaultPollInterval), Timeout: plan.D(defaultWaitTimeout)}
	if d, ok := catalog.Lookup(action); ok && d.Wait != nil {
		w = copyWait(*d.Wait)
	}
	if t := s.Timeouts; t != nil {
		if t.Wait != "" {
			w.Timeout = dur(t.Wait)
		}
		if t.PollInterval != "" {
			w.PollInterval = dur(t.PollInterval)
		}
	}
	if adjust != nil {
		adjust(&w)
	}
	return &w
}

func saasTimeout(s *spec.SaaSPeering) plan.Duration {
	if s.Timeouts != nil {
		return dur(s.Timeouts.Step)
	}
	return 0
}

func (b *builder) saasDescription(s *spec.SaaSPeering) string {
	if s.Ours.Description != "" {
		return s.Ours.Description
	}
	return "topoflow " + b.doc.Metadata.Name
}

func (b *builder) saasPeeringName() string {
	n := "topoflow-" + b.doc.Metadata.Name
	if len(n) > peeringNameMaxLength {
		n = n[:peeringNameMaxLength]
	}
	return strings.TrimRight(n, "-")
}

// saasApproval is our side's approval, before anything is created.
func (b *builder) saasApproval(s *spec.SaaSPeering) {
	text := fmt.Sprintf(
		"Approve a VPC peering from our VPC `%s` (account `%s`, %s) to the %s deployment's VPC `%s` (account `%s`, %s, region `%s`), "+
			"a route to %s through it, and TCP %s from %s in security group `%s`.",
		s.Ours.VPCID, s.Ours.Account, s.Ours.CIDR, s.Provider, s.Provided.VPCID, s.Provided.AccountID, s.Provided.CIDR, s.Provided.Region,
		s.Provided.CIDR, ports(s.Ours.Ports), s.Provided.CIDR, s.Ours.SecurityGroupID)
	if s.Cloud == spec.CloudTencent {
		text = fmt.Sprintf(
			"Approve a CCN (云联网) joining our VPC `%s` (account `%s`, %s) with the %s deployment's VPC `%s` (account `%s`, %s, region `%s`), "+
				"our approval of its attach request, and TCP %s from %s in security group `%s`.",
			s.Ours.VPCID, s.Ours.Account, s.Ours.CIDR, s.Provider, s.Provided.VPCID, s.Provided.AccountID, s.Provided.CIDR, s.Provided.Region,
			ports(s.Ours.Ports), s.Provided.CIDR, s.Ours.SecurityGroupID)
	}
	b.add(plan.Step{
		ID: "approve-peering", Title: "Approve peering our VPC with the " + s.Provider + " deployment",
		Action: plan.ActionApproval, Gate: gate(s.Approval, text),
	})
}

func ports(ps []int) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(p)
	}
	return strings.Join(out, ", ")
}

// consoleStep is the manual step in the provider's console, with the values
// to enter as its inputs (shown to the person) and the keys to hand back.
func (b *builder) consoleStep(s *spec.SaaSPeering, instructions string, inputs map[string]plan.Value, deps ...string) {
	g := s.Console
	pg := &plan.Gate{Who: append([]string(nil), g.Who...), Deadline: dur(g.Deadline), OnExpiry: plan.ExpiryPolicy(g.OnExpiry),
		AllowSelfApproval: g.AllowSelfApproval, Instructions: instructions}
	if g.Instructions != "" {
		pg.Instructions = g.Instructions + "\n\n" + instructions
	}
	if pg.OnExpiry == "" {
		pg.OnExpiry = plan.ExpireReject
	}
	b.add(plan.Step{
		ID: "console-confirm", Title: "Enter our peering in the " + s.Provider + " console and confirm it",
		Action: plan.ActionManual, Gate: pg, Inputs: inputs, DependsOn: deps,
	})
}

// checkConsole adds the check of the console step's data. Its compensation
// is the deletion guard: once the console step is done the provider
// configures its side, and the peering is deleted only once that is over
// (runbook 003 删除对等连接: only from running), so a rollback waits for the
// peering to leave its pending states first. With read empty the check has
// no compensation (the builder guards the deletion elsewhere).
func (b *builder) checkConsole(s *spec.SaaSPeering, expected map[string]plan.Value, patterns map[string]string, read string, readIn map[string]plan.Value, guard plan.Wait) error {
	return b.checkConsoleAfter(s, expected, patterns, read, readIn, guard, "create-peering")
}

// checkConsoleAfter is checkConsole for a step whose expected values come
// from the steps from (the console step and they are its dependencies).
func (b *builder) checkConsoleAfter(s *spec.SaaSPeering, expected map[string]plan.Value, patterns map[string]string, read string, readIn map[string]plan.Value, guard plan.Wait, from ...string) error {
	// What is checked is what the console step asks for (spec.SaaSHandback).
	var keys []string
	for k := range expected {
		keys = append(keys, k)
	}
	for k := range patterns {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := append([]string(nil), spec.SaaSHandback(s.Cloud)...)
	sort.Strings(want)
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		return fmt.Errorf("console check of cloud %s checks %v, but the console step hands back %v", s.Cloud, keys, want)
	}
	var lits []string
	for k, v := range expected {
		if v.IsExpr() {
			lits = append(lits, fmt.Sprintf("%q: %s", k, v.Expr))
		} else {
			lits = append(lits, fmt.Sprintf("%q: %s", k, literal(v.Literal)))
		}
	}
	sort.Strings(lits)
	in := map[string]plan.Value{
		"cloud":    plan.Lit(s.Cloud),
		"data":     plan.Expr(`steps["console-confirm"].data`),
		"expected": plan.Expr("{" + strings.Join(lits, ", ") + "}"),
	}
	if len(patterns) > 0 {
		m := map[string]any{}
		for k, v := range patterns {
			m[k] = v
		}
		in["patterns"] = plan.Lit(m)
	}
	var comp *plan.Compensation
	if read != "" {
		comp = &plan.Compensation{
			Title:  "Wait until the peering is running (or gone) before it is deleted",
			Action: read, Account: s.Ours.Account, Inputs: readIn, WaitAction: read, Wait: &guard,
		}
	}
	b.add(plan.Step{
		ID: "check-console", Title: "Check the data entered in the " + s.Provider + " console against our peering",
		Action: catalog.EMQXCheckConsole, Inputs: in, Compensation: comp,
		DependsOn: append([]string{"console-confirm"}, from...), Timeout: saasTimeout(s),
	})
	return nil
}

// mqttVerify adds the MQTT verification from a probe in our VPC.
func (b *builder) mqttVerify(s *spec.SaaSPeering, deps ...string) {
	if !s.VerifyEnabled() {
		return
	}
	topic := defaultMQTTTopic
	if s.Verify.Topic != "" {
		topic = s.Verify.Topic
	}
	b.add(plan.Step{
		ID: "verify", Title: "Verify MQTT subscribe/publish to the deployment from our VPC",
		Action: catalog.MQTTVerify,
		Inputs: map[string]plan.Value{
			"address": plan.Lit(s.Verify.Address), "topic": plan.Lit(topic), "clientNetwork": plan.Lit(s.Ours.VPCID),
		},
		DependsOn: deps, Timeout: saasTimeout(s),
		Probe: &plan.Probe{Account: s.Ours.Account, Network: s.Ours.VPCID},
	})
}

// connectorVerify adds the verification of the other direction, the one
// our security-group rule admits: the deployment's REST API probes a
// connector to a resource of ours (EMQX: POST /api/v5/connectors_probe),
// dialing from the deployment's network. It runs on the worker (the API is
// the deployment's public address), after the rule and routes.
func (b *builder) connectorVerify(s *spec.SaaSPeering, deps ...string) {
	if !s.ConnectorProbeEnabled() {
		return
	}
	c := s.Verify.Connector
	typ, target := s.ConnectorProbe()
	name := strings.Trim(truncate("topoflow-"+b.doc.Metadata.Name, 64), "-_")
	in := map[string]plan.Value{"type": plan.Lit(typ), "target": plan.Lit(target), "name": plan.Lit(name)}
	if c.ConnectTimeout != "" {
		in["connectTimeout"] = plan.Lit(c.ConnectTimeout)
	}
	timeout := saasTimeout(s)
	if timeout == 0 {
		timeout = plan.D(connectorVerifyBudget)
	}
	b.add(plan.Step{
		ID: "verify-connector", Title: fmt.Sprintf("Verify the deployment reaches %s (%s) in our VPC through its connector probe", target, typ),
		Action: catalog.EMQXProbeConnector, Account: c.Account, Inputs: in,
		DependsOn: deps, Timeout: timeout,
	})
}

// emqxHuawei compiles runbook 003 华为云: the peering request to the EMQX
// project and VPC (step 3), the EMQX console confirmation with the peering
// ID, our VPC CIDR, VPC ID and user ID (steps 4-6, a manual step whose data
// is checked), the peering active, the route to the deployment CIDR with the
// peering as next hop in our VPC's route table (step 7), the security-group
// rule for the deployment CIDR (step 8), and an MQTT verification.
func (b *builder) emqxHuawei(s *spec.SaaSPeering) error {
	o, d := &s.Ours, &s.Provided
	timeout := saasTimeout(s)
	b.saasApproval(s)
	b.add(plan.Step{
		ID: "create-peering", Title: fmt.Sprintf("Request a VPC peering from %s to the EMQX project %s, VPC %s", o.VPCID, d.AccountID, d.VPCID),
		Action: catalog.HuaweiVPCCreatePeering, Account: o.Account,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Lit(o.VPCID), "peerVpcId": plan.Lit(d.VPCID), "peerProjectId": plan.Lit(d.AccountID),
			"name": plan.Lit(b.saasPeeringName()),
		},
		DependsOn: []string{"approve-peering"}, Timeout: timeout,
	})
	peering := plan.Expr(`steps["create-peering"].peeringId`)
	b.consoleStep(s, fmt.Sprintf(
		"In the EMQX Platform console (deployment detail, +VPC peering), enter: 对等连接 ID = the peering ID shown in this step's inputs, "+
			"VPC 网段 = `%s`, VPC ID = `%s`, 用户 ID = your Huawei user ID (我的凭证), and confirm. "+
			"Complete this step with data {peeringId, vpcCidr, vpcId, userId} exactly as entered there.", o.CIDR, o.VPCID),
		map[string]plan.Value{"peeringId": peering, "vpcCidr": plan.Lit(o.CIDR), "vpcId": plan.Lit(o.VPCID)},
		"create-peering")
	readIn := map[string]plan.Value{"peeringId": plan.Expr("input.expected.peeringId")}
	// VpcPeeringStatusEnum (services/vpc/v2/model/model_vpc_peering.go): PENDING_ACCEPTANCE until the
	// EMQX project accepts; every other state is final.
	guard := plan.Wait{Pending: []string{"PENDING_ACCEPTANCE"}, Target: []string{"ACTIVE", "REJECTED", "EXPIRED", "DELETED"}, Gone: true,
		PollInterval: plan.D(5 * time.Second), Timeout: plan.D(consoleSettle)}
	if err := b.checkConsole(s, map[string]plan.Value{"peeringId": peering, "vpcCidr": plan.Lit(o.CIDR), "vpcId": plan.Lit(o.VPCID)},
		// Huawei user IDs are 32 hex digits (IAM KeystoneShowUser id).
		map[string]string{"userId": `^[0-9a-f]{32}$`}, catalog.HuaweiVPCGetPeering, readIn, guard); err != nil {
		return err
	}
	b.waitPeeringActive(s, "ACTIVE", catalog.HuaweiVPCGetPeering, peering, true)
	b.add(plan.Step{
		ID: "route-to-deployment", Title: fmt.Sprintf("Route %s from our VPC through the peering", d.CIDR),
		Action: catalog.HuaweiVPCAddRoute, Account: o.Account,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Lit(o.VPCID), "destination": plan.Lit(d.CIDR), "nexthop": peering,
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.openSecurityGroup(s, catalog.HuaweiVPCAddSecurityGroupRule, map[string]plan.Value{
		"securityGroupId": plan.Lit(o.SecurityGroupID), "direction": plan.Lit("ingress"), "protocol": plan.Lit("tcp"),
		"port": plan.Expr("port"), "cidr": plan.Lit(d.CIDR), "description": plan.Lit(b.saasDescription(s)),
	}, "wait-peering-active")
	b.saasFinish(s, "route-to-deployment", map[string]plan.Value{"peeringId": peering})
	return nil
}

// emqxAWS compiles runbook 003 AWS: the peering request to the EMQX
// account and deployment VPC in this region (step 2), the EMQX console
// confirmation with the peering ID, our account ID and VPC (steps 3-4, a
// manual step whose data is checked), the peering active, the route to the
// deployment CIDR through the peering in each of our route tables (step 5),
// the security-group rule (step 6), and an MQTT verification.
func (b *builder) emqxAWS(s *spec.SaaSPeering) error {
	o, d := &s.Ours, &s.Provided
	timeout := saasTimeout(s)
	b.saasApproval(s)
	b.add(plan.Step{
		ID: "create-peering", Title: fmt.Sprintf("Request a VPC peering from %s to the EMQX account %s, VPC %s", o.VPCID, d.AccountID, d.VPCID),
		Action: catalog.AWSEC2CreateVpcPeering, Account: o.Account,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Lit(o.VPCID), "peerVpcId": plan.Lit(d.VPCID), "peerOwnerId": plan.Lit(d.AccountID),
			"name": plan.Lit(b.saasPeeringName()),
		},
		DependsOn: []string{"approve-peering"}, Timeout: timeout,
	})
	peering := plan.Expr(`steps["create-peering"].peeringId`)
	b.add(plan.Step{
		ID: "wait-peering-pending", Title: "Wait until the peering awaits EMQX Platform's acceptance",
		Action: catalog.AWSEC2DescribeVpcPeering, Account: o.Account,
		Inputs: map[string]plan.Value{"peeringId": peering},
		Wait: saasWait(s, catalog.AWSEC2DescribeVpcPeering, func(w *plan.Wait) {
			w.Pending = []string{"initiating-request"}
			w.Target = []string{"pending-acceptance", "provisioning", "active"}
		}),
		DependsOn: []string{"create-peering"},
	})
	b.consoleStep(s, fmt.Sprintf(
		"In the EMQX Platform console (deployment detail, +VPC peering), enter: 对等连接 ID = the peering ID shown in this step's inputs, "+
			"账户 ID = our account ID shown in the inputs (请求方拥有者 ID), VPC ID = `%s` (请求者 VPC), and confirm. "+
			"Complete this step with data {peeringId, accountId, vpcId} exactly as entered there.", o.VPCID),
		map[string]plan.Value{"peeringId": peering, "accountId": plan.Expr(`steps["create-peering"].requesterOwnerId`), "vpcId": plan.Lit(o.VPCID)},
		"wait-peering-pending")
	// Deleting while the accepter provisions the peering: wait out provisioning
	// (terraform-provider-aws internal/service/ec2/wait.go waitVPCPeeringConnectionActive pending states).
	guard := plan.Wait{Pending: []string{"initiating-request", "pending-acceptance", "provisioning"},
		Target: []string{"active", "rejected", "expired", "failed", "deleted", "deleting"}, Gone: true,
		PollInterval: plan.D(5 * time.Second), Timeout: plan.D(consoleSettle)}
	if err := b.checkConsole(s, map[string]plan.Value{"peeringId": peering, "accountId": plan.Expr(`steps["create-peering"].requesterOwnerId`), "vpcId": plan.Lit(o.VPCID)},
		nil, catalog.AWSEC2DescribeVpcPeering, map[string]plan.Value{"peeringId": plan.Expr("input.expected.peeringId")}, guard); err != nil {
		return err
	}
	b.waitPeeringActive(s, "active", catalog.AWSEC2DescribeVpcPeering, peering, false)
	b.add(plan.Step{
		ID: "route-to-deployment", Title: fmt.Sprintf("Route %s from our route tables through the peering", d.CIDR),
		Action: catalog.AWSEC2CreateRoute, Account: o.Account,
		ForEach: &plan.ForEach{Items: literalList(o.RouteTableIDs), As: "routeTable", Key: "routeTable"},
		Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit(d.CIDR), "peeringId": peering,
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.openSecurityGroup(s, catalog.AWSEC2AuthorizeIngress, map[string]plan.Value{
		"groupId": plan.Lit(o.SecurityGroupID), "protocol": plan.Lit("tcp"), "port": plan.Expr("port"),
		"cidr": plan.Lit(d.CIDR), "description": plan.Lit(b.saasDescription(s)),
	}, "wait-peering-active")
	b.saasFinish(s, "route-to-deployment", map[string]plan.Value{"peeringId": peering})
	return nil
}

// emqxAlibaba compiles runbook 003 阿里云: our VPC, the initiator, requests a
// cross-account peering to the EMQX receiver account and VPC (接收端账号 ID,
// 接收端实例: steps 1-3), the EMQX console step where the person enters our
// VPC as 发起端实例 and EMQX accepts (step 4, a manual step whose data is
// checked), the peering Activated, a custom route entry to the deployment
// CIDR with the peering as next hop in each of our route tables (step 5),
// the security-group ingress rule for the deployment CIDR (step 6), and an
// MQTT verification.
func (b *builder) emqxAlibaba(s *spec.SaaSPeering) error {
	o, d := &s.Ours, &s.Provided
	timeout := saasTimeout(s)
	b.saasApproval(s)
	b.add(plan.Step{
		ID: "create-peering", Title: fmt.Sprintf("Request a VPC peering from %s to the EMQX account %s, VPC %s", o.VPCID, d.AccountID, d.VPCID),
		Action: catalog.AlibabaVpcPeerCreatePeering, Account: o.Account,
		Inputs: map[string]plan.Value{
			"vpcId": plan.Lit(o.VPCID), "acceptingAccountId": plan.Lit(d.AccountID), "acceptingVpcId": plan.Lit(d.VPCID),
			"acceptingRegion": plan.Lit(d.Region), "name": plan.Lit(b.saasPeeringName()), "description": plan.Lit(b.saasDescription(s)),
		},
		DependsOn: []string{"approve-peering"}, Timeout: timeout,
	})
	peering := plan.Expr(`steps["create-peering"].peeringId`)
	// The deletion guard (runbook 003 删除对等连接: only from 运行中): a rollback
	// waits until no operation runs on the peering (Creating, Updating: EMQX
	// accepting it), as DeleteVpcPeerConnection refuses it meanwhile
	// (IncorrectStatus.VpcPeer, https://help.aliyun.com/document_detail/426098.html).
	guard := plan.Wait{Pending: []string{"Creating", "Updating"},
		Target: []string{"Accepting", "Activated", "Rejected", "Expired", "Deleting", "Deleted"}, Gone: true,
		PollInterval: plan.D(5 * time.Second), Timeout: plan.D(consoleSettle)}
	b.add(plan.Step{
		ID: "wait-peering-accepting", Title: "Wait until the peering request awaits EMQX Platform (Accepting)",
		Action: catalog.AlibabaVpcPeerGetPeering, Account: o.Account,
		Inputs: map[string]plan.Value{"peeringId": peering},
		Wait: saasWait(s, catalog.AlibabaVpcPeerGetPeering, func(w *plan.Wait) {
			w.Pending = []string{"Creating"}
			w.Target = []string{"Accepting", "Updating", "Activated"}
			w.Timeout = plan.D(defaultWaitTimeout)
		}),
		Compensation: &plan.Compensation{
			Title:  "Wait until the peering is running (or gone) before it is deleted",
			Action: catalog.AlibabaVpcPeerGetPeering, Account: o.Account, Inputs: map[string]plan.Value{"peeringId": plan.Expr("input.peeringId")},
			WaitAction: catalog.AlibabaVpcPeerGetPeering, Wait: &guard,
		},
		DependsOn: []string{"create-peering"},
	})
	b.consoleStep(s, fmt.Sprintf(
		"In the EMQX Platform console (deployment detail, +VPC 对等连接), click 完成配置进入下一步 and enter 发起端实例 = `%s` "+
			"(our VPC; the peering request shown in this step's inputs awaits EMQX), then click 完成并配置路由. "+
			"Complete this step with data {vpcId} exactly as entered there.", o.VPCID),
		map[string]plan.Value{"peeringId": peering, "vpcId": plan.Lit(o.VPCID)},
		"wait-peering-accepting")
	if err := b.checkConsole(s, map[string]plan.Value{"vpcId": plan.Lit(o.VPCID)}, nil, "", nil, plan.Wait{}); err != nil {
		return err
	}
	b.waitPeeringActive(s, "Activated", catalog.AlibabaVpcPeerGetPeering, peering, true)
	b.add(plan.Step{
		ID: "route-to-deployment", Title: fmt.Sprintf("Add the custom route entry %s → the peering to our route tables", d.CIDR),
		Action: catalog.AlibabaVpcCreateRouteEntry, Account: o.Account,
		ForEach: &plan.ForEach{Items: literalList(o.RouteTableIDs), As: "routeTable", Key: "routeTable"},
		Inputs: map[string]plan.Value{
			"routeTableId": plan.Expr("routeTable"), "destination": plan.Lit(d.CIDR), "peeringId": peering,
		},
		DependsOn: []string{"wait-peering-active", "create-peering"}, Timeout: timeout,
	})
	b.openSecurityGroup(s, catalog.AlibabaEcsAuthorizeSecurityGroup, map[string]plan.Value{
		"securityGroupId": plan.Lit(o.SecurityGroupID), "sourceCidr": plan.Lit(d.CIDR), "protocol": plan.Lit("TCP"),
		"portRange": plan.Expr(`string(port) + "/" + string(port)`),
	}, "wait-peering-active")
	b.saasFinish(s, "route-to-deployment", map[string]plan.Value{"peeringId": peering})
	return nil
}

// emqxTencent compiles runbook 003 腾讯云: a CCN (云联网) with our VPC
// attached (steps 1-3), the EMQX console step where the person enters the
// CCN ID and our account ID (step 4, a manual step whose data is checked:
// EMQX then asks to attach its VPC to our CCN), our approval of that request
// within the runbook's 10 minutes (step 5: the wait for the request and
// acceptAttachCcnInstance), the attachment ACTIVE, the security-group policy
// for the deployment CIDR (step 7), and an MQTT verification.
func (b *builder) emqxTencent(s *spec.SaaSPeering) error {
	o, d := &s.Ours, &s.Provided
	timeout := saasTimeout(s)
	b.saasApproval(s)
	b.add(plan.Step{
		ID: "create-ccn", Title: "Create the CCN (云联网) our VPC and the EMQX deployment's VPC attach to",
		Action: catalog.TencentVpcCreateCcn, Account: o.Account,
		Inputs:    map[string]plan.Value{"name": plan.Lit(tencentCcnName(b.saasPeeringName())), "description": plan.Lit(truncate(b.saasDescription(s), 60))},
		DependsOn: []string{"approve-peering"}, Timeout: timeout,
	})
	ccn := plan.Expr(`steps["create-ccn"].ccnId`)
	b.add(plan.Step{
		ID: "attach-ours", Title: fmt.Sprintf("Attach our VPC %s to the CCN", o.VPCID),
		Action: catalog.TencentVpcAttachCcnInstance, Account: o.Account,
		Inputs:    map[string]plan.Value{"ccnId": ccn, "vpcId": plan.Lit(o.VPCID), "region": plan.Lit(s.OurRegion())},
		DependsOn: []string{"create-ccn"}, Timeout: timeout,
	})
	uin := plan.Expr(`steps["attach-ours"].instanceUin`)
	b.consoleStep(s, fmt.Sprintf(
		"In the EMQX Platform console (deployment detail, +VPC 对等连接), enter our CCN: 对等连接ID = the CCN ID shown in this step's inputs (ccnId), "+
			"账户ID = our account ID shown in the inputs (accountId, the CCN's account), and note the VPC ID it shows (部署 VPC ID, `%s`); confirm. "+
			"EMQX then asks to attach its VPC to our CCN: the request approves it itself, within the runbook's 10 minutes. "+
			"Complete this step with data {ccnId, accountId, vpcId} exactly as entered and shown there.", d.VPCID),
		map[string]plan.Value{"ccnId": ccn, "accountId": uin, "vpcId": plan.Lit(d.VPCID)},
		"attach-ours")
	// The deletion guard (runbook 003 删除对等连接: only from running): a rollback
	// waits until EMQX's attachment is no longer being attached (ATTACHING),
	// as DetachCcnInstances is refused meanwhile (catalog tencent.vpc.detachCcnInstance).
	guard := plan.Wait{StatusPath: "state", Pending: []string{"ATTACHING"},
		Target:       []string{"NONE", "PENDING", "ACTIVE", "REJECTED", "EXPIRED", "FAILED", "DETACHING"},
		PollInterval: plan.D(5 * time.Second), Timeout: plan.D(consoleSettle)}
	if err := b.checkConsoleAfter(s, map[string]plan.Value{"ccnId": ccn, "accountId": uin, "vpcId": plan.Lit(d.VPCID)}, nil,
		catalog.TencentVpcDescribeCcnAttachment, map[string]plan.Value{"ccnId": plan.Expr("input.expected.ccnId"), "vpcId": plan.Expr("input.expected.vpcId")},
		guard, "create-ccn", "attach-ours"); err != nil {
		return err
	}
	attachIn := map[string]plan.Value{"ccnId": ccn, "vpcId": plan.Lit(d.VPCID), "region": plan.Lit(d.Region)}
	// Runbook 003 腾讯云 step 5: 您需要在 10 分钟内完成 … 否则将视为失败: the wait's
	// deadline is the window (EXPIRED fails it at once).
	b.add(plan.Step{
		ID: "wait-emqx-request", Title: fmt.Sprintf("Wait for EMQX's request to attach its VPC %s (PENDING, within 10 minutes)", d.VPCID),
		Action: catalog.TencentVpcDescribeCcnAttachment, Account: o.Account, Inputs: attachIn,
		Wait: saasWait(s, catalog.TencentVpcDescribeCcnAttachment, func(w *plan.Wait) {
			w.Timeout = plan.D(10 * time.Minute)
		}),
		DependsOn: []string{"check-console", "create-ccn"},
	})
	b.add(plan.Step{
		ID: "accept-emqx", Title: fmt.Sprintf("Approve EMQX's request to attach VPC %s to our CCN", d.VPCID),
		// Only EMQX's own request is approved (its UIN, deployment.accountId: the
		// account of the attach request, DescribeCcnAttachedInstances InstanceUin).
		Action: catalog.TencentVpcAcceptAttachCcn, Account: o.Account, Inputs: withInput(attachIn, "requesterUin", plan.Lit(d.AccountID)),
		DependsOn: []string{"wait-emqx-request", "create-ccn"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "wait-attachment-active", Title: "Wait until the deployment's VPC is attached (ACTIVE)",
		Action: catalog.TencentVpcDescribeCcnAttachment, Account: o.Account, Inputs: attachIn,
		Wait: saasWait(s, catalog.TencentVpcDescribeCcnAttachment, func(w *plan.Wait) {
			w.Pending = []string{"PENDING", "ATTACHING"}
			w.Target = []string{"ACTIVE"}
		}),
		DependsOn: []string{"accept-emqx", "create-ccn"},
	})
	b.openSecurityGroup(s, catalog.TencentVpcCreateSGPolicy, map[string]plan.Value{
		"securityGroupId": plan.Lit(o.SecurityGroupID), "sourceCidr": plan.Lit(d.CIDR), "protocol": plan.Lit("TCP"),
		"port": plan.Expr("string(port)"),
	}, "wait-attachment-active")
	b.saasFinish(s, "wait-attachment-active", map[string]plan.Value{"ccnId": ccn})
	return nil
}

// waitPeeringActive adds the wait until EMQX Platform has accepted our
// peering (state: the cloud's name of active), after the console check;
// ownTimeout gives the wait the default timeout instead of the spec's.
func (b *builder) waitPeeringActive(s *spec.SaaSPeering, state, action string, peering plan.Value, ownTimeout bool) {
	var adjust func(w *plan.Wait)
	if ownTimeout {
		adjust = func(w *plan.Wait) { w.Timeout = plan.D(defaultWaitTimeout) }
	}
	b.add(plan.Step{
		ID: "wait-peering-active", Title: "Wait until EMQX Platform has accepted the peering (" + state + ")",
		Action: action, Account: s.Ours.Account,
		Inputs:    map[string]plan.Value{"peeringId": peering},
		Wait:      saasWait(s, action, adjust),
		DependsOn: []string{"check-console", "create-peering"},
	})
}

// openSecurityGroup adds the step that admits the deployment's CIDR on each
// of our ports in our security group, once after is done: action with the
// cloud's inputs (the item is port).
func (b *builder) openSecurityGroup(s *spec.SaaSPeering, action string, inputs map[string]plan.Value, after string) {
	o, d := &s.Ours, &s.Provided
	b.add(plan.Step{
		ID: "open-security-group", Title: fmt.Sprintf("Allow TCP %s from the deployment %s in security group %s", ports(o.Ports), d.CIDR, o.SecurityGroupID),
		Action: action, Account: o.Account,
		ForEach:   &plan.ForEach{Items: literal(o.Ports), As: "port", Key: "string(port)"},
		Inputs:    inputs,
		DependsOn: []string{after}, Timeout: saasTimeout(s),
	})
}

// saasFinish adds both verifications, once the route (routed: the step that
// makes the deployment reachable) and the security group are in place, and
// sets the plan's outputs.
func (b *builder) saasFinish(s *spec.SaaSPeering, routed string, outputs map[string]plan.Value) {
	b.mqttVerify(s, routed, "open-security-group")
	b.connectorVerify(s, routed, "open-security-group")
	b.p.Outputs = outputs
}

// withInput returns a copy of in with k set to v.
func withInput(in map[string]plan.Value, k string, v plan.Value) map[string]plan.Value {
	out := make(map[string]plan.Value, len(in)+1)
	for key, val := range in {
		out[key] = val
	}
	out[k] = v
	return out
}

// tencentCcnName bounds a CCN name to 60 characters (vpc/v20170312 CreateCcnRequest.CcnName).
func tencentCcnName(n string) string { return strings.TrimRight(truncate(n, 60), "-") }

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// saasDetails writes the plan's Markdown details.
func (b *builder) saasDetails(s *spec.SaaSPeering, info spec.SaaSCloudInfo) {
	var d strings.Builder
	if b.doc.Metadata.Description != "" {
		fmt.Fprintf(&d, "%s\n\n", b.doc.Metadata.Description)
	}
	fmt.Fprintf(&d, "**Ours**: VPC %s (account `%s`, %s, region `%s`)  \n**Deployment**: VPC %s (account `%s`, %s, region `%s`)  \n**Method**: %s\n\n",
		s.Ours.VPCID, s.Ours.Account, s.Ours.CIDR, s.OurRegion(), s.Provided.VPCID, s.Provided.AccountID, s.Provided.CIDR, s.Provided.Region, info.Title)
	for i, st := range b.p.Steps {
		fmt.Fprintf(&d, "%d. %s", i+1, st.Title)
		if st.Gate != nil {
			fmt.Fprintf(&d, " — waits for %s", strings.Join(st.Gate.Who, ", "))
		}
		d.WriteString("\n")
	}
	b.p.Details = d.String()
}
