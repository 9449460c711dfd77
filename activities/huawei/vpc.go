package huawei

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	vpc2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2"
	v2m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v2/model"
	vpc3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v3"
	v3m "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpc/v3/model"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func (a *Actions) vpc2For(ctx context.Context, call plan.Call) (*session, *vpc2.VpcClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	hc, err := s.hcClient("vpc")
	if err != nil {
		return nil, nil, err
	}
	return s, vpc2.NewVpcClient(hc), nil
}

func (a *Actions) vpc3For(ctx context.Context, call plan.Call) (*session, *vpc3.VpcClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	hc, err := s.hcClient("vpc")
	if err != nil {
		return nil, nil, err
	}
	return s, vpc3.NewVpcClient(hc), nil
}

// attemptMemo marks that an earlier attempt of this activity may have
// created the resource (for resources without a description to search).
type attemptMemo struct {
	Creating bool `json:"creating"`
}

// AddSecurityGroupRule adds an allow rule, reusing an identical one. created
// reports whether Topoflow made the rule (only then does the inverse delete it).
func (a *Actions) AddSecurityGroupRule(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	sg, err := activities.String(call, "securityGroupId", true)
	if err != nil {
		return nil, err
	}
	direction, err := activities.String(call, "direction", false)
	if err != nil {
		return nil, err
	}
	if direction == "" {
		direction = "ingress"
	}
	if direction != "ingress" && direction != "egress" {
		return nil, activities.Invalid("%s: direction must be ingress or egress, not %q", call.Action, direction)
	}
	protocol, err := activities.String(call, "protocol", false)
	if err != nil {
		return nil, err
	}
	if protocol == "" {
		protocol = "tcp"
	}
	protocol = strings.ToLower(protocol)
	port, err := activities.Int(call, "port", 0, false)
	if err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, activities.Invalid("%s: port must be 1..65535", call.Action)
	}
	cidr, err := activities.String(call, "cidr", true)
	if err != nil {
		return nil, err
	}
	desc, err := activities.String(call, "description", false)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("add %s %s/%d rule from %s to security group %s", direction, protocol, port, cidr, sg)
	resp, err := c.ListSecurityGroupRules(&v3m.ListSecurityGroupRulesRequest{
		SecurityGroupId: &[]string{sg}, Direction: ptr(direction), Protocol: &[]string{protocol},
	})
	if err != nil {
		return nil, s.classify("look up before "+what, err)
	}
	m := ""
	if call.IdempotencyKey != "" {
		m = marker(call.IdempotencyKey)
	}
	for _, r := range deref(resp.SecurityGroupRules) {
		if r.RemoteIpPrefix == cidr && r.Multiport == strconv.Itoa(port) && (r.Action == "" || r.Action == "allow") {
			mine := m != "" && strings.Contains(r.Description, m)
			return plan.Outputs{"ruleId": r.Id, "created": mine}, nil
		}
	}
	body := &v3m.CreateSecurityGroupRuleOption{
		SecurityGroupId: sg, Direction: direction, Protocol: ptr(protocol), Multiport: ptr(strconv.Itoa(port)),
		RemoteIpPrefix: ptr(cidr), Ethertype: ptr("IPv4"), Action: ptr("allow"), Description: ptr(describe(desc, call.IdempotencyKey)),
	}
	cr, err := c.CreateSecurityGroupRule(&v3m.CreateSecurityGroupRuleRequest{Body: &v3m.CreateSecurityGroupRuleRequestBody{SecurityGroupRule: body}})
	if err != nil {
		return nil, s.classify(what, err)
	}
	if cr.SecurityGroupRule == nil {
		return nil, s.classify(what, fmt.Errorf("empty response"))
	}
	return plan.Outputs{"ruleId": cr.SecurityGroupRule.Id, "created": true}, nil
}

// DeleteSecurityGroupRule deletes a rule Topoflow created; missing is done.
func (a *Actions) DeleteSecurityGroupRule(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "ruleId", true)
	if err != nil {
		return nil, err
	}
	created, err := activities.Bool(call, "created", true)
	if err != nil {
		return nil, err
	}
	if !created {
		return plan.Outputs{"ruleId": id, "deleted": false}, nil
	}
	s, c, err := a.vpc3For(ctx, call)
	if err != nil {
		return nil, err
	}
	if _, err := c.DeleteSecurityGroupRule(&v3m.DeleteSecurityGroupRuleRequest{SecurityGroupRuleId: id}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete security group rule "+id, err)
	}
	return plan.Outputs{"ruleId": id, "deleted": true}, nil
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// peeringName is a valid peering name (<= 64 chars, [A-Za-z0-9_.-]) that
// carries a digest of the idempotency key.
func peeringName(prefix, key string) string {
	p := nameUnsafe.ReplaceAllString(prefix, "-")
	if p == "" {
		p = "topoflow"
	}
	if len(p) > 40 {
		p = p[:40]
	}
	return p + "-tf" + shortHash(key)
}

// CreatePeering requests a VPC peering (looked up by its name first).
func (a *Actions) CreatePeering(ctx context.Context, call plan.Call, in catalog.HuaweiCreatePeeringIn) (catalog.HuaweiCreatePeeringOut, error) {
	var none catalog.HuaweiCreatePeeringOut
	vpcID, peerVPC, peerAcct, prefix := in.VpcID, in.PeerVpcID, in.PeerAccount, in.Name
	if call.IdempotencyKey == "" {
		return none, activities.Invalid("%s: the call has no idempotency key", call.Action)
	}
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	peerProject := s.acct.Huawei.ProjectID
	if peerAcct != "" && in.PeerProjectID != "" {
		return none, activities.Invalid("%s: give peerAccount or peerProjectId, not both", call.Action)
	}
	if in.PeerProjectID != "" {
		// AcceptVpcInfo.TenantId is the accepter's project ID (services/vpc/v2/model/model_vpc_info.go).
		peerProject = in.PeerProjectID
	}
	if peerAcct != "" {
		pa, ok := a.accts.Get(peerAcct)
		if !ok || pa.Huawei == nil {
			return none, activities.Invalid("%s: peer account %q is not a huawei account in the worker's registry", call.Action, peerAcct)
		}
		peerProject = pa.Huawei.ProjectID
	}
	name := peeringName(prefix, call.IdempotencyKey)
	what := fmt.Sprintf("create peering %s from VPC %s to VPC %s", name, vpcID, peerVPC)
	list, err := c.ListVpcPeerings(&v2m.ListVpcPeeringsRequest{Name: ptr(name)})
	if err != nil {
		return none, s.classify("look up before "+what, err)
	}
	for _, p := range deref(list.Peerings) {
		if p.Name == name && p.Status.Value() != "DELETED" {
			return catalog.HuaweiCreatePeeringOut{PeeringID: p.Id, Status: p.Status.Value(), Existing: true}, nil
		}
	}
	resp, err := c.CreateVpcPeering(&v2m.CreateVpcPeeringRequest{Body: &v2m.CreateVpcPeeringRequestBody{Peering: &v2m.CreateVpcPeeringOption{
		Name:           name,
		Description:    ptr(describe("", call.IdempotencyKey)),
		RequestVpcInfo: &v2m.VpcInfo{VpcId: vpcID, TenantId: ptr(s.acct.Huawei.ProjectID)},
		AcceptVpcInfo:  &v2m.VpcInfo{VpcId: peerVPC, TenantId: ptr(peerProject)},
	}}})
	if err != nil {
		return none, s.classify(what, err)
	}
	if resp.Peering == nil {
		return none, s.classify(what, fmt.Errorf("empty response"))
	}
	return catalog.HuaweiCreatePeeringOut{PeeringID: resp.Peering.Id, Status: resp.Peering.Status.Value()}, nil
}

// AcceptPeering accepts a peering as the accepter account.
func (a *Actions) AcceptPeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiPeeringOut, error) {
	var none catalog.HuaweiPeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := c.ShowVpcPeering(&v2m.ShowVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("get peering "+id, err)
	}
	if cur.Peering != nil && cur.Peering.Status.Value() == "ACTIVE" {
		return catalog.HuaweiPeeringOut{PeeringID: id, Status: "ACTIVE"}, nil
	}
	resp, err := c.AcceptVpcPeering(&v2m.AcceptVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("accept peering "+id, err)
	}
	st := "ACTIVE"
	if resp.Status != nil {
		st = resp.Status.Value()
	}
	return catalog.HuaweiPeeringOut{PeeringID: id, Status: st}, nil
}

// GetPeering reads a peering's status.
func (a *Actions) GetPeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiGetPeeringOut, error) {
	var none catalog.HuaweiGetPeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	resp, err := c.ShowVpcPeering(&v2m.ShowVpcPeeringRequest{PeeringId: id})
	if err != nil {
		return none, s.classify("get peering "+id, err)
	}
	p := resp.Peering
	if p == nil {
		return none, temporalNotFound("get peering " + id + ": empty response")
	}
	out := catalog.HuaweiGetPeeringOut{PeeringID: p.Id, Status: p.Status.Value()}
	if p.RequestVpcInfo != nil {
		out.VpcID = ptr(p.RequestVpcInfo.VpcId)
	}
	if p.AcceptVpcInfo != nil {
		out.PeerVpcID = ptr(p.AcceptVpcInfo.VpcId)
	}
	return out, nil
}

// DeletePeering deletes a peering; missing is done.
func (a *Actions) DeletePeering(ctx context.Context, call plan.Call, in catalog.HuaweiPeeringIn) (catalog.HuaweiDeletePeeringOut, error) {
	var none catalog.HuaweiDeletePeeringOut
	id := in.PeeringID
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return none, err
	}
	if _, err := c.DeleteVpcPeering(&v2m.DeleteVpcPeeringRequest{PeeringId: id}); err != nil && !isNotFound(err) {
		return none, s.classify("delete peering "+id, err)
	}
	return catalog.HuaweiDeletePeeringOut{PeeringID: id, Deleted: true}, nil
}

// AddRoute adds destination → peering to a VPC's routes, reusing an
// identical route. created is true when this request (any attempt) made it.
func (a *Actions) AddRoute(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	vpcID, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	dest, err := activities.String(call, "destination", true)
	if err != nil {
		return nil, err
	}
	nexthop, err := activities.String(call, "nexthop", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("add route %s via %s to VPC %s", dest, nexthop, vpcID)
	list, err := c.ListVpcRoutes(&v2m.ListVpcRoutesRequest{VpcId: ptr(vpcID), Destination: ptr(dest)})
	if err != nil {
		return nil, s.classify("look up before "+what, err)
	}
	var memo attemptMemo
	tried := priorAttempt(ctx, &memo) && memo.Creating
	for _, r := range deref(list.Routes) {
		if r.Destination == dest {
			if r.Nexthop != nexthop {
				return nil, activities.Invalid("%s: VPC %s already routes %s via %s", call.Action, vpcID, dest, r.Nexthop)
			}
			return plan.Outputs{"routeId": r.Id, "created": tried}, nil
		}
	}
	remember(ctx, attemptMemo{Creating: true})
	resp, err := c.CreateVpcRoute(&v2m.CreateVpcRouteRequest{Body: &v2m.CreateVpcRouteRequestBody{Route: &v2m.CreateVpcRouteOption{
		Destination: dest, Nexthop: nexthop, Type: v2m.GetCreateVpcRouteOptionTypeEnum().PEERING, VpcId: vpcID,
	}}})
	if err != nil {
		return nil, s.classify(what, err)
	}
	if resp.Route == nil {
		return nil, s.classify(what, fmt.Errorf("empty response"))
	}
	return plan.Outputs{"routeId": resp.Route.Id, "created": true}, nil
}

// DeleteRoute deletes a route Topoflow created; missing is done.
func (a *Actions) DeleteRoute(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "routeId", true)
	if err != nil {
		return nil, err
	}
	created, err := activities.Bool(call, "created", true)
	if err != nil {
		return nil, err
	}
	if !created {
		return plan.Outputs{"routeId": id, "deleted": false}, nil
	}
	s, c, err := a.vpc2For(ctx, call)
	if err != nil {
		return nil, err
	}
	if _, err := c.DeleteVpcRoute(&v2m.DeleteVpcRouteRequest{RouteId: id}); err != nil && !isNotFound(err) {
		return nil, s.classify("delete route "+id, err)
	}
	return plan.Outputs{"routeId": id, "deleted": true}, nil
}
