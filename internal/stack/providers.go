package stack

// The cloudsim providers the in-process cloudsim mounts: each registers
// itself with cloudsim.RegisterProvider.
import (
	_ "github.com/topoflow/topoflow/cloudsim/huawei" // Huawei VPCEP v1, DMS Kafka v2, VPC
)
