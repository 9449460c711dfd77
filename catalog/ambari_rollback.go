package catalog

// AmbariRestoreAndRestart is the rollback of an Ambari change whose restart
// already ran (or failed): restore the previous config versions, restart the
// component again and wait until the restart request completes. It belongs
// in the compensation of the restart step, which runs while maintenance mode
// is still on (the maintenance-on step's compensation turns it off after).
const AmbariRestoreAndRestart = "ambari.restoreAndRestart"

// AmbariConfigRef names one config version to restore.
type AmbariConfigRef struct {
	Type string `json:"type" required:"true" doc:"config type"`
	Tag  string `json:"tag" required:"true" doc:"tag of the version to restore"`
}

// AmbariRestoreAndRestartIn are the inputs of ambari.restoreAndRestart.
type AmbariRestoreAndRestartIn struct {
	Configs      []AmbariConfigRef `json:"configs" required:"true" doc:"list of {type, tag}: the versions to restore (e.g. the putConfig steps' previousTag)"`
	Service      string            `json:"service" doc:"service name (default KAFKA)"`
	Component    string            `json:"component" doc:"component name (default KAFKA_BROKER)"`
	Note         string            `json:"note" doc:"service_config_version_note of restored versions"`
	PollInterval string            `json:"pollInterval" doc:"time between request polls (default 2s)"`
}

// AmbariRestored is one config version restoreAndRestart restored.
type AmbariRestored struct {
	Type        string `json:"type" doc:"config type"`
	Tag         string `json:"tag" doc:"tag of the desired version now"`
	RestoredTag string `json:"restoredTag" doc:"the tag whose properties were restored"`
	Changed     bool   `json:"changed" doc:"false when they were already desired (nothing written)"`
}

// AmbariRestoreAndRestartOut is the result of ambari.restoreAndRestart.
type AmbariRestoreAndRestartOut struct {
	Restored  []AmbariRestored `json:"restored" doc:"the versions restored"`
	RequestID int              `json:"requestId" doc:"the restart request (0: nothing was stale)"`
	Status    string           `json:"status" doc:"COMPLETED"`
}

func init() {
	Register(Typed[AmbariRestoreAndRestartIn, AmbariRestoreAndRestartOut](Action{
		Name: AmbariRestoreAndRestart, Provider: "ambari",
		Title: "Restore the previous config versions and restart again",
		Doc: "For each {type, tag} of configs, re-applies the properties of that tag as a new desired version (nothing " +
			"is written when they are already desired), then POSTs a RESTART of the component on all its hosts and polls " +
			"the request until COMPLETED (heartbeating). A FAILED/ABORTED/TIMEDOUT request fails the action (WaitFailed).",
	}))
}
