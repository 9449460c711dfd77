package azure

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hdinsight/armhdinsight"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The HDInsight cluster resource (armhdinsight ClustersClient): read.

func init() {
	typed[catalog.AzureHDInsightGetCluster] = func(a *Actions) activities.Func { return activities.Typed(a.GetCluster) }
}

// GetCluster reads an HDInsight cluster: state, kind, connectivity
// endpoints, and the Ambari URL (https://<HTTPS endpoint>).
func (a *Actions) GetCluster(ctx context.Context, call plan.Call, in catalog.AzureClusterIn) (catalog.AzureClusterOut, error) {
	var none catalog.AzureClusterOut
	s, err := a.session(ctx, call.Action, call.Account)
	if err != nil {
		return none, err
	}
	c, err := armhdinsight.NewClustersClient(s.acct.Azure.SubscriptionID, s.cred, s.opts)
	if err != nil {
		return none, activities.Fail(plan.ErrInvalid, "%s: build HDInsight client: %v", call.Action, err)
	}
	got, err := c.Get(ctx, in.ResourceGroup, in.Cluster, nil)
	if err != nil {
		return none, classify(fmt.Sprintf("%s: cluster %s/%s", call.Action, in.ResourceGroup, in.Cluster), err)
	}
	out := catalog.AzureClusterOut{Endpoints: []catalog.AzureClusterEndpoint{}}
	if got.ID != nil {
		out.ClusterID = got.ID
	}
	p := got.Properties
	if p == nil {
		return out, nil
	}
	if p.ClusterState != nil {
		out.ClusterState = *p.ClusterState
	}
	if p.ProvisioningState != nil {
		out.ProvisioningState = string(*p.ProvisioningState)
	}
	if p.ClusterDefinition != nil && p.ClusterDefinition.Kind != nil {
		out.Kind = *p.ClusterDefinition.Kind
	}
	var eps []catalog.AzureClusterEndpoint
	for _, e := range p.ConnectivityEndpoints {
		if e == nil {
			continue
		}
		m := catalog.AzureClusterEndpoint{Name: deref(e.Name), Protocol: deref(e.Protocol), Location: deref(e.Location), PrivateIPAddress: e.PrivateIPAddress}
		if e.Port != nil {
			m.Port = to.Ptr(int(*e.Port))
		}
		eps = append(eps, m)
		if deref(e.Name) == "HTTPS" && e.Location != nil {
			u := "https://" + *e.Location
			if e.Port != nil && *e.Port != 443 {
				u += fmt.Sprintf(":%d", *e.Port)
			}
			out.AmbariURL = u
		}
	}
	if eps != nil {
		out.Endpoints = eps
	}
	if cp := p.ComputeProfile; cp != nil {
		for _, r := range cp.Roles {
			if r != nil && r.VirtualNetworkProfile != nil && r.VirtualNetworkProfile.ID != nil {
				out.VNetID = r.VirtualNetworkProfile.ID
				break
			}
		}
	}
	return out, nil
}
