package ambari

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The Kafka broker hosts of the cluster: list.

func init() {
	typed[catalog.AmbariListBrokerHosts] = func(a *Actions) activities.Func { return activities.Typed(a.ListBrokerHosts) }
}

// ListBrokerHosts lists the hosts with a KAFKA_BROKER component and their
// IPs, sorted by host name; bootstrap joins ip:port (port input, default 9092).
func (a *Actions) ListBrokerHosts(ctx context.Context, call plan.Call, in catalog.AmbariListBrokerHostsIn) (catalog.AmbariListBrokerHostsOut, error) {
	var none catalog.AmbariListBrokerHostsOut
	port := 9092
	if in.Port != nil && *in.Port > 0 {
		port = *in.Port
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	hosts, err := c.ComponentHosts(ctx, "KAFKA", "KAFKA_BROKER")
	if err != nil {
		return none, classify(call.Action, err)
	}
	ips, err := c.HostIPs(ctx)
	if err != nil {
		return none, classify(call.Action, err)
	}
	sort.Strings(hosts)
	brokers := make([]catalog.AmbariBrokerHost, 0, len(hosts))
	var boot []string
	for _, h := range hosts {
		ip := ips[h]
		if ip == "" {
			return none, activities.Fail(plan.ErrUnavailable, "%s: broker host %s has no IP in Ambari", call.Action, h)
		}
		brokers = append(brokers, catalog.AmbariBrokerHost{HostName: h, IP: ip})
		boot = append(boot, ip+":"+strconv.Itoa(port))
	}
	if len(brokers) == 0 {
		return none, activities.Fail(plan.ErrNotFound, "%s: no KAFKA_BROKER hosts", call.Action)
	}
	return catalog.AmbariListBrokerHostsOut{Brokers: brokers, Bootstrap: strings.Join(boot, ",")}, nil
}
