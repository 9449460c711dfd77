package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The VPC endpoint service (PrivateLink, the service owner's side): create,
// read, delete, its allowed principals and its endpoint connections. Its
// waits are the descriptors' (catalog/aws_endpointservice.go).

func init() {
	register(catalog.AWSEC2CreateEndpointService, (*Actions).CreateEndpointService)
	register(catalog.AWSEC2DescribeEndpointService, (*Actions).DescribeEndpointService)
	register(catalog.AWSEC2DeleteEndpointService, (*Actions).DeleteEndpointService)
	register(catalog.AWSEC2AddServicePermission, (*Actions).AddServicePermission)
	register(catalog.AWSEC2RemoveServicePermission, (*Actions).RemoveServicePermission)
	register(catalog.AWSEC2AcceptEndpointConnection, (*Actions).AcceptEndpointConnection)
	register(catalog.AWSEC2RejectEndpointConnection, (*Actions).RejectEndpointConnection)
}

func serviceOut(c ec2types.ServiceConfiguration) catalog.AWSEndpointServiceOut {
	return catalog.AWSEndpointServiceOut{ServiceID: awssdk.ToString(c.ServiceId), ServiceName: awssdk.ToString(c.ServiceName), State: string(c.ServiceState)}
}

// CreateEndpointService creates a VPC endpoint service in front of network
// load balancers; the ClientToken makes retries return the same service.
func (a *Actions) CreateEndpointService(ctx context.Context, call plan.Call, in catalog.AWSCreateEndpointServiceIn) (catalog.AWSEndpointServiceOut, error) {
	var none catalog.AWSEndpointServiceOut
	lbs, accept := in.LoadBalancerARNs, in.AcceptanceRequired == nil || *in.AcceptanceRequired
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.ec2().CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: lbs, AcceptanceRequired: awssdk.Bool(accept), ClientToken: awssdk.String(clientToken(call.IdempotencyKey)),
		TagSpecifications: idemTags(ec2types.ResourceTypeVpcEndpointService, call.IdempotencyKey, ""),
	})
	if err != nil {
		return none, s.classify(fmt.Sprintf("create endpoint service for %v", lbs), err)
	}
	return serviceOut(*out.ServiceConfiguration), nil
}

// findEndpointServiceByID returns one endpoint service, or a NotFound error.
func (s *session) findEndpointServiceByID(ctx context.Context, id string) (*ec2types.ServiceConfiguration, error) {
	out, err := s.ec2().DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
	if err != nil {
		return nil, s.classify("describe endpoint service "+id, err)
	}
	if len(out.ServiceConfigurations) == 0 {
		return nil, activities.NotFound("describe endpoint service %s as %s: not found", id, s.acct.Name)
	}
	return &out.ServiceConfigurations[0], nil
}

// DescribeEndpointService reads an endpoint service's state.
func (a *Actions) DescribeEndpointService(ctx context.Context, call plan.Call, in catalog.AWSEndpointServiceIn) (catalog.AWSEndpointServiceOut, error) {
	var none catalog.AWSEndpointServiceOut
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c, err := s.findEndpointServiceByID(ctx, in.ServiceID)
	if err != nil {
		return none, err
	}
	return serviceOut(*c), nil
}

// DeleteEndpointService deletes an endpoint service; a missing one counts as deleted.
func (a *Actions) DeleteEndpointService(ctx context.Context, call plan.Call, in catalog.AWSEndpointServiceIn) (catalog.AWSDeletedEndpointServiceOut, error) {
	var none catalog.AWSDeletedEndpointServiceOut
	id := in.ServiceID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	what := "delete endpoint service " + id
	out, err := s.ec2().DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{id}})
	if err != nil && !isNotFound(err) {
		return none, s.classify(what, err)
	}
	if err == nil {
		if err := s.unsuccessful(what, out.Unsuccessful, true); err != nil {
			return none, err
		}
	}
	return catalog.AWSDeletedEndpointServiceOut{ServiceID: id, Deleted: true}, nil
}

// principal returns the IAM root principal of a registry account.
func (a *Actions) principal(call plan.Call, name string) (string, error) {
	id, err := a.accountID(call, name)
	if err != nil {
		return "", err
	}
	return "arn:aws:iam::" + id + ":root", nil
}

// AddServicePermission allows a client account on an endpoint service (idempotent).
func (a *Actions) AddServicePermission(ctx context.Context, call plan.Call, in catalog.AWSServicePermissionIn) (catalog.AWSServicePermissionOut, error) {
	return a.modifyPermission(ctx, call, in, true)
}

// RemoveServicePermission removes a client account from an endpoint service; a missing service counts as done.
func (a *Actions) RemoveServicePermission(ctx context.Context, call plan.Call, in catalog.AWSServicePermissionIn) (catalog.AWSServicePermissionOut, error) {
	return a.modifyPermission(ctx, call, in, false)
}

func (a *Actions) modifyPermission(ctx context.Context, call plan.Call, pin catalog.AWSServicePermissionIn, add bool) (catalog.AWSServicePermissionOut, error) {
	var none catalog.AWSServicePermissionOut
	id := pin.ServiceID
	p, err := a.principal(call, pin.PrincipalAccount)
	if err != nil {
		return none, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	in := &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: awssdk.String(id)}
	verb := "allow"
	if add {
		in.AddAllowedPrincipals = []string{p}
	} else {
		in.RemoveAllowedPrincipals, verb = []string{p}, "remove"
	}
	if _, err := s.ec2().ModifyVpcEndpointServicePermissions(ctx, in); err != nil && (add || !isNotFound(err)) {
		return none, s.classify(fmt.Sprintf("%s %s on endpoint service %s", verb, p, id), err)
	}
	return catalog.AWSServicePermissionOut{ServiceID: id, Principal: p}, nil
}

// AcceptEndpointConnection accepts an endpoint's connection as the service owner (idempotent).
func (a *Actions) AcceptEndpointConnection(ctx context.Context, call plan.Call, in catalog.AWSEndpointConnectionIn) (catalog.AWSEndpointConnectionOut, error) {
	return a.endpointConnection(ctx, call, in, true)
}

// RejectEndpointConnection rejects an endpoint's connection; a missing endpoint counts as done.
func (a *Actions) RejectEndpointConnection(ctx context.Context, call plan.Call, in catalog.AWSEndpointConnectionIn) (catalog.AWSEndpointConnectionOut, error) {
	return a.endpointConnection(ctx, call, in, false)
}

func (a *Actions) endpointConnection(ctx context.Context, call plan.Call, in catalog.AWSEndpointConnectionIn, accept bool) (catalog.AWSEndpointConnectionOut, error) {
	var none catalog.AWSEndpointConnectionOut
	svc, ep := in.ServiceID, in.EndpointID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.ec2()
	var items []ec2types.UnsuccessfulItem
	what := fmt.Sprintf("accept endpoint %s on %s", ep, svc)
	if accept {
		out, err := c.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: awssdk.String(svc), VpcEndpointIds: []string{ep}})
		if err != nil {
			return none, s.classify(what, err)
		}
		items = out.Unsuccessful
	} else {
		what = fmt.Sprintf("reject endpoint %s on %s", ep, svc)
		out, err := c.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: awssdk.String(svc), VpcEndpointIds: []string{ep}})
		if err != nil && !isNotFound(err) {
			return none, s.classify(what, err)
		}
		if err == nil {
			items = out.Unsuccessful
		}
	}
	if err := s.unsuccessful(what, items, !accept); err != nil {
		return none, err
	}
	return catalog.AWSEndpointConnectionOut{ServiceID: svc, EndpointID: ep}, nil
}
