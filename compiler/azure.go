package compiler

import (
	"fmt"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/spec"
)

// advertiseIPSnippet is the kafka-env template addition documented for
// Kafka on HDInsight: brokers advertise their IP instead of their FQDN, which
// peered VNets cannot resolve.
const advertiseIPSnippet = `
# Configure Kafka to advertise IP addresses instead of FQDN (topoflow)
IP_ADDRESS=$(hostname -i)
echo advertised.listeners=$IP_ADDRESS
sed -i.bak -e '/advertised/{/advertised@/!d;}' /usr/hdp/current/kafka-broker/conf/server.properties
echo "advertised.listeners=PLAINTEXT://$IP_ADDRESS:9092" >> /usr/hdp/current/kafka-broker/conf/server.properties
`

// azureVNetPeering compiles the AKS ↔ Kafka on HDInsight runbook: peer the
// VNets both ways and wait Connected, make the brokers advertise IPs through
// Ambari (kafka-env template, listeners), restart the brokers in maintenance
// mode, and verify from the client VNet.
func (b *builder) azureVNetPeering(s *spec.KafkaAccess) error {
	b.summary(s)
	owner, client := s.Kafka.Account, s.Client.Account
	cross := owner != client
	timeout := stepTimeout(s)
	if s.Ambari == nil {
		return fmt.Errorf("ambari settings are missing")
	}
	ambari := s.Ambari.Account
	maintenance := s.Ambari.Maintenance == nil || *s.Ambari.Maintenance
	restart := s.Ambari.Restart == nil || *s.Ambari.Restart
	lock := literal("ambari:" + s.Kafka.ResourceGroup + "/" + s.Kafka.Cluster)
	name := b.peeringName(s)
	opts := s.Peering
	if opts == nil {
		opts = &spec.PeeringOptions{}
	}

	b.add(plan.Step{
		ID: "get-cluster", Title: "Wait until the HDInsight cluster is running",
		Action: catalog.AzureHDInsightGetCluster, Account: owner,
		Inputs: map[string]plan.Value{"resourceGroup": plan.Lit(s.Kafka.ResourceGroup), "cluster": plan.Lit(s.Kafka.Cluster)},
		Wait:   b.waitContract(s, catalog.AzureHDInsightGetCluster, nil),
	})
	last := "get-cluster"
	// A given approval always yields a gate, in one subscription too: the
	// restart of every broker is the Kafka owner's call.
	if cross || s.Approval != nil {
		b.add(plan.Step{
			ID: "approve-peering", Title: "Owners approve the VNet peering",
			Action: plan.ActionApproval,
			Gate: gate(s.Approval, fmt.Sprintf("Approve peering VNet `%s` (HDInsight cluster `%s`, subscription account `%s`) with VNet `%s` (account `%s`, %s), "+
				"and restarting the Kafka brokers.", s.Kafka.VNet, s.Kafka.Cluster, owner, s.Client.VNet, client, s.Client.CIDR)),
			DependsOn: []string{last},
		})
		last = "approve-peering"
	}
	peer := func(id, title, account, rg, vnet, remoteAccount, remoteRG, remoteVNet string) {
		in := map[string]plan.Value{
			"resourceGroup": plan.Lit(rg), "vnet": plan.Lit(vnet), "name": plan.Lit(name),
			"remoteResourceGroup": plan.Lit(remoteRG), "remoteVnet": plan.Lit(remoteVNet),
			"allowForwardedTraffic": plan.Lit(opts.AllowForwarded), "useRemoteGateways": plan.Lit(opts.UseRemoteGateway),
		}
		if remoteAccount != account {
			in["remoteAccount"] = plan.Lit(remoteAccount)
		}
		b.add(plan.Step{ID: id, Title: title, Action: catalog.AzureNetworkCreatePeering, Account: account, Inputs: in,
			DependsOn: []string{last}, Timeout: timeout})
		// The second side waits for the first: a peering PUT while the other VNet is Updating
		// answers 400 ReferencedResourceNotProvisioned, and azurerm serialises every peering
		// (terraform-provider-azurerm internal/services/network/virtual_network_peering_resource.go:
		// locks.ByID(virtualNetworkPeeringResourceType)).
		last = id
	}
	peer("peer-kafka-to-client", fmt.Sprintf("Peer the Kafka VNet %s with the client VNet %s", s.Kafka.VNet, s.Client.VNet),
		owner, s.Kafka.ResourceGroup, s.Kafka.VNet, client, s.Client.ResourceGroup, s.Client.VNet)
	peer("peer-client-to-kafka", fmt.Sprintf("Peer the client VNet %s with the Kafka VNet %s", s.Client.VNet, s.Kafka.VNet),
		client, s.Client.ResourceGroup, s.Client.VNet, owner, s.Kafka.ResourceGroup, s.Kafka.VNet)
	b.add(plan.Step{
		ID: "wait-peering-connected", Title: "Wait until the peering is Connected",
		Action: catalog.AzureNetworkGetPeering, Account: owner,
		Inputs:    map[string]plan.Value{"resourceGroup": plan.Lit(s.Kafka.ResourceGroup), "vnet": plan.Lit(s.Kafka.VNet), "name": plan.Lit(name)},
		Wait:      b.waitContract(s, catalog.AzureNetworkGetPeering, nil),
		DependsOn: []string{"peer-kafka-to-client", "peer-client-to-kafka"},
	})
	b.add(plan.Step{
		ID: "advertise-ips", Title: "Make the brokers advertise their IP addresses (Ambari kafka-env template)",
		Action: catalog.AmbariPutConfig, Account: ambari,
		Inputs: map[string]plan.Value{
			"type": plan.Lit("kafka-env"), "appendContent": plan.Lit(advertiseIPSnippet),
			"note": plan.Lit("topoflow " + b.doc.Metadata.Name + ": advertise IP addresses"),
		},
		Locks:     []string{lock},
		DependsOn: []string{"wait-peering-connected"}, Timeout: timeout,
	})
	b.add(plan.Step{
		ID: "listen-all-interfaces", Title: "Make the brokers listen on all interfaces (Ambari kafka-broker listeners)",
		Action: catalog.AmbariPutConfig, Account: ambari,
		Inputs: map[string]plan.Value{
			"type": plan.Lit("kafka-broker"), "properties": plan.Lit(map[string]any{"listeners": "PLAINTEXT://0.0.0.0:9092"}),
			"note": plan.Lit("topoflow " + b.doc.Metadata.Name + ": listen on all interfaces"),
		},
		Locks:     []string{lock},
		DependsOn: []string{"advertise-ips"}, Timeout: timeout,
	})
	last = "listen-all-interfaces"
	if restart {
		if maintenance {
			b.add(plan.Step{
				ID: "maintenance-on", Title: "Turn on maintenance mode for Kafka",
				Action: catalog.AmbariSetMaintenance, Account: ambari,
				Inputs:    map[string]plan.Value{"service": plan.Lit("KAFKA"), "state": plan.Lit("ON")},
				Locks:     []string{lock},
				DependsOn: []string{last}, Timeout: timeout,
			})
			last = "maintenance-on"
		}
		b.add(plan.Step{
			ID: "restart-brokers", Title: "Restart the Kafka brokers",
			Action: catalog.AmbariRestartComponents, Account: ambari,
			Inputs: map[string]plan.Value{"service": plan.Lit("KAFKA"), "component": plan.Lit("KAFKA_BROKER")},
			Locks:  []string{lock},
			// Undoing a restart means running the brokers on the previous
			// configs again: restore both versions and restart (while
			// maintenance mode is still on; its own compensation turns it off).
			Compensation: &plan.Compensation{
				Title:  "Restore the previous Kafka configs and restart the brokers again",
				Action: catalog.AmbariRestoreAndRestart,
				Inputs: map[string]plan.Value{
					"service": plan.Lit("KAFKA"), "component": plan.Lit("KAFKA_BROKER"),
					"configs": plan.Expr(`[{"type": "kafka-env", "tag": steps["advertise-ips"].previousTag}, ` +
						`{"type": "kafka-broker", "tag": steps["listen-all-interfaces"].previousTag}]`),
					"note": plan.Lit("topoflow " + b.doc.Metadata.Name + ": rollback"),
				},
			},
			DependsOn: []string{last}, Timeout: timeout,
		})
		b.add(plan.Step{
			ID: "wait-restart", Title: "Wait until the restart request completes",
			Action: catalog.AmbariGetRequest, Account: ambari,
			Inputs:    map[string]plan.Value{"requestId": plan.Expr(`steps["restart-brokers"].requestId`)},
			Wait:      b.waitContract(s, catalog.AmbariGetRequest, nil),
			DependsOn: []string{"restart-brokers"},
		})
		last = "wait-restart"
		if maintenance {
			b.add(plan.Step{
				ID: "maintenance-off", Title: "Turn off maintenance mode for Kafka",
				Action: catalog.AmbariSetMaintenance, Account: ambari,
				Inputs:       map[string]plan.Value{"service": plan.Lit("KAFKA"), "state": plan.Lit("OFF")},
				Locks:        []string{lock},
				Compensation: noCompensation,
				DependsOn:    []string{last}, Timeout: timeout,
			})
			last = "maintenance-off"
		}
	}
	b.add(plan.Step{
		ID: "list-brokers", Title: "List the broker hosts and their IP addresses",
		Action: catalog.AmbariListBrokerHosts, Account: ambari,
		DependsOn: []string{last}, Timeout: timeout,
	})
	b.verifyStep(s, `map(steps["list-brokers"].brokers, #.ip + ":9092")`, "", "list-brokers")
	return nil
}
