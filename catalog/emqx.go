package catalog

// EMQX Platform (runbook 003): the check of the data a person hands back
// from the EMQX Platform console, and the MQTT verification through a
// peering.

// Names of the EMQX Platform and MQTT actions.
const (
	EMQXCheckConsole = "emqx.checkConsole"
	MQTTVerify       = "mqtt.verify"
)

// EMQXCheckConsoleIn are the inputs of emqx.checkConsole.
type EMQXCheckConsoleIn struct {
	Cloud    string            `json:"cloud" required:"true" doc:"cloud of the deployment: huawei, aws, alibaba or tencent"`
	Data     map[string]any    `json:"data" required:"true" doc:"what the console step was completed with (the manual step's data)"`
	Expected map[string]string `json:"expected" required:"true" doc:"key → the value the console must have been given (e.g. peeringId → the peering created)"`
	Patterns map[string]string `json:"patterns" doc:"key → regular expression a value with no expected value must match (e.g. userId)"`
}

// EMQXCheckConsoleOut is the result of emqx.checkConsole.
type EMQXCheckConsoleOut struct {
	Checked []string          `json:"checked" doc:"the keys checked, sorted"`
	Values  map[string]string `json:"values" doc:"the values handed back, by key"`
}

// MQTTVerifyIn are the inputs of mqtt.verify.
type MQTTVerifyIn struct {
	Address       string `json:"address" required:"true" doc:"broker address host:port (the deployment's private address)"`
	Topic         string `json:"topic" doc:"topic of the nonce (default topoflow/verify)"`
	ClientNetwork string `json:"clientNetwork" doc:"VPC the client sits in: the probe registered for it runs the step"`
	Timeout       string `json:"timeout" format:"duration" doc:"overall time limit (default 20s)"`
}

// MQTTVerifyOut is the result of mqtt.verify.
type MQTTVerifyOut struct {
	Address     string         `json:"address" doc:"the broker address dialed"`
	Topic       string         `json:"topic" doc:"the topic of the nonce"`
	Nonce       string         `json:"nonce" doc:"the nonce published and read back"`
	RoundTripMs int64          `json:"roundTripMs" doc:"connect to read-back, in milliseconds"`
	DialedFrom  string         `json:"dialedFrom" doc:"where the verification dialed from, as a sentence"`
	Origin      map[string]any `json:"origin" doc:"where the verification dialed from: a probe in the client's network, or the worker's own network"`
}

func init() {
	Register(Typed[EMQXCheckConsoleIn, EMQXCheckConsoleOut](Action{
		Name: EMQXCheckConsole, Provider: "emqx", Read: true,
		Title: "Check the data entered in the EMQX Platform console",
		Doc: "Checks the data the person completed the EMQX Platform console step with: every expected key present and equal " +
			"(runbook 003 华为云 step 6: 对等连接 ID, VPC 网段, VPC ID, 用户 ID; AWS step 4: 对等连接 ID, 请求方拥有者 ID, 请求者 VPC), " +
			"every pattern matched. A mismatch fails for good (Invalid), naming the key, what was given and what is right.",
	}))
	Register(Typed[MQTTVerifyIn, MQTTVerifyOut](Action{
		Name: MQTTVerify, Provider: "mqtt", Read: true,
		Title: "Verify MQTT subscribe/publish through the broker's private address",
		Doc: "Connects to the broker (MQTT 5, github.com/eclipse/paho.golang), subscribes to the topic, publishes a nonce " +
			"derived from the idempotency key at QoS 1 and reads it back. It dials from a probe worker in the client's network " +
			"when the account registry names one (the step's probe), else from the worker's own network; a dial that times out " +
			"says which hop to check (our route to the deployment's CIDR, the peering, security groups).",
	}))
}
