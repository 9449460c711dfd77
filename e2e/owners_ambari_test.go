package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	ambariacts "github.com/topoflow/topoflow/activities/ambari"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// ambariProps are the desired properties of the Kafka config types.
func ambariProps(t *testing.T, s *stack.Stack) map[string]map[string]string {
	t.Helper()
	c := &ambariacts.Client{Base: s.CloudsimURL, Cluster: "kafka1", User: "admin", Password: "az-ambari-password-5f6a7b8c9d0e"}
	ctx := context.Background()
	d, err := c.DesiredConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, typ := range []string{"kafka-env", "kafka-broker"} {
		v, err := c.Config(ctx, typ, d[typ].Tag)
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = v.Properties
	}
	return out
}

// revokeAndWait revokes a Done request's grant and waits until it is
// Revoked and visibility no longer lists the request as live.
func revokeAndWait(t *testing.T, s *stack.Stack, run client.WorkflowRun) {
	t.Helper()
	gid := workflows.GrantWorkflowID(run.GetID())
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "done with it"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var final workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &final); err != nil || final.Phase != workflows.PhaseRevoked || len(final.Leaked) != 0 {
		t.Fatalf("revoke of %s: %v (phase %s, leaks %v)", run.GetID(), err, final.Phase, final.Leaked)
	}
	eventually(t, time.Minute, run.GetID()+" no longer live", func() bool {
		hs, err := workflows.LiveHolders(ctx, s.Client, "azure")
		if err != nil {
			return false
		}
		for _, h := range hs {
			if h.WorkflowID == run.GetID() {
				return false
			}
		}
		return true
	})
}

// checkSharedChangeSurvivesRevoke: two Done requests share the cluster's
// Ambari change (the first writer's versions; the other wrote nothing).
// Revoking the writer keeps the change for the other, whose clients still
// verify; revoking the other, now the last holder, restores the configs the
// cluster had before either request (seed).
func checkSharedChangeSurvivesRevoke(t *testing.T, s *stack.Stack, runs []client.WorkflowRun, vnets []string, seed map[string]map[string]string) {
	t.Helper()
	writer := -1
	for i, run := range runs {
		if stepOutputs(t, s, run, "advertise-ips")["changed"] == true {
			writer = i
		}
	}
	if writer < 0 {
		t.Fatal("neither request wrote the Ambari change")
	}
	other := 1 - writer
	shared := ambariProps(t, s)
	if maps.EqualFunc(shared, seed, maps.Equal) {
		t.Fatal("the requests changed no Ambari config")
	}
	revokeAndWait(t, s, runs[writer])
	if got := ambariProps(t, s); !maps.EqualFunc(got, shared, maps.Equal) {
		t.Fatalf("revoking %s took the shared Ambari change away from %s:\n%v\nwant %v", runs[writer].GetID(), runs[other].GetID(), got, shared)
	}
	if err := verifyFrom(s.Sim(), vnets[other], fmt.Sprintf("after-revoke-%d", writer)); err != nil {
		t.Fatalf("after revoking %s, %s's clients cannot verify: %v", runs[writer].GetID(), runs[other].GetID(), err)
	}
	revokeAndWait(t, s, runs[other])
	if got := ambariProps(t, s); !maps.EqualFunc(got, seed, maps.Equal) {
		t.Fatalf("after the last holder's revoke the Ambari configs are not the seed's:\n%v\nwant %v", got, seed)
	}
}
