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
	"github.com/topoflow/topoflow/plan"
)

// crossVpcEntry is one listener of cross_vpc_info (a JSON string in ShowInstance).
type crossVpcEntry struct {
	AdvertisedIP string `json:"advertised_ip"`
	Port         int    `json:"port"`
	PortID       string `json:"port_id"`
}

type instanceView struct {
	out        plan.Outputs
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
	brokers := make([]any, 0, len(listeners))
	adv := map[string]string{}
	advOut := map[string]any{}
	for i, ip := range listeners {
		e := info[ip]
		a := e.AdvertisedIP
		if a == "" {
			a = ip
		}
		adv[ip] = a
		advOut[ip] = a
		brokers = append(brokers, map[string]any{"id": i, "listenerIp": ip, "portId": e.PortID, "advertisedIp": a, "port": e.Port})
	}
	return &instanceView{advertised: adv, out: plan.Outputs{
		"instanceId": deref(resp.InstanceId), "name": deref(resp.Name), "status": deref(resp.Status),
		"vpcId": deref(resp.VpcId), "subnetId": deref(resp.SubnetId), "securityGroupId": deref(resp.SecurityGroupId),
		// user_id is the ID of the user who created the instance, not the account (domain) ID
		// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go UserId).
		"userId": deref(resp.UserId), "connectAddress": deref(resp.ConnectAddress),
		// The instance's connection port: the private listener on connect_address
		// (model_show_instance_response.go Port, "实例连接端口"; 9092/9093).
		"port":    int(deref(resp.Port)),
		"brokers": brokers, "advertised": advOut,
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
func (a *Actions) ShowInstance(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "instanceId", true)
	if err != nil {
		return nil, err
	}
	s, c, err := a.dmsFor(ctx, call)
	if err != nil {
		return nil, err
	}
	v, err := showInstance(s, c, id)
	if err != nil {
		return nil, err
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
func (a *Actions) UpdateCrossVpcIps(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, err := activities.String(call, "instanceId", true)
	if err != nil {
		return nil, err
	}
	want, err := inStrMap(call, "advertised")
	if err != nil {
		return nil, err
	}
	s, c, err := a.dmsFor(ctx, call)
	if err != nil {
		return nil, err
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
			return nil, err
		}
		if st, _ := v.out["status"].(string); st != "" && st != "RUNNING" {
			ok, perr := pause()
			if perr != nil {
				return nil, perr
			}
			if !ok {
				return nil, activities.Conflict("update advertised IPs of Kafka instance %s: the instance is %s, not RUNNING, after waiting %s", id, st, a.busyBudget)
			}
			continue
		}
		if len(v.advertised) == 0 {
			return nil, activities.Conflict("update advertised IPs of Kafka instance %s: cross_vpc_info is empty (ports not bound yet)", id)
		}
		complete := map[string]string{}
		for ip, cur := range v.advertised {
			complete[ip] = cur
		}
		for ip, adv := range want {
			if _, ok := v.advertised[ip]; !ok {
				return nil, activities.Invalid("update advertised IPs of Kafka instance %s: %s is not one of its listener IPs", id, ip)
			}
			if adv == "" {
				return nil, activities.Invalid("update advertised IPs of Kafka instance %s: empty advertised IP for listener %s", id, ip)
			}
			complete[ip] = adv
		}
		if memo.Previous == nil {
			memo.Previous = v.advertised
			remember(ctx, memo)
		}
		out := plan.Outputs{"instanceId": id, "previous": toAny(memo.Previous), "current": toAny(complete)}
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
				return nil, perr
			}
			if ok {
				continue
			}
		}
		if err != nil {
			return nil, s.classify("update advertised IPs of Kafka instance "+id, err)
		}
		var failed []string
		for _, r := range deref(resp.Results) {
			if !deref(r.Success) {
				failed = append(failed, deref(r.Ip))
			}
		}
		if !deref(resp.Success) || len(failed) > 0 {
			return nil, activities.Conflict("update advertised IPs of Kafka instance %s: the cloud reported failure for listeners %s", id, strings.Join(failed, ","))
		}
		return out, nil
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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
