// Package spec is Topoflow's spec language: the YAML documents platform teams
// write and review (kinds KafkaAccess and Workflow), their decoding with
// positions kept (yaml.v3 nodes), and their validation. Every problem is
// reported at once as FILE:LINE:COL: message.
//
// The Go types below are the single source of truth of the language: the
// decoder walks them by reflection (struct tags give required fields, enums
// and formats), and the JSON Schema in schema/ is generated from them.
//
// Struct tags understood by the decoder and the schema generator:
//
//	json:"name,omitempty"  the YAML key
//	required:"true"        the key must be present
//	enum:"a,b,c"           allowed string values
//	format:"..."           name, account, cidr, duration, port, count, expr, action, stepId, region, principal
//	grant:"cidr"           the value is an address range opened for the client (checked by package policy)
//	doc:"..."              description shown by editors
package spec

// APIVersion is the apiVersion every spec document declares.
const APIVersion = "topoflow.io/v1"

// Kinds of spec documents.
const (
	KindKafkaAccess = "KafkaAccess"
	KindWorkflow    = "Workflow"
)

// Providers of Kafka and networks.
const (
	ProviderHuawei = "huawei"
	ProviderAWS    = "aws"
	ProviderAzure  = "azure"
	ProviderAmbari = "ambari"
)

// Network methods of a KafkaAccess spec.
const (
	MethodVPCEndpoint    = "vpcEndpoint"
	MethodVPCPeering     = "vpcPeering"
	MethodSameVPC        = "sameVpc"
	MethodPrivateLink    = "privateLink"
	MethodMSKMultiVPC    = "mskMultiVpc"
	MethodTransitGateway = "transitGateway"
	MethodVNetPeering    = "vnetPeering"
)

// Document is one parsed and validated spec document.
type Document struct {
	// File is the file the document came from.
	File string `json:"-"`
	// Index is the document's position in its file (0-based, for multi-document files).
	Index int `json:"-"`
	// Line and Column locate the document's start.
	Line   int `json:"-"`
	Column int `json:"-"`
	// SHA256 is the hex sha256 of the document's canonical JSON form.
	SHA256 string `json:"-"`
	// Raw is the `spec` section as plain JSON-like data (what expressions read as `spec`).
	Raw map[string]any `json:"-"`
	// keys holds the position of every key, by path (spec.steps[0].id).
	keys map[string][2]int

	Header
	// KafkaAccess is set when Kind is KafkaAccess.
	KafkaAccess *KafkaAccess `json:"-"`
	// Workflow is set when Kind is Workflow.
	Workflow *Workflow `json:"-"`
	// SaaSPeering is set when Kind is SaaSPeering.
	SaaSPeering *SaaSPeering `json:"-"`
}

// Header is the part common to every kind.
type Header struct {
	APIVersion string   `json:"apiVersion" required:"true" enum:"topoflow.io/v1" doc:"Spec format version."`
	Kind       string   `json:"kind" required:"true" enum:"KafkaAccess,Workflow,SaaSPeering" doc:"What the document describes."`
	Metadata   Metadata `json:"metadata" required:"true"`
}

// Metadata names a spec.
type Metadata struct {
	Name        string            `json:"name" required:"true" format:"name" doc:"Name of the request: lowercase letters, digits and '-', at most 63 characters. The workflow ID derives from it."`
	Labels      map[string]string `json:"labels,omitempty" doc:"Free-form labels copied to the plan."`
	Description string            `json:"description,omitempty" doc:"What the request is for (shown in the Web UI)."`
}

// KafkaAccess makes one Kafka reachable from one client network.
type KafkaAccess struct {
	Kafka  KafkaRef      `json:"kafka" required:"true" doc:"The Kafka to reach."`
	Client ClientNetwork `json:"client" required:"true" doc:"The network that must reach it."`
	Method string        `json:"method" required:"true" enum:"@methods" doc:"How the networks are connected. Huawei: vpcEndpoint, vpcPeering. AWS: sameVpc, vpcPeering, privateLink, mskMultiVpc, transitGateway. Azure: vnetPeering."`

	VPCEndpoint    *VPCEndpointOptions    `json:"vpcEndpoint,omitempty" doc:"Settings of method vpcEndpoint (Huawei VPCEP)."`
	Peering        *PeeringOptions        `json:"peering,omitempty" doc:"Settings of methods vpcPeering and vnetPeering."`
	PrivateLink    *PrivateLinkOptions    `json:"privateLink,omitempty" doc:"Settings of method privateLink (AWS)."`
	MSKMultiVPC    *MSKMultiVPCOptions    `json:"mskMultiVpc,omitempty" doc:"Settings of method mskMultiVpc (AWS MSK multi-VPC private connectivity)."`
	TransitGateway *TransitGatewayOptions `json:"transitGateway,omitempty" doc:"Settings of method transitGateway (AWS, on-premises clients)."`
	Ambari         *AmbariOptions         `json:"ambari,omitempty" doc:"Azure HDInsight: how brokers advertise IPs through Ambari."`

	Approval *Approval `json:"approval,omitempty" doc:"Who approves the connection on the Kafka side, by when, and what an expired deadline means."`
	Verify   *Verify   `json:"verify,omitempty" doc:"Produce/consume verification at the end."`
	// Operators and Policy are common to every kind.
	Operators []string `json:"operators,omitempty" format:"principal" doc:"Who may retry, skip, roll back or abort the request: identities or group:<name> (default: every gate's approvers plus group:platform-oncall)."`
	Policy    *Policy  `json:"policy,omitempty" doc:"Explicit opt-ins past the gate policy, recorded in the plan for reviewers and the audit."`
	// OnFailure is what happens when a step fails for good.
	OnFailure   string    `json:"onFailure,omitempty" enum:"rollback,park" doc:"What to do when a step fails for good: roll back everything (default) or park the step and wait for an operator."`
	MaxParallel int       `json:"maxParallel,omitempty" doc:"Maximum steps and fan-out items running at once, 1..1000 (default 1000: Temporal refuses more than 2,000 pending activities in one workflow)."`
	Timeouts    *Timeouts `json:"timeouts,omitempty" doc:"Bounds on waits."`
	Drift       *Drift    `json:"drift,omitempty" doc:"Once granted: how often what the request created is checked again, and whether a drift is repaired without approval."`
}

// Drift is a spec's drift watch of its granted access.
type Drift struct {
	Every      string `json:"every,omitempty" format:"duration" doc:"Time between drift checks of the granted access (default 1h; apply --drift-every overrides it)."`
	AutoRepair bool   `json:"autoRepair,omitempty" doc:"Repair a drift (a resource deleted or changed by hand) as a delta plan without waiting for the approval gates again (default false: a repair waits for them, like the request did)."`
}

// KafkaRef identifies a Kafka cluster.
type KafkaRef struct {
	Provider string `json:"provider" required:"true" enum:"huawei,aws,azure" doc:"Cloud that runs the Kafka."`
	Account  string `json:"account" required:"true" format:"account" doc:"Account-registry name that owns the Kafka."`
	Region   string `json:"region,omitempty" format:"region" doc:"Region of the Kafka."`

	InstanceID string `json:"instanceId,omitempty" doc:"Huawei DMS for Kafka instance ID."`
	ClusterARN string `json:"clusterArn,omitempty" doc:"AWS MSK cluster ARN."`
	Cluster    string `json:"cluster,omitempty" doc:"Azure HDInsight cluster name."`

	ResourceGroup string `json:"resourceGroup,omitempty" doc:"Azure resource group of the cluster and its VNet."`
	VNet          string `json:"vnet,omitempty" doc:"Azure VNet name of the HDInsight cluster."`

	VPCID           string   `json:"vpcId,omitempty" doc:"AWS: VPC of the MSK cluster."`
	CIDR            string   `json:"cidr,omitempty" format:"cidr" doc:"CIDR of the Kafka's VPC/VNet (routes on the client side)."`
	RouteTableIDs   []string `json:"routeTableIds,omitempty" doc:"AWS/Huawei: route tables of the Kafka's subnets (peering routes)."`
	SecurityGroupID string   `json:"securityGroupId,omitempty" doc:"Security group of the brokers (ingress rules are added to it)."`
	Port            int      `json:"port,omitempty" format:"port" doc:"Broker port reached by clients (default by provider and auth: 9092, 9094, 9096, 9098)."`
}

// ClientNetwork is the network that must reach Kafka.
type ClientNetwork struct {
	Account string `json:"account" required:"true" format:"account" doc:"Account-registry name that owns the client network."`
	Region  string `json:"region,omitempty" format:"region" doc:"Region of the client network (default: the Kafka's)."`

	VPCID         string   `json:"vpcId,omitempty" doc:"Client VPC ID (Huawei, AWS)."`
	SubnetID      string   `json:"subnetId,omitempty" doc:"Client subnet ID (Huawei endpoints are created in it)."`
	SubnetIDs     []string `json:"subnetIds,omitempty" doc:"AWS: client subnets (PrivateLink endpoints, TGW attachment)."`
	CIDR          string   `json:"cidr,omitempty" format:"cidr" grant:"cidr" doc:"Client VPC/VNet CIDR (opened in the Kafka security group, routed through peering)."`
	RouteTableIDs []string `json:"routeTableIds,omitempty" doc:"Client route tables that get routes to the Kafka."`

	SecurityGroupID string `json:"securityGroupId,omitempty" doc:"AWS: the clients' security group. privateLink: the endpoints' group; mskMultiVpc: the VPC connection's group; sameVpc and vpcPeering: the brokers' group admits it by reference instead of client.cidr (sg-x in the Kafka's account, <12-digit account ID>/sg-x across accounts; not across regions)."`
	ResourceGroup   string `json:"resourceGroup,omitempty" doc:"Azure: resource group of the client VNet."`
	VNet            string `json:"vnet,omitempty" doc:"Azure: client VNet name (e.g. the AKS VNet)."`

	OnPremCIDR string `json:"onPremCidr,omitempty" format:"cidr" grant:"cidr" doc:"Transit gateway: on-premises CIDR routed to Kafka."`
}

// VPCEndpointOptions configures Huawei VPC endpoints: one endpoint service per broker port.
type VPCEndpointOptions struct {
	Port        int    `json:"port,omitempty" format:"port" doc:"Port of the endpoint services, server and client side (default 9011)."`
	Approval    *bool  `json:"approval,omitempty" doc:"Legacy switch: true is acceptance: provider; false skips Topoflow's approval gate across accounts."`
	Acceptance  string `json:"acceptance,omitempty" enum:"whitelist,provider" doc:"How endpoints of another account get connected. whitelist (default, runbook 000/001): services with approval_enabled false, the client account whitelisted after Topoflow's approval gate. provider: services with approval_enabled true, the owner accepts each endpoint connection after the gate."`
	SourceCIDR  string `json:"sourceCidr,omitempty" format:"cidr" grant:"cidr" doc:"Range VPCEP traffic comes from, opened in the Kafka security group (default 198.19.128.0/17)."`
	Description string `json:"description,omitempty" doc:"Description set on created endpoint services and endpoints."`
}

// Values of vpcEndpoint.acceptance.
const (
	// AcceptanceWhitelist is runbook 000/001's procedure: endpoint services
	// with approval_enabled false; across accounts the client account is
	// whitelisted once Topoflow's approval gate passes.
	AcceptanceWhitelist = "whitelist"
	// AcceptanceProvider: endpoint services with approval_enabled true; the
	// Kafka owner accepts each endpoint connection once the gate passes.
	AcceptanceProvider = "provider"
)

// VPCEndpointAcceptance returns how endpoints get connected: the
// vpcEndpoint.acceptance key, else provider when vpcEndpoint.approval is
// true, else whitelist.
func (s *KafkaAccess) VPCEndpointAcceptance() string {
	if o := s.VPCEndpoint; o != nil {
		if o.Acceptance != "" {
			return o.Acceptance
		}
		if o.Approval != nil && *o.Approval {
			return AcceptanceProvider
		}
	}
	return AcceptanceWhitelist
}

// PeeringOptions configures VPC/VNet peering.
type PeeringOptions struct {
	Name             string `json:"name,omitempty" format:"name" doc:"Name of the peering (default: the spec's name)."`
	AllowForwarded   bool   `json:"allowForwardedTraffic,omitempty" doc:"Azure: allow forwarded traffic."`
	UseRemoteGateway bool   `json:"useRemoteGateways,omitempty" doc:"Azure: use the remote VNet's gateways."`
}

// PrivateLinkOptions configures AWS PrivateLink. Topoflow creates, per
// broker, a network load balancer, an endpoint service and an interface
// endpoint, and a Route 53 private hosted zone in the client VPC mapping the
// broker names to the endpoints.
type PrivateLinkOptions struct {
	LoadBalancerARNs   []string `json:"loadBalancerArns,omitempty" doc:"Not supported any more: Topoflow creates one network load balancer per broker (a load balancer shared by the brokers cannot serve Kafka clients, which follow the brokers' advertised names)."`
	AcceptanceRequired *bool    `json:"acceptanceRequired,omitempty" doc:"Require the Kafka owner to accept the endpoint connections (default true)."`
	PrivateDNS         bool     `json:"privateDns,omitempty" doc:"Enable private DNS on the interface endpoints."`
	Ports              []int    `json:"ports,omitempty" format:"port" doc:"Not supported any more: each broker keeps its own port behind its endpoint."`
}

// MSKMultiVPCOptions configures MSK multi-VPC private connectivity.
type MSKMultiVPCOptions struct {
	Authentication string `json:"authentication,omitempty" enum:"iam,scram,tls" doc:"Client authentication used over the VPC connection (default iam)."`
}

// TransitGatewayOptions configures a transit gateway for on-premises clients.
type TransitGatewayOptions struct {
	TransitGatewayID string `json:"transitGatewayId" required:"true" doc:"The transit gateway (usually in a shared network account)."`
	Account          string `json:"account,omitempty" format:"account" doc:"Account-registry name owning the transit gateway (default: the Kafka's account)."`
	RouteTableID     string `json:"routeTableId,omitempty" doc:"Transit gateway route table to associate the attachment with."`
}

// AmbariOptions configures the Ambari side of Kafka on HDInsight.
type AmbariOptions struct {
	Account     string `json:"account" required:"true" format:"account" doc:"Account-registry name of the Ambari HTTP user."`
	Maintenance *bool  `json:"maintenance,omitempty" doc:"Put Kafka in maintenance mode during the restart (default true)."`
	Restart     *bool  `json:"restart,omitempty" doc:"Restart the Kafka brokers after changing kafka-env (default true)."`
}

// Approval says who approves, how many must, by when, and what an expired deadline means.
type Approval struct {
	Approvers         []string `json:"approvers" required:"true" format:"principal" doc:"Who may approve or reject: identities (a user name or e-mail, e.g. the Kafka owner's) or groups (group:<name>) of the worker's trust configuration."`
	Required          int      `json:"required,omitempty" format:"count" doc:"How many distinct approvers must approve (default 1); at most the number of listed identities unless a group is listed."`
	AllowSelfApproval bool     `json:"allowSelfApproval,omitempty" doc:"Let the person who applied the request approve it (default false)."`
	Deadline          string   `json:"deadline,omitempty" format:"duration" doc:"How long to wait for a decision (e.g. 72h); empty: no deadline."`
	OnExpiry          string   `json:"onExpiry,omitempty" enum:"reject,approve" doc:"What an expired deadline means (default reject)."`
	Instructions      string   `json:"instructions,omitempty" doc:"What the approver should check."`
}

// Policy holds a spec's explicit opt-ins past the gate policy (see package
// policy). Each opt-in needs a reason; the plan records them.
type Policy struct {
	AllowBroadAccess bool   `json:"allowBroadAccess,omitempty" doc:"Allow steps that open access broadly: an ingress range wider than /8 (IPv4) or /32 (IPv6) such as 0.0.0.0/0, a wildcard principal, or a grant computed only at run time."`
	AllowUngated     bool   `json:"allowUngated,omitempty" doc:"Workflow only: allow steps that change things without an approval step before them."`
	Reason           string `json:"reason,omitempty" doc:"Why the opt-in is needed (required with an opt-in; shown to reviewers and kept in the plan)."`
}

// Verify configures the final produce/consume verification.
type Verify struct {
	Enabled       *bool  `json:"enabled,omitempty" doc:"Run the verification (default true)."`
	Topic         string `json:"topic,omitempty" doc:"Topic produced to and consumed from (default topoflow-verify)."`
	TLS           *bool  `json:"tls,omitempty" doc:"Connect with TLS (default false; on AWS MSK, true and required with sasl and with method mskMultiVpc, whose listeners accept only TLS)."`
	SASL          *SASL  `json:"sasl,omitempty" doc:"SASL authentication."`
	ClientNetwork string `json:"clientNetwork,omitempty" doc:"Network the verification dials from, for workers that model networks such as cloudsim (default: client.vpcId)."`
}

// SASL names a SASL mechanism and the account whose credentials it uses.
type SASL struct {
	Mechanism string `json:"mechanism" required:"true" enum:"PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,AWS_MSK_IAM" doc:"SASL mechanism."`
	Account   string `json:"account" required:"true" format:"account" doc:"Account-registry name holding the Kafka user's credentials."`
}

// Timeouts bounds waits and steps.
type Timeouts struct {
	Wait         string `json:"wait,omitempty" format:"duration" doc:"Bound of each cloud wait (default 30m)."`
	PollInterval string `json:"pollInterval,omitempty" format:"duration" doc:"Time between polls of a wait (default 10s)."`
	Step         string `json:"step,omitempty" format:"duration" doc:"Bound of each step including retries (default 10m)."`
}

// Workflow is an explicit list of steps naming registered actions.
type Workflow struct {
	Provider    string            `json:"provider,omitempty" enum:"huawei,aws,azure,ambari" doc:"Main provider, for search and display."`
	Inputs      map[string]any    `json:"inputs,omitempty" doc:"Values the steps read as spec.inputs.<name>."`
	OnFailure   string            `json:"onFailure,omitempty" enum:"rollback,park" doc:"Default failure policy of the steps (default rollback)."`
	MaxParallel int               `json:"maxParallel,omitempty" doc:"Maximum steps and fan-out items running at once, 1..1000 (default 1000: Temporal refuses more than 2,000 pending activities in one workflow)."`
	Steps       []WorkflowStep    `json:"steps" required:"true" doc:"The steps; order does not matter beyond dependsOn."`
	Outputs     map[string]string `json:"outputs,omitempty" doc:"Results of the request: name -> ${{ expression }}."`
	Operators   []string          `json:"operators,omitempty" format:"principal" doc:"Who may retry, skip, roll back or abort the request: identities or group:<name> (default: every gate's approvers plus group:platform-oncall)."`
	Policy      *Policy           `json:"policy,omitempty" doc:"Explicit opt-ins past the gate policy (steps that change things need an approval before them; no broad grants), recorded in the plan."`
	Drift       *Drift            `json:"drift,omitempty" doc:"Once granted: how often what the request created is checked again, and whether a drift is repaired without approval."`
}

// WorkflowStep is one explicit step.
type WorkflowStep struct {
	ID           string            `json:"id" required:"true" format:"stepId" doc:"Stable step ID: lowercase letters, digits and '-'."`
	Title        string            `json:"title,omitempty" doc:"Short description (default: the action's title)."`
	Action       string            `json:"action" required:"true" format:"action" doc:"A registered action (see topoflow actions), or approval or manual."`
	Account      string            `json:"account,omitempty" format:"account" doc:"Account-registry name to act as."`
	Inputs       map[string]any    `json:"inputs,omitempty" doc:"Action inputs: literals, or ${{ expression }} strings reading spec, steps, the fan-out item and index."`
	DependsOn    []string          `json:"dependsOn,omitempty" doc:"Steps that must be done first (steps read by expressions are added automatically)."`
	When         string            `json:"when,omitempty" format:"expr" doc:"Boolean expression; false skips the step."`
	ForEach      *ForEach          `json:"forEach,omitempty" doc:"Run the step once per item of a list known at run time."`
	Wait         *Wait             `json:"wait,omitempty" doc:"Poll this (read) action until a target state. Unset fields come from the action's default contract."`
	Gate         *Gate             `json:"gate,omitempty" doc:"Who acts on an approval or manual step, and by when."`
	Retry        *Retry            `json:"retry,omitempty" doc:"Retry policy."`
	Timeout      string            `json:"timeout,omitempty" format:"duration" doc:"Bound of the step including retries."`
	Compensation *Compensation     `json:"compensation,omitempty" doc:"Override of the compensation derived from the action's inverse."`
	OnFailure    string            `json:"onFailure,omitempty" enum:"rollback,park" doc:"Failure policy of this step."`
	Locks        []string          `json:"locks,omitempty" doc:"Lock keys (${{ expression }} or literal) no two workflows hold at once."`
	Labels       map[string]string `json:"labels,omitempty" doc:"Free-form labels (ignored by the engine)."`
	From         *StepFrom         `json:"from,omitempty" doc:"Run the step from a client network: on the probe worker the account registry names for that account and network (kafka.verify then dials from there)."`
}

// StepFrom names the client network a Workflow step runs from.
type StepFrom struct {
	Account string `json:"account" required:"true" format:"account" doc:"Account-registry name whose probes serve the network."`
	Network string `json:"network,omitempty" doc:"VPC/VNet (or other network) of the probe; empty: the account's default probe."`
}

// ForEach fans a step out.
type ForEach struct {
	Items       string `json:"items" required:"true" format:"expr" doc:"Expression giving the list, e.g. steps.discover.brokers."`
	As          string `json:"as,omitempty" format:"ident" doc:"Name of the current item in expressions (default item)."`
	Key         string `json:"key,omitempty" format:"expr" doc:"Expression giving a stable identity of an item (default: its index)."`
	Concurrency int    `json:"concurrency,omitempty" doc:"Maximum items of this step running at once, 1..1000 (default 100)."`
}

// Wait is a wait contract in a spec.
type Wait struct {
	StatusPath   string   `json:"statusPath,omitempty" doc:"Dotted path of the status in the action's outputs (default status)."`
	Pending      []string `json:"pending,omitempty" doc:"States that keep the poll going."`
	Target       []string `json:"target,omitempty" doc:"States that end the wait successfully."`
	Failure      []string `json:"failure,omitempty" doc:"States that fail the wait."`
	Gone         bool     `json:"gone,omitempty" doc:"Treat not-found as done (delete waits)."`
	Occurrences  int      `json:"occurrences,omitempty" doc:"Consecutive polls that must see a target state (default 1)."`
	PollInterval string   `json:"pollInterval,omitempty" format:"duration" doc:"Time between polls (default 10s)."`
	Timeout      string   `json:"timeout,omitempty" format:"duration" doc:"Bound of the wait (default 30m)."`
}

// Gate configures an approval or manual step.
type Gate struct {
	Who               []string `json:"who" required:"true" format:"principal" doc:"Who may act: identities (a user name or e-mail) or groups (group:<name>) of the worker's trust configuration."`
	Required          int      `json:"required,omitempty" format:"count" doc:"Approval steps: how many distinct approvers must approve (default 1); at most the number of listed identities unless a group is listed."`
	AllowSelfApproval bool     `json:"allowSelfApproval,omitempty" doc:"Let the person who applied the request approve (or complete) this step (default false)."`
	Instructions      string   `json:"instructions,omitempty" doc:"What to check or do (Markdown)."`
	Deadline          string   `json:"deadline,omitempty" format:"duration" doc:"How long to wait (empty: no deadline)."`
	OnExpiry          string   `json:"onExpiry,omitempty" enum:"reject,approve" doc:"What an expired deadline means (default reject)."`
}

// Retry is a retry policy.
type Retry struct {
	InitialInterval    string   `json:"initialInterval,omitempty" format:"duration" doc:"First backoff."`
	BackoffCoefficient float64  `json:"backoffCoefficient,omitempty" doc:"Backoff multiplier (>= 1)."`
	MaximumInterval    string   `json:"maximumInterval,omitempty" format:"duration" doc:"Largest backoff."`
	MaximumAttempts    int      `json:"maximumAttempts,omitempty" doc:"Attempts (0: unlimited within the timeout)."`
	NonRetryable       []string `json:"nonRetryable,omitempty" doc:"Error types not retried."`
}

// Compensation overrides a step's derived compensation.
type Compensation struct {
	None    bool           `json:"none,omitempty" doc:"Do not compensate this step."`
	Title   string         `json:"title,omitempty" doc:"Description of the undo."`
	Action  string         `json:"action,omitempty" format:"action" doc:"Undoing action."`
	Account string         `json:"account,omitempty" format:"account" doc:"Account to act as (default: the step's)."`
	Inputs  map[string]any `json:"inputs,omitempty" doc:"Inputs; expressions may read input and output (the step's own)."`
}

// TLSRequired reports whether the spec's verification must use TLS because
// the listener it reaches accepts nothing else: on AWS MSK the SASL/SCRAM
// (9096) and IAM (9098) listeners, and every multi-VPC private connectivity
// listener (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html,
// https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html).
func (s *KafkaAccess) TLSRequired() bool {
	if s.Kafka.Provider != ProviderAWS {
		return false
	}
	return s.Method == MethodMSKMultiVPC || (s.Verify != nil && s.Verify.SASL != nil)
}

// VerifyTLS reports whether the verification connects with TLS: as the spec
// says, else when the listener requires it ([KafkaAccess.TLSRequired]).
func (s *KafkaAccess) VerifyTLS() bool {
	if s.Verify != nil && s.Verify.TLS != nil {
		return *s.Verify.TLS
	}
	return s.TLSRequired()
}
