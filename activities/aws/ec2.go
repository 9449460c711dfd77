package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// idemTags are the tags every created resource carries.
func idemTags(resource ec2types.ResourceType, key, name string) []ec2types.TagSpecification {
	tags := []ec2types.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(key))}}
	if name != "" {
		tags = append(tags, ec2types.Tag{Key: awssdk.String("Name"), Value: awssdk.String(name)})
	}
	return []ec2types.TagSpecification{{ResourceType: resource, Tags: tags}}
}

func idemFilter(key string) ec2types.Filter {
	return ec2types.Filter{Name: awssdk.String("tag:" + TagKey), Values: []string{shortHash(key)}}
}

// --- VPC peering ---

// peeringGone are the terminal peering states in which nothing is left to undo.
var peeringGone = map[string]bool{"deleted": true, "deleting": true, "rejected": true, "failed": true, "expired": true}

func peeringOut(p ec2types.VpcPeeringConnection) catalog.AWSPeeringOut {
	out := catalog.AWSPeeringOut{PeeringID: awssdk.ToString(p.VpcPeeringConnectionId)}
	if p.Status != nil {
		out.Status = awssdk.String(string(p.Status.Code))
		out.StatusMessage = awssdk.String(awssdk.ToString(p.Status.Message))
	}
	if p.RequesterVpcInfo != nil {
		out.RequesterVpcID = awssdk.String(awssdk.ToString(p.RequesterVpcInfo.VpcId))
		if p.RequesterVpcInfo.OwnerId != nil {
			out.RequesterOwnerID = awssdk.String(*p.RequesterVpcInfo.OwnerId)
		}
	}
	if p.AccepterVpcInfo != nil {
		out.AccepterVpcID = awssdk.String(awssdk.ToString(p.AccepterVpcInfo.VpcId))
	}
	return out
}

// noPeering is the zero result of the peering actions' errors.
var noPeering catalog.AWSPeeringOut

// CreateVpcPeering requests a VPC peering (PeerOwnerId, PeerRegion), tagged
// with the idempotency key; a peering an earlier attempt created is reused.
func (a *Actions) CreateVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSCreateVpcPeeringIn) (catalog.AWSPeeringOut, error) {
	vpc, peerVpc, peerAccount, peerRegion, name := in.VpcID, in.PeerVpcID, in.PeerAccount, in.PeerRegion, in.Name
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return noPeering, err
	}
	c := s.ec2()
	what := fmt.Sprintf("create VPC peering %s → %s", vpc, peerVpc)
	found, err := c.DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{Filters: []ec2types.Filter{
		idemFilter(call.IdempotencyKey), {Name: awssdk.String("requester-vpc-info.vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return noPeering, s.classify(what+": look up an earlier attempt", err)
	}
	for _, p := range found.VpcPeeringConnections {
		if p.Status != nil && !peeringGone[string(p.Status.Code)] {
			return peeringOut(p), nil
		}
	}
	req := &ec2.CreateVpcPeeringConnectionInput{VpcId: awssdk.String(vpc), PeerVpcId: awssdk.String(peerVpc),
		TagSpecifications: idemTags(ec2types.ResourceTypeVpcPeeringConnection, call.IdempotencyKey, name)}
	if peerAccount != "" && peerAccount != s.acct.Name {
		id, err := a.accountID(call, peerAccount)
		if err != nil {
			return noPeering, err
		}
		req.PeerOwnerId = awssdk.String(id)
	}
	if in.PeerOwnerID != "" {
		if peerAccount != "" {
			return noPeering, activities.Invalid("%s: give peerAccount or peerOwnerId, not both", call.Action)
		}
		// PeerOwnerId: the accepter's AWS account ID (aws-sdk-go-v2 service/ec2 api_op_CreateVpcPeeringConnection.go).
		req.PeerOwnerId = awssdk.String(in.PeerOwnerID)
	}
	if peerRegion != "" {
		req.PeerRegion = awssdk.String(peerRegion)
	}
	out, err := c.CreateVpcPeeringConnection(ctx, req)
	if err != nil {
		return noPeering, s.classify(what, err)
	}
	return peeringOut(*out.VpcPeeringConnection), nil
}

// describePeering returns one peering, or a NotFound error.
func (s *session) describePeering(ctx context.Context, id string) (*ec2types.VpcPeeringConnection, error) {
	out, err := s.ec2().DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{id}})
	if err != nil {
		return nil, s.classify("describe VPC peering "+id, err)
	}
	if len(out.VpcPeeringConnections) == 0 {
		return nil, activities.NotFound("describe VPC peering %s as %s: not found", id, s.acct.Name)
	}
	return &out.VpcPeeringConnections[0], nil
}

// AcceptVpcPeering accepts a peering as the accepter account in its region;
// an already accepted peering counts as done.
func (a *Actions) AcceptVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSPeeringIn) (catalog.AWSPeeringOut, error) {
	id, region := in.PeeringID, in.Region
	s, err := a.session(ctx, call, "", region)
	if err != nil {
		return noPeering, err
	}
	p, err := s.describePeering(ctx, id)
	if err != nil {
		return noPeering, err
	}
	switch st := string(p.Status.Code); st {
	case "active", "provisioning":
		return peeringOut(*p), nil
	case "initiating-request":
		return noPeering, activities.Conflict("accept VPC peering %s as %s: it is still %s", id, s.acct.Name, st)
	case "pending-acceptance":
	default:
		return noPeering, activities.Invalid("accept VPC peering %s as %s: it is %s (%s)", id, s.acct.Name, st, awssdk.ToString(p.Status.Message))
	}
	out, err := s.ec2().AcceptVpcPeeringConnection(ctx, &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: awssdk.String(id)})
	if err != nil {
		return noPeering, s.classify("accept VPC peering "+id, err)
	}
	return peeringOut(*out.VpcPeeringConnection), nil
}

// DescribeVpcPeering reads a peering's status.
func (a *Actions) DescribeVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSPeeringIn) (catalog.AWSPeeringOut, error) {
	id, region := in.PeeringID, in.Region
	s, err := a.session(ctx, call, "", region)
	if err != nil {
		return noPeering, err
	}
	p, err := s.describePeering(ctx, id)
	if err != nil {
		return noPeering, err
	}
	return peeringOut(*p), nil
}

// DeleteVpcPeering deletes a peering; a missing or finished one counts as deleted.
func (a *Actions) DeleteVpcPeering(ctx context.Context, call plan.Call, in catalog.AWSDeleteVpcPeeringIn) (catalog.AWSDeletedPeeringOut, error) {
	id := in.PeeringID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return catalog.AWSDeletedPeeringOut{}, err
	}
	done := catalog.AWSDeletedPeeringOut{PeeringID: id, Deleted: true}
	p, err := s.describePeering(ctx, id)
	if isTyped(err, plan.ErrNotFound) {
		return done, nil
	}
	if err != nil {
		return catalog.AWSDeletedPeeringOut{}, err
	}
	if peeringGone[string(p.Status.Code)] {
		return done, nil
	}
	if _, err := s.ec2().DeleteVpcPeeringConnection(ctx, &ec2.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: awssdk.String(id)}); err != nil && !isNotFound(err) {
		return catalog.AWSDeletedPeeringOut{}, s.classify("delete VPC peering "+id, err)
	}
	return done, nil
}

// --- routes ---

// routeTableSession returns a session in the region of a route table: the
// account's region, or (a route table of a VPC in another region, e.g. the
// far side of an inter-region peering) the region DescribeRegions and
// DescribeRouteTables find it in.
func (a *Actions) routeTableSession(ctx context.Context, call plan.Call, rtb string) (*session, error) {
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	find := func(s *session) (bool, error) {
		_, err := s.ec2().DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, s.classify("find route table "+rtb, err)
	}
	if ok, err := find(s); ok || err != nil {
		return s, err
	}
	regions, err := s.ec2().DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, s.classify("list regions to find route table "+rtb, err)
	}
	for _, r := range regions.Regions {
		name := awssdk.ToString(r.RegionName)
		if name == s.cfg.Region {
			continue
		}
		o, err := a.session(ctx, call, "", name)
		if err != nil {
			return nil, err
		}
		if ok, err := find(o); ok || err != nil {
			return o, err
		}
	}
	return nil, activities.NotFound("route table %s of %s is in none of its regions", rtb, s.acct.Name)
}

// CreateRoute adds a route to a peering or a transit gateway and records
// this request as its user (a route-table tag, owners.go). An existing route
// to the same target is reused: created=true if an earlier attempt of this
// step made it or it records users (shared=true, this request is added);
// otherwise created=false. One to another target is a conflict.
func (a *Actions) CreateRoute(ctx context.Context, call plan.Call, rin catalog.AWSCreateRouteIn) (catalog.AWSCreateRouteOut, error) {
	rtb, dest, pcx, tgw := rin.RouteTableID, rin.Destination, rin.PeeringID, rin.TransitGatewayID
	if (pcx == "") == (tgw == "") {
		return catalog.AWSCreateRouteOut{}, activities.Invalid("%s: give exactly one of peeringId and transitGatewayId", call.Action)
	}
	s, err := a.routeTableSession(ctx, call, rtb)
	if err != nil {
		return catalog.AWSCreateRouteOut{}, err
	}
	c := s.ec2()
	out := catalog.AWSCreateRouteOut{RouteTableID: rtb, Destination: dest, Created: true}
	prior, tried := priorAttempt(ctx)
	remember(ctx, prior)
	in := &ec2.CreateRouteInput{RouteTableId: awssdk.String(rtb), DestinationCidrBlock: awssdk.String(dest)}
	target := pcx
	if pcx != "" {
		in.VpcPeeringConnectionId = awssdk.String(pcx)
	} else {
		in.TransitGatewayId, target = awssdk.String(tgw), tgw
	}
	what := fmt.Sprintf("create route %s → %s in %s", dest, target, rtb)
	user := ruleUser(ctx, call)
	_, err = c.CreateRoute(ctx, in)
	if err == nil {
		// This request is the route's first user (owners.go).
		if err := s.addRouteUser(ctx, rtb, dest, user); err != nil {
			return catalog.AWSCreateRouteOut{}, err
		}
		return out, nil
	}
	if errorCode(err) != "RouteAlreadyExists" {
		return catalog.AWSCreateRouteOut{}, s.classify(what, err)
	}
	rts, derr := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
	if derr != nil {
		return catalog.AWSCreateRouteOut{}, s.classify(what+": read the existing route", derr)
	}
	for _, rt := range rts.RouteTables {
		for _, r := range rt.Routes {
			if awssdk.ToString(r.DestinationCidrBlock) != dest {
				continue
			}
			if awssdk.ToString(r.VpcPeeringConnectionId) == target || awssdk.ToString(r.TransitGatewayId) == target {
				// Ours (an earlier attempt made it), or another request's
				// (it records users): this request is a user too. A route
				// nobody recorded is someone else's and stays theirs.
				mine, others := splitUsers(routeUsers(rt.Tags, dest), user)
				if !tried && !mine && !others {
					out.Created = false
					return out, nil
				}
				if err := s.addRouteUser(ctx, rtb, dest, user); err != nil {
					return catalog.AWSCreateRouteOut{}, err
				}
				out.Created, out.Shared = true, others
				return out, nil
			}
			have := awssdk.ToString(r.VpcPeeringConnectionId) + awssdk.ToString(r.TransitGatewayId) + awssdk.ToString(r.GatewayId)
			return catalog.AWSCreateRouteOut{}, activities.Invalid("%s as %s: route table %s already routes %s to %s", what, s.acct.Name, rtb, dest, have)
		}
	}
	return catalog.AWSCreateRouteOut{}, s.classify(what, err)
}

// DeleteRoute drops this request from the route's users and deletes the
// route when it was the last; created=false skips it, a missing route counts as deleted.
func (a *Actions) DeleteRoute(ctx context.Context, call plan.Call, in catalog.AWSDeleteRouteIn) (catalog.AWSDeleteRouteOut, error) {
	rtb, dest := in.RouteTableID, in.Destination
	if in.Created != nil && !*in.Created {
		return catalog.AWSDeleteRouteOut{Deleted: false}, nil
	}
	s, err := a.routeTableSession(ctx, call, rtb)
	if isTyped(err, plan.ErrNotFound) {
		return catalog.AWSDeleteRouteOut{Deleted: true}, nil
	}
	if err != nil {
		return catalog.AWSDeleteRouteOut{}, err
	}
	// Only the last user deletes the route (owners.go).
	deleted, left, err := s.releaseRoute(ctx, rtb, dest, ruleUser(ctx, call))
	if err != nil {
		return catalog.AWSDeleteRouteOut{}, err
	}
	return catalog.AWSDeleteRouteOut{Deleted: deleted, UsedBy: left}, nil
}

// --- security groups ---

// AuthorizeIngress allows one TCP port from a CIDR or from a security group
// (sourceGroup "sg-x", or "<12-digit account>/sg-x" across accounts). The
// rule's description carries the idempotency marker; a duplicate rule with
// our marker is ours (created=true), a duplicate that records users
// (another request's) is shared: this request is added as a user
// (created=true, shared=true); any other duplicate is reused with
// created=false.
func (a *Actions) AuthorizeIngress(ctx context.Context, call plan.Call, in catalog.AWSAuthorizeIngressIn) (catalog.AWSAuthorizeIngressOut, error) {
	var none catalog.AWSAuthorizeIngressOut
	group, proto, port, cidr, source, desc := in.GroupID, in.Protocol, in.Port, in.CIDR, in.SourceGroup, in.Description
	if proto == "" {
		proto = "tcp"
	}
	if (cidr == "") == (source == "") {
		return none, activities.Invalid("%s: give exactly one of cidr and sourceGroup", call.Action)
	}
	desc = describe(desc, call.IdempotencyKey)
	perm := ec2types.IpPermission{IpProtocol: awssdk.String(proto), FromPort: awssdk.Int32(int32(port)), ToPort: awssdk.Int32(int32(port))}
	from := cidr
	if cidr != "" {
		perm.IpRanges = []ec2types.IpRange{{CidrIp: awssdk.String(cidr), Description: awssdk.String(desc)}}
	} else {
		pair := ec2types.UserIdGroupPair{Description: awssdk.String(desc)}
		if acct, id, ok := strings.Cut(source, "/"); ok {
			pair.UserId, pair.GroupId = awssdk.String(acct), awssdk.String(id)
		} else {
			pair.GroupId = awssdk.String(source)
		}
		perm.UserIdGroupPairs = []ec2types.UserIdGroupPair{pair}
		from = source
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.ec2()
	what := fmt.Sprintf("allow %s/%d from %s in %s", proto, port, from, group)
	user := ruleUser(ctx, call)
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(group), IpPermissions: []ec2types.IpPermission{perm},
		TagSpecifications: userTagSpec(user)})
	if err == nil {
		if len(out.SecurityGroupRules) == 0 {
			return none, s.classify(what, fmt.Errorf("the response names no security group rule"))
		}
		return catalog.AWSAuthorizeIngressOut{RuleID: awssdk.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId), Created: true}, nil
	}
	if errorCode(err) != "InvalidPermission.Duplicate" {
		return none, s.classify(what, err)
	}
	rules, derr := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{{Name: awssdk.String("group-id"), Values: []string{group}}}})
	if derr != nil {
		return none, s.classify(what+": read the existing rule", derr)
	}
	for _, r := range rules.SecurityGroupRules {
		if awssdk.ToBool(r.IsEgress) || awssdk.ToInt32(r.FromPort) != int32(port) || awssdk.ToInt32(r.ToPort) != int32(port) || !strings.EqualFold(awssdk.ToString(r.IpProtocol), proto) {
			continue
		}
		same := cidr != "" && awssdk.ToString(r.CidrIpv4) == cidr
		if source != "" && r.ReferencedGroupInfo != nil {
			id := source[strings.LastIndex(source, "/")+1:]
			same = awssdk.ToString(r.ReferencedGroupInfo.GroupId) == id
		}
		if same {
			id := awssdk.ToString(r.SecurityGroupRuleId)
			ours := strings.Contains(awssdk.ToString(r.Description), marker(call.IdempotencyKey))
			// A rule another request made (it has users) is shared: this
			// request becomes a user too (owners.go). A rule nobody
			// recorded is someone else's and stays theirs.
			mine, others := splitUsers(ruleUsers(r.Tags), user)
			if !ours && !mine && !others {
				return catalog.AWSAuthorizeIngressOut{RuleID: id, Created: false}, nil
			}
			if err := s.addRuleUser(ctx, id, user); err != nil {
				return none, err
			}
			return catalog.AWSAuthorizeIngressOut{RuleID: id, Created: true, Shared: others}, nil
		}
	}
	return none, s.classify(what, err)
}

// RevokeIngress drops this request from the rule's users and revokes the
// rule when it was the last; created=false skips it, a missing rule counts as done.
func (a *Actions) RevokeIngress(ctx context.Context, call plan.Call, in catalog.AWSRevokeIngressIn) (catalog.AWSRevokeIngressOut, error) {
	var none catalog.AWSRevokeIngressOut
	group, rule := in.GroupID, in.RuleID
	if in.Created != nil && !*in.Created {
		return catalog.AWSRevokeIngressOut{RuleID: rule, Revoked: false}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	// Only the last user revokes the rule (owners.go).
	revoked, left, err := s.releaseRule(ctx, group, rule, ruleUser(ctx, call))
	if err != nil {
		return none, err
	}
	return catalog.AWSRevokeIngressOut{RuleID: rule, Revoked: revoked, UsedBy: left}, nil
}
