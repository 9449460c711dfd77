// Package all is cloudsim's assembly: importing it (blank) registers every
// provider of the twin with cloudsim.RegisterProvider, so every program and
// test harness that starts a twin (cmd/cloudsim, internal/stack) serves the
// same clouds. A new provider is added here and nowhere else.
package all

import (
	_ "github.com/topoflow/topoflow/cloudsim/alibaba" // Alibaba Cloud VpcPeer, VPC route entries, ECS security groups (ACS3 RPC)
	_ "github.com/topoflow/topoflow/cloudsim/ambari"  // Ambari v1 (HDInsight Kafka configs, restarts, maintenance)
	_ "github.com/topoflow/topoflow/cloudsim/aws"     // AWS EC2 Query, MSK REST-JSON, STS
	_ "github.com/topoflow/topoflow/cloudsim/azure"   // Azure Resource Manager (network, HDInsight), AAD tokens
	_ "github.com/topoflow/topoflow/cloudsim/emqx"    // EMQX Platform deployments (MQTT brokers) and the peering dialog of its console
	_ "github.com/topoflow/topoflow/cloudsim/huawei"  // Huawei VPCEP v1, DMS Kafka v2, VPC (Huawei Cloud and OTC)
	_ "github.com/topoflow/topoflow/cloudsim/tencent" // Tencent Cloud VPC API 3.0 (CCN, security-group policies; TC3-HMAC-SHA256)
)

// Providers are the provider names this package registers, sorted.
var Providers = []string{"alibaba", "ambari", "aws", "azure", "emqx", "huawei", "tencent"}
