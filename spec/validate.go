package spec

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// validator runs the semantic checks of a structurally valid document.
type validator struct {
	d   *decoder
	doc *Document
}

// node returns the node at path, or the nearest ancestor's.
func (v *validator) node(path string) *yaml.Node {
	for p := path; ; {
		if n, ok := v.d.nodes[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return v.d.nodes[""]
		}
		p = p[:i]
	}
}

// key returns the key node at path (falling back to the value node).
func (v *validator) key(path string) *yaml.Node {
	if k, ok := v.d.keys[path]; ok {
		return k
	}
	return v.node(path)
}

func (v *validator) errorf(path string, format string, a ...any) {
	v.d.errorf(v.node(path), format, a...)
}

func (v *validator) has(path string) bool { _, ok := v.d.nodes[path]; return ok }

func (v *validator) validate() {
	switch {
	case v.doc.KafkaAccess != nil:
		v.kafkaAccess(v.doc.KafkaAccess)
		v.kafkaAccessPolicy(v.doc.KafkaAccess)
		v.concurrency("spec.maxParallel", v.doc.KafkaAccess.MaxParallel)
	case v.doc.SaaSPeering != nil:
		v.saasPeering(v.doc.SaaSPeering)
		v.saasPeeringPolicy(v.doc.SaaSPeering)
	case v.doc.Workflow != nil:
		v.workflow(v.doc.Workflow)
		v.concurrency("spec.maxParallel", v.doc.Workflow.MaxParallel)
		for i, st := range v.doc.Workflow.Steps {
			if st.ForEach != nil {
				v.concurrency(fmt.Sprintf("spec.steps[%d].forEach.concurrency", i), st.ForEach.Concurrency)
			}
		}
	}
}

// concurrency checks a bound on what runs at once (plan.MaxConcurrency:
// below Temporal's 2,000 pending activities per workflow).
func (v *validator) concurrency(path string, n int) {
	if n > plan.MaxConcurrency {
		key := path[strings.LastIndex(path, ".")+1:]
		v.errorf(path, "%s %d is above %d (Temporal refuses more than 2,000 pending activities in one workflow): use 1..%d, or leave it out for the default", key, n, plan.MaxConcurrency, plan.MaxConcurrency)
	}
}

// accountProvider checks that the account at path belongs to one of the providers.
func (v *validator) accountProvider(path, name string, want ...string) {
	if v.d.opts.Accounts == nil || name == "" {
		return
	}
	got, ok := v.d.opts.Accounts(name)
	if !ok {
		return // reported by the decoder
	}
	for _, w := range want {
		if got == w {
			return
		}
	}
	field := strings.TrimPrefix(path, "spec.")
	if i := strings.Index(field, "]."); i >= 0 {
		field = "step " + field[i+2:]
	}
	v.errorf(path, "account %q is a %s account; %s must be a %s account", name, got, field, strings.Join(want, " or "))
}

func (v *validator) require(path string, missing bool, why string) {
	if missing {
		i := strings.LastIndexByte(path, '.')
		v.d.errorf(v.node(path[:i]), "missing required key %q in %s: %s", path[i+1:], lastKey(path[:i]), why)
	}
}

func (v *validator) kafkaAccess(s *KafkaAccess) {
	supported, known := Methods[s.Kafka.Provider]
	if !known || !isMethod(s.Method) {
		return // reported by the decoder (enum)
	}
	ok := false
	for _, m := range supported {
		if m == s.Method {
			ok = true
		}
	}
	if !ok {
		v.errorf("spec.method", "method %q is not supported for provider %q (supported: %s)", s.Method, s.Kafka.Provider, strings.Join(supported, ", "))
		return
	}
	crossAccount := s.Client.Account != s.Kafka.Account
	v.accountProvider("spec.kafka.account", s.Kafka.Account, s.Kafka.Provider)
	v.accountProvider("spec.client.account", s.Client.Account, s.Kafka.Provider)

	// Settings blocks must match the method.
	blocks := []struct {
		path    string
		set     bool
		methods []string
	}{
		{"spec.vpcEndpoint", s.VPCEndpoint != nil, []string{MethodVPCEndpoint}},
		{"spec.peering", s.Peering != nil, []string{MethodVPCPeering, MethodVNetPeering}},
		{"spec.privateLink", s.PrivateLink != nil, []string{MethodPrivateLink}},
		{"spec.mskMultiVpc", s.MSKMultiVPC != nil, []string{MethodMSKMultiVPC}},
		{"spec.transitGateway", s.TransitGateway != nil, []string{MethodTransitGateway}},
	}
	for _, b := range blocks {
		if !b.set {
			continue
		}
		match := false
		for _, m := range b.methods {
			match = match || m == s.Method
		}
		if !match {
			v.d.errorf(v.key(b.path), "%s settings are only used with method %s, not %s", lastKey(b.path), strings.Join(b.methods, " or "), s.Method)
		}
	}
	if s.Ambari != nil && s.Kafka.Provider != ProviderAzure {
		v.d.errorf(v.key("spec.ambari"), "ambari settings are only used with provider azure")
	}

	k, c := &s.Kafka, &s.Client
	switch s.Kafka.Provider {
	case ProviderHuawei:
		v.require("spec.kafka.instanceId", k.InstanceID == "", "the DMS Kafka instance to reach")
		for _, f := range []struct {
			path string
			set  bool
		}{{"spec.kafka.clusterArn", k.ClusterARN != ""}, {"spec.kafka.cluster", k.Cluster != ""}} {
			if f.set {
				v.d.errorf(v.key(f.path), "%s is not used with provider huawei (use instanceId)", lastKey(f.path))
			}
		}
	case ProviderAWS:
		v.require("spec.kafka.clusterArn", k.ClusterARN == "", "the MSK cluster to reach")
		if k.ClusterARN != "" && !strings.HasPrefix(k.ClusterARN, "arn:") {
			v.errorf("spec.kafka.clusterArn", "clusterArn %q is not an ARN (arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID)", k.ClusterARN)
		}
		if k.InstanceID != "" {
			v.d.errorf(v.key("spec.kafka.instanceId"), "instanceId is not used with provider aws (use clusterArn)")
		}
	case ProviderAzure:
		v.require("spec.kafka.cluster", k.Cluster == "", "the HDInsight cluster name")
		v.require("spec.kafka.resourceGroup", k.ResourceGroup == "", "the cluster's resource group")
		v.require("spec.kafka.vnet", k.VNet == "", "the cluster's VNet")
		if s.Ambari == nil {
			v.d.errorf(v.node("spec"), "missing required key %q in spec: Kafka on HDInsight advertises IPs through Ambari; name the Ambari account", "ambari")
		} else {
			v.accountProvider("spec.ambari.account", s.Ambari.Account, ProviderAmbari)
		}
	}

	switch s.Method {
	case MethodVPCEndpoint:
		v.require("spec.client.vpcId", c.VPCID == "", "endpoints are created in the client VPC")
		v.require("spec.client.subnetId", c.SubnetID == "", "endpoints are created in the client subnet")
		// The gate runs before the whitelist (acceptance whitelist, across
		// accounts) or before the owner's accept (acceptance provider);
		// vpcEndpoint.approval: false skips it.
		acceptance := s.VPCEndpointAcceptance()
		optOut := s.VPCEndpoint != nil && s.VPCEndpoint.Approval != nil && !*s.VPCEndpoint.Approval
		if s.VPCEndpoint != nil && s.VPCEndpoint.Acceptance != "" && s.VPCEndpoint.Approval != nil && *s.VPCEndpoint.Approval != (acceptance == AcceptanceProvider) {
			v.errorf("spec.vpcEndpoint.approval", "vpcEndpoint.approval: %t contradicts vpcEndpoint.acceptance: %s; remove approval (acceptance provider means the owner accepts each endpoint)", *s.VPCEndpoint.Approval, acceptance)
		}
		approval := acceptance == AcceptanceProvider || (crossAccount && !optOut)
		if approval && s.Approval == nil {
			v.d.errorf(v.node("spec"), "missing required key %q in spec: endpoint connections need the Kafka owner's approval (the client is in account %q, the Kafka in %q); list the approvers, or set vpcEndpoint.approval: false", "approval", c.Account, k.Account)
		}
		if optOut && s.Approval != nil {
			// A given approval always yields a gate (in the Kafka's account too); only the explicit opt-out contradicts it.
			v.d.errorf(v.key("spec.approval"), "approval is set but vpcEndpoint.approval: false skips the approval gate; remove one of them")
		}
	case MethodVPCPeering:
		v.require("spec.client.vpcId", c.VPCID == "", "the VPC to peer with")
		v.require("spec.client.cidr", c.CIDR == "", "routed to and opened for the client")
		v.require("spec.kafka.cidr", k.CIDR == "", "routed from the client VPC")
		if s.Kafka.Provider == ProviderAWS {
			v.require("spec.client.routeTableIds", len(c.RouteTableIDs) == 0, "they get a route to the Kafka VPC")
			v.require("spec.kafka.routeTableIds", len(k.RouteTableIDs) == 0, "they get a route to the client VPC")
			v.require("spec.kafka.vpcId", k.VPCID == "", "the MSK cluster's VPC")
		}
		v.requireApproval(s, crossAccount)
	case MethodSameVPC:
		v.require("spec.client.cidr", c.CIDR == "" && c.SecurityGroupID == "", "opened in the brokers' security group (or give client.securityGroupId: the clients' group)")
		if crossAccount {
			v.errorf("spec.client.account", "method sameVpc needs the client in the Kafka's account %q (a VPC belongs to one account); use vpcPeering, privateLink or mskMultiVpc", k.Account)
		}
		if c.Region != "" && k.Region != "" && c.Region != k.Region {
			v.errorf("spec.client.region", "method sameVpc needs the client in the Kafka's region %q", k.Region)
		}
		v.requireApproval(s, false)
	case MethodPrivateLink:
		v.require("spec.kafka.cidr", k.CIDR == "", "the brokers' VPC CIDR: the load balancers reach the brokers from it, so it is opened on the broker port in the brokers' security group")
		if pl := s.PrivateLink; pl != nil && len(pl.LoadBalancerARNs) > 0 {
			v.errorf("spec.privateLink.loadBalancerArns", "privateLink.loadBalancerArns is not supported: remove it. Topoflow creates one network load balancer per broker, with a private hosted zone mapping the broker names to their endpoints (an NLB shared by the brokers cannot work: clients follow the brokers' b-N...amazonaws.com names)")
		}
		if pl := s.PrivateLink; pl != nil && len(pl.Ports) > 0 {
			v.errorf("spec.privateLink.ports", "privateLink.ports is not supported: remove it. Each broker keeps its own port behind its own endpoint")
		}
		v.require("spec.client.vpcId", c.VPCID == "", "the interface endpoint is created in it")
		v.require("spec.client.subnetIds", len(c.SubnetIDs) == 0, "the interface endpoint's subnets")
		if c.Region != "" && k.Region != "" && c.Region != k.Region {
			v.errorf("spec.client.region", "PrivateLink endpoints must be in the service's region %q", k.Region)
		}
		acceptance := true
		if s.PrivateLink != nil && s.PrivateLink.AcceptanceRequired != nil {
			acceptance = *s.PrivateLink.AcceptanceRequired
		}
		if acceptance && s.Approval == nil {
			v.d.errorf(v.node("spec"), "missing required key %q in spec: the endpoint connection must be accepted by the Kafka owner; list the approvers, or set privateLink.acceptanceRequired: false", "approval")
		}
	case MethodMSKMultiVPC:
		v.require("spec.client.vpcId", c.VPCID == "", "the VPC connection is created in it")
		v.require("spec.client.subnetIds", len(c.SubnetIDs) == 0, "the VPC connection's subnets")
		v.require("spec.client.securityGroupId", c.SecurityGroupID == "", "the VPC connection's security group")
		if c.Region != "" && k.Region != "" && c.Region != k.Region {
			v.errorf("spec.client.region", "MSK multi-VPC connectivity needs the client in the cluster's region %q; use vpcPeering across regions", k.Region)
		}
		v.requireApproval(s, crossAccount)
	case MethodTransitGateway:
		v.require("spec.transitGateway", s.TransitGateway == nil, "the transit gateway to attach the MSK VPC to")
		v.require("spec.client.onPremCidr", c.OnPremCIDR == "", "the on-premises range routed to Kafka")
		v.require("spec.kafka.vpcId", k.VPCID == "", "the MSK cluster's VPC is attached to the transit gateway")
		v.require("spec.kafka.routeTableIds", len(k.RouteTableIDs) == 0, "they get a route to the on-premises range")
		if s.TransitGateway != nil {
			v.accountProvider("spec.transitGateway.account", s.TransitGateway.Account, ProviderAWS)
		}
		tgwAccount := c.Account
		if s.TransitGateway != nil && s.TransitGateway.Account != "" {
			tgwAccount = s.TransitGateway.Account
		}
		v.requireApproval(s, tgwAccount != k.Account)
	case MethodVNetPeering:
		v.require("spec.client.resourceGroup", c.ResourceGroup == "", "the client VNet's resource group")
		v.require("spec.client.vnet", c.VNet == "", "the client VNet to peer with")
		v.require("spec.client.cidr", c.CIDR == "", "opened for the client")
		v.requireApproval(s, crossAccount)
		if t := v.d.opts.AzureTenant; t != nil && crossAccount {
			// Across tenants ARM needs auxiliary-tenant tokens, else 403 LinkedAuthorizationFailed
			// (https://learn.microsoft.com/en-us/azure/virtual-network/create-peering-different-subscriptions).
			if kt, ct := t(k.Account), t(c.Account); kt != "" && ct != "" && !strings.EqualFold(kt, ct) {
				v.errorf("spec.client.account", "account %q is in Azure tenant %s but the Kafka's account %q in tenant %s: VNet peering across tenants needs auxiliary-tenant tokens, which Topoflow does not send; use a client account of tenant %s with Network Contributor rights on both VNets", c.Account, ct, k.Account, kt, kt)
			}
		}
	}
	v.unusedKeys(s)
	v.clientSecurityGroup(s)
	v.cidrOverlaps(s)
	if s.Verify != nil && s.Verify.SASL != nil && s.Verify.SASL.Mechanism == "AWS_MSK_IAM" && s.Kafka.Provider != ProviderAWS {
		v.errorf("spec.verify.sasl.mechanism", "mechanism AWS_MSK_IAM only works with provider aws")
	}
	if s.TLSRequired() && s.Verify != nil && s.Verify.TLS != nil && !*s.Verify.TLS {
		v.errorf("spec.verify.tls", "MSK's SASL (9096, 9098) and multi-VPC listeners accept only TLS (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html): remove tls: false (TLS is then used) or set tls: true")
	}
}

func isMethod(m string) bool {
	for _, ms := range Methods {
		for _, x := range ms {
			if x == m {
				return true
			}
		}
	}
	return false
}

// requireApproval reports a missing approval block when the method needs one.
func (v *validator) requireApproval(s *KafkaAccess, needed bool) {
	if needed && s.Approval == nil {
		v.d.errorf(v.node("spec"), "missing required key %q in spec: the connection crosses accounts (client %q, Kafka %q) and the other side must accept it; list the approvers", "approval", s.Client.Account, s.Kafka.Account)
	}
}

// Workflow checks.

func (v *validator) workflow(w *Workflow) {
	ids := map[string]int{}
	for i, st := range w.Steps {
		p := fmt.Sprintf("spec.steps[%d]", i)
		if first, dup := ids[st.ID]; dup {
			v.errorf(p+".id", "duplicate step id %q (first used at line %d)", st.ID, v.node(fmt.Sprintf("spec.steps[%d].id", first)).Line)
			continue
		}
		ids[st.ID] = i
	}
	if len(w.Steps) == 0 {
		v.errorf("spec.steps", "steps must not be empty")
	}
	names := catalog.Names()
	deps := make([][]string, len(w.Steps))
	for i := range w.Steps {
		deps[i] = v.step(w, i, ids, names)
	}
	v.cycles(w, ids, deps)
	v.workflowPolicy(w, ids, deps)
	for _, k := range sortedKeys(w.Outputs) {
		p := "spec.outputs." + k
		e, ok := ExprOf(w.Outputs[k])
		if !ok {
			v.errorf(p, "output %q must be an expression: ${{ ... }}", k)
			continue
		}
		refs, err := plan.ParseRefs(e)
		if err != nil {
			v.errorf(p, "output %q: %v", k, err)
			continue
		}
		if _, err := FoldSpec(e, v.doc.Raw); err != nil {
			v.errorf(p, "output %q: cannot read the spec values of this expression: %v", k, err)
		}
		for _, s := range refs.Steps {
			if _, ok := ids[s]; !ok {
				v.errorf(p, "output %q reads unknown step %q%s", k, s, didYouMean(s, keysOf(ids)))
			}
		}
		for _, r := range refs.Roots {
			if r != plan.RootSpec && r != plan.RootSteps && r != plan.RootMeta {
				v.errorf(p, "output %q uses unknown name %q (outputs may read spec, steps and meta)", k, r)
			}
		}
	}
}

// step checks one workflow step and returns every step it depends on
// (explicit and read by expressions).
func (v *validator) step(w *Workflow, i int, ids map[string]int, names []string) []string {
	st := &w.Steps[i]
	p := fmt.Sprintf("spec.steps[%d]", i)
	isGate := st.Action == plan.ActionApproval || st.Action == plan.ActionManual
	var desc *catalog.Action
	if !isGate {
		if a, ok := catalog.Lookup(st.Action); ok {
			desc = a
		} else {
			v.errorf(p+".action", "unknown action %q%s", st.Action, didYouMean(st.Action, append(names, plan.ActionApproval, plan.ActionManual)))
		}
	}
	if isGate && st.Gate == nil {
		v.d.errorf(v.node(p), "missing required key %q in step %q: an %s step needs who may act", "gate", st.ID, st.Action)
	}
	if !isGate && st.Gate != nil {
		v.d.errorf(v.key(p+".gate"), "gate is only used with action approval or manual, not %q", st.Action)
	}
	if isGate && st.Account != "" {
		v.d.errorf(v.key(p+".account"), "account is not used by %s steps", st.Action)
	}
	if isGate {
		// Gates wait for people: these keys of action steps would be dropped.
		for _, k := range []struct{ key, instead string }{
			{"wait", "a gate waits for people"},
			{"retry", "a gate is not retried"}, {"timeout", "gate.deadline bounds the wait"},
			{"forEach", "one gate covers every item"}, {"locks", "a gate holds no lock"},
		} {
			if v.has(p + "." + k.key) {
				v.d.errorf(v.key(p+"."+k.key), "%s is not used by %s steps (%s); remove it", k.key, st.Action, k.instead)
			}
		}
	}
	if desc != nil {
		switch desc.Provider {
		case ProviderHuawei, ProviderAWS, ProviderAzure, ProviderAmbari:
			if st.Account == "" {
				v.d.errorf(v.node(p), "missing required key %q in step %q: action %q acts in a %s account", "account", st.ID, st.Action, desc.Provider)
			} else {
				v.accountProvider(p+".account", st.Account, desc.Provider)
			}
		}
		if st.Wait != nil && !desc.Read {
			v.d.errorf(v.key(p+".wait"), "wait needs a read action, but %q changes things; poll its get/describe action in a separate step", st.Action)
		}
		if st.Wait != nil && len(st.Wait.Target) == 0 && !st.Wait.Gone && (desc.Wait == nil || len(desc.Wait.Target) == 0) {
			v.d.errorf(v.key(p+".wait"), "wait has no target state and action %q has no default wait contract; set wait.target", st.Action)
		}
		known := map[string]bool{}
		var params []string
		for _, prm := range desc.Inputs {
			known[prm.Name] = true
			params = append(params, prm.Name)
			if _, ok := st.Inputs[prm.Name]; prm.Required && !ok {
				v.d.errorf(v.node(p), "step %q: missing required input %q of action %q", st.ID, prm.Name, st.Action)
			}
		}
		if len(desc.Inputs) > 0 {
			for _, k := range sortedKeys(st.Inputs) {
				if !known[k] {
					v.d.errorf(v.key(p+".inputs."+k), "action %q has no input %q%s", st.Action, k, didYouMean(k, params))
				}
			}
		}
		v.inputTypes(p, st, desc)
	}
	if st.Wait != nil {
		v.waitStates(p+".wait", st.Wait)
	}
	if st.From != nil {
		v.stepFrom(p, st)
	}
	if st.Retry != nil && st.Retry.BackoffCoefficient != 0 && st.Retry.BackoffCoefficient < 1 {
		v.errorf(p+".retry.backoffCoefficient", "backoffCoefficient must be at least 1")
	}
	if c := st.Compensation; c != nil {
		cp := p + ".compensation"
		if c.None && (c.Action != "" || len(c.Inputs) > 0) {
			v.d.errorf(v.key(cp+".none"), "compensation.none cannot be combined with an action or inputs")
		}
		if !c.None && c.Action == "" {
			v.d.errorf(v.node(cp), "missing required key %q in compensation (or set none: true)", "action")
		}
		if c.Action != "" {
			if _, ok := catalog.Lookup(c.Action); !ok {
				v.errorf(cp+".action", "unknown action %q%s", c.Action, didYouMean(c.Action, names))
			}
		}
	}

	// Roots allowed in this step's expressions.
	roots := map[string]bool{plan.RootSpec: true, plan.RootSteps: true, plan.RootMeta: true}
	if st.ForEach != nil {
		as := st.ForEach.As
		if as == "" {
			as = "item"
		}
		roots[as] = true
		roots[plan.RootIndex] = true
	}
	var deps []string
	addDep := func(path, dep string) {
		if dep == st.ID {
			v.errorf(path, "step %q cannot depend on itself", st.ID)
			return
		}
		if _, ok := ids[dep]; !ok {
			v.errorf(path, "unknown step %q%s", dep, didYouMean(dep, keysOf(ids)))
			return
		}
		deps = append(deps, dep)
	}
	for j, dep := range st.DependsOn {
		addDep(fmt.Sprintf("%s.dependsOn[%d]", p, j), dep)
	}
	checkExpr := func(path, code string, extra ...string) {
		refs, err := plan.ParseRefs(code)
		if err != nil {
			v.errorf(path, "%v", err)
			return
		}
		if _, err := FoldSpec(code, v.doc.Raw); err != nil {
			v.errorf(path, "cannot read the spec values of this expression: %v", err)
		}
		for _, s := range refs.Steps {
			addDep(path, s)
		}
		for _, r := range refs.Roots {
			ok := roots[r]
			for _, e := range extra {
				ok = ok || r == e
			}
			if !ok {
				v.errorf(path, "expression uses unknown name %q (known: %s)", r, strings.Join(append(sortedKeys(roots), extra...), ", "))
			}
		}
	}
	if st.ForEach != nil {
		// The items list cannot read the item itself.
		delete(roots, plan.RootIndex)
		as := st.ForEach.As
		if as == "" {
			as = "item"
		}
		delete(roots, as)
		checkExpr(p+".forEach.items", StripExpr(st.ForEach.Items))
		roots[as], roots[plan.RootIndex] = true, true
		if st.ForEach.Key != "" {
			checkExpr(p+".forEach.key", StripExpr(st.ForEach.Key))
		}
	}
	if st.When != "" {
		checkExpr(p+".when", StripExpr(st.When))
	}
	v.walkValues(p+".inputs", st.Inputs, func(path, code string) { checkExpr(path, code) })
	for j, l := range st.Locks {
		if e, ok := ExprOf(l); ok {
			checkExpr(fmt.Sprintf("%s.locks[%d]", p, j), e)
		} else if strings.Contains(l, "${{") {
			v.errorf(fmt.Sprintf("%s.locks[%d]", p, j), "embed expressions as a whole value: ${{ 'kafka:' + spec.inputs.instance }}")
		}
	}
	if c := st.Compensation; c != nil {
		v.walkValues(p+".compensation.inputs", c.Inputs, func(path, code string) {
			checkExpr(path, code, plan.RootInput, plan.RootOutput)
		})
	}
	return deps
}

// walkValues calls fn for every ${{ expression }} in a free-form value tree
// and reports strings that embed an expression in other text.
func (v *validator) walkValues(path string, val any, fn func(path, code string)) {
	switch t := val.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			v.walkValues(path+"."+k, t[k], fn)
		}
	case []any:
		for i, e := range t {
			v.walkValues(fmt.Sprintf("%s[%d]", path, i), e, fn)
		}
	case string:
		if e, ok := ExprOf(t); ok {
			fn(path, e)
		} else if strings.Contains(t, "${{") {
			v.errorf(path, "an expression must be the whole value, e.g. ${{ 'prefix-' + spec.inputs.name }}")
		}
	}
}

func (v *validator) waitStates(p string, w *Wait) {
	seen := map[string]string{}
	for _, g := range []struct {
		name   string
		states []string
	}{{"pending", w.Pending}, {"target", w.Target}, {"failure", w.Failure}} {
		for j, s := range g.states {
			if prev, ok := seen[s]; ok && prev != g.name {
				v.errorf(fmt.Sprintf("%s.%s[%d]", p, g.name, j), "state %q is both %s and %s", s, prev, g.name)
			}
			seen[s] = g.name
		}
	}
}

// cycles reports dependency cycles, once per cycle, at the first step of the cycle in file order.
func (v *validator) cycles(w *Workflow, ids map[string]int, deps [][]string) {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(w.Steps))
	var stack []int
	reported := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for _, d := range deps[i] {
			j, ok := ids[d]
			if !ok {
				continue
			}
			switch color[j] {
			case white:
				visit(j)
			case grey:
				// Cycle: from j to the top of the stack.
				k := len(stack) - 1
				for k >= 0 && stack[k] != j {
					k--
				}
				cyc := append([]int(nil), stack[k:]...)
				start := 0
				for x := range cyc {
					if cyc[x] < cyc[start] {
						start = x
					}
				}
				var names []string
				for x := 0; x < len(cyc); x++ {
					names = append(names, w.Steps[cyc[(start+x)%len(cyc)]].ID)
				}
				names = append(names, names[0])
				msg := "dependency cycle: " + strings.Join(names, " -> ") + " (-> means depends on)"
				if !reported[msg] {
					reported[msg] = true
					v.errorf(fmt.Sprintf("spec.steps[%d].id", cyc[start]), "%s", msg)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range w.Steps {
		if color[i] == white {
			visit(i)
		}
	}
}

func didYouMean(got string, candidates []string) string {
	if best := nearest(got, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func keysOf(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stepFrom checks a step's from: it runs on a probe worker, so only a plain
// action step may have it, and with a registry the account must register a
// probe serving that network.
func (v *validator) stepFrom(p string, st *WorkflowStep) {
	switch {
	case st.Action == plan.ActionApproval || st.Action == plan.ActionManual:
		v.d.errorf(v.key(p+".from"), "from is not used by %s steps: a person acts on them, no worker runs them", st.Action)
		return
	case st.Action != "kafka.verify" && st.Action != catalog.MQTTVerify:
		// A probe worker registers kafka.verify and mqtt.verify alone (topoflow-worker probe).
		v.d.errorf(v.key(p+".from"), "from is only supported on kafka.verify and mqtt.verify steps (probe workers run only those), not %q", st.Action)
		return
	case st.Wait != nil || st.ForEach != nil:
		v.d.errorf(v.key(p+".from"), "from is only supported on a plain action step (no wait or forEach)")
		return
	}
	if v.d.opts.Probes == nil || st.From.Account == "" {
		return
	}
	nets, ok := v.d.opts.Probes(st.From.Account)
	if !ok {
		return // the account format check reports an unknown account
	}
	for _, n := range nets {
		if n == st.From.Network || n == "" {
			return
		}
	}
	at := p + ".from.network"
	if !v.has(at) {
		at = p + ".from"
	}
	served := "none"
	if len(nets) > 0 {
		served = strings.Join(nets, ", ")
	}
	v.errorf(at, "account %s registers no probe for network %q (its probes serve: %s); add {network: %s, taskQueue: ...} under accounts.%s.probes in the account registry, or name a network one of its probes serves",
		st.From.Account, st.From.Network, served, st.From.Network, st.From.Account)
}
