package inventory

import "time"

// Kind names a resource type in the inventory.
type Kind string

// Resource kinds. The admin API and world files use these names.
const (
	KindAccount         Kind = "account"
	KindVPC             Kind = "vpc"
	KindSubnet          Kind = "subnet"
	KindSecurityGroup   Kind = "securityGroup"
	KindPort            Kind = "port"
	KindKafka           Kind = "kafka"
	KindEndpointService Kind = "endpointService"
	KindEndpoint        Kind = "endpoint"
	KindPeering         Kind = "peering"
	KindRouteTable      Kind = "routeTable"
	KindNetworkACL      Kind = "networkACL"
	KindConfig          Kind = "config"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{KindAccount, KindVPC, KindSubnet, KindSecurityGroup, KindPort, KindKafka,
	KindEndpointService, KindEndpoint, KindPeering, KindRouteTable, KindNetworkACL, KindConfig}

// Meta is common to every resource.
type Meta struct {
	// Kind is set by the store.
	Kind Kind `json:"kind" yaml:"-"`
	// ID is unique within the kind; the store assigns one when empty.
	ID string `json:"id" yaml:"id"`
	// Account owning the resource (an account's own ID for accounts).
	Account string `json:"account" yaml:"account"`
	// Region of the resource.
	Region string `json:"region,omitempty" yaml:"region"`
	// Name is the user-facing name.
	Name string `json:"name,omitempty" yaml:"name"`
	// Status is the provider's lifecycle state (creating, available, pendingAcceptance, accepted, ACTIVE...).
	Status string `json:"status,omitempty" yaml:"status"`
	// Tags are free key/values (also used for idempotency tokens).
	Tags map[string]string `json:"tags,omitempty" yaml:"tags"`
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time `json:"createdAt" yaml:"-"`
	UpdatedAt time.Time `json:"updatedAt" yaml:"-"`
	// VisibleAt hides a fresh resource from provider reads until then (eventual consistency).
	VisibleAt time.Time `json:"visibleAt,omitzero" yaml:"-"`
}

// GetMeta returns the common fields.
func (m *Meta) GetMeta() *Meta { return m }

// Object is any inventory resource (a pointer to one of the types below).
type Object interface{ GetMeta() *Meta }

// Credential is one way to authenticate as an account.
type Credential struct {
	// Type: "aksk" (Huawei AK/SK, AWS access key), "token" (Azure bearer token),
	// "clientSecret" (Azure client credentials), "basic" (Ambari user/password),
	// "sasl" (Kafka SASL user/password).
	Type string `json:"type" yaml:"type"`
	// KeyID is the access key ID, client ID or user name.
	KeyID string `json:"keyId" yaml:"keyId"`
	// Secret is the secret key, token, client secret or password. It is never
	// shown by the admin API.
	Secret string `json:"-" yaml:"secret"`
}

// Account is a cloud account (Huawei domain/project, AWS account, Azure subscription, Ambari cluster login).
type Account struct {
	Meta `yaml:",inline"`
	// Provider: huawei, aws, azure, ambari.
	Provider string `json:"provider" yaml:"provider"`
	// ProjectID and DomainID (Huawei), AccountID (AWS), SubscriptionID/TenantID (Azure).
	ProjectID      string `json:"projectId,omitempty" yaml:"projectId"`
	DomainID       string `json:"domainId,omitempty" yaml:"domainId"`
	AccountID      string `json:"accountId,omitempty" yaml:"accountId"`
	SubscriptionID string `json:"subscriptionId,omitempty" yaml:"subscriptionId"`
	TenantID       string `json:"tenantId,omitempty" yaml:"tenantId"`
	// Credentials that authenticate as this account.
	Credentials []Credential `json:"credentials" yaml:"credentials"`
}

// VPC is a VPC or VNet. Every VPC owns a loopback AddressBlock (inside
// 127.0.0.0/8) from which the simulator hands out the addresses of its ports,
// brokers and endpoints; CIDR is what the cloud API reports.
type VPC struct {
	Meta `yaml:",inline"`
	// CIDR as declared (e.g. 192.168.0.0/16).
	CIDR string `json:"cidr" yaml:"cidr"`
	// AddressBlock is the real loopback block (e.g. 127.16.0.0/16).
	AddressBlock string `json:"addressBlock" yaml:"addressBlock"`
	// Attrs holds provider-specific extras (e.g. Azure resource group).
	Attrs map[string]string `json:"attrs,omitempty" yaml:"attrs"`
}

// Subnet is a subnet of a VPC.
type Subnet struct {
	Meta  `yaml:",inline"`
	VPCID string `json:"vpcId" yaml:"vpc"`
	// CIDR as declared; AddressBlock is the loopback block addresses come from.
	CIDR         string `json:"cidr" yaml:"cidr"`
	AddressBlock string `json:"addressBlock" yaml:"addressBlock"`
	GatewayIP    string `json:"gatewayIp,omitempty" yaml:"gatewayIp"`
}

// SGRule is one security group rule.
type SGRule struct {
	ID              string `json:"id" yaml:"id"`
	Direction       string `json:"direction" yaml:"direction"` // ingress|egress
	Ethertype       string `json:"ethertype,omitempty" yaml:"ethertype"`
	Protocol        string `json:"protocol,omitempty" yaml:"protocol"` // tcp|udp|icmp|"" (any)
	PortMin         int    `json:"portMin,omitempty" yaml:"portMin"`
	PortMax         int    `json:"portMax,omitempty" yaml:"portMax"`
	RemoteCIDR      string `json:"remoteCidr,omitempty" yaml:"remoteCidr"`
	RemoteGroupID   string `json:"remoteGroupId,omitempty" yaml:"remoteGroupId"`
	Description     string `json:"description,omitempty" yaml:"description"`
	IdempotencyHint string `json:"idempotencyHint,omitempty" yaml:"-"`
	// Tags are the rule's own tags (AWS security-group-rule resources).
	Tags map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// SecurityGroup is a security group (or NSG) with its rules.
type SecurityGroup struct {
	Meta  `yaml:",inline"`
	VPCID string   `json:"vpcId,omitempty" yaml:"vpc"`
	Rules []SGRule `json:"rules" yaml:"rules"`
}

// Port is a network interface (Huawei port, AWS ENI, Azure NIC).
type Port struct {
	Meta           `yaml:",inline"`
	VPCID          string   `json:"vpcId" yaml:"vpc"`
	SubnetID       string   `json:"subnetId,omitempty" yaml:"subnet"`
	IP             string   `json:"ip" yaml:"ip"`
	DeviceOwner    string   `json:"deviceOwner,omitempty" yaml:"deviceOwner"`
	DeviceID       string   `json:"deviceId,omitempty" yaml:"deviceId"`
	SecurityGroups []string `json:"securityGroups,omitempty" yaml:"securityGroups"`
}

// Broker is one Kafka broker and its listener configuration.
type Broker struct {
	// ID is the Kafka broker (node) ID.
	ID int32 `json:"id" yaml:"id"`
	// Host is the broker's host name (e.g. wn0-kafka.xxx.internal.cloudapp.net).
	Host string `json:"host,omitempty" yaml:"host"`
	// ListenerIP is the loopback address the broker really listens on.
	ListenerIP string `json:"listenerIp" yaml:"listenerIp"`
	// Port the broker listens on (9011 for Huawei cross-VPC, 9092 for HDInsight/MSK plaintext).
	Port int `json:"port" yaml:"port"`
	// PortID is the network interface (port) behind the listener IP (Huawei cross_vpc_info port_id).
	PortID string `json:"portId,omitempty" yaml:"portId"`
	// Advertised is the host (IP or name) the broker advertises in metadata
	// right now; empty means ListenerIP.
	Advertised string `json:"advertised,omitempty" yaml:"advertised"`
	// PendingAdvertised is a staged advertised host that takes effect at the
	// next restart (Ambari config change); empty when nothing is staged.
	PendingAdvertised string `json:"pendingAdvertised,omitempty" yaml:"pendingAdvertised"`
	// Down stops the broker process (e.g. during a rolling restart): nothing
	// listens on its address until it is cleared.
	Down bool `json:"down,omitempty" yaml:"down"`
}

// AdvertisedHost returns the host the broker advertises.
func (b Broker) AdvertisedHost() string {
	if b.Advertised != "" {
		return b.Advertised
	}
	return b.ListenerIP
}

// KafkaInstance is a Kafka cluster (Huawei DMS instance, MSK cluster, HDInsight Kafka cluster).
type KafkaInstance struct {
	Meta            `yaml:",inline"`
	Engine          string   `json:"engine,omitempty" yaml:"engine"` // dms|msk|hdinsight
	EngineVersion   string   `json:"engineVersion,omitempty" yaml:"engineVersion"`
	VPCID           string   `json:"vpcId" yaml:"vpc"`
	SubnetID        string   `json:"subnetId,omitempty" yaml:"subnet"`
	SecurityGroupID string   `json:"securityGroupId,omitempty" yaml:"securityGroup"`
	Brokers         []Broker `json:"brokers" yaml:"brokers"`
	// SASL users (user → password); empty disables SASL. SASLMechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLUsers     map[string]string `json:"-" yaml:"saslUsers"`
	SASLMechanism string            `json:"saslMechanism,omitempty" yaml:"saslMechanism"`
	// TLS serves the brokers' listeners over TLS with a self-signed certificate.
	TLS bool `json:"tls,omitempty" yaml:"tls"`
	// PrivatePort, when not 0 and not the brokers' Port, is a second
	// listener on every broker's ListenerIP that advertises
	// ListenerIP:PrivatePort for every broker: Huawei DMS serves its private
	// (in-VPC, peering) access on the instance's connection port (9092
	// plaintext, 9093 SASL) besides the cross-VPC listener on 9011
	// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go
	// Port, "实例连接端口"; model_port_protocols_entity.go private_plain_address).
	PrivatePort int `json:"privatePort,omitempty" yaml:"privatePort"`
	// Attrs holds provider-specific extras (e.g. MSK ARN, HDInsight cluster name).
	Attrs map[string]string `json:"attrs,omitempty" yaml:"attrs"`
}

// PortMapping maps a client port to a server port.
type PortMapping struct {
	ClientPort int    `json:"clientPort" yaml:"clientPort"`
	ServerPort int    `json:"serverPort" yaml:"serverPort"`
	Protocol   string `json:"protocol" yaml:"protocol"`
}

// Permission whitelists an account for an endpoint service.
type Permission struct {
	ID          string    `json:"id"`
	Permission  string    `json:"permission"` // e.g. iam:domain::<domainId> or *
	Type        string    `json:"type,omitempty"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// EndpointService exposes a backend (a port) to endpoints in other VPCs/accounts.
type EndpointService struct {
	Meta            `yaml:",inline"`
	VPCID           string            `json:"vpcId" yaml:"vpc"`
	PortID          string            `json:"portId" yaml:"portId"`
	ServiceName     string            `json:"serviceName" yaml:"serviceName"`
	ServerType      string            `json:"serverType,omitempty" yaml:"serverType"`
	ServiceType     string            `json:"serviceType,omitempty" yaml:"serviceType"`
	ApprovalEnabled bool              `json:"approvalEnabled" yaml:"approvalEnabled"`
	Ports           []PortMapping     `json:"ports" yaml:"ports"`
	Permissions     []Permission      `json:"permissions,omitempty" yaml:"-"`
	TCPProxy        string            `json:"tcpProxy,omitempty" yaml:"tcpProxy"`
	Description     string            `json:"description,omitempty" yaml:"description"`
	Attrs           map[string]string `json:"attrs,omitempty" yaml:"attrs"`
}

// Endpoint statuses (Huawei VPCEP spelling) that the network model acts on.
const (
	EndpointAccepted = "accepted"
)

// Endpoint is a VPC endpoint in a client VPC. When its Status is
// [EndpointAccepted] and IP is set, the network model forwards TCP from
// IP:clientPort to the service's backend port IP:serverPort.
type Endpoint struct {
	Meta        `yaml:",inline"`
	ServiceID   string `json:"serviceId" yaml:"serviceId"`
	ServiceName string `json:"serviceName,omitempty" yaml:"serviceName"`
	VPCID       string `json:"vpcId" yaml:"vpc"`
	SubnetID    string `json:"subnetId,omitempty" yaml:"subnet"`
	// IP is the endpoint's address in the client VPC (a loopback address of its block).
	IP          string            `json:"ip,omitempty" yaml:"ip"`
	Description string            `json:"description,omitempty" yaml:"description"`
	Attrs       map[string]string `json:"attrs,omitempty" yaml:"attrs"`
	// DNSNames resolve to IP for clients inside VPCID while the endpoint is
	// accepted (the endpoint's private DNS names).
	DNSNames []string `json:"dnsNames,omitempty" yaml:"dnsNames"`
	// Advertised, when set, makes the endpoint's forwarder speak Kafka: it
	// answers Metadata, FindCoordinator and DescribeCluster with these
	// addresses (broker ID → host:port) instead of the brokers' own, as a
	// listener dedicated to the endpoint's network does. Brokers not in the
	// map keep their address. Empty: plain TCP forwarding.
	Advertised map[int32]string `json:"advertised,omitempty" yaml:"advertised"`
}

// Peering statuses that the network model acts on.
const (
	PeeringActive = "active"
)

// Peering connects two VPCs/VNets. When Status is [PeeringActive], clients in
// either VPC reach addresses of the other.
type Peering struct {
	Meta        `yaml:",inline"`
	VPCID       string            `json:"vpcId" yaml:"vpc"`
	PeerVPCID   string            `json:"peerVpcId" yaml:"peerVpc"`
	PeerAccount string            `json:"peerAccount,omitempty" yaml:"peerAccount"`
	Attrs       map[string]string `json:"attrs,omitempty" yaml:"attrs"`
}

// Route is one route of a route table.
type Route struct {
	Destination string `json:"destination" yaml:"destination"`
	NextHopType string `json:"nextHopType" yaml:"nextHopType"`
	NextHop     string `json:"nextHop" yaml:"nextHop"`
	// Status is the entry's state where the cloud applies routes
	// asynchronously (Alibaba's Pending → Available; RoutePending does not
	// forward yet). Empty is in effect.
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
}

// Route statuses of asynchronously applied entries (Alibaba vpc-20160428
// describe_route_entry_list_response_body_model.go Status: Pending,
// Available, Modifying; a deleted entry lingers while it is removed).
const (
	RoutePending   = "Pending"
	RouteAvailable = "Available"
	RouteDeleting  = "Deleting"
)

// RouteTable holds the routes of a VPC.
type RouteTable struct {
	Meta   `yaml:",inline"`
	VPCID  string  `json:"vpcId" yaml:"vpc"`
	Routes []Route `json:"routes" yaml:"routes"`
}

// ACLRule is one rule of a network ACL (Huawei VPC v3 FirewallRuleDetail:
// huaweicloud-sdk-go-v3 services/vpc/v3/model/model_firewall_rule_detail.go).
type ACLRule struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name,omitempty" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Action is allow or deny.
	Action string `json:"action" yaml:"action"`
	// Protocol is tcp, udp, icmp, icmpv6 or any.
	Protocol  string `json:"protocol" yaml:"protocol"`
	IPVersion int    `json:"ipVersion,omitempty" yaml:"ipVersion"`
	// Source and destination IP prefixes (cloud CIDRs); empty matches any.
	SourceIPAddress      string `json:"sourceIpAddress,omitempty" yaml:"sourceIpAddress"`
	DestinationIPAddress string `json:"destinationIpAddress,omitempty" yaml:"destinationIpAddress"`
	// SourcePort and DestinationPort: "", "80", "80-90" or "80,443"; empty matches any.
	SourcePort      string `json:"sourcePort,omitempty" yaml:"sourcePort"`
	DestinationPort string `json:"destinationPort,omitempty" yaml:"destinationPort"`
	// Disabled rules are skipped (the API's enabled=false).
	Disabled bool `json:"disabled,omitempty" yaml:"disabled"`
}

// NetworkACL is a subnet network ACL (Huawei/OTC VPC v3 "firewall"): it
// filters traffic entering (IngressRules) and leaving (EgressRules) its
// associated subnets; rules are evaluated in order, the first match decides,
// and traffic no rule matches is denied.
type NetworkACL struct {
	Meta         `yaml:",inline"`
	Subnets      []string  `json:"subnets" yaml:"subnets"`
	IngressRules []ACLRule `json:"ingressRules" yaml:"ingressRules"`
	EgressRules  []ACLRule `json:"egressRules" yaml:"egressRules"`
	Description  string    `json:"description,omitempty" yaml:"description"`
}

// Config is a versioned configuration object (e.g. Ambari kafka-env, an MSK configuration).
type Config struct {
	Meta `yaml:",inline"`
	// Target is the ID of the resource it configures (a Kafka instance).
	Target string `json:"target" yaml:"target"`
	// Type is the config type (kafka-env, kafka-broker, ...); Version counts changes.
	Type       string            `json:"type" yaml:"type"`
	Version    int               `json:"version" yaml:"version"`
	Properties map[string]string `json:"properties" yaml:"properties"`
}
