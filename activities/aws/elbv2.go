package aws

import (
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// Elastic Load Balancing v2: the client and the names of the resources
// Topoflow creates (loadbalancer.go, targetgroup.go, listener.go).

// elbv2 returns an Elastic Load Balancing v2 client of the session.
func (s *session) elbv2() *elb.Client {
	return elb.NewFromConfig(s.cfg, func(o *elb.Options) {
		if ep, err := s.acct.Endpoint("elasticloadbalancing"); err == nil {
			o.BaseEndpoint = awssdk.String(ep)
		}
	})
}

// resourceName is the name of a load balancer or target group created for an
// idempotency key: "tf-" and 16 hex digits (names are at most 32
// alphanumerics or hyphens: api_op_CreateLoadBalancer.go Name). ELBv2
// creates are idempotent on identical settings, so a retry with the same
// name returns the same resource (api_op_CreateLoadBalancer.go,
// api_op_CreateTargetGroup.go, api_op_CreateListener.go).
func resourceName(key string) string { return "tf-" + shortHash(key) }
