package huawei

import (
	"context"
	"encoding/json"
	"net/netip"
	"sort"
	"strings"
	"time"

	kafka "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2"
	km "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kafka/v2/model"
	"go.temporal.io/sdk/activity"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The DMS for Kafka instance resource (Kafka v2): read and the cross-VPC
// advertised-IP modification.

func init() {
	typed[catalog.HuaweiDMSShowInstance] = func(a *Actions) activities.Func { return activities.Typed(a.ShowInstance) }
	typed[catalog.HuaweiDMSUpdateCrossVpcIps] = func(a *Actions) activities.Func { return activities.Typed(a.UpdateCrossVpcIps) }
}

// crossVpcEntry is one listener of cross_vpc_info (a JSON string in ShowInstance).
type crossVpcEntry struct {
	AdvertisedIP string `json:"advertised_ip"`
	Port         int    `json:"port"`
	PortID       string `json:"port_id"`
}

type instanceView struct {
	out        catalog.HuaweiShowInstanceOut
	advertised map[string]string
}

func (a *Actions) dmsFor(ctx context.Context, call plan.Call) (*session, *kafka.KafkaClient, error) {
	s, err := a.session(ctx, call, "")
	if err != nil {
		return nil, nil, err
	}
	hc, err := s.hcClient("dms")
	if err != nil {
		return nil, nil, err
	}
	return s, kafka.NewKafkaClient(hc), nil
}

func showInstance(s *session, c *kafka.KafkaClient, id string) (*instanceView, error) {
	resp, err := c.ShowInstance(&km.ShowInstanceRequest{InstanceId: id})
	if err != nil {
		return nil, s.classify("show Kafka instance "+id, err)
	}
	info := map[string]crossVpcEntry{}
	if raw := deref(resp.CrossVpcInfo); strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &info); err != nil {
			return nil, activities.Invalid("show Kafka instance %s: cross_vpc_info is not the expected JSON: %v", id, err)
		}
	}
	listeners := make([]string, 0, len(info))
	for ip := range info {
		listeners = append(listeners, ip)
	}
	sortIPs(listeners)
	brokers := make([]catalog.HuaweiBroker, 0, len(listeners))
	adv := map[string]string{}
	advOut := map[string]string{}
	for i, ip := range listeners {
		e := info[ip]
		a := e.AdvertisedIP
		if a == "" {
			a = ip
		}
		adv[ip] = a
		advOut[ip] = a
		brokers = append(brokers, catalog.HuaweiBroker{ID: i, ListenerIP: ip, PortID: e.PortID, AdvertisedIP: a, Port: e.Port})
	}
	return &instanceView{advertised: adv, out: catalog.HuaweiShowInstanceOut{
		InstanceID: deref(resp.InstanceId), Name: deref(resp.Name), Status: deref(resp.Status),
		VpcID: deref(resp.VpcId), SubnetID: deref(resp.SubnetId), SecurityGroupID: deref(resp.SecurityGroupId),
		// user_id is the ID of the user who created the instance, not the account (domain) ID
		// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go UserId).
		UserID: deref(resp.UserId), ConnectAddress: deref(resp.ConnectAddress),
		// The instance's connection port: the private listener on connect_address
		// (model_show_instance_response.go Port, "实例连接端口"; 9092/9093).
		Port:    int(deref(resp.Port)),
		Brokers: brokers, Advertised: advOut,
	}}, nil
}

// sortIPs sorts addresses numerically (strings that are not IPs last, lexically).
func sortIPs(ips []string) {
	sort.Slice(ips, func(i, j int) bool {
		a, ea := netip.ParseAddr(ips[i])
		b, eb := netip.ParseAddr(ips[j])
		switch {
		case ea == nil && eb == nil:
			return a.Less(b)
		case ea == nil:
			return true
		case eb == nil:
			return false
		}
		return ips[i] < ips[j]
	})
}

// ShowInstance reads a DMS Kafka instance and its brokers' cross-VPC listeners.
func (a *Actions) ShowInstance(ctx context.Context, call plan.Call, in catalog.HuaweiInstanceIn) (catalog.HuaweiShowInstanceOut, error) {
	var none catalog.HuaweiShowInstanceOut
	s, c, err := a.dmsFor(ctx, call)
	if err != nil {
		return none, err
	}
	v, err := showInstance(s, c, in.InstanceID)
	if err != nil {
		return none, err
	}
	return v.out, nil
}

// crossVpcMemo is what UpdateCrossVpcIps remembers across attempts.
type crossVpcMemo struct {
	Previous map[string]string `json:"previous"`
}

// UpdateCrossVpcIps posts the complete advertised map (listener IP →
// advertised IP) and returns the map it replaced. The previous map is
// remembered across attempts (heartbeat details), so a retry after a
// successful modify still reports the original map for the rollback.
//
// A busy instance is waited for, as Terraform does
// (resource_huaweicloud_dms_kafka_instance.go:791-805: RetryContextWithWaitForState,
// WaitTarget RUNNING, retrying on DMS.00400026): the call first waits until
// the instance is RUNNING, and a DMS.00400026 answer (a restart or a
// previous modify still being applied) waits and posts again, for up to the
// busy budget; then it returns a retryable Conflict. The rollback's restore
// runs this same action, so it waits the same way.
func (a *Actions) UpdateCrossVpcIps(ctx context.Context, call plan.Call, in catalog.HuaweiUpdateCrossVpcIpsIn) (catalog.HuaweiUpdateCrossVpcIpsOut, error) {
	var none catalog.HuaweiUpdateCrossVpcIpsOut
	id, want := in.InstanceID, in.Advertised
	s, c, err := a.dmsFor(ctx, call)
	if err != nil {
		return none, err
	}
	var memo crossVpcMemo
	prior := priorAttempt(ctx, &memo) && memo.Previous != nil
	deadline := time.Now().Add(a.busyBudget)
	delay := a.busyPoll
	// pause waits before the next check; false once the budget is spent.
	pause := func() (bool, error) {
		if !time.Now().Add(delay).Before(deadline) {
			return false, nil
		}
		if prior || memo.Previous != nil {
			remember(ctx, memo) // keep the heartbeat details (the previous map) while waiting
		} else if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
		return true, nil
	}
	for {
		v, err := showInstance(s, c, id)
		if err != nil {
			return none, err
		}
		if st := v.out.Status; st != "" && st != "RUNNING" {
			ok, perr := pause()
			if perr != nil {
				return none, perr
			}
			if !ok {
				return none, activities.Conflict("update advertised IPs of Kafka instance %s: the instance is %s, not RUNNING, after waiting %s", id, st, a.busyBudget)
			}
			continue
		}
		if len(v.advertised) == 0 {
			return none, activities.Conflict("update advertised IPs of Kafka instance %s: cross_vpc_info is empty (ports not bound yet)", id)
		}
		complete := map[string]string{}
		for ip, cur := range v.advertised {
			complete[ip] = cur
		}
		for ip, adv := range want {
			if _, ok := v.advertised[ip]; !ok {
				return none, activities.Invalid("update advertised IPs of Kafka instance %s: %s is not one of its listener IPs", id, ip)
			}
			if adv == "" {
				return none, activities.Invalid("update advertised IPs of Kafka instance %s: empty advertised IP for listener %s", id, ip)
			}
			complete[ip] = adv
		}
		if memo.Previous == nil {
			memo.Previous = v.advertised
			remember(ctx, memo)
		}
		out := catalog.HuaweiUpdateCrossVpcIpsOut{InstanceID: id, Previous: memo.Previous, Current: complete}
		if equalMaps(complete, v.advertised) {
			return out, nil
		}
		resp, err := c.UpdateInstanceCrossVpcIp(&km.UpdateInstanceCrossVpcIpRequest{
			InstanceId: id,
			Body:       &km.UpdateInstanceCrossVpcIpReq{AdvertisedIpContents: complete},
		})
		if isInstanceBusy(err) {
			ok, perr := pause()
			if perr != nil {
				return none, perr
			}
			if ok {
				continue
			}
		}
		if err != nil {
			return none, s.classify("update advertised IPs of Kafka instance "+id, err)
		}
		var failed []string
		for _, r := range deref(resp.Results) {
			if !deref(r.Success) {
				failed = append(failed, deref(r.Ip))
			}
		}
		if !deref(resp.Success) || len(failed) > 0 {
			return none, activities.Conflict("update advertised IPs of Kafka instance %s: the cloud reported failure for listeners %s", id, strings.Join(failed, ","))
		}
		return out, nil
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
