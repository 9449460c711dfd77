package stack

// The cloudsim providers the in-process cloudsim mounts: each registers
// itself with cloudsim.RegisterProvider.
import (
	_ "github.com/topoflow/topoflow/cloudsim/ambari" // Ambari v1 (HDInsight Kafka configs, restarts, maintenance)
	_ "github.com/topoflow/topoflow/cloudsim/aws"    // AWS EC2 Query, MSK REST-JSON, STS
	_ "github.com/topoflow/topoflow/cloudsim/azure"  // Azure Resource Manager (network, HDInsight), AAD tokens
	_ "github.com/topoflow/topoflow/cloudsim/huawei" // Huawei VPCEP v1, DMS Kafka v2, VPC
)
