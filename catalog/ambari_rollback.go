package catalog

// AmbariRestoreAndRestart is the rollback of an Ambari change whose restart
// already ran (or failed): restore the previous config versions, restart the
// component again and wait until the restart request completes. It belongs
// in the compensation of the restart step, which runs while maintenance mode
// is still on (the maintenance-on step's compensation turns it off after).
const AmbariRestoreAndRestart = "ambari.restoreAndRestart"

func init() {
	Register(Action{
		Name: AmbariRestoreAndRestart, Provider: "ambari",
		Title: "Restore the previous config versions and restart again",
		Doc: "For each {type, tag} of configs, re-applies the properties of that tag as a new desired version (nothing " +
			"is written when they are already desired), then POSTs a RESTART of the component on all its hosts and polls " +
			"the request until COMPLETED (heartbeating). A FAILED/ABORTED/TIMEDOUT request fails the action (WaitFailed).",
		Inputs: []Param{
			{Name: "configs", Type: "array", Required: true, Doc: "list of {type, tag}: the versions to restore (e.g. the putConfig steps' previousTag)"},
			{Name: "service", Type: "string", Doc: "service name (default KAFKA)"},
			{Name: "component", Type: "string", Doc: "component name (default KAFKA_BROKER)"},
			{Name: "note", Type: "string", Doc: "service_config_version_note of restored versions"},
			{Name: "pollInterval", Type: "string", Doc: "time between request polls (default 2s)"},
		},
		Outputs: []string{"restored", "requestId", "status"},
	})
}
