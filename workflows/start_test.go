package workflows

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/plan"
)

func TestStartOptions(t *testing.T) {
	p := mkPlan(plan.FailRollback, create("a"))
	p.Source = plan.Source{Kind: "KafkaAccess", Name: "orders", SpecSHA256: "x"}
	p.Provider, p.Summary, p.Details = "huawei", "Kafka orders", "**details**"
	req := request(p)
	o := StartOptions(req, "")
	if o.ID != "topoflow/KafkaAccess/orders" || o.TaskQueue != DefaultTaskQueue {
		t.Errorf("ID %q task queue %q", o.ID, o.TaskQueue)
	}
	if o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING ||
		o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY {
		t.Errorf("policies %v %v", o.WorkflowIDConflictPolicy, o.WorkflowIDReusePolicy)
	}
	if o.Memo[MemoSummary] != p.Summary || len(o.Memo[MemoLabels].(map[string]string)) != 0 {
		t.Errorf("memo summary %v labels %v", o.Memo[MemoSummary], o.Memo[MemoLabels])
	}
	if o.StaticSummary != p.Summary || o.StaticDetails != p.Details {
		t.Errorf("summary %q details %q", o.StaticSummary, o.StaticDetails)
	}
	for _, tc := range []struct {
		key  string
		want string
	}{{SASpec.GetName(), "orders"}, {SAKind.GetName(), "KafkaAccess"}, {SAProvider.GetName(), "huawei"}, {SAPhase.GetName(), PhaseRunning}} {
		var got string
		for k, v := range o.TypedSearchAttributes.GetUntypedValues() {
			if k.GetName() == tc.key {
				got, _ = v.(string)
			}
		}
		if got != tc.want {
			t.Errorf("search attribute %s = %q, want %q", tc.key, got, tc.want)
		}
	}
	// The memo round-trips through PlanSHA256FromMemo.
	pl, err := converter.GetDefaultDataConverter().ToPayload(o.Memo[MemoPlanSHA256])
	if err != nil {
		t.Fatal(err)
	}
	got, err := PlanSHA256FromMemo(&commonpb.Memo{Fields: map[string]*commonpb.Payload{MemoPlanSHA256: pl}})
	if err != nil || got != req.PlanSHA256 {
		t.Errorf("memo sha %q (%v), want %q", got, err, req.PlanSHA256)
	}
	if _, err := PlanSHA256FromMemo(nil); err == nil {
		t.Error("empty memo accepted")
	}
}
