package spec

import "strings"

// MethodInfo describes one network method of one Kafka provider: the one
// place a KafkaAccess method is declared. Validation (which methods a
// provider supports), the JSON Schema's enum of spec.method and the plan
// titles derive from [MethodTable]; the compiler maps each entry to its
// builder (compiler/kafka.go) and a test checks that none is missing.
type MethodInfo struct {
	// Provider is the Kafka provider (huawei, aws, azure).
	Provider string
	// Method is the spec.method value.
	Method string
	// Title names the method in plan summaries and details.
	Title string
	// KafkaKeys and ClientKeys are the kafka and client keys the method's
	// compiler reads (account, provider and region are read by every
	// method); any other key given is an error at its position
	// (unusedkeys.go).
	KafkaKeys, ClientKeys []string
}

// MethodTable lists every supported provider/method pair, in the order the
// docs and errors list them.
var MethodTable = []MethodInfo{
	{ProviderHuawei, MethodVPCEndpoint, "Huawei VPC endpoint",
		[]string{"instanceId"}, []string{"vpcId", "subnetId"}},
	{ProviderHuawei, MethodVPCPeering, "Huawei VPC peering",
		[]string{"instanceId", "cidr", "port"}, []string{"vpcId", "cidr"}},
	{ProviderAWS, MethodSameVPC, "same VPC (security group)",
		[]string{"clusterArn", "securityGroupId", "port"}, []string{"vpcId", "cidr", "securityGroupId"}},
	{ProviderAWS, MethodVPCPeering, "AWS VPC peering",
		[]string{"clusterArn", "vpcId", "cidr", "routeTableIds", "securityGroupId", "port"},
		[]string{"vpcId", "cidr", "routeTableIds", "securityGroupId"}},
	{ProviderAWS, MethodPrivateLink, "AWS PrivateLink",
		[]string{"clusterArn", "cidr", "securityGroupId", "port"}, []string{"vpcId", "subnetIds", "securityGroupId", "cidr"}},
	{ProviderAWS, MethodMSKMultiVPC, "MSK multi-VPC connectivity",
		[]string{"clusterArn"}, []string{"vpcId", "subnetIds", "securityGroupId"}},
	{ProviderAWS, MethodTransitGateway, "AWS Transit Gateway",
		[]string{"clusterArn", "vpcId", "cidr", "routeTableIds", "securityGroupId", "port"}, []string{"vpcId", "onPremCidr"}},
	// kafka.cidr is read by the overlap check and shown to the approvers.
	{ProviderAzure, MethodVNetPeering, "Azure VNet peering + Ambari advertised IPs",
		[]string{"cluster", "resourceGroup", "vnet", "cidr"}, []string{"resourceGroup", "vnet", "cidr"}},
}

// Methods lists the network methods each Kafka provider supports (derived
// from [MethodTable]).
var Methods = func() map[string][]string {
	m := map[string][]string{}
	for _, e := range MethodTable {
		m[e.Provider] = append(m[e.Provider], e.Method)
	}
	return m
}()

// LookupMethod returns the table entry of provider's method.
func LookupMethod(provider, method string) (MethodInfo, bool) {
	for _, e := range MethodTable {
		if e.Provider == provider && e.Method == method {
			return e, true
		}
	}
	return MethodInfo{}, false
}

// MethodNames returns every method name once, in table order.
func MethodNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range MethodTable {
		if !seen[e.Method] {
			seen[e.Method] = true
			out = append(out, e.Method)
		}
	}
	return out
}

// EnumValues resolves a field's enum tag: a comma-separated list, or
// "@methods" for the KafkaAccess methods of [MethodTable], "@saasClouds"
// for the SaaSPeering clouds of [SaaSCloudTable].
func EnumValues(tag string) []string {
	switch tag {
	case "":
		return nil
	case "@methods":
		return MethodNames()
	case "@saasClouds":
		return SaaSCloudNames()
	}
	return strings.Split(tag, ",")
}
