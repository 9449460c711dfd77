package catalog

// KafkaVerify is the catalog name of the produce/consume verification.
const KafkaVerify = "kafka.verify"

// KafkaVerifyIn are the inputs of kafka.verify.
type KafkaVerifyIn struct {
	Bootstrap     []string          `json:"bootstrap" required:"true" split:"," doc:"bootstrap addresses (host:port)"`
	ExpectBrokers map[string]string `json:"expectBrokers" doc:"broker ID → expected advertised host:port"`
	// DMS's cross_vpc_info names listener IPs, not broker IDs
	// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go CrossVpcInfo).
	ExpectAddresses []string   `json:"expectAddresses" doc:"the expected set of advertised host:port, when the cloud does not say which broker has which (the identity check still finds swaps)"`
	Topic           string     `json:"topic" doc:"canary topic (default topoflow-verify); created with one partition per broker"`
	ClientNetwork   string     `json:"clientNetwork" doc:"VPC/VNet the client sits in: the probe registered for it runs the step, and a probe in another network refuses it"`
	SASL            *KafkaSASL `json:"sasl" doc:"{mechanism: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|AWS_MSK_IAM}; credentials come from the step's account (AWS_MSK_IAM: its AWS keys sign the OAUTHBEARER token)"`
	TLS             any        `json:"tls" doc:"true, or {enabled, caPem, serverName}"`
	Timeout         string     `json:"timeout" format:"duration" doc:"overall time limit (default 20s)"`
}

// KafkaSASL is kafka.verify's SASL setting.
type KafkaSASL struct {
	Mechanism string `json:"mechanism" doc:"PLAIN (default), SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM"`
}

// KafkaVerifyOut are the outputs of kafka.verify.
type KafkaVerifyOut struct {
	Bootstrap   []string          `json:"bootstrap" doc:"the bootstrap addresses dialed"`
	Brokers     map[string]string `json:"brokers" doc:"broker ID → advertised host:port"`
	Topic       string            `json:"topic" doc:"the canary topic"`
	Partition   int               `json:"partition" doc:"the first canary partition"`
	Offset      int64             `json:"offset" doc:"the first canary record's offset"`
	Records     int               `json:"records" doc:"canary records produced and consumed back"`
	RoundTripMs int64             `json:"roundTripMs" doc:"time the verification took, in milliseconds"`
	DialedFrom  string            `json:"dialedFrom" doc:"where the verification dialed from, as a sentence"`
	Origin      map[string]any    `json:"origin" doc:"where the verification dialed from: a probe in the client's network, or the worker's own network"`
}

func init() {
	Register(Typed[KafkaVerifyIn, KafkaVerifyOut](Action{
		Name:     KafkaVerify,
		Provider: "kafka",
		Title:    "Verify produce/consume through the expected broker addresses",
		Doc: "Bootstraps through the given addresses, checks that every advertised broker address is reachable " +
			"from the client and (with expectBrokers) equal to the expected one, checks that each advertised address " +
			"is answered by the broker advertising it (a swapped mapping fails naming the broker), then produces a " +
			"canary record keyed by the step's idempotency key to every canary partition and consumes it back. " +
			"SASL credentials are resolved by the worker from the step's account. It dials from a probe worker in the " +
			"client's network when the account registry names one for the client account and network (the step's probe), " +
			"else from the worker's own network; outputs dialedFrom and origin say which.",
		Read: true,
	}))
}
