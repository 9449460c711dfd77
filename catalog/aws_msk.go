package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS MSK reads: the contracts and descriptors of aws.msk.describeCluster,
// aws.msk.getBootstrapBrokers and aws.msk.describeClusterOperation.

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
}
