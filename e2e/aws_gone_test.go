package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/workflows"
)

// TestAWSPeeringRejectedByAccepterRollsBackPromptly: while Topoflow's gate
// waits, the accepter account rejects the peering itself (EC2
// RejectVpcPeeringConnection through the real SDK), then the gate is
// approved. Accepting the rejected peering fails and the rollback deletes nothing (a rejected peering
// cannot be deleted) and waits until the peering is gone. AWS keeps a
// rejected peering visible for days, so the gone-wait must take rejected as
// gone (Terraform's findVPCPeeringConnectionByID), not poll for 15 minutes.
func TestAWSPeeringRejectedByAccepterRollsBackPromptly(t *testing.T) {
	t.Parallel()
	s := awsStack(t)
	sim := s.Sim()
	p := compile(t, awsSpec("e2e-aws-accepter-rejects",
		"{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01]}", "vpcPeering",
		"  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"))
	run := startPlan(t, s, p)
	var pcx string
	eventually(t, time.Minute, "the peering awaits acceptance", func() bool {
		for _, x := range vpcPeerings(sim) {
			if x.Status == "pending-acceptance" {
				pcx = x.ID
			}
		}
		return pcx != ""
	})
	accepter := ec2.New(ec2.Options{Region: "eu-west-1", BaseEndpoint: awssdk.String(s.CloudsimURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAAWSCLIENTB000002", "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e", "")})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := accepter.RejectVpcPeeringConnection(ctx, &ec2.RejectVpcPeeringConnectionInput{VpcPeeringConnectionId: awssdk.String(pcx)}); err != nil {
		t.Fatalf("reject %s as the accepter: %v", pcx, err)
	}
	// The gate is then approved (the approver did not see the rejection):
	// accepting a rejected peering fails and the request rolls back. (Had the
	// wait still been polling, it would have failed on the rejected state.)
	// Sent again while the request still waits for it: under load an Update
	// can time out before the worker takes it.
	for deadline := time.Now().Add(60 * time.Second); ; {
		actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := s.Client.UpdateWorkflow(actx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateApprove,
			Args:         []any{workflows.Decision{Step: "approve-peering", Identity: "kafka-owner@example.com", Comment: "e2e"}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			_ = h.Get(actx, nil) // refused when the wait already saw the rejection and the request is rolling back
		}
		acancel()
		if err == nil || time.Now().After(deadline) || progress(t, s, run).Phase != workflows.PhaseWaitingApproval {
			break
		}
	}
	start := time.Now()
	err := workflows.Wait(ctx, run)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRolledBack {
		pr := progress(t, s, run)
		t.Fatalf("want a %s failure within 90s, got %v (phase %s, steps %+v)", workflows.ErrRolledBack, err, pr.Phase, pr.Steps)
	}
	pr := progress(t, s, run)
	if pr.Phase != workflows.PhaseRolledBack || len(pr.Leaked) > 0 {
		t.Fatalf("phase %s, leaked %+v", pr.Phase, pr.Leaked)
	}
	if st := stepState(pr, "create-peering"); st != workflows.StepCompensated {
		t.Fatalf("create-peering is %s, want %s", st, workflows.StepCompensated)
	}
	// The twin, like AWS, still shows the rejected peering.
	x, err := inventory.Get[*inventory.Peering](sim.Inventory, pcx)
	if err != nil || x.Status != "rejected" {
		t.Fatalf("peering %s after the rollback: %+v, %v; want it visible as rejected", pcx, x, err)
	}
	t.Logf("rolled back %s after the rejection", time.Since(start).Round(time.Millisecond))
}
