package aws

import (
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// PrivateLink model. A network load balancer is an inventory port with
// deviceOwner "network-load-balancer" whose ID is the load balancer ARN and
// whose tags "listener:<port>" = "<target port ID>:<target port>" say where
// each listener forwards (e.g. one listener per MSK broker). An endpoint
// service is an inventory endpoint service (awsType vpc-endpoint-service);
// an interface endpoint an inventory endpoint (awsType vpc-endpoint) whose
// state is the AWS one. When an endpoint is available, one hidden listener
// endpoint per load-balancer listener (awsType listener, status accepted)
// makes the network model forward the endpoint's address and listener port
// to the listener's target, byte for byte (an NLB is layer 4 and never
// rewrites Kafka metadata), so a client in the endpoint's VPC reaches the
// brokers' listeners; the endpoint's DNS name resolves in its VPC. The
// brokers' metadata still names their own b-N...amazonaws.com addresses:
// a client needs a private hosted zone mapping those names to endpoints
// (see route53.go) to follow it.

const (
	typeService  = "vpc-endpoint-service"
	typeEndpoint = "vpc-endpoint"
	typeListener = "listener"
	nlbOwner     = "network-load-balancer"
)

// listener is one load-balancer listener.
type listener struct {
	port       int
	targetPort string // port (ENI) ID
	targetTCP  int
}

// nlbListeners returns the listeners of a load balancer of the caller.
func (a *api) nlbListeners(c *caller, arn string) ([]listener, *ec2Error) {
	p, err := inventory.Get[*inventory.Port](a.inv, arn)
	if err != nil || p.DeviceOwner != nlbOwner || p.Account != c.acct.ID || p.Region != c.region {
		return nil, errf("InvalidParameter", "Load balancer %s does not exist or is not a network load balancer of this account", arn)
	}
	var out []listener
	for k, v := range p.Tags {
		ps, ok := strings.CutPrefix(k, "listener:")
		if !ok {
			continue
		}
		port, err1 := strconv.Atoi(ps)
		target, tport, ok2 := strings.Cut(v, ":")
		tp, err2 := strconv.Atoi(tport)
		if err1 != nil || !ok2 || err2 != nil {
			return nil, errf("InvalidParameter", "load balancer %s: malformed listener %s=%s", arn, k, v)
		}
		out = append(out, listener{port: port, targetPort: target, targetTCP: tp})
	}
	out = append(out, a.createdListeners(arn)...)
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out, nil
}

func isType(attrs map[string]string, t string) bool { return attrs[attrType] == t }
