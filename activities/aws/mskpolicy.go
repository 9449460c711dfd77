package aws

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The MSK cluster policy: this request's statement merged in, and the
// previous policy put back (or deleted) by the inverse
// (catalog/aws_msk_policy.go).

func init() {
	register(catalog.AWSMSKPutClusterPolicy, (*Actions).PutClusterPolicy)
	register(catalog.AWSMSKRestoreClusterPolicy, (*Actions).RestoreClusterPolicy)
}

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string           `json:"Version"`
	Statement []map[string]any `json:"Statement"`
}

// PutClusterPolicy merges a statement (Sid derived from the idempotency key)
// allowing the client accounts the multi-VPC actions into the cluster
// policy. previous is the policy without that statement ("" when none).
func (a *Actions) PutClusterPolicy(ctx context.Context, call plan.Call, pin catalog.AWSPutClusterPolicyIn) (catalog.AWSPutClusterPolicyOut, error) {
	var none catalog.AWSPutClusterPolicyOut
	arn := pin.ClusterARN
	var principals []string
	for _, n := range pin.ClientAccounts {
		id, err := a.accountID(call, n)
		if err != nil {
			return none, err
		}
		principals = append(principals, "arn:aws:iam::"+id+":root")
	}
	sort.Strings(principals)
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.kafka()
	cur, version, err := s.clusterPolicy(ctx, arn)
	if err != nil {
		return none, err
	}
	sid := "topoflow" + shortHash(call.IdempotencyKey)
	doc := policyDoc{Version: "2012-10-17"}
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &doc); err != nil {
			return none, activities.Invalid("put cluster policy of %s as %s: the current policy is not a JSON policy document: %v", arn, s.acct.Name, err)
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
		return none, s.classify("put cluster policy of "+arn, err)
	}
	return catalog.AWSPutClusterPolicyOut{CurrentVersion: awssdk.ToString(out.CurrentVersion), Previous: previous}, nil
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
func (a *Actions) RestoreClusterPolicy(ctx context.Context, call plan.Call, rin catalog.AWSRestoreClusterPolicyIn) (catalog.AWSRestoreClusterPolicyOut, error) {
	var none catalog.AWSRestoreClusterPolicyOut
	arn, policy := rin.ClusterARN, rin.Policy
	s, err := a.session(ctx, call, "", "")
	if err != nil {
		return none, err
	}
	c := s.kafka()
	if policy == "" {
		if _, err := c.DeleteClusterPolicy(ctx, &kafka.DeleteClusterPolicyInput{ClusterArn: awssdk.String(arn)}); err != nil && !isNotFound(err) {
			return none, s.classify("delete cluster policy of "+arn, err)
		}
		return catalog.AWSRestoreClusterPolicyOut{CurrentVersion: ""}, nil
	}
	_, version, err := s.clusterPolicy(ctx, arn)
	if err != nil {
		return none, err
	}
	in := &kafka.PutClusterPolicyInput{ClusterArn: awssdk.String(arn), Policy: awssdk.String(policy)}
	if version != "" {
		in.CurrentVersion = awssdk.String(version)
	}
	out, err := c.PutClusterPolicy(ctx, in)
	if err != nil {
		return none, s.classify("restore cluster policy of "+arn, err)
	}
	return catalog.AWSRestoreClusterPolicyOut{CurrentVersion: awssdk.ToString(out.CurrentVersion)}, nil
}
