package catalog

// EMQX Platform deployment connectors (EMQX 5 REST API, /api/v5): the probe
// of a connector into our VPC, implemented in activities/emqx/connector.go,
// served by the twin in cloudsim/emqx/connector.go.

// EMQXProbeConnector is the name of the connector probe.
const EMQXProbeConnector = "emqx.probeConnector"

// Connector types emqx.probeConnector probes (EMQX 5 connector types:
// apps/emqx_bridge_kafka kafka_producer, apps/emqx_bridge_http http).
const (
	EMQXConnectorKafka = "kafka_producer"
	EMQXConnectorHTTP  = "http"
)

// EMQXProbeConnectorIn are the inputs of emqx.probeConnector.
type EMQXProbeConnectorIn struct {
	Type           string `json:"type" required:"true" doc:"connector type: kafka_producer (target host:port[,host:port], its bootstrap_hosts) or http (target an http(s) URL)"`
	Target         string `json:"target" required:"true" doc:"what the deployment's connector reaches in our VPC: Kafka bootstrap hosts, or an HTTP URL"`
	Name           string `json:"name" doc:"connector name of the probe (default topoflow-verify; nothing is created)"`
	ConnectTimeout string `json:"connectTimeout" format:"duration" doc:"the connector's connect_timeout (default: EMQX's, 5s for Kafka, 15s for HTTP)"`
}

// EMQXProbeConnectorOut is the result of emqx.probeConnector.
type EMQXProbeConnectorOut struct {
	Type      string `json:"type" doc:"connector type probed"`
	Target    string `json:"target" doc:"what was reached"`
	API       string `json:"api" doc:"the deployment API address asked (no credentials)"`
	ElapsedMs int64  `json:"elapsedMs" doc:"how long the probe took, in milliseconds"`
}

func init() {
	Register(Typed[EMQXProbeConnectorIn, EMQXProbeConnectorOut](Action{
		Name: EMQXProbeConnector, Provider: "emqx", Read: true,
		Title: "Ask the EMQX deployment to probe a connector into our VPC",
		Doc: "POST /api/v5/connectors_probe on the deployment's REST API (the account: provider emqx, its deployment API key): " +
			"the deployment tests a connector (kafka_producer or http) to the target without creating it, dialing from its own " +
			"network, so it proves the direction our security-group rule admits (the deployment into our VPC) and both routes. " +
			"204 passes; 400 TEST_FAILED fails (retried: a rule or route may still be on its way), naming EMQX's reason; " +
			"other 400s and 401 fail for good.",
	}))
}
