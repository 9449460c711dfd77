package catalog

// Ambari broker hosts: the contract and descriptor of ambari.listBrokerHosts.

// AmbariListBrokerHostsIn are the inputs of ambari.listBrokerHosts.
type AmbariListBrokerHostsIn struct {
	Port *int `json:"port" doc:"broker port of the bootstrap addresses (default 9092)"`
}

// AmbariBrokerHost is one Kafka broker host.
type AmbariBrokerHost struct {
	HostName string `json:"hostName" doc:"host name"`
	IP       string `json:"ip" doc:"the host's IP (Hosts/ip)"`
}

// AmbariListBrokerHostsOut is the result of ambari.listBrokerHosts.
type AmbariListBrokerHostsOut struct {
	Brokers   []AmbariBrokerHost `json:"brokers" doc:"broker hosts sorted by host name"`
	Bootstrap string             `json:"bootstrap" doc:"ip:port of every broker, comma-separated"`
}

func init() {
	Register(Typed[AmbariListBrokerHostsIn, AmbariListBrokerHostsOut](Action{
		Name: AmbariListBrokerHosts, Provider: "ambari", Read: true,
		Title: "List the Kafka broker hosts and their IPs",
		Doc:   "Hosts with a KAFKA_BROKER component, with Hosts/ip; brokers is a list of {hostName, ip} sorted by host name.",
	}))
}
