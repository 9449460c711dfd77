package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS MSK reads: the contracts and descriptors of aws.msk.describeCluster,
// aws.msk.getBootstrapBrokers, aws.msk.describeClusterOperation and
// aws.msk.listBrokers.

// AWSMSKListBrokers names the action that lists an MSK cluster's brokers
// (the MSK PrivateLink pattern's first step).
const AWSMSKListBrokers = "aws.msk.listBrokers"

// AWSClusterIn names an MSK cluster.
type AWSClusterIn struct {
	ClusterARN string `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
}

// AWSDescribeClusterOut is the result of aws.msk.describeCluster.
type AWSDescribeClusterOut struct {
	ClusterARN          string         `json:"clusterArn" doc:"cluster ARN"`
	ClusterName         string         `json:"clusterName" doc:"cluster name"`
	State               string         `json:"state" doc:"ACTIVE, CREATING, UPDATING, ..."`
	CurrentVersion      string         `json:"currentVersion" doc:"the cluster's current version (UpdateConnectivity needs it)"`
	ClientSubnets       []string       `json:"clientSubnets" doc:"subnets of the broker nodes"`
	SecurityGroupIDs    []string       `json:"securityGroupIds" doc:"security groups of the broker nodes"`
	SecurityGroupID     string         `json:"securityGroupId" doc:"the first of securityGroupIds"`
	NumberOfBrokerNodes int            `json:"numberOfBrokerNodes" doc:"number of brokers"`
	VpcConnectivity     map[string]any `json:"vpcConnectivity" doc:"multi-VPC client authentication: {iam, scram, tls}"`
}

// AWSGetBootstrapBrokersIn are the inputs of aws.msk.getBootstrapBrokers.
type AWSGetBootstrapBrokersIn struct {
	ClusterARN     string `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
	Authentication string `json:"authentication" doc:"plaintext (default), tls, scram or iam"`
	Connectivity   string `json:"connectivity" doc:"private (default) or vpc (multi-VPC private connectivity)"`
}

// AWSGetBootstrapBrokersOut is the result of aws.msk.getBootstrapBrokers.
type AWSGetBootstrapBrokersOut struct {
	Bootstrap       []string `json:"bootstrap" doc:"bootstrap addresses (host:port)"`
	BootstrapString string   `json:"bootstrapString" doc:"the same, comma-separated, as MSK returns it"`
}

// AWSDescribeClusterOperationIn are the inputs of aws.msk.describeClusterOperation.
type AWSDescribeClusterOperationIn struct {
	ClusterOperationARN string `json:"clusterOperationArn" doc:"operation ARN (may be empty: nothing changed)"`
}

// AWSDescribeClusterOperationOut is the result of aws.msk.describeClusterOperation.
type AWSDescribeClusterOperationOut struct {
	Status        string `json:"status" doc:"PENDING, UPDATE_IN_PROGRESS, UPDATE_COMPLETE or UPDATE_FAILED"`
	OperationType string `json:"operationType" doc:"e.g. UPDATE_CONNECTIVITY"`
	Error         string `json:"error" doc:"error code and message of a failed operation"`
}

// AWSListBrokersIn are the inputs of aws.msk.listBrokers.
type AWSListBrokersIn struct {
	ClusterARN string `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
	Port       int    `json:"port" required:"true" doc:"broker port of the authentication used (9092, 9094, 9096, 9098)"`
}

// AWSBroker is one MSK broker as aws.msk.listBrokers returns it.
type AWSBroker struct {
	BrokerID int64  `json:"brokerId" doc:"broker ID"`
	Host     string `json:"host" doc:"broker DNS name (lower case)"`
	IP       string `json:"ip" doc:"private IP in the client subnet"`
	Port     int64  `json:"port" doc:"the broker port given"`
	Subnet   string `json:"subnet" doc:"client subnet"`
}

// AWSListBrokersOut is the result of aws.msk.listBrokers.
type AWSListBrokersOut struct {
	Brokers []AWSBroker `json:"brokers" doc:"the brokers, by broker ID"`
	Domain  string      `json:"domain" doc:"the DNS domain the broker names share (b-N.<domain>)"`
	Subnets []string    `json:"subnets" doc:"the brokers' client subnets"`
	VpcID   string      `json:"vpcId" doc:"the brokers' VPC"`
	VpcCIDR string      `json:"vpcCidr" doc:"that VPC's CIDR"`
}

func init() {
	Register(Typed[AWSClusterIn, AWSDescribeClusterOut](Action{
		Name: AWSMSKDescribeCluster, Provider: "aws", Read: true,
		Title: "Describe the MSK cluster",
		Doc:   "DescribeClusterV2: state, current version, client subnets and security groups of the broker nodes.",
		Wait: &plan.Wait{StatusPath: "state", Pending: []string{"CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"},
			Target: []string{"ACTIVE"}, Failure: []string{"FAILED", "DELETING"},
			PollInterval: plan.D(15 * time.Second), Timeout: plan.D(2 * time.Hour)},
	}))
	Register(Typed[AWSGetBootstrapBrokersIn, AWSGetBootstrapBrokersOut](Action{
		Name: AWSMSKGetBootstrapBrokers, Provider: "aws", Read: true,
		Title: "Get the MSK bootstrap brokers",
		Doc: "GetBootstrapBrokers; bootstrap is the list of host:port for the given authentication " +
			"(plaintext, tls, scram, iam) and connectivity (private, vpc for multi-VPC connections).",
	}))
	Register(Typed[AWSDescribeClusterOperationIn, AWSDescribeClusterOperationOut](Action{
		Name: AWSMSKDescribeClusterOperation, Provider: "aws", Read: true,
		Title: "Describe an MSK cluster operation",
		Doc:   "DescribeClusterOperationV2; an empty operation ARN (nothing changed) reports UPDATE_COMPLETE.",
		Wait: &plan.Wait{Pending: []string{"PENDING", "UPDATE_IN_PROGRESS"}, Target: []string{"UPDATE_COMPLETE"},
			Failure: []string{"UPDATE_FAILED"}, PollInterval: plan.D(30 * time.Second), Timeout: plan.D(3 * time.Hour)},
	}))
	Register(Typed[AWSListBrokersIn, AWSListBrokersOut](Action{
		Name: AWSMSKListBrokers, Provider: "aws", Read: true,
		Title: "List the MSK brokers",
		Doc: "ListNodes: per broker its node ID, DNS name (b-N.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com), private IP " +
			"and client subnet, with the given broker port; plus the domain the names share, the client subnets, the VPC and its CIDR.",
	}))
}
