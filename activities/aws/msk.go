package aws

import (
	"context"
	"slices"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The MSK cluster (read only: Topoflow never creates one): DescribeClusterV2,
// GetBootstrapBrokers, DescribeClusterOperationV2 and ListNodes. Its waits
// are the descriptors' (catalog/aws_msk.go).

func init() {
	register(catalog.AWSMSKDescribeCluster, (*Actions).DescribeCluster)
	register(catalog.AWSMSKGetBootstrapBrokers, (*Actions).GetBootstrapBrokers)
	register(catalog.AWSMSKDescribeClusterOperation, (*Actions).DescribeClusterOperation)
	register(catalog.AWSMSKListBrokers, (*Actions).ListBrokers)
}

// connOf returns a cluster's multi-VPC client authentication.
func connOf(c *kafkatypes.Cluster) catalog.AWSVpcConnectivity {
	var v catalog.AWSVpcConnectivity
	if c == nil || c.Provisioned == nil || c.Provisioned.BrokerNodeGroupInfo == nil || c.Provisioned.BrokerNodeGroupInfo.ConnectivityInfo == nil {
		return v
	}
	vc := c.Provisioned.BrokerNodeGroupInfo.ConnectivityInfo.VpcConnectivity
	if vc == nil || vc.ClientAuthentication == nil {
		return v
	}
	ca := vc.ClientAuthentication
	if ca.Sasl != nil && ca.Sasl.Iam != nil {
		v.IAM = awssdk.ToBool(ca.Sasl.Iam.Enabled)
	}
	if ca.Sasl != nil && ca.Sasl.Scram != nil {
		v.SCRAM = awssdk.ToBool(ca.Sasl.Scram.Enabled)
	}
	if ca.Tls != nil {
		v.TLS = awssdk.ToBool(ca.Tls.Enabled)
	}
	return v
}

// connMap is v as a map (describeCluster's output, a heartbeat's record).
func connMap(v catalog.AWSVpcConnectivity) map[string]any {
	return map[string]any{"iam": v.IAM, "scram": v.SCRAM, "tls": v.TLS}
}

// findClusterByARN reads a cluster with DescribeClusterV2 (NotFound when MSK answers with none).
func (s *session) findClusterByARN(ctx context.Context, arn string) (*kafkatypes.Cluster, error) {
	out, err := s.kafka().DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: awssdk.String(arn)})
	if err != nil {
		return nil, s.classify("describe MSK cluster "+arn, err)
	}
	if out.ClusterInfo == nil {
		return nil, activities.NotFound("describe MSK cluster %s as %s: empty answer", arn, s.acct.Name)
	}
	return out.ClusterInfo, nil
}

// DescribeCluster reads the MSK cluster: state, version, client subnets and security groups.
func (a *Actions) DescribeCluster(ctx context.Context, call plan.Call, in catalog.AWSClusterIn) (catalog.AWSDescribeClusterOut, error) {
	var none catalog.AWSDescribeClusterOut
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c, err := s.findClusterByARN(ctx, in.ClusterARN)
	if err != nil {
		return none, err
	}
	out := catalog.AWSDescribeClusterOut{ClusterARN: awssdk.ToString(c.ClusterArn), ClusterName: awssdk.ToString(c.ClusterName), State: string(c.State),
		CurrentVersion: awssdk.ToString(c.CurrentVersion), ClientSubnets: []string{}, SecurityGroupIDs: []string{}, VpcConnectivity: connMap(connOf(c))}
	if p := c.Provisioned; p != nil {
		out.NumberOfBrokerNodes = int(awssdk.ToInt32(p.NumberOfBrokerNodes))
		if g := p.BrokerNodeGroupInfo; g != nil {
			out.ClientSubnets = append(out.ClientSubnets, g.ClientSubnets...)
			out.SecurityGroupIDs = append(out.SecurityGroupIDs, g.SecurityGroups...)
			if len(g.SecurityGroups) > 0 {
				out.SecurityGroupID = g.SecurityGroups[0]
			}
		}
	}
	return out, nil
}

// GetBootstrapBrokers returns the bootstrap list for an authentication
// (plaintext, tls, scram, iam) and connectivity (private, vpc).
func (a *Actions) GetBootstrapBrokers(ctx context.Context, call plan.Call, in catalog.AWSGetBootstrapBrokersIn) (catalog.AWSGetBootstrapBrokersOut, error) {
	var none catalog.AWSGetBootstrapBrokersOut
	arn, auth, conn := in.ClusterARN, in.Authentication, in.Connectivity
	if auth == "" {
		auth = "plaintext"
	}
	if conn == "" {
		conn = "private"
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.kafka().GetBootstrapBrokers(ctx, &kafka.GetBootstrapBrokersInput{ClusterArn: awssdk.String(arn)})
	if err != nil {
		return none, s.classify("get bootstrap brokers of "+arn, err)
	}
	pick := map[string]*string{
		"private/plaintext": out.BootstrapBrokerString, "private/tls": out.BootstrapBrokerStringTls,
		"private/scram": out.BootstrapBrokerStringSaslScram, "private/iam": out.BootstrapBrokerStringSaslIam,
		"vpc/tls": out.BootstrapBrokerStringVpcConnectivityTls, "vpc/scram": out.BootstrapBrokerStringVpcConnectivitySaslScram,
		"vpc/iam": out.BootstrapBrokerStringVpcConnectivitySaslIam,
	}
	key := conn + "/" + auth
	v, known := pick[key]
	if !known {
		return none, activities.Invalid("%s: no bootstrap string for authentication %q and connectivity %q", call.Action, auth, conn)
	}
	str := awssdk.ToString(v)
	if str == "" {
		return none, activities.Invalid("get bootstrap brokers of %s as %s: the cluster offers no %s bootstrap string for %s connectivity (is that authentication turned on?)", arn, s.acct.Name, auth, conn)
	}
	var list []string
	for _, h := range strings.Split(str, ",") {
		if h = strings.TrimSpace(h); h != "" {
			list = append(list, h)
		}
	}
	return catalog.AWSGetBootstrapBrokersOut{Bootstrap: list, BootstrapString: str}, nil
}

// DescribeClusterOperation reads an operation's state; an empty ARN (nothing changed) is UPDATE_COMPLETE.
func (a *Actions) DescribeClusterOperation(ctx context.Context, call plan.Call, in catalog.AWSDescribeClusterOperationIn) (catalog.AWSDescribeClusterOperationOut, error) {
	var none catalog.AWSDescribeClusterOperationOut
	arn := in.ClusterOperationARN
	if arn == "" {
		return catalog.AWSDescribeClusterOperationOut{Status: "UPDATE_COMPLETE"}, nil
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	out, err := s.kafka().DescribeClusterOperationV2(ctx, &kafka.DescribeClusterOperationV2Input{ClusterOperationArn: awssdk.String(arn)})
	if err != nil {
		return none, s.classify("describe cluster operation "+arn, err)
	}
	info := out.ClusterOperationInfo
	if info == nil {
		return none, activities.NotFound("describe cluster operation %s as %s: empty answer", arn, s.acct.Name)
	}
	msg := ""
	if info.ErrorInfo != nil {
		msg = awssdk.ToString(info.ErrorInfo.ErrorCode) + ": " + awssdk.ToString(info.ErrorInfo.ErrorString)
	}
	return catalog.AWSDescribeClusterOperationOut{Status: awssdk.ToString(info.OperationState), OperationType: awssdk.ToString(info.OperationType), Error: msg}, nil
}

// ListBrokers reads the cluster's brokers with ListNodes (ID, DNS name,
// private IP, client subnet), the broker port given, the DNS domain the
// broker names share (b-N.<domain>), and the brokers' VPC and its CIDR.
func (a *Actions) ListBrokers(ctx context.Context, call plan.Call, in catalog.AWSListBrokersIn) (catalog.AWSListBrokersOut, error) {
	var none catalog.AWSListBrokersOut
	arn, port := in.ClusterARN, in.Port
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	var nodes []catalog.AWSBroker
	p := kafka.NewListNodesPaginator(s.kafka(), &kafka.ListNodesInput{ClusterArn: awssdk.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return none, s.classify("list the brokers of "+arn, err)
		}
		for _, n := range page.NodeInfoList {
			b := n.BrokerNodeInfo
			if b == nil || len(b.Endpoints) == 0 || awssdk.ToString(b.ClientVpcIpAddress) == "" {
				continue
			}
			nodes = append(nodes, catalog.AWSBroker{BrokerID: int64(awssdk.ToFloat64(b.BrokerId)), Host: strings.ToLower(b.Endpoints[0]),
				IP: awssdk.ToString(b.ClientVpcIpAddress), Port: int64(port), Subnet: awssdk.ToString(b.ClientSubnet)})
		}
	}
	if len(nodes) == 0 {
		return none, activities.NotFound("list the brokers of %s as %s: no broker with an endpoint and an IP", arn, s.acct.Name)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].BrokerID < nodes[j].BrokerID })
	// MSK broker names are b-N.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com; they share the domain after "b-N.".
	domain := ""
	var subnets []string
	for _, n := range nodes {
		_, d, ok := strings.Cut(n.Host, ".")
		if !ok || (domain != "" && d != domain) {
			return none, activities.Invalid("%s: broker names of %s do not share one domain (%s)", call.Action, arn, n.Host)
		}
		domain = d
		if sn := n.Subnet; sn != "" && !slices.Contains(subnets, sn) {
			subnets = append(subnets, sn)
		}
	}
	if len(subnets) == 0 {
		return none, activities.Invalid("%s: ListNodes of %s names no client subnet", call.Action, arn)
	}
	sn, err := s.ec2().DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnets[0]}})
	if err != nil {
		return none, s.classify("describe subnet "+subnets[0], err)
	}
	if len(sn.Subnets) == 0 {
		return none, activities.NotFound("describe subnet %s as %s: not found", subnets[0], s.acct.Name)
	}
	vpc := awssdk.ToString(sn.Subnets[0].VpcId)
	vs, err := s.ec2().DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
	if err != nil {
		return none, s.classify("describe VPC "+vpc, err)
	}
	cidr := ""
	if len(vs.Vpcs) > 0 {
		cidr = awssdk.ToString(vs.Vpcs[0].CidrBlock)
	}
	return catalog.AWSListBrokersOut{Brokers: nodes, Domain: domain, Subnets: subnets, VpcID: vpc, VpcCIDR: cidr}, nil
}
