package stack_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// echo is a test-only action: it returns its inputs.
func echo(_ context.Context, call plan.Call) (plan.Outputs, error) {
	return plan.Outputs{"msg": call.Inputs["msg"]}, nil
}

func registerEcho(_ worker.Registry, reg *activities.Registry) { reg.Add("test.echo", echo) }

func testPlan(name string, gate bool) plan.Plan {
	p := plan.Plan{
		APIVersion: plan.APIVersion,
		Source:     plan.Source{Kind: "Workflow", Name: name, SpecSHA256: strings.Repeat("0", 64)},
		Summary:    "stack test " + name,
		OnFailure:  plan.FailRollback,
		Policy:     &plan.Policy{AllowUngated: true, Reason: "stack test of test.echo"},
		Outputs:    map[string]plan.Value{"msg": plan.Expr("steps.echo.msg")},
	}
	var deps []string
	if gate {
		p.Steps = append(p.Steps, plan.Step{ID: "ok", Title: "Approve", Action: plan.ActionApproval,
			Gate: &plan.Gate{Who: []string{"alice"}}})
		deps = []string{"ok"}
	}
	p.Steps = append(p.Steps, plan.Step{ID: "echo", Title: "Echo", Action: "test.echo", DependsOn: deps,
		Inputs: map[string]plan.Value{"msg": plan.Lit("hello")}})
	return p
}

func start(t *testing.T, s *stack.Stack, p plan.Plan) client.WorkflowRun {
	t.Helper()
	if err := p.Check(); err != nil {
		t.Fatalf("plan check: %v", err)
	}
	sha, err := p.Hash()
	if err != nil {
		t.Fatal(err)
	}
	req := workflows.Request{Plan: p, PlanSHA256: sha, RequestedBy: "test"}
	run, err := s.Client.ExecuteWorkflow(context.Background(), workflows.StartOptions(req, s.TaskQueue), workflows.WorkflowType, req)
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	return run
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStackRunsAPlanAndServesHealthAndMetrics(t *testing.T) {
	s := stack.New(t, stack.Options{Worker: true, Register: registerEcho, Temporal: stack.TemporalOptions{UI: true}})

	// The search attributes are registered.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sas, err := s.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stack.SearchAttributes {
		if got := sas.GetCustomAttributes()[k.GetName()]; got != k.GetValueType() {
			t.Errorf("search attribute %s = %v, want %v", k.GetName(), got, k.GetValueType())
		}
	}

	run := start(t, s, testPlan("stack-echo", false))
	var res workflows.Result
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if res.Outputs["msg"] != "hello" {
		t.Errorf("outputs = %v, want msg=hello", res.Outputs)
	}

	if code, body := get(t, "http://"+s.MetricsAddr+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d %s", code, body)
	}
	wants := [][]string{
		{"topoflow_action_calls_total{", `action="test.echo"`, `outcome="ok"`, `provider="test"`, `error_type=""`, "} 1"},
		{"topoflow_action_latency_seconds_bucket{", `action="test.echo"`, `le="0.01"} 1`},
		{"temporal_workflow_completed_total{", `workflow_type="topoflow.Interpreter"`},
		{"topoflow_catalog_actions_missing "},
		{"go_goroutines "},
	}
	// The worker counts the completion after it reports it, so the server
	// (run.Get) can answer first: read /metrics until every line is there.
	var missing [][]string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, metrics := get(t, "http://"+s.MetricsAddr+"/metrics")
		missing = missing[:0]
		for _, want := range wants {
			if !hasLine(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics has no line with %q", want)
	}

	// The Web UI serves the workflow page.
	if code, body := get(t, s.UIWorkflowURL(run.GetID())); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("Web UI %s = %d", s.UIWorkflowURL(run.GetID()), code)
	}

	// After a graceful stop the health endpoint is gone.
	addr := s.MetricsAddr
	if err := s.StopWorker(); err != nil {
		t.Fatalf("stop worker: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("/healthz still answers after the worker stopped")
	}
}

func TestRestartKeepsAnInFlightWorkflow(t *testing.T) {
	s := stack.New(t, stack.Options{Worker: true, Register: registerEcho})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := start(t, s, testPlan("stack-restart", true))
	waitPhase(t, s, run.GetID(), workflows.PhaseWaitingApproval)

	// Kill everything: worker, then the server; start both again on the same database.
	if err := s.StopWorker(); err != nil {
		t.Fatal(err)
	}
	if err := s.Temporal.Restart(ctx); err != nil {
		t.Fatalf("restart temporal: %v", err)
	}
	s.Client.Close()
	c, err := s.Temporal.Client(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	s.Client = c
	if err := s.StartWorker(ctx); err != nil {
		t.Fatal(err)
	}

	desc, err := s.Client.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v", st)
	}
	waitPhase(t, s, run.GetID(), workflows.PhaseWaitingApproval)
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.Decision{Step: "ok", Identity: "alice"}},
	})
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatalf("approve result: %v", err)
	}
	var res workflows.Result
	if err := s.Client.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if res.Outputs["msg"] != "hello" {
		t.Errorf("outputs = %v", res.Outputs)
	}
}

func waitPhase(t *testing.T, s *stack.Stack, id, phase string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := s.Client.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
		cancel()
		if err == nil {
			var p workflows.Progress
			if err := v.Get(&p); err == nil {
				last = p.Phase
				if p.Phase == phase {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("workflow %s: phase %q, want %q", id, last, phase)
}

func TestSearchAttributeFlags(t *testing.T) {
	got := strings.Join(stack.SearchAttributeFlags(), " ")
	want := "TopoflowSpec=Keyword TopoflowKind=Keyword TopoflowProvider=Keyword TopoflowPhase=Keyword TopoflowAwaiting=KeywordList"
	if got != want {
		t.Errorf("flags = %q, want %q", got, want)
	}
}

// hasLine reports whether one line of text starts with parts[0] and contains every other part.
func hasLine(text string, parts []string) bool {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, parts[0]) {
			continue
		}
		ok := true
		for _, p := range parts[1:] {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
