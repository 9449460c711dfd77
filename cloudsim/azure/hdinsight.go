package azure

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The HDInsight cluster resource (Microsoft.HDInsight clusters): read.

func init() { resources = append(resources, (*Server).clusterRoutes) }

func (srv *Server) clusterRoutes() {
	srv.mux.Handle("GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.HDInsight/clusters/{name}", srv.arm("Microsoft.HDInsight", srv.getCluster))
}

// EngineHDInsight is the inventory.KafkaInstance engine of HDInsight Kafka clusters.
const EngineHDInsight = "hdinsight"

// Cluster returns the HDInsight Kafka cluster with that ARM ID (case-insensitive).
func Cluster(inv *inventory.Store, id string) (*inventory.KafkaInstance, bool) {
	for _, k := range inventory.List[*inventory.KafkaInstance](inv, inventory.Filter{}) {
		if k.Engine == EngineHDInsight && strings.EqualFold(k.ID, id) {
			return k, true
		}
	}
	return nil, false
}

// ClusterByName returns the HDInsight Kafka cluster named name (its
// Attrs["ambariCluster"] or its Name).
func ClusterByName(inv *inventory.Store, name string) (*inventory.KafkaInstance, bool) {
	for _, k := range inventory.List[*inventory.KafkaInstance](inv, inventory.Filter{}) {
		if k.Engine != EngineHDInsight {
			continue
		}
		if k.Attrs["ambariCluster"] == name || (k.Attrs["ambariCluster"] == "" && k.Name == name) {
			return k, true
		}
	}
	return nil, false
}

func (srv *Server) getCluster(w http.ResponseWriter, r *http.Request) {
	if f := srv.sim.Faults.Check(r.Context(), "azure.hdinsight.clusters.get"); f != nil {
		renderFault(w, f)
		return
	}
	id := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.HDInsight/clusters/%s", r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name"))
	k, ok := Cluster(srv.sim.Inventory, id)
	if !ok {
		armError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.HDInsight/clusters/%s' under resource group '%s' was not found.", r.PathValue("name"), r.PathValue("rg")))
		return
	}
	name := k.Name
	state, prov := "Running", "Succeeded"
	if k.Status != "" && !strings.EqualFold(k.Status, "available") && !strings.EqualFold(k.Status, "RUNNING") && !strings.EqualFold(k.Status, "ACTIVE") {
		state, prov = k.Status, "InProgress"
	}
	version := k.EngineVersion
	if version == "" {
		version = "5.1"
	}
	region := k.Region
	if region == "" {
		region = "westeurope"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": k.ID, "name": name, "type": "Microsoft.HDInsight/clusters", "location": region,
		"etag": k.Attrs["etag"], "tags": map[string]string{},
		"properties": map[string]any{
			"clusterVersion":    version,
			"clusterHdpVersion": "3.3.3",
			"osType":            "Linux",
			"tier":              "Standard",
			"clusterId":         strings.ReplaceAll(k.Name+"-"+k.Region, " ", ""),
			"clusterState":      state,
			"provisioningState": prov,
			"createdDate":       k.CreatedAt.Format("2006-01-02T15:04:05.999"),
			"clusterDefinition": map[string]any{"kind": "KAFKA", "componentVersion": map[string]string{"Kafka": "3.2"}},
			"computeProfile": map[string]any{"roles": []any{map[string]any{
				"name": "workernode", "targetInstanceCount": len(k.Brokers),
				"hardwareProfile":       map[string]string{"vmSize": "standard_d4_v2"},
				"virtualNetworkProfile": map[string]string{"id": k.VPCID, "subnet": k.SubnetID},
			}}},
			"connectivityEndpoints": []any{
				map[string]any{"name": "SSH", "protocol": "TCP", "location": name + "-ssh.azurehdinsight.net", "port": 22},
				map[string]any{"name": "HTTPS", "protocol": "TCP", "location": name + ".azurehdinsight.net", "port": 443},
				map[string]any{"name": "HTTPS-INTERNAL", "protocol": "TCP", "location": name + "-int.azurehdinsight.net", "port": 443},
			},
			"kafkaRestProperties": nil,
		},
	})
}
