package huawei_test

import (
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	kafka "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2"
	km "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2/model"

	"github.com/topoflow/topoflow/cloudsim"
	hwsim "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

const seedKafka = "6b2f7e4a-0000-4000-8000-00000000a010"

// TestResizeEngineInstance: DMS's horizontal scale-out through the SDK
// (ResizeEngineInstance): bad bodies are refused as the API documents; a
// valid one answers a job ID, the instance is EXTENDING, then RUNNING with
// the new brokers (their own listener IPs and ports), whose real brokers
// serve: the kfake cluster has them too.
func TestResizeEngineInstance(t *testing.T) {
	old := hwsim.DefaultTiming.DMSExtend
	hwsim.DefaultTiming.DMSExtend = 300 * time.Millisecond
	t.Cleanup(func() { hwsim.DefaultTiming.DMSExtend = old })
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"huawei"}})
	cred, err := basic.NewCredentialsBuilder().WithAk("HWKAFKAOWNERAK0000001").WithSk("hw-kafka-owner-sk-7f3a9c1e5b2d4a6f8e0c").
		WithProjectId("0605767c9a00d5c92f4fc00a1d6e3a11").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := kafka.KafkaClientBuilder().WithEndpoints([]string{sim.URL()}).WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(10 * time.Second)).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	c := kafka.NewKafkaClient(hc)
	i32 := func(v int32) *int32 { return &v }
	resize := func(body km.ResizeEngineInstanceReq) error {
		_, err := c.ResizeEngineInstance(&km.ResizeEngineInstanceRequest{Engine: km.GetResizeEngineInstanceRequestEngineEnum().KAFKA,
			InstanceId: seedKafka, Body: &body})
		return err
	}
	for _, tc := range []struct {
		name string
		body km.ResizeEngineInstanceReq
		want string
	}{
		{"unknown oper_type", km.ResizeEngineInstanceReq{OperType: "wider", NewBrokerNum: i32(5), NewStorageSpace: i32(500)}, "oper_type"},
		{"no storage", km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(5)}, "new_storage_space"},
		{"storage not a multiple of 100", km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(5), NewStorageSpace: i32(450)}, "multiple of 100"},
		{"not more brokers", km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(3), NewStorageSpace: i32(300)}, "more than the instance's 3"},
		{"over 50 brokers", km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(51), NewStorageSpace: i32(5100)}, "at most 50"},
		{"more tenant IPs than brokers added", km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(4), NewStorageSpace: i32(400),
			TenantIps: &[]string{"192.168.0.9", "192.168.0.10"}}, "tenant_ips"},
	} {
		if err := resize(tc.body); err == nil || !strings.Contains(err.Error(), "DMS.00400002") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want DMS.00400002 naming %s", tc.name, err, tc.want)
		}
	}
	if err := resize(km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(5), NewStorageSpace: i32(500)}); err != nil {
		t.Fatalf("resize: %v", err)
	}
	show := func() *km.ShowInstanceResponse {
		r, err := c.ShowInstance(&km.ShowInstanceRequest{InstanceId: seedKafka})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if st := *show().Status; st != "EXTENDING" {
		t.Errorf("status %s right after the resize, want EXTENDING", st)
	}
	if err := resize(km.ResizeEngineInstanceReq{OperType: "horizontal", NewBrokerNum: i32(6), NewStorageSpace: i32(600)}); err == nil ||
		!strings.Contains(err.Error(), "DMS.00400026") {
		t.Errorf("a second resize while EXTENDING: %v, want DMS.00400026", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for *show().Status != "RUNNING" {
		if time.Now().After(deadline) {
			t.Fatal("not RUNNING again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := *show().BrokerNum; n != 5 {
		t.Fatalf("broker_num %d, want 5", n)
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](sim.Inventory, seedKafka)
	ips := map[string]bool{}
	for _, b := range k.Brokers {
		if ips[b.ListenerIP] {
			t.Errorf("listener IP %s twice", b.ListenerIP)
		}
		ips[b.ListenerIP] = true
		if _, err := inventory.Get[*inventory.Port](sim.Inventory, b.PortID); err != nil {
			t.Errorf("broker %d: port %s: %v", b.ID, b.PortID, err)
		}
	}
	cl, ok := sim.Net.Cluster(seedKafka)
	if !ok {
		t.Fatal("no running cluster")
	}
	if addrs := cl.Kfake().ListenAddrs(); len(addrs) != 5 {
		t.Errorf("kfake runs %d brokers, want 5: %v (errors %v)", len(addrs), addrs, sim.Net.Errors())
	}
}
