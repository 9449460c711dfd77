package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The MSK cluster's multi-VPC connectivity (ConnectivityInfo.VpcConnectivity):
// one setting of the cluster, updated and restored by the same action. The
// rollback's wait is the descriptor's (catalog/aws_msk_connectivity.go).

func init() {
	register(catalog.AWSMSKUpdateConnectivity, (*Actions).UpdateConnectivity)
}

// connFromMap reads a setting a heartbeat recorded (connMap's shape).
func connFromMap(m map[string]any) catalog.AWSVpcConnectivity {
	b := func(k string) bool { v, _ := m[k].(bool); return v }
	return catalog.AWSVpcConnectivity{IAM: b("iam"), SCRAM: b("scram"), TLS: b("tls")}
}

// UpdateConnectivity sets the cluster's multi-VPC client authentication.
// It returns the previous setting (for the rollback); an unchanged setting
// starts no operation (clusterOperationArn is empty, changed false). A retry
// after a started update returns that update's operation.
func (a *Actions) UpdateConnectivity(ctx context.Context, call plan.Call, in catalog.AWSUpdateConnectivityIn) (catalog.AWSUpdateConnectivityOut, error) {
	var none catalog.AWSUpdateConnectivityOut
	arn, want := in.ClusterARN, in.VpcConnectivity
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c, err := s.findClusterByARN(ctx, arn)
	if err != nil {
		return none, err
	}
	have := connOf(c)
	prior, tried := priorAttempt(ctx)
	// previous is kept as the map the heartbeat records.
	previous := connMap(have)
	result := func(op string, changed bool) catalog.AWSUpdateConnectivityOut {
		return catalog.AWSUpdateConnectivityOut{ClusterARN: arn, ClusterOperationARN: op, Previous: connFromMap(previous), Current: want, Changed: changed}
	}
	if tried && prior.Previous != nil {
		previous = prior.Previous
		if op := awssdk.ToString(c.ActiveOperationArn); op != "" && c.State == kafkatypes.ClusterStateUpdating {
			return result(op, true), nil
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
		return none, activities.Conflict("update multi-VPC connectivity of %s as %s: the cluster is %s (operation %s); "+
			"it is read and updated once ACTIVE", arn, s.acct.Name, c.State, awssdk.ToString(c.ActiveOperationArn))
	}
	if have == want {
		changed := tried && fmt.Sprint(prior.Previous) != fmt.Sprint(connMap(want))
		return result("", changed), nil
	}
	remember(ctx, attempt{Previous: previous})
	ci := &kafkatypes.ConnectivityInfo{VpcConnectivity: &kafkatypes.VpcConnectivity{ClientAuthentication: &kafkatypes.VpcConnectivityClientAuthentication{
		Sasl: &kafkatypes.VpcConnectivitySasl{Iam: &kafkatypes.VpcConnectivityIam{Enabled: awssdk.Bool(want.IAM)}, Scram: &kafkatypes.VpcConnectivityScram{Enabled: awssdk.Bool(want.SCRAM)}},
		Tls:  &kafkatypes.VpcConnectivityTls{Enabled: awssdk.Bool(want.TLS)},
	}}}
	out, err := s.kafka().UpdateConnectivity(ctx, &kafka.UpdateConnectivityInput{ClusterArn: awssdk.String(arn), CurrentVersion: c.CurrentVersion, ConnectivityInfo: ci})
	if err != nil {
		return none, s.classify("update multi-VPC connectivity of "+arn, err)
	}
	return result(awssdk.ToString(out.ClusterOperationArn), true), nil
}
