package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Azure HDInsight clusters: the contract and descriptor of azure.hdinsight.getCluster.

// AzureClusterIn names an HDInsight cluster.
type AzureClusterIn struct {
	ResourceGroup string `json:"resourceGroup" required:"true" doc:"resource group of the cluster"`
	Cluster       string `json:"cluster" required:"true" doc:"cluster name"`
}

// AzureClusterEndpoint is one connectivity endpoint of an HDInsight cluster.
type AzureClusterEndpoint struct {
	Name             string  `json:"name" doc:"endpoint name (HTTPS, SSH, ...)"`
	Protocol         string  `json:"protocol" doc:"TCP, ..."`
	Location         string  `json:"location" doc:"host name"`
	Port             *int    `json:"port,omitempty" doc:"port"`
	PrivateIPAddress *string `json:"privateIPAddress,omitempty" doc:"private IP address"`
}

// AzureClusterOut is the result of azure.hdinsight.getCluster.
type AzureClusterOut struct {
	ClusterState      string                 `json:"clusterState" doc:"Accepted, InProgress, ..., Running, Error"`
	ProvisioningState string                 `json:"provisioningState" doc:"InProgress, Succeeded, Failed, ..."`
	Kind              string                 `json:"kind" doc:"cluster kind (KAFKA)"`
	AmbariURL         string                 `json:"ambariUrl" doc:"https://<HTTPS endpoint>[:port]"`
	Endpoints         []AzureClusterEndpoint `json:"endpoints" doc:"connectivity endpoints"`
	ClusterID         *string                `json:"clusterId,omitempty" doc:"ARM resource ID of the cluster"`
	VNetID            *string                `json:"vnetId,omitempty" doc:"ARM resource ID of the cluster's VNet"`
}

func init() {
	Register(Typed[AzureClusterIn, AzureClusterOut](Action{
		Name: AzureHDInsightGetCluster, Provider: "azure", Read: true,
		Title: "Get the HDInsight cluster",
		Doc:   "Clusters.Get: state, kind and connectivity endpoints (the Ambari URL derives from the HTTPS endpoint).",
		Wait: &plan.Wait{StatusPath: "clusterState", Pending: []string{"Accepted", "InProgress", "Provisioning", "AzureVMConfiguration", "HdInsightConfiguration", "Operational"},
			Target: []string{"Running"}, Failure: []string{"Error", "Deleting", "TimedOut"}, PollInterval: plan.D(30 * time.Second), Timeout: plan.D(time.Hour)},
	}))
}
