package catalog

import "github.com/topoflow/topoflow/plan"

// Ambari config versions: the contracts and descriptors of
// ambari.getConfig and ambari.putConfig.

// AmbariConfigIn names a config type.
type AmbariConfigIn struct {
	Type string `json:"type" required:"true" doc:"config type, e.g. kafka-env, kafka-broker"`
}

// AmbariConfigOut is the result of ambari.getConfig.
type AmbariConfigOut struct {
	Type       string            `json:"type" doc:"config type"`
	Tag        string            `json:"tag" doc:"tag of the desired version"`
	Version    int               `json:"version" doc:"version number of the desired version"`
	Properties map[string]string `json:"properties" doc:"the version's properties"`
}

// AmbariPutConfigIn are the inputs of ambari.putConfig.
type AmbariPutConfigIn struct {
	Type          string         `json:"type" required:"true" doc:"config type"`
	Properties    map[string]any `json:"properties" doc:"properties to set"`
	AppendContent string         `json:"appendContent" doc:"text appended to the content property (kafka-env template)"`
	RestoreTag    string         `json:"restoreTag" doc:"re-apply the properties of this earlier tag"`
	Note          string         `json:"note" doc:"service_config_version_note"`
}

// AmbariPutConfigOut is the result of ambari.putConfig.
type AmbariPutConfigOut struct {
	Type        string `json:"type" doc:"config type"`
	Tag         string `json:"tag" doc:"tag of the desired version now"`
	PreviousTag string `json:"previousTag" doc:"tag of the version it replaced (what a rollback restores)"`
	Changed     bool   `json:"changed" doc:"false when the config already had these properties (nothing written)"`
	Version     int    `json:"version" doc:"version number of the desired version now"`
}

func init() {
	Register(Typed[AmbariConfigIn, AmbariConfigOut](Action{
		Name: AmbariGetConfig, Provider: "ambari", Read: true,
		Title: "Read a desired Ambari config",
		Doc:   "GET desired_configs for the type's tag, then the configuration's properties.",
	}))
	Register(Typed[AmbariPutConfigIn, AmbariPutConfigOut](Action{
		Name: AmbariPutConfig, Provider: "ambari",
		Title: "Write a new desired Ambari config version",
		Doc: "Reads the current desired config of type, applies the change (properties set; appendContent appended to " +
			"the `content` property unless already present; or restoreTag: the properties of that earlier tag), and PUTs the " +
			"FULL property map under a new tag version<ms>. An unchanged config writes nothing (changed=false). Returns " +
			"previousTag so a rollback restores it.",
		Inverse: &Inverse{
			Action: AmbariPutConfig, Title: "Restore the previous config version",
			Inputs: map[string]plan.Value{
				"type": plan.Expr("input.type"), "restoreTag": plan.Expr("output.previousTag"),
				"note": plan.Lit("topoflow rollback"),
			},
		},
	}))
}
