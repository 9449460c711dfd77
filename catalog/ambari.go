package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

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

func init() {
	Register(Action{
		Name: AmbariGetConfig, Provider: "ambari", Read: true,
		Title:   "Read a desired Ambari config",
		Doc:     "GET desired_configs for the type's tag, then the configuration's properties.",
		Inputs:  []Param{{Name: "type", Type: "string", Required: true, Doc: "config type, e.g. kafka-env, kafka-broker"}},
		Outputs: []string{"type", "tag", "version", "properties"},
	})
	Register(Action{
		Name: AmbariPutConfig, Provider: "ambari",
		Title: "Write a new desired Ambari config version",
		Doc: "Reads the current desired config of type, applies the change (properties set; appendContent appended to " +
			"the `content` property unless already present; or restoreTag: the properties of that earlier tag), and PUTs the " +
			"FULL property map under a new tag version<ms>. An unchanged config writes nothing (changed=false). Returns " +
			"previousTag so a rollback restores it.",
		Inputs: []Param{
			{Name: "type", Type: "string", Required: true, Doc: "config type"},
			{Name: "properties", Type: "object", Doc: "properties to set"},
			{Name: "appendContent", Type: "string", Doc: "text appended to the content property (kafka-env template)"},
			{Name: "restoreTag", Type: "string", Doc: "re-apply the properties of this earlier tag"},
			{Name: "note", Type: "string", Doc: "service_config_version_note"},
		},
		Outputs: []string{"type", "tag", "previousTag", "changed", "version"},
		Inverse: &Inverse{
			Action: AmbariPutConfig, Title: "Restore the previous config version",
			Inputs: map[string]plan.Value{
				"type": plan.Expr("input.type"), "restoreTag": plan.Expr("output.previousTag"),
				"note": plan.Lit("topoflow rollback"),
			},
		},
	})
	Register(Action{
		Name: AmbariSetMaintenance, Provider: "ambari",
		Title: "Set a service's maintenance mode",
		Doc:   "PUT services/<service> ServiceInfo/maintenance_state; returns the previous state so a rollback restores it.",
		Inputs: []Param{
			{Name: "service", Type: "string", Required: true, Doc: "service name, e.g. KAFKA"},
			{Name: "state", Type: "string", Required: true, Doc: "ON or OFF"},
		},
		Outputs: []string{"service", "previous", "state"},
		Inverse: &Inverse{
			Action: AmbariSetMaintenance, Title: "Restore the previous maintenance mode",
			Inputs: map[string]plan.Value{"service": plan.Expr("input.service"), "state": plan.Expr("output.previous")},
		},
	})
	Register(Action{
		Name: AmbariRestartComponents, Provider: "ambari",
		Title: "Restart a service's components",
		Doc: "POST requests RESTART for the component (operation level SERVICE, so maintenance mode does not skip it); " +
			"hosts empty means every host of the component. Returns the request ID to poll.",
		Inputs: []Param{
			{Name: "service", Type: "string", Required: true, Doc: "service name, e.g. KAFKA"},
			{Name: "component", Type: "string", Required: true, Doc: "component name, e.g. KAFKA_BROKER"},
			{Name: "hosts", Type: "array", Doc: "host names (default: all hosts of the component)"},
		},
		Outputs: []string{"requestId", "status", "hosts"},
	})
	Register(Action{
		Name: AmbariGetRequest, Provider: "ambari", Read: true,
		Title:   "Get an Ambari request",
		Inputs:  []Param{{Name: "requestId", Type: "integer", Required: true, Doc: "request ID"}},
		Outputs: []string{"requestId", "status", "progress", "abortReason", "abortedTaskCount", "failedTaskCount", "taskCount"},
		Wait: &plan.Wait{Pending: []string{"Accepted", "PENDING", "QUEUED", "IN_PROGRESS", "InProgress"}, Target: []string{"COMPLETED"},
			Failure:      []string{"FAILED", "ABORTED", "TIMEDOUT", "HOLDING_FAILED", "HOLDING_TIMEDOUT", "SKIPPED_FAILED"},
			PollInterval: plan.D(10 * time.Second), Timeout: plan.D(time.Hour)},
	})
	Register(Action{
		Name: AmbariListBrokerHosts, Provider: "ambari", Read: true,
		Title:   "List the Kafka broker hosts and their IPs",
		Doc:     "Hosts with a KAFKA_BROKER component, with Hosts/ip; brokers is a list of {hostName, ip} sorted by host name.",
		Outputs: []string{"brokers", "bootstrap"},
	})
}
