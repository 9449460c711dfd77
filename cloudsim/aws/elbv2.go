package aws

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
)

// Elastic Load Balancing v2 (network load balancers only), AWS Query
// protocol, namespace 2015-12-01, as aws-sdk-go-v2/service/elasticloadbalancingv2
// serializes it (lists as Name.member.N; responses <XResponse><XResult>;
// errors <ErrorResponse><Error><Type/><Code/><Message/>).
//
// A load balancer is an inventory port with deviceOwner network-load-balancer
// (ID = ARN, Name = load balancer name, IP = its node's address in its first
// subnet, Status provisioning → active). A target group is an inventory
// config of type elbv2-target-group, its registered targets in Properties
// "targets" ("ip:port,..."); a listener a config of type elbv2-listener whose
// Target is the load balancer ARN. An endpoint service in front of the load
// balancer forwards each listener port to the listener's first registered
// target, bytes unchanged (see privatelink.go).

const (
	elbNS          = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	typeTargetGrp  = "elbv2-target-group"
	typeELBListen  = "elbv2-listener"
	typeNLBForward = "nlb-listener"
	nlbHostedZone  = "Z2IFOLAFXWLO4F" // eu-west-1 NLB canonical hosted zone (https://docs.aws.amazon.com/general/latest/gr/elb.html)
	elbNameMaxSize = 32
)

// elbNameRE: "up to 32 alphanumeric characters or hyphens, must not begin or end
// with a hyphen" (aws-sdk-go-v2/service/elasticloadbalancingv2/api_op_CreateLoadBalancer.go Name).
var elbNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)

type elbHandler func(c *caller, f form) ([]node, *ec2Error)

func (a *api) elbActions() map[string]elbHandler {
	return map[string]elbHandler{
		"CreateLoadBalancer":    a.createLoadBalancer,
		"DescribeLoadBalancers": a.describeLoadBalancers,
		"DeleteLoadBalancer":    a.deleteLoadBalancer,
		"CreateTargetGroup":     a.createTargetGroup,
		"DescribeTargetGroups":  a.describeTargetGroups,
		"DeleteTargetGroup":     a.deleteTargetGroup,
		"RegisterTargets":       a.registerTargets,
		"DeregisterTargets":     a.deregisterTargets,
		"CreateListener":        a.createListener,
		"DescribeListeners":     a.describeListeners,
		"DeleteListener":        a.deleteListener,
	}
}

// serveELB answers the ELBv2 Query API.
func (a *api) serveELB(w http.ResponseWriter, r *http.Request) {
	c, aerr := a.authenticate(r)
	if aerr != nil {
		e := ec2AuthError(aerr)
		if e.code == "AuthFailure" {
			e.code = "InvalidClientTokenId" // awsQuery services answer InvalidClientTokenId (as STS does)
		}
		writeELBError(w, e)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeELBError(w, errf("ValidationError", "read body: %v", err))
		return
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		writeELBError(w, errf("ValidationError", "malformed form body: %v", err))
		return
	}
	f := form{vals}
	action := f.str("Action")
	h, ok := a.elbActions()[action]
	if !ok {
		writeELBError(w, errf("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if ft := a.faults.Check(r.Context(), "aws.elbv2."+action); ft != nil {
		writeELBError(w, &ec2Error{status: ft.Status, code: ft.Code, message: ft.Message})
		return
	}
	kids, e := h(c, f)
	if e != nil {
		writeELBError(w, e)
		return
	}
	rid := requestID()
	w.Header().Set("X-Amzn-Requestid", rid)
	writeXML(w, http.StatusOK, el(action+"Response", el(action+"Result", kids...), el("ResponseMetadata", tx("RequestId", rid))), elbNS)
}

func writeELBError(w http.ResponseWriter, e *ec2Error) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, el("ErrorResponse", el("Error", tx("Type", typ), tx("Code", e.code), tx("Message", e.message)), tx("RequestId", requestID())), elbNS)
}

// members renders a list as <name><member>...</member></name>.
func members(name string, items ...node) node {
	out := node{name: name}
	for _, it := range items {
		it.name = "member"
		out.kids = append(out.kids, it)
	}
	return out
}

func strMembers(name string, vals []string) node {
	var items []node
	for _, v := range vals {
		items = append(items, tx("member", v))
	}
	return members(name, items...)
}

func elbSuffix() string { return randHex(8) }
