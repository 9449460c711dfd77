package compiler

import (
	"fmt"
	"strings"
	"time"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// Defaults of KafkaAccess specs.
const (
	defaultVPCEPPort     = 9011
	defaultVPCEPCIDR     = "198.19.128.0/17"
	defaultVerifyTopic   = "topoflow-verify"
	defaultApprovalWait  = 7 * 24 * time.Hour
	itemBroker           = "broker"
	peeringNameMaxLength = 63
)

// methodBuilders compile each provider/method pair of spec.MethodTable
// (TestEveryMethodCompiles checks that none is missing).
var methodBuilders = map[string]func(*builder, *spec.KafkaAccess) error{
	spec.ProviderHuawei + "/" + spec.MethodVPCEndpoint: (*builder).huaweiVPCEndpoint,
	spec.ProviderHuawei + "/" + spec.MethodVPCPeering:  (*builder).huaweiPeering,
	spec.ProviderAWS + "/" + spec.MethodSameVPC:        (*builder).awsSameVPC,
	spec.ProviderAWS + "/" + spec.MethodVPCPeering:     (*builder).awsPeering,
	spec.ProviderAWS + "/" + spec.MethodPrivateLink:    (*builder).awsPrivateLink,
	spec.ProviderAWS + "/" + spec.MethodMSKMultiVPC:    (*builder).awsMultiVPC,
	spec.ProviderAWS + "/" + spec.MethodTransitGateway: (*builder).awsTransitGateway,
	spec.ProviderAzure + "/" + spec.MethodVNetPeering:  (*builder).azureVNetPeering,
}

// kafkaAccess compiles a KafkaAccess document.
func (b *builder) kafkaAccess(s *spec.KafkaAccess) error {
	b.p.Provider = s.Kafka.Provider
	if s.OnFailure != "" {
		b.p.OnFailure = plan.FailurePolicy(s.OnFailure)
	}
	b.p.MaxParallel = s.MaxParallel
	b.operatorsAndPolicy(s.Operators, s.Policy)
	var err error
	if build, ok := methodBuilders[s.Kafka.Provider+"/"+s.Method]; ok {
		err = build(b, s)
	} else {
		err = fmt.Errorf("method %q is not supported for provider %q", s.Method, s.Kafka.Provider)
	}
	if err != nil {
		return err
	}
	b.details(s)
	return nil
}

// waitStep is a poll of a read action with its catalog contract, adjusted.
func (b *builder) waitContract(s *spec.KafkaAccess, action string, adjust func(w *plan.Wait)) *plan.Wait {
	w := plan.Wait{PollInterval: plan.D(defaultPollInterval), Timeout: plan.D(defaultWaitTimeout)}
	if d, ok := catalog.Lookup(action); ok && d.Wait != nil {
		w = copyWait(*d.Wait)
	}
	if s.Timeouts != nil {
		if s.Timeouts.Wait != "" {
			w.Timeout = dur(s.Timeouts.Wait)
		}
		if s.Timeouts.PollInterval != "" {
			w.PollInterval = dur(s.Timeouts.PollInterval)
		}
	}
	if adjust != nil {
		adjust(&w)
	}
	return &w
}

// stepTimeout is the spec's bound of each step, if any.
func stepTimeout(s *spec.KafkaAccess) plan.Duration {
	if s.Timeouts != nil {
		return dur(s.Timeouts.Step)
	}
	return 0
}

// gate builds the approval gate of a KafkaAccess spec.
func gate(a *spec.Approval, instructions string) *plan.Gate {
	g := &plan.Gate{Who: append([]string(nil), a.Approvers...), Instructions: instructions,
		Deadline: dur(a.Deadline), OnExpiry: plan.ExpiryPolicy(a.OnExpiry),
		Required: a.Required, AllowSelfApproval: a.AllowSelfApproval}
	if a.Instructions != "" {
		g.Instructions = a.Instructions + "\n\n" + instructions
	}
	if g.OnExpiry == "" {
		g.OnExpiry = plan.ExpireReject
	}
	return g
}

// verifyEnabled reports whether the spec wants the final verification.
func verifyEnabled(s *spec.KafkaAccess) bool {
	return s.Verify == nil || s.Verify.Enabled == nil || *s.Verify.Enabled
}

// verifyStep builds the produce/consume verification step.
func (b *builder) verifyStep(s *spec.KafkaAccess, bootstrap, expect string, deps ...string) {
	if !verifyEnabled(s) {
		return
	}
	in := map[string]plan.Value{
		"bootstrap": plan.Expr(bootstrap),
		"topic":     plan.Lit(defaultVerifyTopic),
		"tls":       plan.Lit(false),
	}
	if expect != "" {
		in["expectAddresses"] = plan.Expr(expect)
	}
	if v := s.Verify; v != nil {
		if v.Topic != "" {
			in["topic"] = plan.Lit(v.Topic)
		}
	}
	// TLS as the spec says, or where the listener accepts nothing else.
	in["tls"] = plan.Lit(s.VerifyTLS())
	account := ""
	if v := s.Verify; v != nil && v.SASL != nil {
		// The worker resolves the SASL credentials from the step's account.
		in["sasl"] = plan.Lit(map[string]any{"mechanism": v.SASL.Mechanism})
		account = v.SASL.Account
	}
	network := s.Client.VPCID
	if s.Verify != nil && s.Verify.ClientNetwork != "" {
		network = s.Verify.ClientNetwork
	}
	if network != "" {
		in["clientNetwork"] = plan.Lit(network)
	}
	// The worker's account registry may name a probe worker inside the
	// client network (the client account's probes): the step runs there.
	var probe *plan.Probe
	if s.Client.Account != "" {
		probe = &plan.Probe{Account: s.Client.Account, Network: network}
	}
	b.add(plan.Step{
		ID: "verify", Title: "Verify produce/consume from the client network",
		Action: catalog.KafkaVerify, Account: account, Inputs: in, DependsOn: deps, Timeout: stepTimeout(s),
		Probe: probe,
	})
	b.p.Outputs = map[string]plan.Value{
		"bootstrap": plan.Expr(`steps.verify.bootstrap`),
		"brokers":   plan.Expr(`steps.verify.brokers`),
	}
}

// details writes the plan's Markdown details: what will happen, in order.
func (b *builder) details(s *spec.KafkaAccess) {
	var d strings.Builder
	if b.doc.Metadata.Description != "" {
		fmt.Fprintf(&d, "%s\n\n", b.doc.Metadata.Description)
	}
	fmt.Fprintf(&d, "**Kafka**: %s (account `%s`", kafkaName(s), s.Kafka.Account)
	if s.Kafka.Region != "" {
		fmt.Fprintf(&d, ", region `%s`", s.Kafka.Region)
	}
	fmt.Fprintf(&d, ")  \n**Client**: %s (account `%s`)  \n**Method**: %s\n\n", clientName(s), s.Client.Account, methodTitle(s))
	for i, st := range b.p.Steps {
		fmt.Fprintf(&d, "%d. %s", i+1, st.Title)
		if st.ForEach != nil {
			d.WriteString(" (for each broker)")
		}
		if st.Gate != nil {
			if st.Gate.Required > 1 {
				fmt.Fprintf(&d, " — waits for %d of %s", st.Gate.Required, strings.Join(st.Gate.Who, ", "))
			} else {
				fmt.Fprintf(&d, " — waits for %s", strings.Join(st.Gate.Who, ", "))
			}
		}
		d.WriteString("\n")
	}
	b.p.Details = d.String()
}

func kafkaName(s *spec.KafkaAccess) string {
	switch {
	case s.Kafka.InstanceID != "":
		return "DMS instance " + s.Kafka.InstanceID
	case s.Kafka.ClusterARN != "":
		arn := s.Kafka.ClusterARN
		if parts := strings.Split(arn, "/"); len(parts) >= 2 {
			return "MSK cluster " + parts[1]
		}
		return "MSK cluster " + arn
	case s.Kafka.Cluster != "":
		return "HDInsight cluster " + s.Kafka.Cluster
	}
	return "Kafka"
}

func clientName(s *spec.KafkaAccess) string {
	switch {
	case s.Method == spec.MethodTransitGateway:
		return "on-premises " + s.Client.OnPremCIDR
	case s.Client.VNet != "":
		return "VNet " + s.Client.VNet
	case s.Client.VPCID != "":
		return "VPC " + s.Client.VPCID
	case s.Client.CIDR != "":
		return s.Client.CIDR
	}
	return "client"
}

func methodTitle(s *spec.KafkaAccess) string {
	if m, ok := spec.LookupMethod(s.Kafka.Provider, s.Method); ok {
		return m.Title
	}
	return s.Method
}

// summary sets the one-line summary.
func (b *builder) summary(s *spec.KafkaAccess) {
	b.p.Summary = fmt.Sprintf("Kafka %s (%s) ← %s (%s) via %s", kafkaName(s), s.Kafka.Account, clientName(s), s.Client.Account, methodTitle(s))
}

// peeringName is a stable name for created peerings.
func (b *builder) peeringName(s *spec.KafkaAccess) string {
	if s.Peering != nil && s.Peering.Name != "" {
		return s.Peering.Name
	}
	n := "topoflow-" + b.doc.Metadata.Name
	if len(n) > peeringNameMaxLength {
		n = n[:peeringNameMaxLength]
	}
	return strings.TrimRight(n, "-")
}

// description is the text set on created resources.
func (b *builder) description(s *spec.KafkaAccess) string {
	if s.VPCEndpoint != nil && s.VPCEndpoint.Description != "" {
		return s.VPCEndpoint.Description
	}
	return "topoflow " + b.doc.Metadata.Name
}
