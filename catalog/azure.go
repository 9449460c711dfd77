package catalog

// Azure actions: VNet peering (Resource Manager) and HDInsight clusters.
const (
	AzureNetworkCreatePeering = "azure.network.createPeering"
	AzureNetworkGetPeering    = "azure.network.getPeering"
	AzureNetworkDeletePeering = "azure.network.deletePeering"
	AzureHDInsightGetCluster  = "azure.hdinsight.getCluster"
)
