package catalog

import "github.com/topoflow/topoflow/plan"

// AWS MSK cluster policy: the contracts and descriptors of
// aws.msk.putClusterPolicy and aws.msk.restoreClusterPolicy.

// AWSPutClusterPolicyIn are the inputs of aws.msk.putClusterPolicy.
type AWSPutClusterPolicyIn struct {
	ClusterARN     string   `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
	ClientAccounts []string `json:"clientAccounts" required:"true" doc:"account-registry names of the client accounts"`
}

// AWSPutClusterPolicyOut is the result of aws.msk.putClusterPolicy.
type AWSPutClusterPolicyOut struct {
	CurrentVersion string `json:"currentVersion" doc:"the policy's version after the put"`
	Previous       string `json:"previous" doc:"the policy without this request's statement (empty: there was none)"`
}

// AWSRestoreClusterPolicyIn are the inputs of aws.msk.restoreClusterPolicy.
type AWSRestoreClusterPolicyIn struct {
	ClusterARN string `json:"clusterArn" required:"true" doc:"MSK cluster ARN"`
	Policy     string `json:"policy" doc:"policy JSON; empty deletes"`
}

// AWSRestoreClusterPolicyOut is the result of aws.msk.restoreClusterPolicy.
type AWSRestoreClusterPolicyOut struct {
	CurrentVersion string `json:"currentVersion" doc:"the policy's version after the restore (empty: deleted)"`
}

func init() {
	Register(Typed[AWSPutClusterPolicyIn, AWSPutClusterPolicyOut](Action{
		Name: AWSMSKPutClusterPolicy, Provider: "aws",
		Title: "Allow client accounts in the MSK cluster policy",
		Doc: "Merges a statement allowing the client accounts (resolved from the account registry) kafka:CreateVpcConnection, " +
			"kafka:GetBootstrapBrokers, kafka:DescribeCluster and kafka:DescribeClusterV2 on the cluster into its policy.",
		Grants: []Grant{{Input: "clientAccounts", Kind: GrantPrincipal}},
		Inverse: &Inverse{
			Action: AWSMSKRestoreClusterPolicy, Title: "Restore the previous cluster policy",
			Inputs: map[string]plan.Value{"clusterArn": plan.Expr("input.clusterArn"), "policy": plan.Expr("output.previous")},
		},
		Locks: []string{`"kafka:aws:" + input.clusterArn`},
	}))
	Register(Typed[AWSRestoreClusterPolicyIn, AWSRestoreClusterPolicyOut](Action{
		Name: AWSMSKRestoreClusterPolicy, Provider: "aws",
		Title: "Restore an MSK cluster policy",
		Doc:   "Puts the given policy document back, or deletes the policy when it is empty.",
	}))
}
