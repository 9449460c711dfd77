package spec

import (
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// KindSaaSPeering is the kind of a spec peering one of our VPCs with the VPC
// of a SaaS provider's deployment (runbook 003: EMQX Platform).
const KindSaaSPeering = "SaaSPeering"

// SaaS providers whose deployments a SaaSPeering peers with.
const (
	// SaaSEMQX is EMQX Platform (cloud.emqx.com): dedicated/professional
	// deployments offer VPC peering (runbook 003).
	SaaSEMQX = "emqx"
)

// Clouds a SaaS deployment runs on.
const (
	CloudHuawei  = "huawei"
	CloudAWS     = "aws"
	CloudAlibaba = "alibaba"
	CloudTencent = "tencent"
)

// SaaSPeering peers our VPC with the VPC of a SaaS provider's deployment on
// the same cloud and region: the peering request to the provider's account
// and VPC, the provider-side confirmation (a person in the provider's
// console, recorded as a manual step whose data is checked), our route to
// the provider's CIDR through the peering, our security-group rule letting
// the provider's CIDR in, and a verification.
type SaaSPeering struct {
	Provider string          `json:"provider" required:"true" enum:"emqx" doc:"SaaS provider of the deployment: emqx (EMQX Platform, runbook 003)."`
	Cloud    string          `json:"cloud" required:"true" enum:"@saasClouds" doc:"Cloud the deployment and our VPC are on: huawei, aws, alibaba (VPC peering) or tencent (CCN, 云联网)."`
	Ours     SaaSOurSide     `json:"ours" required:"true" doc:"Our side: the VPC that peers with the deployment."`
	Provided SaaSProviderVPC `json:"deployment" required:"true" doc:"The deployment's side, as the provider's console shows it (EMQX Platform: deployment detail, +VPC peering)."`
	Console  Gate            `json:"console" required:"true" doc:"Who enters our peering's data in the provider's console (runbook 003: Huawei step 6, AWS step 4, Alibaba step 4, Tencent step 4) and completes the manual step with the data the console shows."`

	Approval *Approval   `json:"approval,omitempty" doc:"Who approves the peering on our side before anything is created (required: the peering crosses into the provider's account)."`
	Verify   *SaaSVerify `json:"verify,omitempty" doc:"Verification through the peering at the end: MQTT from our VPC to the deployment, and the deployment's connector into our VPC."`
	// Operators and Policy are common to every kind.
	Operators []string  `json:"operators,omitempty" format:"principal" doc:"Who may retry, skip, roll back or abort the request: identities or group:<name> (default: every gate's approvers plus group:platform-oncall)."`
	Policy    *Policy   `json:"policy,omitempty" doc:"Explicit opt-ins past the gate policy, recorded in the plan for reviewers and the audit."`
	OnFailure string    `json:"onFailure,omitempty" enum:"rollback,park" doc:"What to do when a step fails for good: roll back everything (default) or park the step and wait for an operator."`
	Timeouts  *Timeouts `json:"timeouts,omitempty" doc:"Bounds on waits."`
}

// SaaSOurSide is our VPC in a SaaSPeering.
type SaaSOurSide struct {
	Account         string   `json:"account" required:"true" format:"account" doc:"Account-registry name owning our VPC (an account of the cloud spec.cloud names)."`
	Region          string   `json:"region,omitempty" format:"region" doc:"Region of our VPC: the deployment's (runbook 003 note 1: peering within one region only; default the deployment's region)."`
	VPCID           string   `json:"vpcId" required:"true" doc:"Our VPC (the peering's requester)."`
	CIDR            string   `json:"cidr" required:"true" format:"cidr" doc:"Our VPC's CIDR: outside 10.10.0.0-10.64.255.255 (runbook 003 note 2); the provider routes it back."`
	RouteTableIDs   []string `json:"routeTableIds,omitempty" doc:"AWS and Alibaba: our route tables that get the route to the deployment's CIDR (Alibaba: 自定义路由条目, next hop the peering). Huawei: not used (the route goes to the VPC's route table). Tencent: not used (the CCN routes)."`
	SecurityGroupID string   `json:"securityGroupId" required:"true" doc:"Security group of our resources the deployment reaches (its ingress rule admits the deployment's CIDR)."`
	Ports           []int    `json:"ports" required:"true" format:"port" doc:"TCP ports of our resources the deployment reaches (e.g. 9092 for a Kafka the deployment's data integration writes to)."`
	Description     string   `json:"description,omitempty" doc:"Description set on created resources (default: topoflow <name>)."`
}

// SaaSProviderVPC is the deployment's side of a SaaSPeering, as the
// provider's console hands it (EMQX Platform: 部署 VPC ID, EMQX Platform
// 账户 ID, 部署 VPC 网段, 部署所在区域).
type SaaSProviderVPC struct {
	Region    string `json:"region" required:"true" format:"region" doc:"Region of the deployment (EMQX: 部署所在区域)."`
	AccountID string `json:"accountId" required:"true" doc:"The provider's account on the cloud: Huawei the project ID (对端项目 ID == EMQX Platform 账户 ID, 32 hex digits), AWS the 12-digit account ID, Alibaba the 16-digit account UID (接收端账号 ID), Tencent the numeric UIN of the account that asks to attach its VPC to our CCN."`
	VPCID     string `json:"vpcId" required:"true" doc:"The deployment's VPC (部署 VPC ID; Alibaba: 接收端实例)."`
	CIDR      string `json:"cidr" required:"true" format:"cidr" grant:"cidr" doc:"The deployment's VPC CIDR (部署 VPC 网段): routed through the peering and admitted by our security group."`
}

// SaaSVerify configures the verification of a SaaSPeering: MQTT from our
// VPC to the deployment (address), and the deployment's connector into our
// VPC (connector), the direction our security-group rule admits.
type SaaSVerify struct {
	Enabled   *bool               `json:"enabled,omitempty" doc:"Run the verification (default true when address or connector is given)."`
	Address   string              `json:"address,omitempty" doc:"The deployment's private MQTT address host:port (EMQX: the deployment's VPC address, port 1883), inside deployment.cidr."`
	Topic     string              `json:"topic,omitempty" doc:"Topic the nonce is published to and read back from (default topoflow/verify)."`
	Connector *SaaSConnectorProbe `json:"connector,omitempty" doc:"The deployment probes a connector to a resource of ours (EMQX: POST /api/v5/connectors_probe), dialing from its own network: it fails until our security group admits the deployment's CIDR and both routes exist."`
}

// SaaSConnectorProbe is the deployment's connector probe into our VPC.
type SaaSConnectorProbe struct {
	Account        string `json:"account" required:"true" format:"account" doc:"Account-registry name of the deployment's REST API (provider emqx: endpoints.emqx, the deployment API address, and its deployment API key appId/appSecret)."`
	Target         string `json:"target" required:"true" doc:"What the deployment's connector reaches in our VPC: our Kafka's host:port[,host:port] (a bare IP gets the first of ours.ports), or an http(s) URL; IP addresses inside ours.cidr, ports among ours.ports."`
	Type           string `json:"type,omitempty" enum:"kafka_producer,http" doc:"Connector type: kafka_producer (default for host:port targets) or http (default for URL targets)."`
	ConnectTimeout string `json:"connectTimeout,omitempty" format:"duration" doc:"The connector's connect timeout (default EMQX's: 5s for Kafka, 15s for HTTP)."`
}

// SaaSCloudInfo describes one cloud of one SaaS provider: the one place a
// SaaSPeering cloud is declared. Validation (which clouds are supported, the
// deployment's account ID format, our keys) and the JSON Schema's enum of
// spec.cloud derive from [SaaSCloudTable]; the compiler maps each available
// entry to its builder (compiler/saas.go), and a test checks that none is
// missing.
type SaaSCloudInfo struct {
	// Provider is the SaaS provider (spec.provider).
	Provider string
	// Cloud is the spec.cloud value.
	Cloud string
	// Title names the variant in plan summaries and details.
	Title string
	// Available is false while the cloud's actions are not in the catalog:
	// validation then refuses the cloud at its position.
	Available bool
	// AccountID checks deployment.accountId; AccountIDHelp says what is right.
	AccountID     *regexp.Regexp
	AccountIDHelp string
	// RouteTables says whether ours.routeTableIds is required (true) or refused (false).
	RouteTables bool
}

// SaaSCloudTable lists every SaaS provider/cloud pair, in the order the docs
// and errors list them.
var SaaSCloudTable = []SaaSCloudInfo{
	// Huawei: 对端项目 ID == EMQX Platform 账户 ID (runbook 003 华为云 step 3); project IDs are 32 hex digits
	// (huaweicloud-sdk-go-v3 services/vpc/v2/model/model_vpc_info.go TenantId "对端vpc所属的项目ID").
	{SaaSEMQX, CloudHuawei, "EMQX Platform VPC peering (Huawei Cloud)", true,
		regexp.MustCompile(`^[0-9a-f]{32}$`), "a Huawei project ID: 32 lowercase hex digits", false},
	// AWS: PeerOwnerId is the 12-digit account ID (aws-sdk-go-v2 service/ec2 api_op_CreateVpcPeeringConnection.go).
	{SaaSEMQX, CloudAWS, "EMQX Platform VPC peering (AWS)", true,
		regexp.MustCompile(`^[0-9]{12}$`), "a 12-digit AWS account ID", true},
	// Alibaba: 接收端账号 ID is the receiver's Alibaba Cloud account UID, 16 digits
	// (vpcpeer-20220101 client.go CreateVpcPeerConnectionRequest.AcceptingAliUid, an int64; console UIDs are 16 digits).
	// The route entry goes to a route table of ours (vpc-20160428 create_route_entry_request_model.go RouteTableId, required).
	{SaaSEMQX, CloudAlibaba, "EMQX Platform VPC peering (Alibaba Cloud)", true,
		regexp.MustCompile(`^[1-9][0-9]{15}$`), "an Alibaba Cloud account UID: 16 digits (接收端账号 ID)", true},
	// Tencent: accounts are numeric UINs (tencentcloud-sdk-go vpc/v20170312 models.go CcnInstance / AttachCcnInstancesRequest.CcnUin "UIN（账号ID）").
	// CCN learns the attached VPCs' routes itself: no route table of ours is written.
	{SaaSEMQX, CloudTencent, "EMQX Platform CCN attachment (Tencent Cloud)", true,
		regexp.MustCompile(`^[1-9][0-9]{4,19}$`), "a Tencent Cloud account UIN: digits only, e.g. 100000000001", false},
}

// LookupSaaSCloud returns the table entry of provider's cloud.
func LookupSaaSCloud(provider, cloud string) (SaaSCloudInfo, bool) {
	for _, e := range SaaSCloudTable {
		if e.Provider == provider && e.Cloud == cloud {
			return e, true
		}
	}
	return SaaSCloudInfo{}, false
}

// SaaSCloudNames returns every cloud name once, in table order.
func SaaSCloudNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range SaaSCloudTable {
		if !seen[e.Cloud] {
			seen[e.Cloud] = true
			out = append(out, e.Cloud)
		}
	}
	return out
}

// emqxRefusedFirst and emqxRefusedLast bound the addresses EMQX Platform
// refuses for peered networks: 10.10.0.0/24 ～ 10.64.255.0/24 (runbook 003
// 注意事项 2), i.e. 10.10.0.0 through 10.64.255.255.
var (
	emqxRefusedFirst = netip.MustParseAddr("10.10.0.0")
	emqxRefusedLast  = netip.MustParseAddr("10.64.255.255")
)

// lastAddr returns the last address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// VerifyEnabled reports whether the SaaSPeering's MQTT verification runs.
func (s *SaaSPeering) VerifyEnabled() bool {
	v := s.Verify
	return v != nil && v.Address != "" && (v.Enabled == nil || *v.Enabled)
}

// ConnectorProbeEnabled reports whether the deployment's connector probe runs.
func (s *SaaSPeering) ConnectorProbeEnabled() bool {
	v := s.Verify
	return v != nil && v.Connector != nil && v.Connector.Target != "" && (v.Enabled == nil || *v.Enabled)
}

// Connector types of a SaaSConnectorProbe (EMQX 5: kafka_producer, http).
const (
	ConnectorKafka = "kafka_producer"
	ConnectorHTTP  = "http"
)

// ConnectorProbe returns the probe's type and target with the defaults
// applied: the type from the target's form, a bare IP with the first of
// ours.ports.
func (s *SaaSPeering) ConnectorProbe() (typ, target string) {
	c := s.Verify.Connector
	target = strings.TrimSpace(c.Target)
	typ = c.Type
	if typ == "" {
		typ = ConnectorKafka
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
			typ = ConnectorHTTP
		}
	}
	if typ == ConnectorKafka && len(s.Ours.Ports) > 0 {
		var hosts []string
		for _, h := range strings.Split(target, ",") {
			h = strings.TrimSpace(h)
			if h != "" && !strings.Contains(h, ":") { // a bare host: the first port our rule opens
				h = net.JoinHostPort(h, strconv.Itoa(s.Ours.Ports[0]))
			}
			hosts = append(hosts, h)
		}
		target = strings.Join(hosts, ",")
	}
	return typ, target
}

// OurRegion is our VPC's region: ours.region, else the deployment's.
func (s *SaaSPeering) OurRegion() string {
	if s.Ours.Region != "" {
		return s.Ours.Region
	}
	return s.Provided.Region
}

// saasPeering checks a SaaSPeering spec.
func (v *validator) saasPeering(s *SaaSPeering) {
	info, ok := LookupSaaSCloud(s.Provider, s.Cloud)
	if !ok {
		return // provider and cloud are enums, reported by the decoder
	}
	if !info.Available {
		v.errorf("spec.cloud", "cloud %s is not available yet for provider %s: its actions (%s) are not in the catalog of this build; use %s, or follow the manual Workflow specs/workflow-emqx-alibaba-peering.yaml meanwhile",
			s.Cloud, s.Provider, info.Title, strings.Join(availableClouds(s.Provider), " or "))
		return
	}
	o, d := &s.Ours, &s.Provided
	v.accountProvider("spec.ours.account", o.Account, s.Cloud)

	// Runbook 003 注意事项 1: 只支持同一区域创建对等连接.
	if o.Region != "" && o.Region != d.Region {
		v.errorf("spec.ours.region", "ours.region %s differs from deployment.region %s: %s peers only within one region (runbook 003 note 1); use a VPC of region %s, or leave ours.region out",
			o.Region, d.Region, info.Title, d.Region)
	}
	// Runbook 003 注意事项 2: 不接收 10.10.0.0/24 ～ 10.64.255.0/24 范围内的网段.
	ours, errOurs := netip.ParsePrefix(o.CIDR)
	if errOurs == nil && ours.Addr().Is4() && ours.Masked().Addr().Compare(emqxRefusedLast) <= 0 && lastAddr(ours).Compare(emqxRefusedFirst) >= 0 {
		v.errorf("spec.ours.cidr", "ours.cidr %s overlaps 10.10.0.0/24-10.64.255.0/24, which EMQX Platform refuses for peered networks (runbook 003 note 2); peer a VPC whose range lies outside it, e.g. in 192.168.0.0/16, 172.16.0.0/12 or 10.0.0.0-10.9.255.255", o.CIDR)
	}
	if theirs, err := netip.ParsePrefix(d.CIDR); err == nil && errOurs == nil && theirs.Overlaps(ours) {
		v.errorf("spec.deployment.cidr", "deployment.cidr %s overlaps ours.cidr %s: the peered networks need address ranges that do not overlap", d.CIDR, o.CIDR)
	}
	if d.AccountID != "" && info.AccountID != nil && !info.AccountID.MatchString(d.AccountID) {
		v.errorf("spec.deployment.accountId", "deployment.accountId %q is not %s (the EMQX Platform account ID the console shows)", d.AccountID, info.AccountIDHelp)
	}
	if s.Cloud == CloudAWS && d.VPCID != "" && !awsVPCID.MatchString(d.VPCID) {
		v.errorf("spec.deployment.vpcId", "deployment.vpcId %q is not an AWS VPC ID (vpc- and 8 or 17 hex digits)", d.VPCID)
	}
	// Alibaba and Tencent VPC IDs are vpc- and lowercase letters and digits
	// (vpc-20160428 DescribeVpcs VpcId vpc-bp1...; Tencent vpc/v20170312 Vpc.VpcId "vpc-xxxxxxxx").
	if (s.Cloud == CloudAlibaba || s.Cloud == CloudTencent) && d.VPCID != "" && !vpcDashID.MatchString(d.VPCID) {
		v.errorf("spec.deployment.vpcId", "deployment.vpcId %q is not a %s VPC ID (vpc- and lowercase letters and digits, as the EMQX console shows it)", d.VPCID, s.Cloud)
	}
	if info.RouteTables {
		v.require("spec.ours.routeTableIds", len(o.RouteTableIDs) == 0, "they get the route to the deployment's CIDR through the peering")
	} else if len(o.RouteTableIDs) > 0 {
		why := "the route goes to our VPC's route table"
		if s.Cloud == CloudTencent {
			why = "the CCN routes between the attached VPCs itself"
		}
		v.d.errorf(v.key("spec.ours.routeTableIds"), "ours.routeTableIds is not used with cloud %s: %s; remove it", s.Cloud, why)
	}
	if len(o.Ports) == 0 && v.has("spec.ours.ports") {
		v.errorf("spec.ours.ports", "ours.ports is empty: list the TCP ports of our resources the deployment reaches (e.g. [9092])")
	}
	// The peering crosses into the provider's account: our side approves it.
	if s.Approval == nil {
		v.d.errorf(v.node("spec"), "missing required key %q in spec: the peering crosses into %s's account %s and opens our security group to %s; list the approvers", "approval", s.Provider, d.AccountID, d.CIDR)
	}
	if vf := s.Verify; vf != nil && vf.Address != "" {
		v.saasVerifyAddress(vf.Address, d.CIDR)
	}
	if vf := s.Verify; vf != nil && vf.Connector != nil {
		v.saasConnector(s)
	}
}

// saasConnector checks the connector probe: an emqx account, a target of
// the right form inside our CIDR on a port our rule opens.
func (v *validator) saasConnector(s *SaaSPeering) {
	c := s.Verify.Connector
	v.accountProvider("spec.verify.connector.account", c.Account, "emqx")
	if strings.TrimSpace(c.Target) == "" {
		return // required: reported by the decoder
	}
	const path = "spec.verify.connector.target"
	typ, target := s.ConnectorProbe()
	ours, _ := netip.ParsePrefix(s.Ours.CIDR)
	check := func(host string, port int) {
		if ip, err := netip.ParseAddr(host); err == nil && ours.IsValid() && !ours.Contains(ip) {
			v.errorf(path, "verify.connector.target %s is outside ours.cidr %s: the deployment's connector reaches a resource in our VPC; give its private address there", host, s.Ours.CIDR)
		}
		if len(s.Ours.Ports) > 0 && !slices.Contains(s.Ours.Ports, port) {
			v.errorf(path, "verify.connector.target port %d is not among ours.ports %v: our security group admits the deployment only there, so the probe would fail; use one of them or add it to ours.ports", port, s.Ours.Ports)
		}
	}
	switch typ {
	case ConnectorHTTP:
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			v.errorf(path, "verify.connector.target %q is not an http(s) URL (type http: e.g. http://172.16.0.20:8080/health)", target)
			return
		}
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[u.Scheme]
		}
		check(u.Hostname(), port)
	case ConnectorKafka:
		for _, h := range strings.Split(target, ",") {
			host, p, err := net.SplitHostPort(strings.TrimSpace(h))
			port, perr := strconv.Atoi(p)
			if err != nil || !hostName.MatchString(host) || perr != nil || port < 1 || port > 65535 {
				v.errorf(path, "verify.connector.target %q is not host:port[,host:port] (type kafka_producer: our Kafka's bootstrap hosts, e.g. 172.16.0.11:9092)", c.Target)
				return
			}
			check(host, port)
		}
	}
}

var (
	// hostName is an IPv4 address or a DNS name.
	hostName  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	awsVPCID  = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	vpcDashID = regexp.MustCompile(`^vpc-[0-9a-z]{6,}$`)
)

// saasVerifyAddress checks that the verification address is host:port inside the deployment's CIDR.
func (v *validator) saasVerifyAddress(addr, cidr string) {
	const path = "spec.verify.address"
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Port() == 0 {
		v.errorf(path, "verify.address %q is not an IP:port (e.g. 10.64.128.10:1883: the deployment's private MQTT address)", addr)
		return
	}
	if p, err := netip.ParsePrefix(cidr); err == nil && !p.Contains(ap.Addr()) {
		v.errorf(path, "verify.address %s is outside deployment.cidr %s: the broker listens in the deployment's VPC; give its address there", addr, cidr)
	}
}

// availableClouds lists the clouds of provider the build compiles.
func availableClouds(provider string) []string {
	var out []string
	for _, e := range SaaSCloudTable {
		if e.Provider == provider && e.Available {
			out = append(out, e.Cloud)
		}
	}
	return out
}

// saasPeeringPolicy checks the approval, gates, operators and policy of a SaaSPeering spec.
func (v *validator) saasPeeringPolicy(s *SaaSPeering) {
	if a := s.Approval; a != nil {
		v.approvers("spec.approval.approvers", "approval.approvers", a.Approvers, "spec.approval.required", a.Required)
	}
	if len(s.Console.Who) == 0 && v.has("spec.console.who") {
		v.errorf("spec.console.who", "console.who is empty: name who enters our peering's data in the %s console", s.Provider)
	}
	if s.Console.Required > 1 {
		v.errorf("spec.console.required", "console.required is for approvals: one person completes the console step; remove it")
	}
	v.operators(s.Operators)
	v.policyBlock(s.Policy, false)
	if p, err := netip.ParsePrefix(s.Provided.CIDR); err == nil && p.Bits() < 8 && !(s.Policy != nil && s.Policy.AllowBroadAccess) {
		v.errorf("spec.deployment.cidr", "deployment.cidr %s is wider than /8: our security group would admit it; check the CIDR the console shows, or opt in with policy.allowBroadAccess", s.Provided.CIDR)
	}
}

// SaaSHandback is what the provider console step hands back for cloud: the
// keys the person completes the manual step with (data) and what each
// must equal, as the plan checks it (compiler/saas.go).
func SaaSHandback(cloud string) []string {
	switch cloud {
	case CloudHuawei:
		// Runbook 003 华为云 step 6: 对等连接 ID, VPC 网段, VPC ID, 用户 ID entered in the EMQX console.
		return []string{"peeringId", "vpcCidr", "vpcId", "userId"}
	case CloudAWS:
		// Runbook 003 AWS step 4: 对等连接 ID, 请求方拥有者 ID (account ID), 请求者 VPC.
		return []string{"peeringId", "accountId", "vpcId"}
	case CloudAlibaba:
		// Runbook 003 阿里云 step 4: 发起端实例 (our VPC, the peering's initiator).
		return []string{"vpcId"}
	case CloudTencent:
		// Runbook 003 腾讯云 step 4: 对等连接ID == 云联网实例 ID, 账户ID == the CCN's account ID,
		// VPC ID == 部署 VPC ID (what the EMQX console shows).
		return []string{"ccnId", "accountId", "vpcId"}
	}
	return nil
}
