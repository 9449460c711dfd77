package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	km "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2/model"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/internal/stack"
	"github.com/topoflow/topoflow/workflows"
)

// grantProgress queries a grant's progress.
func grantProgress(t *testing.T, s *stack.Stack, gid string) workflows.Progress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.Client.QueryWorkflow(ctx, gid, "", workflows.QueryProgress)
	var p workflows.Progress
	if err == nil {
		err = v.Get(&p)
	}
	if err != nil {
		t.Fatalf("progress of %s: %v", gid, err)
	}
	return p
}

// waitChange waits for change n of a grant to end, approving its gate as
// the spec's approver when it asks.
func waitChange(t *testing.T, s *stack.Stack, gid string, n int, approve bool) workflows.Progress {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		p := grantProgress(t, s, gid)
		if p.Change != nil && p.Change.N == n && p.Change.Outcome != workflows.ChangeRunning {
			return p
		}
		if p.Phase == workflows.PhaseWaitingApproval {
			if !approve {
				t.Fatalf("change %d of %s waits for approval, want none:\n%+v", n, gid, p.Steps)
			}
			updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-connection", Identity: "kafka-owner@example.com"})
		}
		if time.Now().After(deadline) {
			t.Fatalf("change %d of %s not finished after 3m: phase %s, change %+v", n, gid, p.Phase, p.Change)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// streamer produces a record every 50 ms and consumes the topic's
// partitions directly (no group: its coordinator is not what this test is
// about) from the client network, and records when records arrive.
type streamer struct {
	mu      sync.Mutex
	got     []time.Time
	errs    []string
	sent    int
	stop    chan struct{}
	stopped sync.WaitGroup
}

func startStreamer(t *testing.T, s *stack.Stack, bootstrap []string, topic string) *streamer {
	t.Helper()
	dial := s.Sim().Net.DialFrom(hwClientVPC)
	opts := []kgo.Opt{kgo.SeedBrokers(bootstrap...), kgo.Dialer(dial), kgo.AllowAutoTopicCreation(),
		kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(5 * time.Second),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.MetadataMinAge(500 * time.Millisecond), kgo.MetadataMaxAge(2 * time.Second)}
	prod, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	// The topic, on the three brokers there are (kfake creates none on demand).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, 3, 1
	req.Topics = append(req.Topics, ct)
	resp, err := req.RequestWith(ctx, prod)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic %s: %v %+v", topic, err, resp)
	}
	st := &streamer{stop: make(chan struct{})}
	st.stopped.Add(2)
	go func() {
		defer st.stopped.Done()
		defer prod.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-st.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr()
			cancel()
			st.mu.Lock()
			if err != nil {
				st.errs = append(st.errs, time.Now().Format("15:04:05.000")+" produce: "+err.Error())
			} else {
				st.sent++
			}
			st.mu.Unlock()
		}
	}()
	cons, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer st.stopped.Done()
		defer cons.Close()
		for {
			select {
			case <-st.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			fs := cons.PollFetches(ctx)
			cancel()
			now := time.Now()
			st.mu.Lock()
			fs.EachError(func(tp string, p int32, err error) {
				if ctx.Err() == nil || !strings.Contains(err.Error(), "context") {
					st.errs = append(st.errs, fmt.Sprintf("%s fetch %s/%d: %v", now.Format("15:04:05.000"), tp, p, err))
				}
			})
			fs.EachRecord(func(*kgo.Record) { st.got = append(st.got, now) })
			st.mu.Unlock()
		}
	}()
	t.Cleanup(st.close)
	return st
}

func (st *streamer) close() {
	select {
	case <-st.stop:
	default:
		close(st.stop)
	}
	st.stopped.Wait()
}

// received counts the records consumed so far.
func (st *streamer) received() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.got)
}

// maxGap is the longest time without a consumed record between from and to.
func (st *streamer) maxGap(from, to time.Time) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	last, gap := from, time.Duration(0)
	for _, at := range st.got {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(last))
		last = at
	}
	return max(gap, to.Sub(last))
}

// TestChangeAddsTwoBrokers: a Done cross-account Huawei VPC endpoint
// request on a 3-broker DMS instance; the instance grows to 5 brokers (DMS
// ResizeEngineInstance, oper_type horizontal); apply of the same spec runs
// the delta after its approval: exactly the new brokers' endpoint services,
// whitelist entries and endpoints are created and the advertised map is
// updated in place, while a client in the client VPC produces and consumes
// throughout with no gap over 2 s. A revoke then removes everything, the
// new resources included: the twin is the seed world with the grown
// instance.
func TestChangeAddsTwoBrokers(t *testing.T) {
	s := newStack(t)
	seed := twinState(t, s)
	p := compile(t, hwSpec("e2e-hw-grow", "hw-client-b", hwClientVPC, hwClientSub, true))
	run := startPlan(t, s, p)
	decide(t, s, run, workflows.UpdateApprove, "approve-connection")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("request failed: %v", err)
	}
	gid := workflows.GrantWorkflowID(run.GetID())
	inv := s.Sim().Inventory
	before := map[string]bool{}
	var bootstrap []string
	for _, e := range inventory.List[*inventory.Endpoint](inv, inventory.Filter{}) {
		before[e.ID] = true
		bootstrap = append(bootstrap, e.IP+":9011")
	}
	for _, sv := range inventory.List[*inventory.EndpointService](inv, inventory.Filter{}) {
		before[sv.ID] = true
	}
	if len(before) != 6 {
		t.Fatalf("%d endpoints and services after Done, want 6", len(before))
	}

	st := startStreamer(t, s, bootstrap, "e2e-grow-orders")
	eventually(t, 30*time.Second, "records consumed through the endpoints", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(st.errs) > 0 {
			t.Logf("streamer: sent %d, errors %v", st.sent, st.errs)
		}
		return st.sent > 5 && len(st.got) > 5
	})

	// DMS scale-out: POST /v2/kafka/{project_id}/instances/{instance_id}/extend.
	dms := ownerDMS(t, s)
	five, space := int32(5), int32(500)
	eventually(t, 30*time.Second, "the scale-out accepted (the instance is busy for a while after a crossvpc modify)", func() bool {
		_, err := dms.ResizeEngineInstance(&km.ResizeEngineInstanceRequest{Engine: km.GetResizeEngineInstanceRequestEngineEnum().KAFKA, InstanceId: hwKafka,
			Body: &km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: &five, NewStorageSpace: &space}})
		if err != nil && !strings.Contains(err.Error(), "DMS.00400026") {
			t.Fatalf("resize: %v", err)
		}
		return err == nil
	})
	eventually(t, 30*time.Second, "5 brokers, RUNNING", func() bool {
		k, err := inventory.Get[*inventory.KafkaInstance](inv, hwKafka)
		return err == nil && len(k.Brokers) == 5 && instanceStatus(t, dms) == "RUNNING"
	})
	grown := twinState(t, s)
	k, _ := inventory.Get[*inventory.KafkaInstance](inv, hwKafka)
	newPorts := map[string]bool{k.Brokers[3].PortID: true, k.Brokers[4].PortID: true}

	// apply of the same spec, reading the cloud again: the delta.
	changeStart := time.Now()
	sha, _ := p.Hash()
	applied, err := workflows.ApplyRefresh(ctx, s.Client, workflows.Request{Plan: *p, PlanSHA256: sha, RequestedBy: "e2e"}, s.TaskQueue)
	if err != nil {
		t.Fatalf("apply of the grown instance: %v", err)
	}
	if applied.Outcome != workflows.AppliedChanging || applied.Grant != gid || applied.Change == nil {
		t.Fatalf("apply: %+v, want a change of %s", applied, gid)
	}
	final := waitChange(t, s, gid, applied.Change.N, true)
	changeEnd := time.Now()
	ch := final.Change
	t.Logf("change: %s in %s", ch.Outcome, changeEnd.Sub(changeStart).Round(time.Millisecond))
	if ch.Outcome != workflows.ChangeChanged || final.Phase != workflows.PhaseGranted {
		t.Fatalf("change ended %s (phase %s): %s", ch.Outcome, final.Phase, ch.Error)
	}
	var wantAdded []string
	for _, b := range k.Brokers[3:] {
		for _, step := range []string{"create-endpoint-service", "whitelist-client", "create-endpoint"} {
			wantAdded = append(wantAdded, step+"["+b.PortID+"]")
		}
	}
	sort.Strings(wantAdded)
	added := slices.Sorted(slices.Values(ch.Added))
	if !slices.Equal(added, wantAdded) || !slices.Equal(ch.Updated, []string{"set-advertised-ips"}) || len(ch.Removed) != 0 {
		t.Fatalf("change added %v, updated %v, removed %v; want added %v, updated [set-advertised-ips]", added, ch.Updated, ch.Removed, wantAdded)
	}
	// In the twin: exactly two more services and endpoints, for the new brokers.
	var newSvcs, newEps []string
	for _, sv := range inventory.List[*inventory.EndpointService](inv, inventory.Filter{}) {
		if !before[sv.ID] {
			newSvcs = append(newSvcs, sv.ID)
			if !newPorts[sv.PortID] {
				t.Errorf("new endpoint service %s is on port %s, not a new broker's", sv.ID, sv.PortID)
			}
		}
	}
	for _, e := range inventory.List[*inventory.Endpoint](inv, inventory.Filter{}) {
		if !before[e.ID] {
			newEps = append(newEps, e.ID)
		}
	}
	if len(newSvcs) != 2 || len(newEps) != 2 {
		t.Fatalf("new endpoint services %v and endpoints %v, want 2 of each", newSvcs, newEps)
	}
	checkOnePerBroker(t, s, hwKafka, "hw-client-b", hwClientVPC)
	time.Sleep(time.Second)
	st.close()
	gap := st.maxGap(changeStart, changeEnd)
	t.Logf("consumed %d records; longest gap during the change %s; errors: %v", st.received(), gap.Round(time.Millisecond), st.errs)
	if gap > 2*time.Second {
		t.Fatalf("the consumer stopped for %s during the change (bound 2s); errors: %v", gap, st.errs)
	}

	// Revoke: everything, the change's resources included.
	updateGrant(t, s, gid, workflows.UpdateRevoke, workflows.OperatorAction{Identity: "e2e-ops", Reason: "done"})
	updateGrant(t, s, gid, workflows.UpdateApprove, workflows.Decision{Step: "approve-connection", Identity: "kafka-owner@example.com"})
	var revoked workflows.Progress
	if err := s.Client.GetWorkflow(ctx, gid, "").Get(ctx, &revoked); err != nil {
		t.Fatalf("revoke failed: %v", err)
	}
	if revoked.Phase != workflows.PhaseRevoked || len(revoked.Leaked) != 0 {
		t.Fatalf("grant ended %s with leaks %v", revoked.Phase, revoked.Leaked)
	}
	if diff := inventoryDiff(grownSeed(seed, grown), twinState(t, s)); diff != "" {
		t.Fatalf("after the revoke the twin is not the seed world with the grown instance:\n%s", diff)
	}
}

// grownSeed is the seed world as it is once the DMS instance grew: its new
// brokers (as they came, before any request touched them) and their ports.
func grownSeed(seed, grown map[string][]map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	ids := map[string]bool{}
	for kind, objs := range seed {
		out[kind] = append([]map[string]any(nil), objs...)
		for _, o := range objs {
			ids[fmt.Sprint(o["id"])] = true
		}
	}
	var newBrokers []any
	for _, k := range grown["kafka"] {
		if k["id"] != hwKafka {
			continue
		}
		bs, _ := k["brokers"].([]any)
		if len(bs) > 3 {
			newBrokers = bs[3:]
		}
	}
	for i, k := range out["kafka"] {
		if k["id"] == hwKafka {
			c := map[string]any{}
			for key, v := range k {
				c[key] = v
			}
			c["brokers"] = append(append([]any(nil), k["brokers"].([]any)...), newBrokers...)
			out["kafka"][i] = c
		}
	}
	for _, p := range grown["port"] {
		if !ids[fmt.Sprint(p["id"])] && p["deviceId"] == hwKafka {
			out["port"] = append(out["port"], p)
		}
	}
	return out
}
