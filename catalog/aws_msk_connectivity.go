package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// AWS MSK multi-VPC private connectivity: the contract and descriptor of
// aws.msk.updateConnectivity.

// AWSVpcConnectivity is an MSK cluster's multi-VPC client authentication
// (ConnectivityInfo.VpcConnectivity.ClientAuthentication).
type AWSVpcConnectivity struct {
	IAM   bool `json:"iam" doc:"SASL/IAM"`
	SCRAM bool `json:"scram" doc:"SASL/SCRAM"`
	TLS   bool `json:"tls" doc:"mutual TLS"`
}

// AWSUpdateConnectivityIn are the inputs of aws.msk.updateConnectivity.
type AWSUpdateConnectivityIn struct {
	ClusterARN      string             `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
	VpcConnectivity AWSVpcConnectivity `json:"vpcConnectivity" required:"true" doc:"{iam, scram, tls}: schemes enabled for multi-VPC connections"`
}

// AWSUpdateConnectivityOut is the result of aws.msk.updateConnectivity.
type AWSUpdateConnectivityOut struct {
	ClusterARN          string             `json:"clusterArn" doc:"MSK cluster ARN"`
	ClusterOperationARN string             `json:"clusterOperationArn" doc:"the update's operation (empty: nothing to change)"`
	Previous            AWSVpcConnectivity `json:"previous" doc:"the setting before this request (what a rollback restores)"`
	Current             AWSVpcConnectivity `json:"current" doc:"the setting asked for"`
	Changed             bool               `json:"changed" doc:"whether this request started (or an earlier attempt of it started) an update"`
}

func init() {
	Register(Typed[AWSUpdateConnectivityIn, AWSUpdateConnectivityOut](Action{
		Name: AWSMSKUpdateConnectivity, Provider: "aws",
		Title: "Turn on MSK multi-VPC private connectivity",
		Doc: "UpdateConnectivity with the cluster's current version: sets connectivityInfo.vpcConnectivity client " +
			"authentication ({iam, scram, tls} booleans). Starts a rolling broker restart (30 minutes or more). " +
			"Returns the previous setting so a rollback restores it; an unchanged setting starts no operation.",
		Inverse: &Inverse{
			Action: AWSMSKUpdateConnectivity, Title: "Restore the previous multi-VPC connectivity",
			Inputs: map[string]plan.Value{"clusterArn": plan.Expr("input.clusterArn"), "vpcConnectivity": plan.Expr("output.previous")},
			// The restore is another rolling update: the rollback is not done
			// until the cluster is ACTIVE again (DescribeClusterV2 State; an
			// unchanged setting starts no operation and the cluster stays ACTIVE).
			WaitAction: AWSMSKDescribeCluster,
			Wait: &plan.Wait{StatusPath: "state", Pending: []string{"UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"},
				Target: []string{"ACTIVE"}, Failure: []string{"FAILED", "DELETING"},
				PollInterval: plan.D(15 * time.Second), Timeout: plan.D(3 * time.Hour)},
		},
		Locks: []string{`"kafka:aws:" + input.clusterArn`},
	}))
}
