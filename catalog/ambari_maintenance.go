package catalog

import "github.com/topoflow/topoflow/plan"

// Ambari maintenance mode: the contract and descriptor of ambari.setMaintenance.

// AmbariMaintenanceIn are the inputs of ambari.setMaintenance.
type AmbariMaintenanceIn struct {
	Service string `json:"service" required:"true" doc:"service name, e.g. KAFKA"`
	State   string `json:"state" required:"true" doc:"ON or OFF"`
}

// AmbariMaintenanceOut is the result of ambari.setMaintenance.
type AmbariMaintenanceOut struct {
	Service  string `json:"service" doc:"service name"`
	Previous string `json:"previous" doc:"the state before (what a rollback restores)"`
	State    string `json:"state" doc:"the state now, ON or OFF"`
}

func init() {
	Register(Typed[AmbariMaintenanceIn, AmbariMaintenanceOut](Action{
		Name: AmbariSetMaintenance, Provider: "ambari",
		Title: "Set a service's maintenance mode",
		Doc:   "PUT services/<service> ServiceInfo/maintenance_state; returns the previous state so a rollback restores it.",
		Inverse: &Inverse{
			Action: AmbariSetMaintenance, Title: "Restore the previous maintenance mode",
			Inputs: map[string]plan.Value{"service": plan.Expr("input.service"), "state": plan.Expr("output.previous")},
		},
	}))
}
