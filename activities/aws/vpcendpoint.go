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

// The interface VPC endpoint (PrivateLink, the client's side): create, read
// and delete. Its waits are the descriptors' (catalog/aws_vpcendpoint.go).

func init() {
	register(catalog.AWSEC2CreateVpcEndpoint, (*Actions).CreateVpcEndpoint)
	register(catalog.AWSEC2DescribeVpcEndpoint, (*Actions).DescribeVpcEndpoint)
	register(catalog.AWSEC2DeleteVpcEndpoint, (*Actions).DeleteVpcEndpoint)
}

func endpointOut(e ec2types.VpcEndpoint) catalog.AWSVpcEndpointOut {
	var dns []string
	for _, d := range e.DnsEntries {
		dns = append(dns, awssdk.ToString(d.DnsName))
	}
	return catalog.AWSVpcEndpointOut{EndpointID: awssdk.ToString(e.VpcEndpointId), State: string(e.State), DNSNames: dns, ServiceName: awssdk.ToString(e.ServiceName)}
}

// CreateVpcEndpoint creates an interface endpoint in the client VPC; the
// ClientToken makes retries return the same endpoint.
func (a *Actions) CreateVpcEndpoint(ctx context.Context, call plan.Call, in catalog.AWSCreateVpcEndpointIn) (catalog.AWSVpcEndpointOut, error) {
	var none catalog.AWSVpcEndpointOut
	svc, vpc := in.ServiceName, in.VpcID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.ec2().CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, ServiceName: awssdk.String(svc), VpcId: awssdk.String(vpc),
		SubnetIds: in.SubnetIDs, SecurityGroupIds: in.SecurityGroupIDs, PrivateDnsEnabled: awssdk.Bool(in.PrivateDNS),
		ClientToken:       awssdk.String(clientToken(call.IdempotencyKey)),
		TagSpecifications: idemTags(ec2types.ResourceTypeVpcEndpoint, call.IdempotencyKey, ""),
	})
	if err != nil {
		return none, s.classify(fmt.Sprintf("create endpoint to %s in %s", svc, vpc), err)
	}
	return endpointOut(*out.VpcEndpoint), nil
}

// findVpcEndpointByID returns one endpoint, or a NotFound error.
func (s *session) findVpcEndpointByID(ctx context.Context, id string) (*ec2types.VpcEndpoint, error) {
	out, err := s.ec2().DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil {
		return nil, s.classify("describe endpoint "+id, err)
	}
	if len(out.VpcEndpoints) == 0 {
		return nil, activities.NotFound("describe endpoint %s as %s: not found", id, s.acct.Name)
	}
	return &out.VpcEndpoints[0], nil
}

// DescribeVpcEndpoint reads an endpoint's state (lowerCamel, as AWS sends it).
func (a *Actions) DescribeVpcEndpoint(ctx context.Context, call plan.Call, in catalog.AWSVpcEndpointIn) (catalog.AWSVpcEndpointOut, error) {
	var none catalog.AWSVpcEndpointOut
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	e, err := s.findVpcEndpointByID(ctx, in.EndpointID)
	if err != nil {
		return none, err
	}
	return endpointOut(*e), nil
}

// DeleteVpcEndpoint deletes an endpoint; a missing one counts as deleted.
func (a *Actions) DeleteVpcEndpoint(ctx context.Context, call plan.Call, in catalog.AWSVpcEndpointIn) (catalog.AWSDeletedVpcEndpointOut, error) {
	var none catalog.AWSDeletedVpcEndpointOut
	id := in.EndpointID
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	what := "delete endpoint " + id
	out, err := s.ec2().DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil && !isNotFound(err) {
		return none, s.classify(what, err)
	}
	if err == nil {
		if err := s.unsuccessful(what, out.Unsuccessful, true); err != nil {
			return none, err
		}
	}
	return catalog.AWSDeletedVpcEndpointOut{EndpointID: id, Deleted: true}, nil
}
