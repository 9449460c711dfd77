package catalog

// Ambari actions (Kafka on Azure HDInsight), Ambari REST API v1. The
// account (provider ambari) names the cluster URL and the HTTP user.
const (
	AmbariGetConfig         = "ambari.getConfig"
	AmbariPutConfig         = "ambari.putConfig"
	AmbariSetMaintenance    = "ambari.setMaintenance"
	AmbariRestartComponents = "ambari.restartComponents"
	AmbariGetRequest        = "ambari.getRequest"
	AmbariListBrokerHosts   = "ambari.listBrokerHosts"
)
