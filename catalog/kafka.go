package catalog

func init() {
	Register(Action{
		Name:     "kafka.verify",
		Provider: "kafka",
		Title:    "Verify produce/consume through the expected broker addresses",
		Doc: "Bootstraps through the given addresses, checks that every advertised broker address is reachable " +
			"from the client and (with expectBrokers) equal to the expected one, checks that each advertised address " +
			"is answered by the broker advertising it (a swapped mapping fails naming the broker), then produces a " +
			"canary record keyed by the step's idempotency key to every canary partition and consumes it back. " +
			"SASL credentials are resolved by the worker from the step's account. It dials from a probe worker in the " +
			"client's network when the account registry names one for the client account and network (the step's probe), " +
			"else from the worker's own network; outputs dialedFrom and origin say which.",
		Inputs: []Param{
			{Name: "bootstrap", Type: "array", Required: true, Doc: "bootstrap addresses (host:port)"},
			{Name: "expectBrokers", Type: "object", Doc: "broker ID → expected advertised host:port"},
			{Name: "topic", Type: "string", Doc: "canary topic (default topoflow-verify); created with one partition per broker"},
			{Name: "clientNetwork", Type: "string", Doc: "VPC/VNet the client sits in: the probe registered for it runs the step, and a probe in another network refuses it"},
			{Name: "sasl", Type: "object", Doc: "{mechanism: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|AWS_MSK_IAM}; credentials come from the step's account (AWS_MSK_IAM: its AWS keys sign the OAUTHBEARER token)"},
			{Name: "tls", Type: "any", Doc: "true, or {enabled, caPem, serverName}"},
			{Name: "timeout", Type: "string", Doc: "overall time limit (default 20s)"},
		},
		Outputs: []string{"bootstrap", "brokers", "topic", "partition", "offset", "records", "roundTripMs", "dialedFrom", "origin"},
		Read:    true,
	})
}
