package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Huawei DMS for Kafka instances: the contracts and descriptors of
// huawei.dms.showInstance and huawei.dms.updateCrossVpcIps.

// HuaweiInstanceIn names a DMS Kafka instance.
type HuaweiInstanceIn struct {
	InstanceID string `json:"instanceId" required:"true" doc:"DMS Kafka instance ID"`
}

// HuaweiBroker is one broker of a DMS Kafka instance (from cross_vpc_info).
type HuaweiBroker struct {
	ID           int    `json:"id" doc:"the broker's index (brokers sorted by listener IP)"`
	ListenerIP   string `json:"listenerIp" doc:"listener IP"`
	PortID       string `json:"portId" doc:"the listener's port ID (the endpoint service's backend)"`
	AdvertisedIP string `json:"advertisedIp" doc:"advertised IP (the listener IP when none is set)"`
	Port         int    `json:"port" doc:"cross-VPC port"`
}

// HuaweiShowInstanceOut is the result of huawei.dms.showInstance.
type HuaweiShowInstanceOut struct {
	InstanceID      string            `json:"instanceId" doc:"DMS Kafka instance ID"`
	Name            string            `json:"name" doc:"instance name"`
	Status          string            `json:"status" doc:"CREATING, RUNNING, RESTARTING, ..."`
	VpcID           string            `json:"vpcId" doc:"the instance's VPC"`
	SubnetID        string            `json:"subnetId" doc:"the instance's subnet"`
	SecurityGroupID string            `json:"securityGroupId" doc:"the instance's security group"`
	UserID          string            `json:"userId" doc:"ID of the user who created the instance (not the account)"`
	Brokers         []HuaweiBroker    `json:"brokers" doc:"brokers sorted by listener IP"`
	Advertised      map[string]string `json:"advertised" doc:"listener IP → advertised IP"`
	ConnectAddress  string            `json:"connectAddress" doc:"the private connection addresses"`
	Port            int               `json:"port" doc:"connection port of the private listener (9092 plaintext, 9093 SASL)"`
}

// HuaweiUpdateCrossVpcIpsIn are the inputs of huawei.dms.updateCrossVpcIps.
type HuaweiUpdateCrossVpcIpsIn struct {
	InstanceID string            `json:"instanceId" required:"true" doc:"DMS Kafka instance ID"`
	Advertised map[string]string `json:"advertised" required:"true" doc:"map listenerIp → advertised IP (endpoint IP matched by port ID)"`
}

// HuaweiUpdateCrossVpcIpsOut is the result of huawei.dms.updateCrossVpcIps.
type HuaweiUpdateCrossVpcIpsOut struct {
	InstanceID string            `json:"instanceId" doc:"DMS Kafka instance ID"`
	Previous   map[string]string `json:"previous" doc:"the map replaced (what a rollback restores)"`
	Current    map[string]string `json:"current" doc:"the complete map now set"`
}

func init() {
	Register(Typed[HuaweiInstanceIn, HuaweiShowInstanceOut](Action{
		Name: HuaweiDMSShowInstance, Provider: "huawei", Read: true,
		Title: "Show DMS Kafka instance",
		Doc: "Reads a DMS for Kafka instance: its VPC, subnet, security group and, from cross_vpc_info, every broker's " +
			"listener IP, port ID and advertised IP. brokers is sorted by listener IP; id is the broker's index. port is the " +
			"instance's connection port (the private listener on connectAddress: 9092 plaintext, 9093 SASL).",
		// Instance statuses: https://support.huaweicloud.com/intl/en-us/api-kafka/kafka-api-180514012.html
		Wait: &plan.Wait{Pending: []string{"CREATING", "RESTARTING", "STARTING", "EXTENDING", "UPGRADING", "ROLLINGBACK"}, Target: []string{"RUNNING"}, Failure: []string{"ERROR", "CREATEFAILED", "EXTENDEDFAILED", "FROZEN", "FREEZING", "DELETING"}, PollInterval: plan.D(5 * time.Second), Timeout: plan.D(30 * time.Minute)},
	}))
	Register(Typed[HuaweiUpdateCrossVpcIpsIn, HuaweiUpdateCrossVpcIpsOut](Action{
		Name: HuaweiDMSUpdateCrossVpcIps, Provider: "huawei",
		Title: "Set the Kafka instance's advertised listener IPs",
		Doc: "Posts the COMPLETE map listener IP → advertised IP (crossvpc/modify). Listeners missing from the map keep their " +
			"current value. Returns the previous map so a rollback restores it.",
		Inverse: &Inverse{
			Action: HuaweiDMSUpdateCrossVpcIps, Title: "Restore the previous advertised listener IPs",
			Inputs: map[string]plan.Value{"instanceId": plan.Expr("input.instanceId"), "advertised": plan.Expr("output.previous")},
		},
		Locks: []string{`"kafka:huawei:" + input.instanceId`},
	}))
}
