package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// vpcConn is the multi-VPC client authentication of a cluster.
type vpcConn struct{ iam, scram, tls bool }

func (v vpcConn) out() map[string]any {
	return map[string]any{"iam": v.iam, "scram": v.scram, "tls": v.tls}
}

func connOf(c *kafkatypes.Cluster) vpcConn {
	var v vpcConn
	if c == nil || c.Provisioned == nil || c.Provisioned.BrokerNodeGroupInfo == nil || c.Provisioned.BrokerNodeGroupInfo.ConnectivityInfo == nil {
		return v
	}
	vc := c.Provisioned.BrokerNodeGroupInfo.ConnectivityInfo.VpcConnectivity
	if vc == nil || vc.ClientAuthentication == nil {
		return v
	}
	ca := vc.ClientAuthentication
	if ca.Sasl != nil && ca.Sasl.Iam != nil {
		v.iam = awssdk.ToBool(ca.Sasl.Iam.Enabled)
	}
	if ca.Sasl != nil && ca.Sasl.Scram != nil {
		v.scram = awssdk.ToBool(ca.Sasl.Scram.Enabled)
	}
	if ca.Tls != nil {
		v.tls = awssdk.ToBool(ca.Tls.Enabled)
	}
	return v
}

func connFrom(call plan.Call, m map[string]any) (vpcConn, error) {
	get := func(k string) (bool, error) {
		x, ok := m[k]
		if !ok || x == nil {
			return false, nil
		}
		b, ok := x.(bool)
		if !ok {
			return false, activities.Invalid("%s: vpcConnectivity.%s must be a boolean, got %T", call.Action, k, x)
		}
		return b, nil
	}
	var v vpcConn
	var err error
	if v.iam, err = get("iam"); err != nil {
		return v, err
	}
	if v.scram, err = get("scram"); err != nil {
		return v, err
	}
	v.tls, err = get("tls")
	return v, err
}

// describeCluster reads a cluster with DescribeClusterV2.
func (s *session) describeCluster(ctx context.Context, arn string) (*kafkatypes.Cluster, error) {
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
	c, err := s.describeCluster(ctx, in.ClusterARN)
	if err != nil {
		return none, err
	}
	out := catalog.AWSDescribeClusterOut{ClusterARN: awssdk.ToString(c.ClusterArn), ClusterName: awssdk.ToString(c.ClusterName), State: string(c.State),
		CurrentVersion: awssdk.ToString(c.CurrentVersion), ClientSubnets: []string{}, SecurityGroupIDs: []string{}, VpcConnectivity: connOf(c).out()}
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

// UpdateConnectivity sets the cluster's multi-VPC client authentication.
// It returns the previous setting (for the rollback); an unchanged setting
// starts no operation (clusterOperationArn is empty, changed false). A retry
// after a started update returns that update's operation.
func (a *Actions) UpdateConnectivity(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "clusterArn", true)
	if err != nil {
		return nil, err
	}
	m, err := activities.Object(call, "vpcConnectivity")
	if err != nil {
		return nil, err
	}
	want, err := connFrom(call, m)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c, err := s.describeCluster(ctx, arn)
	if err != nil {
		return nil, err
	}
	have := connOf(c)
	prior, tried := priorAttempt(ctx)
	previous := have.out()
	if tried && prior.Previous != nil {
		previous = prior.Previous
		if op := awssdk.ToString(c.ActiveOperationArn); op != "" && c.State == kafkatypes.ClusterStateUpdating {
			return plan.Outputs{"clusterArn": arn, "clusterOperationArn": op, "previous": previous, "current": want.out(), "changed": true}, nil
		}
	}
	if c.State != kafkatypes.ClusterStateActive {
		// While another operation runs (the forward update a rollback caught
		// mid-way, say) DescribeClusterV2 still shows the setting it is
		// replacing, and MSK refuses updates until the cluster is ACTIVE
		// again (UpdateConnectivity: BadRequestException; Terraform's
		// aws_msk_cluster waits for ACTIVE before every update,
		// internal/service/kafka/cluster.go waitClusterUpdated). Comparing
		// now would find nothing to change and leave the new setting on
		// (make chaos saw exactly that): retried until the cluster settles.
		return nil, activities.Conflict("update multi-VPC connectivity of %s as %s: the cluster is %s (operation %s); "+
			"it is read and updated once ACTIVE", arn, s.acct.Name, c.State, awssdk.ToString(c.ActiveOperationArn))
	}
	if have == want {
		changed := tried && fmt.Sprint(prior.Previous) != fmt.Sprint(want.out())
		return plan.Outputs{"clusterArn": arn, "clusterOperationArn": "", "previous": previous, "current": want.out(), "changed": changed}, nil
	}
	remember(ctx, attempt{Previous: previous})
	ci := &kafkatypes.ConnectivityInfo{VpcConnectivity: &kafkatypes.VpcConnectivity{ClientAuthentication: &kafkatypes.VpcConnectivityClientAuthentication{
		Sasl: &kafkatypes.VpcConnectivitySasl{Iam: &kafkatypes.VpcConnectivityIam{Enabled: awssdk.Bool(want.iam)}, Scram: &kafkatypes.VpcConnectivityScram{Enabled: awssdk.Bool(want.scram)}},
		Tls:  &kafkatypes.VpcConnectivityTls{Enabled: awssdk.Bool(want.tls)},
	}}}
	out, err := s.kafka().UpdateConnectivity(ctx, &kafka.UpdateConnectivityInput{ClusterArn: awssdk.String(arn), CurrentVersion: c.CurrentVersion, ConnectivityInfo: ci})
	if err != nil {
		return nil, s.classify("update multi-VPC connectivity of "+arn, err)
	}
	return plan.Outputs{"clusterArn": arn, "clusterOperationArn": awssdk.ToString(out.ClusterOperationArn), "previous": previous, "current": want.out(), "changed": true}, nil
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

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string           `json:"Version"`
	Statement []map[string]any `json:"Statement"`
}

// PutClusterPolicy merges a statement (Sid derived from the idempotency key)
// allowing the client accounts the multi-VPC actions into the cluster
// policy. previous is the policy without that statement ("" when none).
func (a *Actions) PutClusterPolicy(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "clusterArn", true)
	if err != nil {
		return nil, err
	}
	names, err := activities.Strings(call, "clientAccounts", true)
	if err != nil {
		return nil, err
	}
	var principals []string
	for _, n := range names {
		id, err := a.accountID(call, n)
		if err != nil {
			return nil, err
		}
		principals = append(principals, "arn:aws:iam::"+id+":root")
	}
	sort.Strings(principals)
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c := s.kafka()
	cur, version, err := s.clusterPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	sid := "topoflow" + shortHash(call.IdempotencyKey)
	doc := policyDoc{Version: "2012-10-17"}
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &doc); err != nil {
			return nil, activities.Invalid("put cluster policy of %s as %s: the current policy is not a JSON policy document: %v", arn, s.acct.Name, err)
		}
	}
	var kept []map[string]any
	for _, st := range doc.Statement {
		if st["Sid"] != sid {
			kept = append(kept, st)
		}
	}
	previous := ""
	if len(kept) > 0 {
		b, _ := json.Marshal(policyDoc{Version: doc.Version, Statement: kept})
		previous = string(b)
	}
	// The multi-VPC actions, and "kafka-cluster:*" on the cluster, its topics
	// and groups so that IAM-authenticated clients of the account may
	// connect, produce and consume (the cluster policy example of
	// https://docs.aws.amazon.com/msk/latest/developerguide/mvpc-cluster-owner-action-policy.html;
	// resource ARNs: https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
	doc.Statement = append(kept, map[string]any{
		"Sid": sid, "Effect": "Allow", "Principal": map[string]any{"AWS": principals},
		"Action":   []string{"kafka:CreateVpcConnection", "kafka:GetBootstrapBrokers", "kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka-cluster:*"},
		"Resource": []string{arn, strings.Replace(arn, ":cluster/", ":topic/", 1) + "/*", strings.Replace(arn, ":cluster/", ":group/", 1) + "/*"},
	})
	body, _ := json.Marshal(doc)
	in := &kafka.PutClusterPolicyInput{ClusterArn: awssdk.String(arn), Policy: awssdk.String(string(body))}
	if version != "" {
		in.CurrentVersion = awssdk.String(version)
	}
	out, err := c.PutClusterPolicy(ctx, in)
	if err != nil {
		return nil, s.classify("put cluster policy of "+arn, err)
	}
	return plan.Outputs{"currentVersion": awssdk.ToString(out.CurrentVersion), "previous": previous}, nil
}

// clusterPolicy returns the cluster's policy and its version ("" when there is none).
func (s *session) clusterPolicy(ctx context.Context, arn string) (string, string, error) {
	out, err := s.kafka().GetClusterPolicy(ctx, &kafka.GetClusterPolicyInput{ClusterArn: awssdk.String(arn)})
	if isNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", s.classify("get cluster policy of "+arn, err)
	}
	return awssdk.ToString(out.Policy), awssdk.ToString(out.CurrentVersion), nil
}

// RestoreClusterPolicy puts a previous policy back, or deletes the policy when it is empty.
func (a *Actions) RestoreClusterPolicy(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "clusterArn", true)
	if err != nil {
		return nil, err
	}
	policy, err := activities.String(call, "policy", false)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c := s.kafka()
	if policy == "" {
		if _, err := c.DeleteClusterPolicy(ctx, &kafka.DeleteClusterPolicyInput{ClusterArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
			return nil, s.classify("delete cluster policy of "+arn, err)
		}
		return plan.Outputs{"currentVersion": ""}, nil
	}
	_, version, err := s.clusterPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	in := &kafka.PutClusterPolicyInput{ClusterArn: awssdk.String(arn), Policy: awssdk.String(policy)}
	if version != "" {
		in.CurrentVersion = awssdk.String(version)
	}
	out, err := c.PutClusterPolicy(ctx, in)
	if err != nil {
		return nil, s.classify("restore cluster policy of "+arn, err)
	}
	return plan.Outputs{"currentVersion": awssdk.ToString(out.CurrentVersion)}, nil
}

// vpcConnectionGone are states in which a VPC connection is not reused.
var vpcConnectionGone = map[kafkatypes.VpcConnectionState]bool{
	kafkatypes.VpcConnectionStateDeleting: true, kafkatypes.VpcConnectionStateFailed: true,
	kafkatypes.VpcConnectionStateRejected: true, kafkatypes.VpcConnectionStateRejecting: true,
}

// CreateVpcConnection creates a VPC connection from the client VPC (as the
// client account), tagged with the idempotency key; a connection an earlier
// attempt created is reused.
func (a *Actions) CreateVpcConnection(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "clusterArn", true)
	if err != nil {
		return nil, err
	}
	auth, err := activities.String(call, "authentication", true)
	if err != nil {
		return nil, err
	}
	vpc, err := activities.String(call, "vpcId", true)
	if err != nil {
		return nil, err
	}
	subnets, err := activities.Strings(call, "subnetIds", true)
	if err != nil {
		return nil, err
	}
	groups, err := activities.Strings(call, "securityGroupIds", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	c := s.kafka()
	what := fmt.Sprintf("create VPC connection from %s to %s", vpc, arn)
	tag := shortHash(call.IdempotencyKey)
	p := kafka.NewListVpcConnectionsPaginator(c, &kafka.ListVpcConnectionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classify(what+": look up an earlier attempt", err)
		}
		for _, vc := range page.VpcConnections {
			if awssdk.ToString(vc.TargetClusterArn) != arn || awssdk.ToString(vc.VpcId) != vpc || vpcConnectionGone[vc.State] {
				continue
			}
			d, err := c.DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: vc.VpcConnectionArn})
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return nil, s.classify(what+": look up an earlier attempt", err)
			}
			if d.Tags[TagKey] == tag {
				return plan.Outputs{"vpcConnectionArn": awssdk.ToString(d.VpcConnectionArn), "state": string(d.State)}, nil
			}
		}
	}
	out, err := c.CreateVpcConnection(ctx, &kafka.CreateVpcConnectionInput{TargetClusterArn: awssdk.String(arn), Authentication: awssdk.String(auth),
		VpcId: awssdk.String(vpc), ClientSubnets: subnets, SecurityGroups: groups, Tags: map[string]string{TagKey: tag}})
	if err != nil {
		return nil, s.classify(what, err)
	}
	return plan.Outputs{"vpcConnectionArn": awssdk.ToString(out.VpcConnectionArn), "state": string(out.State)}, nil
}

// DescribeVpcConnection reads a VPC connection's state.
func (a *Actions) DescribeVpcConnection(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "vpcConnectionArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	out, err := s.kafka().DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: awssdk.String(arn)})
	if err != nil {
		return nil, s.classify("describe VPC connection "+arn, err)
	}
	return plan.Outputs{"vpcConnectionArn": arn, "state": string(out.State), "vpcId": awssdk.ToString(out.VpcId), "subnets": anyStrings(out.Subnets)}, nil
}

// DeleteVpcConnection deletes a VPC connection; a missing one counts as deleted.
func (a *Actions) DeleteVpcConnection(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	arn, err := activities.String(call, "vpcConnectionArn", true)
	if err != nil {
		return nil, err
	}
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return nil, err
	}
	// A connection still CREATING (or REJECTING, DEACTIVATING) cannot be
	// deleted yet: MSK answers BadRequestException (the states:
	// aws-sdk-go-v2 service/kafka types/enums.go VpcConnectionState). An undo
	// that catches the forward create mid-way waits for it (a retryable
	// Conflict) instead of failing and leaving the connection behind (found
	// by make chaos: msk-multi-vpc-c1 rolled back while its connection was CREATING).
	if d, err := s.kafka().DescribeVpcConnection(ctx, &kafka.DescribeVpcConnectionInput{Arn: awssdk.String(arn)}); isNotFound(err) {
		return plan.Outputs{"vpcConnectionArn": arn, "state": "DELETED"}, nil
	} else if err == nil {
		switch d.State {
		case kafkatypes.VpcConnectionStateCreating, kafkatypes.VpcConnectionStateRejecting, kafkatypes.VpcConnectionStateDeactivating:
			return nil, activities.Conflict("delete VPC connection %s as %s: it is %s; deleted once that ends", arn, call.Account, d.State)
		}
	}
	out, err := s.kafka().DeleteVpcConnection(ctx, &kafka.DeleteVpcConnectionInput{Arn: awssdk.String(arn)})
	if isNotFound(err) {
		return plan.Outputs{"vpcConnectionArn": arn, "state": "DELETED"}, nil
	}
	if err != nil {
		return nil, s.classify("delete VPC connection "+arn, err)
	}
	return plan.Outputs{"vpcConnectionArn": arn, "state": string(out.State)}, nil
}
